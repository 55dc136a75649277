//===- TrainerPictures.cpp - the trainer's plots, previews, graph ---------===//
//
// Where the loop meets Plots.h, Preview.h and Visualise.h. A picture that
// fails is logged and training goes on: pictures are for people, the
// checkpoints are what must not fail.
//
//===----------------------------------------------------------------------===//
#include "train/TrainerState.h"

#include "neuromancer/core/Error.h"
#include "neuromancer/train/Plots.h"
#include "neuromancer/train/Preview.h"
#include "neuromancer/train/Visualise.h"

#include <cstdio>

namespace nm {
namespace {

/// The hours label of a preview file: "1", "1.5", "4".
std::string hoursLabel(double hours) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", hours);
  return buf;
}

} // namespace

void Trainer::State::loadPreviewData() {
  if (config.preview_data_path.empty())
    return;
  previewData =
      load_preview_data(config.preview_data_path, config.preview_data_key);
  if (previewNumber == 0)
    previewNumber = config.initial_prev_h;
}

void Trainer::State::writeModelGraph() {
  try {
    visualise_model(*model, path("1-model-graph"));
  } catch (const Error &e) {
    log_warning(std::string("The model graph could not be drawn: ") + e.what());
  }
}

void Trainer::State::plot() {
  try {
    plot_timeline(record.timeline,
                  path("0-" + config.save_name + ".timeline.png"),
                  config.save_name);
    plot_history(record.history, record.errors_in_percent,
                 path("0-" + config.save_name + ".history.png"),
                 config.save_name);
  } catch (const Error &e) {
    log_warning(std::string("Plotting failed: ") + e.what());
  }
}

void Trainer::State::previewNow(bool logFailure) {
  if (previewData.empty()) {
    log_warning("No preview data: set preview_data_path in the config.");
    return;
  }
  PreviewOptions o;
  o.number = static_cast<int64_t>(previewNumber);
  o.export_class = config.preview_kwargs.export_class;
  o.max_z_pred = config.preview_kwargs.max_z_pred;
  try {
    preview_slice(*model, previewData, o, dir, config.save_name,
                  hoursLabel(previewNumber), !rawPreviewSaved);
    rawPreviewSaved = true;
    previewNumber += config.prev_save_h;
  } catch (const Error &e) {
    if (!logFailure)
      throw;
    log_warning(std::string("Preview Predictions failed: ") + e.what());
  }
}

void Trainer::State::batchTestImage() {
  GetBatchOptions kw = batchArgs;
  kw.force_dense = true;
  // A batch of its own: the training sequence is not advanced.
  uint64_t next = data->batch_index("train");
  std::vector<Array> b = data->getbatch(kw);
  data->set_batch_index("train", next);
  try {
    // force_dense: the target is not strided.
    write_batch_test_image(b, path("Batch_test_image.png"), {},
                           data->offsets());
  } catch (const Error &e) {
    log_warning(std::string("Batch_test_image.png failed: ") + e.what());
  }
}

void Trainer::State::saveFilters(const std::string &node) {
  save_filter_image((*model)[node], path("filters_" + node + ".png"));
}

void Trainer::preview() { s_->previewNow(/*logFailure=*/false); }
void Trainer::debug_getcnnbatch() { s_->batchTestImage(); }

} // namespace nm
