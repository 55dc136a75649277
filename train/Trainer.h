//===- Trainer.h - ELEKTRONN2's Trainer: the training loop ------*- C++ -*-===//
//
// `nm::Trainer(config).run()` is ELEKTRONN2's `elektronn2-train config.py`
// (reference §6.1, §6.3): it makes the save directory, builds or loads the
// model, reads the data, and runs the loop of training steps with its
// monitor (test_model on train and valid batches every history_freq steps),
// the status and history log lines, checkpoints, plots and previews, and the
// Ctrl+C shell.
//
// Beyond ELEKTRONN2 nothing is ever lost: an existing save directory is never
// deleted (the trainer refuses to start in one unless resuming), every file
// is written atomically, and each checkpoint is one model file that also
// holds the optimiser state, iteration, schedules, the data's batch sequence
// position and the history, so `kill -9` at any moment followed by a resume
// continues the run as if it had not stopped.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_TRAIN_TRAINER_H
#define NEUROMANCER_TRAIN_TRAINER_H

#include "neuromancer/train/Config.h"
#include "neuromancer/train/History.h"

#include <array>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace nm {

struct TrainerOptions {
  /// Continue the run in config.save_dir() from its newest checkpoint.
  bool resume = false;
  /// `--set name=value` changes applied after the checkpoint is loaded.
  std::vector<std::string> overrides;
  /// Ctrl+C (and a diverged loss) pause into the shell; default: when
  /// standard input is a terminal. Otherwise SIGINT and SIGTERM save and
  /// stop, and a diverged loss saves the last good state and stops.
  std::optional<bool> interactive;
  /// The shell's input and output (default std::cin / std::cout).
  std::istream *shell_in = nullptr;
  std::ostream *shell_out = nullptr;
  /// Called with the step index after each step is recorded (and before
  /// its checkpoints): a signal raised here is seen before the next step,
  /// which makes interruptions reproducible (the tests use it).
  std::function<void(int64_t step)> after_step;
};

/// How a run ended; the CLI's exit status.
enum class TrainerExit {
  Finished = 0, ///< n_steps done or max_runtime reached
  Stopped = 4,  ///< `kill` in the shell, SIGINT/SIGTERM without a terminal
  Diverged = 3, ///< a non-finite loss without a terminal
};

/// Seconds spent per part of the loop (for the overhead benchmark).
struct TrainerTimings {
  double steps = 0;       ///< model.trainingstep
  double batches = 0;     ///< waiting for getbatch
  double bookkeeping = 0; ///< timeline, schedules, logging
  double checkpoints = 0; ///< LAST/BEST/backup files, history.csv
  double monitor = 0;     ///< test_model and the loss gain
  double pictures = 0;    ///< plots and previews
};

class Trainer {
public:
  /// Checks the config, makes (or, resuming, opens) the save directory,
  /// builds or loads the model and the data. Errors name what is wrong;
  /// nothing is written before the config and directory checks passed.
  explicit Trainer(ExperimentConfig config, TrainerOptions options = {});
  ~Trainer();
  Trainer(const Trainer &) = delete;
  Trainer &operator=(const Trainer &) = delete;

  /// The loop; returns how it ended (ELEKTRONN2's run()).
  TrainerExit run();

  Model &model();
  BatchCreatorImage &data();
  const ExperimentConfig &config() const;
  const TrainingRecord &record() const;
  const TrainerTimings &timings() const;
  /// The training steps made (ELEKTRONN2's i + 1).
  int64_t steps_done() const;
  /// <save_path>/<save_name>.
  const std::string &save_dir() const;
  int64_t batch_size() const;

  /// ELEKTRONN2's test_model: loss and error on monitor_batch_size examples
  /// of `source` with dropout off (error ×100 for classifiers); with
  /// `prf`, precision, recall and F1 of class 1 (NaN if not a classifier).
  std::pair<double, double> test_model(const std::string &source,
                                       std::array<double, 3> *prf = nullptr);
  /// The preview predictions now (shell `preview`).
  void preview();
  /// Batch_test_image.png of a batch with dense targets.
  void debug_getcnnbatch();
  /// Saves a checkpoint of the current state to `path`.
  void save_checkpoint(const std::string &path);

  struct State;

private:
  std::unique_ptr<State> s_;
};

/// The checkpoint a resumed run in `save_dir` starts from: of
/// <name>-LAST.h5 and <name>-FINAL.h5 the one with more steps (FINAL on a
/// tie); IOError if
/// the directory holds none.
std::string latest_checkpoint(const std::string &save_dir,
                              const std::string &save_name);

/// The config copy in a save directory ("0-<save_name>.toml").
std::string config_copy_path(const std::string &save_dir);

} // namespace nm

#endif // NEUROMANCER_TRAIN_TRAINER_H
