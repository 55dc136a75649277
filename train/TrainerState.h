//===- TrainerState.h - the trainer's state, shared by its files -*- C++
//-*-===//
//
// Internal to train/: Trainer.cpp (the loop), TrainerSetup.cpp (directory,
// model, data), TrainerCheckpoint.cpp (checkpoints, history files),
// TrainerMonitor.cpp (test_model), TrainerShell.cpp (Ctrl+C) and
// TrainerPictures.cpp (plots, previews, the model graph) work on this.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_TRAIN_TRAINERSTATE_H
#define NEUROMANCER_TRAIN_TRAINERSTATE_H

#include "neuromancer/core/Log.h"
#include "neuromancer/train/Trainer.h"

#include <csignal>
#include <cstdio>
#include <fstream>
#include <limits>
#include <memory>
#include <utility>

namespace nm {

struct Trainer::State {
  ~State();
  ExperimentConfig config;
  TrainerOptions options;
  std::string dir;
  Model *model = nullptr;
  std::unique_ptr<BatchCreatorImage> data;
  int64_t batchSize = 1;
  /// getbatch keywords of training batches (data_batch_args + batch_size,
  /// source 'train').
  GetBatchOptions batchArgs;
  std::vector<Schedule> schedules;
  TrainingRecord record;
  TrainerTimings timings;

  /// ELEKTRONN2's i: -1 before the first step, then the step just made.
  int64_t i = -1;
  /// Seconds of training over all runs (previews, monitor and the shell
  /// excluded), and of this run (what max_runtime limits).
  double tPassed = 0, runTime = 0;
  /// When the last preview was made (tPassed) and the hours label of the
  /// next; whether the raw slices were written.
  double lastPreviewT = 0, previewNumber = 0;
  bool rawPreviewSaved = false;
  double bestValidLoss = std::numeric_limits<double>::infinity();
  bool interactive = false;
  /// Errors printed raw instead of in percent (a SquaredLoss model).
  bool isRegression = false;

  // What the log lines show.
  std::vector<Array> batch;
  double loss = 0, trainLoss = 0, validLoss = 0, trainErr = 0, validErr = 0;
  double tPerIt = 2; // EMA of the wall time per iteration
  double batchChar = 0;

  /// The checkpoint's trainer state while resuming.
  std::string resumeJson;

  // Files.
  std::vector<Array> previewData;
  std::FILE *timelineFile = nullptr;
  std::unique_ptr<std::ofstream> logFile;
  LogSink previousSink;
  LogLevel previousLevel = LogLevel::Info;
  bool sinkInstalled = false;

  // Paths.
  std::string path(const std::string &file) const { return dir + "/" + file; }
  std::string savePath(const std::string &suffix) const {
    return path(config.save_name + suffix);
  }

  // TrainerSetup.cpp
  void setupFresh();
  void setupResumed();
  void loadModel();
  void applyOptimiserOverrides();
  void loadData();
  void checkTargetGeometry(const std::vector<Array> &probe);
  void bindSchedules();
  void startLog(bool append);
  void stopLog();
  std::vector<Array> withClassWeights(std::vector<Array> batch) const;

  // TrainerCheckpoint.cpp
  std::string stateJson() const;
  /// The changeable config values a checkpoint recorded (--set changes and
  /// scheduled config values), applied before this run's --set.
  void applyConfigValues(const std::string &json);
  void restoreState(const std::string &json);
  void saveCheckpoint(const std::string &file);
  void writeHistoryCsv();
  void appendTimeline(const TimelinePoint &p);
  void openTimeline(int64_t keep);
  void syncTimeline();

  // TrainerMonitor.cpp
  std::pair<double, double> testModel(const std::string &source,
                                      std::array<double, 3> *prf);
  void historyPoint();

  // TrainerShell.cpp
  /// Returns true if the user chose `kill`.
  bool shell();

  // TrainerPictures.cpp
  void loadPreviewData();
  void writeModelGraph();
  void plot();
  void previewNow(bool logFailure);
  void batchTestImage();
  void saveFilters(const std::string &node);
};

/// Set by the SIGINT and SIGTERM handlers while Trainer::run runs.
extern volatile std::sig_atomic_t gInterrupted, gTerminated;

/// $USER, or "user": the shell's prompt and the start line.
std::string user_name();

} // namespace nm

#endif // NEUROMANCER_TRAIN_TRAINERSTATE_H
