//===- History.h - what a training run records ------------------*- C++ -*-===//
//
// The trainer's records, shared by the loop (Trainer.cpp), its checkpoints
// and the plots (Plots.h): ELEKTRONN2's timeline (one point per step) and
// history (one row per `history_freq` steps, reference §6.3 step 9), the
// history extended by barrier precision, recall and F1 on the validation
// batches.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_TRAIN_HISTORY_H
#define NEUROMANCER_TRAIN_HISTORY_H

#include <cstdint>
#include <limits>
#include <vector>

namespace nm {

/// One training step: ELEKTRONN2's [t_passed, loss, batch_char].
struct TimelinePoint {
  int64_t step = 0;
  /// Seconds of training (previews and monitoring excluded).
  double time = 0;
  double loss = 0;
  /// The batch's mean target (channel 0): the fraction of class-1 voxels
  /// for sparse binary targets.
  double batch_char = 0;
};

/// One monitoring point: ELEKTRONN2's [i, t, train_loss, valid_loss,
/// loss_gain, train_err, valid_err, lr, mom, gradnetrate] and, beyond it,
/// the validation batches' precision, recall and F1 of class 1 ("barrier")
/// for classifiers (NaN where they do not apply).
struct HistoryRow {
  int64_t step = 0;
  double time = 0;
  double train_loss = 0, valid_loss = 0;
  /// loss(batch) after the step minus the step's loss.
  double loss_gain = 0;
  /// In percent for classifiers (ELEKTRONN2's ×100), raw for regression.
  double train_err = 0, valid_err = 0;
  double lr = 0, mom = 0;
  double gradnet_rate = 0;
  double valid_precision = std::numeric_limits<double>::quiet_NaN();
  double valid_recall = std::numeric_limits<double>::quiet_NaN();
  double valid_f1 = std::numeric_limits<double>::quiet_NaN();
};

/// Everything a run has recorded; saved in each checkpoint so a resumed run
/// continues its plots and history.csv without a gap.
struct TrainingRecord {
  std::vector<TimelinePoint> timeline;
  std::vector<HistoryRow> history;
  /// False for regression losses (errors not in percent).
  bool errors_in_percent = true;
};

} // namespace nm

#endif // NEUROMANCER_TRAIN_HISTORY_H
