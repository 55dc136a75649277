//===- Progress.cpp - progress of long runs on stderr ---------------------===//
#include "neuromancer/core/Progress.h"

#include <algorithm>
#include <unistd.h>

namespace nm {

Progress::Progress(std::FILE *out, int64_t total, double totalUnits,
                   int64_t done, double doneUnits, Options options)
    : out_(out), total_(total), done_(done), totalUnits_(totalUnits),
      doneUnits_(doneUnits), startUnits_(doneUnits),
      options_(std::move(options)) {
  tty_ = options_.tty >= 0 ? options_.tty != 0
                           : (out_ && ::isatty(::fileno(out_)) == 1);
  start_ = lastDraw_ = Clock::now();
  if (out_ && tty_)
    draw(false);
}

std::string Progress::duration(double seconds) {
  char text[32];
  int64_t s = static_cast<int64_t>(seconds + 0.5);
  if (s >= 3600)
    std::snprintf(text, sizeof text, "%lldh%02lldm",
                  static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60));
  else if (s >= 60)
    std::snprintf(text, sizeof text, "%lldm%02llds",
                  static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  else
    std::snprintf(text, sizeof text, "%llds", static_cast<long long>(s));
  return text;
}

std::string Progress::line() const {
  double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  double units = doneUnits_ - startUnits_;
  double rate = elapsed > 0 ? units / elapsed : 0;
  char rateText[48];
  std::snprintf(rateText, sizeof rateText, "%.3g M%s/s", rate / 1e6,
                options_.units.c_str());
  std::string eta =
      rate > 0 ? duration((totalUnits_ - doneUnits_) / rate) : std::string("?");
  char text[160];
  std::snprintf(text, sizeof text, "%lld/%lld %s (%.1f %%), %s, ETA %s",
                static_cast<long long>(done_), static_cast<long long>(total_),
                options_.items.c_str(),
                totalUnits_ > 0 ? 100 * doneUnits_ / totalUnits_ : 100.0,
                rateText, eta.c_str());
  return note_.empty() ? std::string(text) : text + (", " + note_);
}

void Progress::draw(bool last) {
  if (!out_)
    return;
  if (tty_) {
    constexpr int kWidth = 30;
    int filled = total_ > 0 ? static_cast<int>(kWidth * done_ / total_) : 0;
    std::string bar(filled, '#');
    bar.resize(kWidth, '.');
    // \033[K clears what a longer earlier line left.
    std::fprintf(out_, "\r[%s] %s\033[K%s", bar.c_str(), line().c_str(),
                 last ? "\n" : "");
  } else {
    std::fprintf(out_, "progress: %s\n", line().c_str());
  }
  std::fflush(out_);
  lastDraw_ = Clock::now();
}

void Progress::step(double units) {
  ++done_;
  doneUnits_ += units;
  double since =
      std::chrono::duration<double>(Clock::now() - lastDraw_).count();
  if (since >= (tty_ ? 0.1 : options_.interval) && done_ < total_)
    draw(false);
}

void Progress::finish() {
  if (finished_)
    return;
  finished_ = true;
  draw(true);
}

} // namespace nm
