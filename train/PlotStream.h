//===- PlotStream.h - one PLplot page as a PNG file -------------*- C++ -*-===//
//
// PLplot keeps global state and is not thread-safe, and its default error
// handler prints and calls exit(): a bad plot would end a training run. A
// PlotStream owns PLplot for its lifetime (one process-wide lock), draws
// into a stream of its own (plmkstrm, so the caller's stream 0 is left
// alone and repeated plots start fresh), and turns PLplot's fatal errors
// (plexit) and aborted operations (plabort) into nm::RuntimeError. The
// page goes to a temporary file in the target's directory (pngcairo) that
// finish() renames into place.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_TRAIN_PLOTSTREAM_H
#define NEUROMANCER_TRAIN_PLOTSTREAM_H

#include "neuromancer/core/AtomicFile.h"

#include <mutex>
#include <string>

namespace nm {

class PlotStream {
public:
  /// Starts a `width` x `height` pixel page for `pngPath` (white
  /// background, the colours of PlotColour). RuntimeError if PLplot's
  /// pngcairo driver is not installed; IOError if the directory cannot take
  /// a temporary file.
  PlotStream(const std::string &pngPath, int width, int height);
  /// Ends the stream without writing `pngPath` unless finish() ran.
  ~PlotStream();
  PlotStream(const PlotStream &) = delete;
  PlotStream &operator=(const PlotStream &) = delete;

  /// RuntimeError naming `what`, the file and PLplot's message if PLplot
  /// aborted an operation since the last check.
  void check(const std::string &what);
  /// Ends the page and renames the PNG into place.
  void finish();

private:
  void end();

  std::unique_lock<std::mutex> lock_;
  std::string path_;
  AtomicFile file_;
  int previousStream_ = 0;
  bool open_ = false;
  // Where plabort writes instead of stderr (plsError), per stream.
  int errcode_ = 0;
  char errmsg_[1024] = {};
};

/// The colours of a PlotStream's map 0 (matplotlib's "tab10").
enum PlotColour : int {
  kBackground = 0,
  kBlack = 1,
  kBlue = 2,
  kOrange = 3,
  kGreen = 4,
  kRed = 5,
  kPurple = 6,
  kBrown = 7,
  kPink = 8,
  kGrey = 9,
  kOlive = 10,
  kCyan = 11,
};

} // namespace nm

#endif // NEUROMANCER_TRAIN_PLOTSTREAM_H
