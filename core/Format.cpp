//===- Format.cpp ---------------------------------------------------------===//
#include "neuromancer/core/Format.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>

namespace nm {

std::string pretty_string_time(double seconds) {
  char text[32];
  if (seconds > 4000)
    std::snprintf(text, sizeof text, "t=%.1fh", seconds / 3600);
  else if (seconds > 300)
    std::snprintf(text, sizeof text, "t=%.0fm", seconds / 60);
  else
    std::snprintf(text, sizeof text, "t=%.0fs", seconds);
  return text;
}

std::string pretty_string_ops(double n) {
  struct Unit {
    double factor;
    const char *name;
  };
  static const Unit units[] = {{1e12, "Tera Ops"},
                               {1e9, "Giga Ops"},
                               {1e6, "Mega Ops"},
                               {1e3, "kilo Ops"}};
  const Unit *chosen = &units[3];
  for (const Unit &u : units) {
    if (n >= u.factor) {
      chosen = &u;
      break;
    }
  }
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.1f %s", n / chosen->factor, chosen->name);
  return buf;
}

std::string formatThousands(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  int count = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (count && count % 3 == 0)
      out.insert(out.begin(), ',');
    out.insert(out.begin(), *it);
    ++count;
  }
  return n < 0 ? "-" + out : out;
}

namespace {
std::string join(const std::vector<int64_t> &values, const char *sep) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i)
      out += sep;
    out += std::to_string(values[i]);
  }
  return out;
}
} // namespace

std::string formatList(const std::vector<int64_t> &values) {
  return "[" + join(values, ", ") + "]";
}

std::string formatNumpyArray(const std::vector<int64_t> &values, bool asFloat) {
  if (!asFloat)
    return "[" + join(values, " ") + "]";
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i)
    out += (i ? " " : "") + std::to_string(values[i]) + ".";
  return out + "]";
}

std::string formatTuple(const std::vector<int64_t> &values) {
  if (values.size() == 1)
    return "(" + std::to_string(values[0]) + ",)";
  return "(" + join(values, ", ") + ")";
}

std::string formatTupleList(const std::vector<std::vector<int64_t>> &shapes) {
  std::string text;
  for (size_t i = 0; i < shapes.size(); ++i)
    text += (i ? ", " : "") + formatTuple(shapes[i]);
  return text;
}

std::string formatStringList(const std::vector<std::string> &values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i)
    out += (i ? ", '" : "'") + values[i] + "'";
  return out + "]";
}

std::string formatG(double value) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%g", value);
  return buf;
}

std::string choose_name(const std::string &wanted,
                        const std::set<std::string> &taken) {
  if (!taken.count(wanted))
    return wanted;
  size_t digitsAt = wanted.size();
  while (digitsAt > 0 &&
         std::isdigit(static_cast<unsigned char>(wanted[digitsAt - 1])))
    --digitsAt;
  std::string stem = wanted.substr(0, digitsAt);
  long long number =
      digitsAt == wanted.size() ? 0 : std::atoll(wanted.c_str() + digitsAt);
  std::string candidate;
  do {
    ++number;
    candidate = stem + std::to_string(number);
  } while (taken.count(candidate));
  return candidate;
}

} // namespace nm
