//===- NodeImpl.h - the graph record behind a Node --------------*- C++ -*-===//
//
// Internal to neuromancer (frontend, compiler): what a node is, in a form that
// can be saved, reloaded and lowered. `attrs` holds the constructor's keyword
// arguments under ELEKTRONN2's names; rebuilding a node from (cls, parents,
// attrs) is how loading works, so there is a single construction path.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_FRONTEND_NODEIMPL_H
#define NEUROMANCER_FRONTEND_NODEIMPL_H

#include "neuromancer/core/Error.h"
#include "neuromancer/frontend/Backend.h"
#include "neuromancer/frontend/Node.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace nm {

class Executable;

struct Param {
  Array value;
  /// Counted in #Params and updated by optimisers.
  bool trainable = true;
  /// Cannot be set (ELEKTRONN2's ConstantParam).
  bool constant = false;
  /// Weight decay applies (w: yes, b: no).
  bool apply_reg = false;
};

class NodeImpl {
public:
  std::string cls;
  std::string name;
  std::vector<std::shared_ptr<NodeImpl>> parents;
  nlohmann::json attrs = nlohmann::json::object();

  TaggedShape shape;
  DType dtype = DType::Float32;
  int64_t cost = 0;
  OrderedDict<Param> params;
  /// Class-specific tail of the repr ("\n  n_f=32, 3d conv, ...").
  std::string reprTail;
  bool printRepr = true;
  bool isSource = false;
  Model *model = nullptr;

  // Set by the first call (Call.cpp): the compiled function of
  // this node, guarded so two threads compile once. A node whose sources
  // have None sizes is compiled once per set of call shapes.
  std::mutex compileMutex;
  std::shared_ptr<const Executable> executable;
  std::map<std::vector<Sizes>, std::shared_ptr<const Executable>> specialised;
  // The sub-graph rewritten by nm-densify, per input shapes and output
  // epilogue (predict_dense, neuromancer predict).
  std::map<std::pair<std::vector<Sizes>, OutputEpilogue>,
           std::shared_ptr<const Executable>>
      densified;
  double lastExecTime = 0;
  double totalExecTime = -1; // ms, from measure_exectime

  const NodeImpl &parent(std::size_t i = 0) const { return *parents.at(i); }
  /// attrs[key] or `fallback` when absent/null.
  template <typename T> T attr(const char *key, T fallback) const {
    auto it = attrs.find(key);
    if (it == attrs.end() || it->is_null())
      return fallback;
    return it->get<T>();
  }
  /// A keyword argument the node's constructor always stores (with its
  /// default filled in, so readers such as the importer never repeat the
  /// defaults). KeyError naming the node and the keyword when it is
  /// missing, TypeError when it has another type (a foreign model file).
  template <typename T> T kwarg(const char *key) const {
    auto it = attrs.find(key);
    if (it == attrs.end())
      throw KeyError(cls + " '" + name + "' has no keyword argument '" + key +
                     "'");
    try {
      return it->get<T>();
    } catch (const nlohmann::json::exception &) {
      throw TypeError(cls + " '" + name + "': keyword argument '" + key +
                      "' has the wrong type (" + it->dump() + ")");
    }
  }
};

/// Fills shape, dtype, cost, params and reprTail of a node whose cls, name,
/// parents and attrs are set. Throws on bad input (nothing is registered).
using NodeBuilder = std::function<void(NodeImpl &)>;

/// Looks up the builder of an ELEKTRONN2 class name; KeyError if unknown.
const NodeBuilder &nodeBuilder(const std::string &cls);
std::vector<std::string> knownNodeClasses();

/// The one way nodes come into being: picks a unique name in the current
/// model, runs the class's builder, registers the node and logs its repr.
/// `attrs` must contain "name" and may contain "print_repr".
Node makeNode(const std::string &cls, std::vector<Node> parents,
              nlohmann::json attrs);

/// Overwrites a parameter with a user-given initial value (shape checked).
void setInitialParam(NodeImpl &node, const std::string &param,
                     const std::optional<Array> &value);

// Parameter initialisation (reference §1.3), from the seeded generator.
Array glorotNormal(const Sizes &shape, double fanSum);
Array uniformArray(const Sizes &shape, double low, double high);

/// Calls the dilated equivalent of `node`'s sub-graph (nm-densify) on
/// `inputs`, whose sizes may be any that cover the field of view; compiled
/// once per input shapes. The result has stride 1: every output voxel,
/// through `epilogue` (selected classes, uint8) in the last kernel.
Array call_densified(const Node &node, const std::vector<Array> &inputs,
                     const OutputEpilogue &epilogue = {});

} // namespace nm

#endif // NEUROMANCER_FRONTEND_NODEIMPL_H
