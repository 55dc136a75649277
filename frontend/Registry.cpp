//===- Registry.cpp - ELEKTRONN2 class name -> node builder ---------------===//
#include "neuromancer/frontend/NodeImpl.h"

#include "neuromancer/core/Format.h"

#include <map>

namespace nm {

using BuilderTable = std::map<std::string, NodeBuilder>;
// Defined beside the nodes they build (NodeBasic.cpp, Neural.cpp, Loss.cpp).
void registerBasicNodes(BuilderTable &table);
void registerNeuralNodes(BuilderTable &table);
void registerLossNodes(BuilderTable &table);

namespace {
const BuilderTable &table() {
  static const BuilderTable t = [] {
    BuilderTable t;
    registerBasicNodes(t);
    registerNeuralNodes(t);
    registerLossNodes(t);
    return t;
  }();
  return t;
}
} // namespace

const NodeBuilder &nodeBuilder(const std::string &cls) {
  auto it = table().find(cls);
  if (it == table().end())
    throw KeyError("Unknown node class '" + cls +
                   "'; known classes: " + formatStringList(knownNodeClasses()));
  return it->second;
}

std::vector<std::string> knownNodeClasses() {
  std::vector<std::string> out;
  for (const auto &[name, builder] : table())
    out.push_back(name);
  return out;
}

} // namespace nm
