//===- Log.h - the one logger behind every printed line ---------*- C++ -*-===//
//
// Node reprs, model statistics and "Compiling ..." lines all go through here,
// so a program can silence them (set_log_level) or capture them
// (set_log_sink), the way ELEKTRONN2's users configure its Python logger.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_CORE_LOG_H
#define NEUROMANCER_CORE_LOG_H

#include <functional>
#include <string>

namespace nm {

enum class LogLevel {
  Debug = 10,
  Info = 20,
  Warning = 30,
  Error = 40,
  Off = 100
};

using LogSink = std::function<void(LogLevel, const std::string &)>;

/// Messages below `level` are dropped. Default: Info, or the value of the
/// environment variable NEUROMANCER_LOG_LEVEL (debug/info/warning/error/off).
void set_log_level(LogLevel level);
LogLevel log_level();

/// Replaces where messages go (default: Info and Debug to stdout, Warning and
/// above to stderr). Returns the previous sink; an empty sink restores the
/// default.
LogSink set_log_sink(LogSink sink);

void log(LogLevel level, const std::string &message);
inline void log_debug(const std::string &m) { log(LogLevel::Debug, m); }
inline void log_info(const std::string &m) { log(LogLevel::Info, m); }
inline void log_warning(const std::string &m) { log(LogLevel::Warning, m); }

/// Captures messages at or above `level` while alive (used by tests and by
/// programs that want the text, e.g. to compare with documentation).
class LogCapture {
public:
  explicit LogCapture(LogLevel level = LogLevel::Info);
  ~LogCapture();
  LogCapture(const LogCapture &) = delete;
  LogCapture &operator=(const LogCapture &) = delete;
  /// Every captured message, each followed by a newline.
  const std::string &text() const { return text_; }

private:
  std::string text_;
  LogSink previousSink_;
  LogLevel previousLevel_;
};

} // namespace nm

#endif // NEUROMANCER_CORE_LOG_H
