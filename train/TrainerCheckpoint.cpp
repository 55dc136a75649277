//===- TrainerCheckpoint.cpp - checkpoints and the history files ----------===//
//
// A checkpoint is one model file (Model::save, atomic) whose "trainer"
// attachment holds the loop's state as JSON: the step, the training time,
// the schedules, the data's batch sequence positions (with the seed, all of
// the data's randomness), the preview clock, the best validation loss, the
// history and the length of the timeline. The optimiser state, iteration
// and dropout seed are the model file's own.
//
// The timeline (one record per step) would make every checkpoint grow with
// the run, so it lives in Backup/<name>.timeline, an append-only file of
// float64 records that is synced before each checkpoint is written; a
// resumed run cuts it to the checkpoint's length. history.csv is rewritten
// atomically from the history at every history point.
//
//===----------------------------------------------------------------------===//
#include "train/TrainerState.h"

#include "neuromancer/core/AtomicFile.h"
#include "neuromancer/core/Error.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <sstream>

#include <unistd.h>

namespace fs = std::filesystem;

namespace nm {
namespace {

constexpr const char *kStateFormat = "neuromancer-trainer-v1";
constexpr int kTimelineFields = 4;

/// JSON has no NaN or infinity: they are stored as null.
nlohmann::json number(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}
double number(const nlohmann::json &j) {
  return j.is_null() ? std::numeric_limits<double>::quiet_NaN()
                     : j.get<double>();
}

nlohmann::json rowJson(const HistoryRow &r) {
  return nlohmann::json::array(
      {r.step, number(r.time), number(r.train_loss), number(r.valid_loss),
       number(r.loss_gain), number(r.train_err), number(r.valid_err),
       number(r.lr), number(r.mom), number(r.gradnet_rate),
       number(r.valid_precision), number(r.valid_recall), number(r.valid_f1)});
}

HistoryRow rowFromJson(const nlohmann::json &j) {
  HistoryRow r;
  r.step = j.at(0).get<int64_t>();
  double *fields[] = {
      &r.time,         &r.train_loss,      &r.valid_loss,   &r.loss_gain,
      &r.train_err,    &r.valid_err,       &r.lr,           &r.mom,
      &r.gradnet_rate, &r.valid_precision, &r.valid_recall, &r.valid_f1};
  for (std::size_t k = 0; k < std::size(fields); ++k)
    *fields[k] = number(j.at(k + 1));
  return r;
}

/// The config values a run may change (--set, schedules).
nlohmann::json changeableValues(const ExperimentConfig &c) {
  return {{"max_runtime", *c.max_runtime},
          {"n_steps", *c.n_steps},
          {"history_freq", *c.history_freq},
          {"monitor_batch_size", *c.monitor_batch_size},
          {"param_save_it", c.param_save_it},
          {"initial_prev_h", c.initial_prev_h},
          {"prev_save_h", c.prev_save_h},
          {"plot_on", c.plot_on},
          {"print_status", c.print_status},
          {"background_processes", c.background_processes}};
}

std::string timelinePath(const Trainer::State &s) {
  return s.path("Backup/" + s.config.save_name + ".timeline");
}

int64_t checkpointSteps(const std::string &path) {
  auto attachments = model_attachments(path);
  auto it = attachments.find("trainer");
  if (it == attachments.end())
    return -1;
  return nlohmann::json::parse(it->second).at("i").get<int64_t>() + 1;
}

} // namespace

std::string Trainer::State::stateJson() const {
  nlohmann::json schedulesJson = nlohmann::json::object();
  for (const Schedule &sc : schedules)
    schedulesJson[sc.variable()] = nlohmann::json::parse(sc.state());
  nlohmann::json history = nlohmann::json::array();
  for (const HistoryRow &r : record.history)
    history.push_back(rowJson(r));
  nlohmann::json j = {
      {"format", kStateFormat},
      {"i", i},
      {"t_passed", tPassed},
      {"last_preview_t", lastPreviewT},
      {"preview_number", previewNumber},
      {"raw_preview_saved", rawPreviewSaved},
      {"best_valid_loss", number(bestValidLoss)},
      {"batch_index",
       {{"train", data->batch_index("train")},
        {"valid", data->batch_index("valid")}}},
      {"data_seed", data->seed()},
      {"schedules", schedulesJson},
      {"config_values", changeableValues(config)},
      {"history", history},
      {"timeline_length", record.timeline.size()},
  };
  return j.dump();
}

void Trainer::State::applyConfigValues(const std::string &json) {
  try {
    nlohmann::json j = nlohmann::json::parse(json);
    if (j.value("format", "") != kStateFormat)
      throw ValueError("unknown trainer state format");
    for (const auto &[name, value] : j.at("config_values").items())
      config.set(name + "=" + value.dump());
  } catch (const nlohmann::json::exception &e) {
    throw IOError("the checkpoint's trainer state is unreadable: " +
                  std::string(e.what()));
  }
}

void Trainer::State::restoreState(const std::string &json) {
  try {
    nlohmann::json j = nlohmann::json::parse(json);
    i = j.at("i").get<int64_t>();
    tPassed = j.at("t_passed").get<double>();
    lastPreviewT = j.at("last_preview_t").get<double>();
    previewNumber = j.at("preview_number").get<double>();
    rawPreviewSaved = j.at("raw_preview_saved").get<bool>();
    bestValidLoss = number(j.at("best_valid_loss"));
    if (std::isnan(bestValidLoss))
      bestValidLoss = std::numeric_limits<double>::infinity();
    if (j.at("data_seed").get<uint64_t>() != data->seed())
      throw ValueError("the checkpoint's data seed differs from the "
                       "config's; the batch sequence would not continue");
    data->set_batch_index("train",
                          j.at("batch_index").at("train").get<uint64_t>());
    data->set_batch_index("valid",
                          j.at("batch_index").at("valid").get<uint64_t>());
    for (Schedule &sc : schedules) {
      if (!j.at("schedules").contains(sc.variable()))
        throw ValueError("the checkpoint has no state for the schedule of '" +
                         sc.variable() + "'");
      sc.set_state(j.at("schedules").at(sc.variable()).dump());
    }
    record.history.clear();
    for (const nlohmann::json &row : j.at("history"))
      record.history.push_back(rowFromJson(row));
    record.timeline.resize(j.at("timeline_length").get<std::size_t>());
  } catch (const nlohmann::json::exception &e) {
    throw IOError("the checkpoint's trainer state is unreadable: " +
                  std::string(e.what()));
  }
}

void Trainer::State::openTimeline(int64_t keep) {
  std::string file = timelinePath(*this);
  std::vector<TimelinePoint> points;
  if (keep > 0) {
    std::FILE *in = std::fopen(file.c_str(), "rb");
    double rec[kTimelineFields];
    while (in && static_cast<int64_t>(points.size()) < keep &&
           std::fread(rec, sizeof rec, 1, in) == 1)
      points.push_back({static_cast<int64_t>(rec[0]), rec[1], rec[2], rec[3]});
    if (in)
      std::fclose(in);
    if (static_cast<int64_t>(points.size()) < keep)
      log_warning("The timeline holds " + std::to_string(points.size()) +
                  " of the checkpoint's " + std::to_string(keep) +
                  " steps; the plots miss the rest.");
  }
  record.timeline = points;
  // Steps after the checkpoint are recorded again by this run.
  if (fs::exists(file))
    fs::resize_file(file, points.size() * sizeof(double) * kTimelineFields);
  timelineFile = std::fopen(file.c_str(), "ab");
  if (!timelineFile)
    throw IOError("cannot open '" + file + "': " + std::strerror(errno));
}

void Trainer::State::appendTimeline(const TimelinePoint &p) {
  record.timeline.push_back(p);
  double rec[kTimelineFields] = {static_cast<double>(p.step), p.time, p.loss,
                                 p.batch_char};
  // Flushed (not synced) per step: a killed run loses at most the steps
  // after its checkpoint, which the resumed run records again.
  if (std::fwrite(rec, sizeof rec, 1, timelineFile) != 1 ||
      std::fflush(timelineFile) != 0)
    throw IOError("cannot append to '" + timelinePath(*this) +
                  "': " + std::strerror(errno));
}

void Trainer::State::syncTimeline() {
  if (std::fflush(timelineFile) != 0 || ::fsync(::fileno(timelineFile)) != 0)
    throw IOError("cannot write '" + timelinePath(*this) +
                  "': " + std::strerror(errno));
}

void Trainer::State::saveCheckpoint(const std::string &file) {
  syncTimeline();
  model->save(file, {.attachments = {{"trainer", stateJson()}}});
}

void Trainer::State::writeHistoryCsv() {
  std::ostringstream csv;
  csv << "step,time,train_loss,valid_loss,loss_gain,train_err,valid_err,lr,"
         "mom,gradnet_rate,valid_precision,valid_recall,valid_f1\n";
  csv.precision(9);
  for (const HistoryRow &r : record.history)
    csv << r.step << "," << r.time << "," << r.train_loss << "," << r.valid_loss
        << "," << r.loss_gain << "," << r.train_err << "," << r.valid_err << ","
        << r.lr << "," << r.mom << "," << r.gradnet_rate << ","
        << r.valid_precision << "," << r.valid_recall << "," << r.valid_f1
        << "\n";
  writeFileAtomically(path("history.csv"), csv.str());
}

void Trainer::save_checkpoint(const std::string &path) {
  s_->saveCheckpoint(path);
}

std::string latest_checkpoint(const std::string &save_dir,
                              const std::string &save_name) {
  std::string best;
  int64_t bestSteps = -1;
  for (const char *suffix : {"-LAST.h5", "-FINAL.h5"}) {
    std::string file = save_dir + "/" + save_name + suffix;
    if (!fs::exists(file))
      continue;
    int64_t steps = checkpointSteps(file);
    if (steps >= bestSteps) { // FINAL wins a tie
      bestSteps = steps;
      best = file;
    }
  }
  if (best.empty())
    throw IOError("cannot resume: '" + save_dir + "' holds no checkpoint (" +
                  save_name + "-LAST.h5 or " + save_name + "-FINAL.h5)");
  return best;
}

} // namespace nm
