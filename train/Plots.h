//===- Plots.h - the trainer's timeline and history plots -------*- C++ -*-===//
//
// ELEKTRONN2's two training plots (reference §6.8), drawn with PLplot's
// cairo driver into PNG files written atomically (a temporary renamed into
// place), so a viewer refreshing the file never sees half a picture:
//
//  - plot_timeline -> `0-<save_name>.timeline.png`: (a) the loss of every
//    update with its moving average over 200 steps and the mean +- std of
//    the last 200 as horizontal lines; (b) the loss against the batch's
//    mean target, coloured by training time.
//  - plot_history -> `0-<save_name>.history.png`: (a) train/valid loss;
//    (b) loss gain and learning rate, momentum and gradnet rate on a twin
//    axis; (c) train/valid error with moving averages over 8 points; and,
//    beyond ELEKTRONN2, (d) the validation precision, recall and F1.
//
// Long series are subsampled to at most 2000 drawn points; NaN and inf
// values are left out (a line breaks there); empty and constant series get
// a non-empty axis range. Errors (PLplot's included, which would otherwise
// exit the process) are nm::Error exceptions, so a failing plot never ends
// a training run. Safe to call from any thread (one plot at a time).
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_TRAIN_PLOTS_H
#define NEUROMANCER_TRAIN_PLOTS_H

#include "neuromancer/train/History.h"

#include <cstddef>
#include <string>
#include <vector>

namespace nm {

/// At most this many points of a series are drawn (ELEKTRONN2's N_points).
inline constexpr std::size_t kMaxPlotPoints = 2000;
/// The timeline's moving-average window and the window of its mean +- std.
inline constexpr std::size_t kTimelineSmoothing = 200;
/// The history errors' moving-average window.
inline constexpr std::size_t kHistorySmoothing = 8;

/// Writes the timeline plot (1400 x 560 pixels) to `png_path`. IOError if
/// the directory cannot take the file, RuntimeError if PLplot fails.
void plot_timeline(const std::vector<TimelinePoint> &timeline,
                   const std::string &png_path, const std::string &title);

/// Writes the history plot (1400 x 1000 pixels) to `png_path`; errors are
/// labelled "[%]" when `errors_in_percent`. Errors as plot_timeline.
void plot_history(const std::vector<HistoryRow> &history,
                  bool errors_in_percent, const std::string &png_path,
                  const std::string &title);

/// The trailing simple moving average of `values` over `window` points
/// (fewer at the start), ignoring non-finite values; NaN where a window
/// holds none.
std::vector<double> moving_average(const std::vector<double> &values,
                                   std::size_t window);

/// The indices of the points drawn: every k-th with k = ceil(n / max_points)
/// (all of them when n <= max_points), the last point always included.
std::vector<std::size_t> subsample_indices(std::size_t n,
                                           std::size_t max_points);

} // namespace nm

#endif // NEUROMANCER_TRAIN_PLOTS_H
