//===- Format.h - ELEKTRONN2's printed number formats ---------*- C++ -*-===//
#ifndef NEUROMANCER_CORE_FORMAT_H
#define NEUROMANCER_CORE_FORMAT_H

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace nm {

/// "442.5 Giga Ops": the first of Tera/Giga/Mega/kilo with n >= factor,
/// else kilo; "%.1f %s".
std::string pretty_string_ops(double n);
/// ELEKTRONN2's pretty_string_time: "t=42s", "t=12m", "t=1.5h".
std::string pretty_string_time(double seconds);
/// Python's "{0:,d}": 307109 -> "307,109".
std::string formatThousands(int64_t n);
/// Python list: [9, 27, 27].
std::string formatList(const std::vector<int64_t> &values);
/// numpy int array: [2 4 4]; as floats: [1. 1. 1.].
std::string formatNumpyArray(const std::vector<int64_t> &values,
                             bool asFloat = false);
/// Python tuple: (1, 6, 6), (5,), ().
std::string formatTuple(const std::vector<int64_t> &values);
/// Shapes as ELEKTRONN2 lists them in messages: "(1, 2, 8), (4,)".
std::string formatTupleList(const std::vector<std::vector<int64_t>> &shapes);
/// Python list of strings: ['image', 'target'].
std::string formatStringList(const std::vector<std::string> &values);
/// Python's "%g".
std::string formatG(double value);

/// ELEKTRONN2's choose_name: a free name is kept; a taken name without
/// trailing digits gets "1"; a trailing number is incremented until free.
std::string choose_name(const std::string &wanted,
                        const std::set<std::string> &taken);

} // namespace nm

#endif // NEUROMANCER_CORE_FORMAT_H
