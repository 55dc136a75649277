//===- OrderedDict.h - insertion-ordered string map -------------*- C++ -*-===//
//
// ELEKTRONN2 hands out parameters and nodes as Python OrderedDicts; this is the
// C++ counterpart: lookup by name, iteration in insertion order.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_CORE_ORDEREDDICT_H
#define NEUROMANCER_CORE_ORDEREDDICT_H

#include "neuromancer/core/Error.h"

#include <string>
#include <utility>
#include <vector>

namespace nm {

template <typename V> class OrderedDict {
public:
  using value_type = std::pair<std::string, V>;
  using iterator = typename std::vector<value_type>::iterator;
  using const_iterator = typename std::vector<value_type>::const_iterator;

  bool contains(const std::string &key) const { return find(key) != end(); }
  std::size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }

  /// Inserts or replaces, keeping the original position on replace.
  void set(const std::string &key, V value) {
    for (value_type &item : items_)
      if (item.first == key) {
        item.second = std::move(value);
        return;
      }
    items_.emplace_back(key, std::move(value));
  }
  /// KeyError naming the key when absent.
  const V &at(const std::string &key) const {
    auto it = find(key);
    if (it == end())
      throw KeyError("'" + key + "'");
    return it->second;
  }
  V &at(const std::string &key) {
    auto it = find(key);
    if (it == end())
      throw KeyError("'" + key + "'");
    return it->second;
  }
  const V &operator[](const std::string &key) const { return at(key); }
  V &operator[](const std::string &key) {
    if (!contains(key))
      items_.emplace_back(key, V());
    return at(key);
  }
  std::vector<std::string> keys() const {
    std::vector<std::string> out;
    for (const value_type &item : items_)
      out.push_back(item.first);
    return out;
  }

  iterator begin() { return items_.begin(); }
  iterator end() { return items_.end(); }
  const_iterator begin() const { return items_.begin(); }
  const_iterator end() const { return items_.end(); }
  const_iterator find(const std::string &key) const {
    for (auto it = items_.begin(); it != items_.end(); ++it)
      if (it->first == key)
        return it;
    return items_.end();
  }
  iterator find(const std::string &key) {
    for (auto it = items_.begin(); it != items_.end(); ++it)
      if (it->first == key)
        return it;
    return items_.end();
  }

private:
  std::vector<value_type> items_;
};

} // namespace nm

#endif // NEUROMANCER_CORE_ORDEREDDICT_H
