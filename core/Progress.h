//===- Progress.h - progress of long runs on stderr -------------*- C++ -*-===//
//
// Long commands (neuromancer predict) report how far they are: on a terminal
// a bar redrawn in place (items, rate, ETA), so the screen is not flooded;
// into a pipe or log file a plain line every `interval` seconds and one at
// the end, because carriage returns make logs unreadable.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_CORE_PROGRESS_H
#define NEUROMANCER_CORE_PROGRESS_H

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace nm {

class Progress {
public:
  struct Options {
    /// What the items are ("blocks") and what the rate counts ("voxels").
    std::string items = "items", units = "units";
    /// Bar (true), plain lines (false); by default isatty(out).
    int tty = -1;
    /// Seconds between plain lines (a bar redraws at most 10 times a second).
    double interval = 10;
  };

  /// `total` items of `totalUnits` units; `done`/`doneUnits` of them were
  /// finished before (a resumed run): they count for the bar, not the rate.
  Progress(std::FILE *out, int64_t total, double totalUnits, int64_t done,
           double doneUnits, Options options);
  /// Another item of `units` units is finished.
  void step(double units);
  /// The final line (also when interrupted: where it stopped).
  void finish();
  /// Text shown at the end of the line from the next redraw on (the
  /// trainer's "loss: 0.1234").
  void set_note(std::string note) { note_ = std::move(note); }

  /// "1m05s", "12s", "2h03m": what the ETA shows.
  static std::string duration(double seconds);

private:
  using Clock = std::chrono::steady_clock;
  std::string line() const;
  void draw(bool last);

  std::FILE *out_;
  int64_t total_, done_;
  double totalUnits_, doneUnits_, startUnits_;
  Options options_;
  bool tty_;
  Clock::time_point start_, lastDraw_;
  bool finished_ = false;
  std::string note_;
};

} // namespace nm

#endif // NEUROMANCER_CORE_PROGRESS_H
