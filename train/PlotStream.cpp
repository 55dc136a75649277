//===- PlotStream.cpp - one PLplot page as a PNG file ---------------------===//
#include "neuromancer/train/PlotStream.h"

#include "neuromancer/core/Error.h"

#include <plplot.h>

#include <sys/stat.h>

#include <cstring>
#include <vector>

// PLplot's own error entry point (plplotP.h, not installed); exported.
extern "C" void plexit(const char *errormsg);

namespace nm {
namespace {

std::mutex &plplotMutex() {
  static std::mutex m;
  return m;
}

/// What plabort reported since the last check (guarded by plplotMutex).
std::string &abortMessage() {
  static std::string message;
  return message;
}

/// plexit would print and exit(); throwing instead unwinds through PLplot's
/// C frames (Debian builds them with unwind tables) to the PlotStream,
/// whose destructor ends the half-drawn stream.
int onPlplotExit(const char *message) {
  throw RuntimeError(std::string("PLplot: ") + (message ? message : "error"));
}

/// plabort leaves PLplot usable: remember the message for check().
void onPlplotAbort(const char *message) {
  std::string &m = abortMessage();
  if (m.empty())
    m = message ? message : "operation aborted";
}

/// Whether the pngcairo device exists; without it plinit would ask on
/// stdin for another device.
bool hasPngCairo() {
  static const bool found = [] {
    // plgDevs fills caller-sized arrays (it stops with a warning when they
    // are full); PLplot 5.15 has about 30 devices.
    int n = 256;
    std::vector<const char *> menu(n), devices(n);
    const char **m = menu.data(), **d = devices.data();
    plgDevs(&m, &d, &n);
    for (PLINT i = 0; i < n; ++i)
      if (d[i] && std::strcmp(d[i], "pngcairo") == 0)
        return true;
    return false;
  }();
  return found;
}

/// tab10 after a white background and black ink (PlotColour).
void setColours() {
  static const PLINT r[] = {255, 0,   31,  255, 44,  214,
                            148, 140, 227, 127, 188, 23};
  static const PLINT g[] = {255, 0,  119, 127, 160, 39,
                            103, 86, 119, 127, 189, 190};
  static const PLINT b[] = {255, 0,  180, 14,  44, 40,
                            189, 75, 194, 127, 34, 207};
  plscmap0(r, g, b, 12);
}

} // namespace

PlotStream::PlotStream(const std::string &pngPath, int width, int height)
    : lock_(plplotMutex()), path_(pngPath), file_(pngPath) {
  plsexit(onPlplotExit);
  plsabort(onPlplotAbort);
  abortMessage().clear();
  if (!hasPngCairo())
    throw RuntimeError("cannot plot '" + pngPath +
                       "': PLplot's pngcairo driver is not installed "
                       "(Debian: plplot-driver-cairo)");
  PLINT previous = 0, stream = 0;
  plgstrm(&previous);
  previousStream_ = previous;
  plmkstrm(&stream);
  if (stream < 0)
    throw RuntimeError("cannot plot '" + pngPath +
                       "': PLplot has no free stream");
  open_ = true;
  plsError(&errcode_, errmsg_);
  plsdev("pngcairo");
  plsfnam(file_.tempPath().c_str());
  plspage(0, 0, width, height, 0, 0);
  setColours();
  plinit();
  check("starting the page");
}

PlotStream::~PlotStream() {
  try {
    end();
  } catch (...) {
    // Already failing: the first error is the one reported.
  }
}

void PlotStream::end() {
  if (!open_)
    return;
  open_ = false;
  plend1();
  plsstrm(previousStream_);
}

void PlotStream::check(const std::string &what) {
  std::string &m = abortMessage();
  if (m.empty())
    return;
  std::string message = std::move(m);
  m.clear();
  throw RuntimeError("PLplot failed " + what + " for '" + path_ +
                     "': " + message);
}

void PlotStream::finish() {
  check("drawing");
  end();
  check("writing");
  struct stat st;
  if (::stat(file_.tempPath().c_str(), &st) != 0 || st.st_size == 0)
    throw RuntimeError("PLplot wrote nothing for '" + path_ + "'");
  file_.commit();
}

} // namespace nm
