//===- Log.cpp ------------------------------------------------------------===//
#include "neuromancer/core/Log.h"

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <mutex>

namespace nm {
namespace {

LogLevel levelFromEnvironment() {
  const char *v = std::getenv("NEUROMANCER_LOG_LEVEL");
  if (!v)
    return LogLevel::Info;
  if (!std::strcmp(v, "debug"))
    return LogLevel::Debug;
  if (!std::strcmp(v, "warning"))
    return LogLevel::Warning;
  if (!std::strcmp(v, "error"))
    return LogLevel::Error;
  if (!std::strcmp(v, "off"))
    return LogLevel::Off;
  if (*v && std::strcmp(v, "info"))
    std::cerr << "neuromancer: warning: NEUROMANCER_LOG_LEVEL='" << v
              << "' is not one of debug, info, warning, error, off; using "
                 "info\n";
  return LogLevel::Info;
}

struct LoggerState {
  std::mutex mutex;
  LogLevel level = levelFromEnvironment();
  LogSink sink;
};

LoggerState &state() {
  static LoggerState s;
  return s;
}

void defaultSink(LogLevel level, const std::string &message) {
  std::ostream &os = level >= LogLevel::Warning ? std::cerr : std::cout;
  os << message << '\n';
  os.flush();
}

} // namespace

void set_log_level(LogLevel level) {
  std::lock_guard<std::mutex> lock(state().mutex);
  state().level = level;
}

LogLevel log_level() {
  std::lock_guard<std::mutex> lock(state().mutex);
  return state().level;
}

LogSink set_log_sink(LogSink sink) {
  std::lock_guard<std::mutex> lock(state().mutex);
  LogSink previous = std::move(state().sink);
  state().sink = std::move(sink);
  return previous;
}

void log(LogLevel level, const std::string &message) {
  LogSink sink;
  {
    std::lock_guard<std::mutex> lock(state().mutex);
    if (level < state().level)
      return;
    sink = state().sink;
  }
  if (sink)
    sink(level, message);
  else
    defaultSink(level, message);
}

LogCapture::LogCapture(LogLevel level) {
  previousLevel_ = log_level();
  set_log_level(level);
  previousSink_ = set_log_sink(
      [this](LogLevel, const std::string &m) { text_ += m + "\n"; });
}

LogCapture::~LogCapture() {
  set_log_sink(std::move(previousSink_));
  set_log_level(previousLevel_);
}

} // namespace nm
