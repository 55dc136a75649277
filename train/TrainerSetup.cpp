//===- TrainerSetup.cpp - save directory, model, data, schedules ----------===//
//
// Everything that can be wrong with a config (the model file, the data, the
// geometry, the schedules) is checked before the save directory is made, so
// a bad config writes nothing. A fresh run refuses an existing directory;
// a resumed run takes its newest checkpoint.
//
//===----------------------------------------------------------------------===//
#include "train/TrainerState.h"

#include "neuromancer/core/AtomicFile.h"
#include "neuromancer/core/Error.h"
#include "neuromancer/core/Format.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <sstream>

#include <unistd.h>

namespace fs = std::filesystem;

namespace nm {
namespace {

std::string now(const char *format) {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

std::string levelName(LogLevel level) {
  switch (level) {
  case LogLevel::Debug:
    return "DEBUG";
  case LogLevel::Info:
    return "INFO";
  case LogLevel::Warning:
    return "WARNING";
  default:
    return "ERROR";
  }
}

/// "~/x" -> "$HOME/x"; relative -> absolute (against the working directory
/// the run starts in), so the config copy works from anywhere on resume.
std::string absolutePath(const std::string &path) {
  if (path.empty())
    return path;
  std::string p = path;
  if (p[0] == '~' && (p.size() == 1 || p[1] == '/')) {
    const char *home = std::getenv("HOME");
    p = std::string(home ? home : "") + p.substr(1);
  }
  return fs::absolute(p).lexically_normal().string();
}

/// The data directories, which file names are joined to ("" means the
/// working directory).
std::string absoluteDir(const std::string &dir) {
  std::string d = absolutePath(dir.empty() ? "." : dir);
  return d.back() == '/' ? d : d + "/";
}

void resolvePaths(ExperimentConfig &c) {
  c.model_load_path = absolutePath(c.model_load_path);
  c.preview_data_path = absolutePath(c.preview_data_path);
  c.save_path = absolutePath(c.save_path);
  c.data_init_kwargs.d_path = absoluteDir(c.data_init_kwargs.d_path);
  c.data_init_kwargs.l_path = absoluteDir(c.data_init_kwargs.l_path);
}

} // namespace

std::string user_name() {
  const char *user = std::getenv("USER");
  return user && *user ? user : "user";
}

std::string config_copy_path(const std::string &save_dir) {
  fs::path dir = fs::path(save_dir).lexically_normal();
  if (dir.filename().empty())
    dir = dir.parent_path();
  return (dir / ("0-" + dir.filename().string() + ".toml")).string();
}

void Trainer::State::startLog(bool append) {
  logFile = std::make_unique<std::ofstream>(
      savePath(".log").insert(dir.size() + 1, "0-"),
      append ? std::ios::app : std::ios::trunc);
  if (!*logFile)
    throw IOError("cannot write the log file in '" + dir + "'");
  std::ofstream *file = logFile.get();
  // The file gets every line (DEBUG, as ELEKTRONN2's); the console what the
  // user's level lets through, never debug lines.
  previousLevel = log_level();
  LogLevel console = std::max(previousLevel, LogLevel::Info);
  previousSink =
      set_log_sink([file, console](LogLevel level, const std::string &m) {
        *file << "[" << now("%H:%M") << "] [" << levelName(level) << "]\t" << m
              << "\n";
        file->flush();
        if (level < console)
          return;
        std::FILE *console = level >= LogLevel::Warning ? stderr : stdout;
        std::fprintf(console, "%s\n", m.c_str());
        std::fflush(console);
      });
  sinkInstalled = true;
  set_log_level(LogLevel::Debug);
}

void Trainer::State::stopLog() {
  if (!sinkInstalled)
    return;
  set_log_sink(previousSink);
  set_log_level(previousLevel);
  sinkInstalled = false;
}

void Trainer::State::loadModel() {
  if (options.resume) {
    std::string checkpoint = latest_checkpoint(dir, config.save_name);
    log_info("Resuming from checkpoint '" + checkpoint + "'");
    model = &modelload(checkpoint);
    auto attachments = model_attachments(checkpoint);
    auto it = attachments.find("trainer");
    if (it == attachments.end())
      throw IOError("'" + checkpoint +
                    "' is a model file without the trainer's state; it "
                    "cannot be resumed (use it as model_load_path)");
    resumeJson = it->second;
    applyConfigValues(resumeJson);
    for (const std::string &assignment : options.overrides)
      config.set(assignment);
    config.check();
    applyOptimiserOverrides();
  } else {
    set_seed(config.seed);
    if (!config.model_load_path.empty())
      model = &modelload(config.model_load_path, config.model_load_args);
    else
      model = &config.create_model();
    model->set_opt_meta_params(config.optimiser, *config.optimiser_params);
  }
  if (!model->loss_node() || !model->target_node())
    throw ValueError("model '" + model->name() +
                     "' has no designated loss and target node: call "
                     "designate_nodes(input_node=..., target_node=..., "
                     "loss_node=...) before training");
  Node lossParent = model->loss_node().parents().empty()
                        ? model->loss_node()
                        : model->loss_node().parents()[0];
  isRegression = lossParent.cls() == "SquaredLoss";
  record.errors_in_percent = !isRegression;
  int64_t modelBs = model->batch_size();
  if (modelBs > 0 && modelBs != *config.batch_size)
    throw ValueError("Conflicting batchsizes from model (" +
                     std::to_string(modelBs) +
                     ") and experiment "
                     "configuration (" +
                     std::to_string(*config.batch_size) + ")");
  batchSize = *config.batch_size;
}

std::vector<Array>
Trainer::State::withClassWeights(std::vector<Array> batch) const {
  if (config.class_weights) {
    const std::vector<double> &w = *config.class_weights;
    Array cw({static_cast<int64_t>(w.size())}, DType::Float32);
    for (std::size_t k = 0; k < w.size(); ++k)
      cw.setFlat(static_cast<int64_t>(k), w[k]);
    batch.push_back(std::move(cw));
  }
  return batch;
}

/// The batch creator cuts ps − 2·offsets target voxels (strided), as
/// ELEKTRONN2 does; for a field of view that is even along an axis that is
/// one voxel fewer than the network puts out, which would only fail at the
/// first step's compilation.
void Trainer::State::checkTargetGeometry(const std::vector<Array> &probe) {
  const TaggedShape &ts = model->target_node().shape();
  if (probe.size() < 2 || probe[1].shape().size() < 2)
    return;
  const Sizes want = ts.spatial_shape();
  const Sizes &got = probe[1].shape();
  if (want.size() + 2 != got.size())
    return; // img-scalar targets
  for (std::size_t a = 0; a < want.size(); ++a)
    if (want[a] > 0 && want[a] != got[a + 2])
      throw ValueError(
          "the data's targets do not fit the model: the batch creator cuts "
          "targets of spatial shape " +
          formatTuple(Sizes(got.begin() + 2, got.end())) + " (patch " +
          formatTuple(data->patch_size()) + " minus 2 * offsets " +
          formatList(data->offsets()) + ", strided by " +
          formatList(data->strides()) + ") but the target node '" +
          model->target_node().name() + "' is " + ts.repr() +
          "; with a field of view " + formatList(ts.fov()) +
          " that is even along an axis, choose an input size one larger or "
          "smaller there");
}

void Trainer::State::loadData() {
  BatchCreatorOptions o = config.data_init_kwargs;
  if (!o.seed)
    o.seed = config.seed;
  data = std::make_unique<BatchCreatorImage>(model->input_node(),
                                             model->target_node(), o);
  log_info(data->repr());
  batchArgs = config.data_batch_args;
  batchArgs.batch_size = batchSize;
  batchArgs.source = "train";
  // One batch now: options and geometry that cannot work fail before the
  // save directory exists; the sequence then starts at batch 0 again.
  uint64_t first = data->batch_index("train");
  std::vector<Array> probe = data->getbatch(batchArgs);
  data->set_batch_index("train", first);
  checkTargetGeometry(probe);
  data->set_background(static_cast<int>(config.background_processes));
}

void Trainer::State::bindSchedules() {
  for (const auto &[var, spec] : config.schedules) {
    ScheduleTarget target;
    Model &m = *model;
    auto scalar = [](auto get, auto set) {
      return ScheduleTarget{[get] { return std::vector<double>{get()}; },
                            [set](const std::vector<double> &v) {
                              if (v.size() != 1)
                                throw ValueError(
                                    "a schedule set a list where one value "
                                    "is expected");
                              set(v[0]);
                            }};
    };
    ExperimentConfig &c = config;
    auto configInt = [&c, scalar](int64_t *field) {
      return scalar([field] { return static_cast<double>(*field); },
                    [field](double v) {
                      *field = std::max<int64_t>(1, std::llround(v));
                    });
    };
    if (var == "lr")
      target = scalar([&m] { return m.lr(); }, [&m](double v) { m.set_lr(v); });
    else if (var == "mom")
      target =
          scalar([&m] { return m.mom(); }, [&m](double v) { m.set_mom(v); });
    else if (var == "wd")
      target = scalar([&m] { return m.wd(); }, [&m](double v) { m.set_wd(v); });
    else if (var == "beta2")
      target = scalar([&m] { return m.beta2(); },
                      [&m](double v) { m.set_beta2(v); });
    else if (var == "mixing")
      target = {[&m] { return m.mixing(); },
                [&m](const std::vector<double> &v) { m.set_mixing(v); }};
    else if (var == "dropout_rates")
      target = {[&m] { return m.dropout_rates(); },
                [&m](const std::vector<double> &v) { m.set_dropout_rates(v); }};
    else if (var == "history_freq")
      target = configInt(&*c.history_freq);
    else if (var == "monitor_batch_size")
      target = configInt(&*c.monitor_batch_size);
    else if (var == "param_save_it")
      target = configInt(&c.param_save_it);
    else if (var == "n_steps")
      target = configInt(&*c.n_steps);
    else if (var == "max_runtime")
      target = scalar([&c] { return *c.max_runtime; },
                      [&c](double v) { c.max_runtime = v; });
    else if (var == "prev_save_h")
      target = scalar([&c] { return c.prev_save_h; },
                      [&c](double v) { c.prev_save_h = v; });
    else
      throw ValueError(
          "schedules: '" + var +
          "' is neither a model property (lr, mom, wd, beta2, mixing, "
          "dropout_rates) nor a config value (history_freq, "
          "monitor_batch_size, param_save_it, n_steps, max_runtime, "
          "prev_save_h); did you mean '" +
          closest_name(var,
                       {"lr", "mom", "wd", "beta2", "mixing", "dropout_rates",
                        "history_freq", "monitor_batch_size", "param_save_it",
                        "n_steps", "max_runtime", "prev_save_h"}) +
          "'?");
    schedules.emplace_back(var, spec, std::move(target));
  }
}

void Trainer::State::applyOptimiserOverrides() {
  for (const std::string &assignment : options.overrides) {
    std::string name = assignment.substr(0, assignment.find('='));
    name.erase(name.find_last_not_of(" \t") + 1);
    if (name.rfind("optimiser_params.", 0) == 0)
      name = name.substr(17);
    if (name == "lr" || name == "mom" || name == "wd" || name == "beta2") {
      double value = config.optimiser_params->at(name);
      model->set_opt_meta_params(config.optimiser, {{name, value}});
      log_info("--set " + name + " = " + std::to_string(value));
    }
  }
}

void Trainer::State::setupFresh() {
  std::error_code ec;
  fs::create_directories(dir + "/Backup", ec);
  if (ec)
    throw IOError("cannot create the save directory '" + dir +
                  "': " + ec.message());
  writeFileAtomically(config_copy_path(dir), config.to_toml());
  if (!config.config_file.empty() && fs::exists(config.config_file))
    fs::copy_file(
        config.config_file,
        path("Backup/" + fs::path(config.config_file).filename().string()), ec);
  startLog(/*append=*/false);
  char host[256] = "localhost";
  ::gethostname(host, sizeof host - 1);
  log_info("Running on " + user_name() + "@" + host +
           ", using CPU. Start time: " + now("%Y-%m-%dT%H:%M:%S"));
  log_info("Writing files to directory \"" + dir + "\"");
  openTimeline(0);
  writeModelGraph();
}

void Trainer::State::setupResumed() {
  log_info("Resuming in \"" + dir + "\" at step " + std::to_string(i + 1) +
           " (" + std::to_string(record.history.size()) + " history rows)");
  openTimeline(static_cast<int64_t>(record.timeline.size()));
}

Trainer::Trainer(ExperimentConfig config, TrainerOptions options)
    : s_(std::make_unique<State>()) {
  State &s = *s_;
  if (config.save_name.empty()) {
    std::string stem = config.config_file.empty()
                           ? "training"
                           : fs::path(config.config_file).stem().string();
    config.save_name = stem + "__" + now("%y-%m-%d_%H-%M-%S");
    log_info("Auto-assigned save_name = \"" + config.save_name + "\"");
  }
  s.config = std::move(config);
  s.options = std::move(options);
  s.interactive = s.options.interactive.value_or(::isatty(0) == 1);
  s.config.check();
  if (!s.options.resume)
    resolvePaths(s.config);
  s.dir = s.config.save_dir();
  if (s.options.resume && !fs::is_directory(s.dir))
    throw IOError("cannot resume: '" + s.dir + "' is not a directory");
  if (s.options.resume)
    s.startLog(/*append=*/true); // the directory's log continues
  if (!s.options.resume && fs::exists(s.dir))
    throw ValueError("The save directory '" + s.dir +
                     "' already exists; nothing was changed. Continue that "
                     "run with `neuromancer train --resume " +
                     s.dir + "` or choose another save_name.");
  if (!s.config.preview_data_path.empty() &&
      !fs::exists(s.config.preview_data_path))
    throw ValueError(s.config.preview_data_path + " does not exist!");
  s.loadModel();
  s.loadData();
  s.bindSchedules();
  if (s.options.resume)
    s.restoreState(s.resumeJson);
  s.loadPreviewData();
  if (s.options.resume)
    s.setupResumed();
  else
    s.setupFresh();
  for (const Schedule &schedule : s.schedules)
    log_info(schedule.repr());
}

// Also runs when the constructor throws: the log sink must not outlive the
// file it writes to.
Trainer::State::~State() {
  if (timelineFile)
    std::fclose(timelineFile);
  data.reset(); // stops background workers
  stopLog();
}

Trainer::~Trainer() = default;

Model &Trainer::model() { return *s_->model; }
BatchCreatorImage &Trainer::data() { return *s_->data; }
const ExperimentConfig &Trainer::config() const { return s_->config; }
const TrainingRecord &Trainer::record() const { return s_->record; }
const TrainerTimings &Trainer::timings() const { return s_->timings; }
int64_t Trainer::steps_done() const { return s_->i + 1; }
const std::string &Trainer::save_dir() const { return s_->dir; }
int64_t Trainer::batch_size() const { return s_->batchSize; }

} // namespace nm
