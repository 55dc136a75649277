//===- Backend.cpp - the registered backend, graph queries, to_mlir -------===//
#include "neuromancer/frontend/Backend.h"

#include "neuromancer/core/Error.h"
#include "neuromancer/frontend/Model.h"
#include "neuromancer/frontend/NodeImpl.h"

#include <algorithm>
#include <mutex>

namespace nm {
namespace {

std::mutex &registryMutex() {
  static std::mutex m;
  return m;
}

std::shared_ptr<const Backend> &registered() {
  static std::shared_ptr<const Backend> b;
  return b;
}

} // namespace

Backend::~Backend() = default;

void register_backend(std::shared_ptr<const Backend> backend) {
  std::lock_guard<std::mutex> lock(registryMutex());
  registered() = std::move(backend);
}

bool has_backend() {
  std::lock_guard<std::mutex> lock(registryMutex());
  return registered() != nullptr;
}

const Backend &backend() {
  std::lock_guard<std::mutex> lock(registryMutex());
  if (!registered())
    throw RuntimeError(
        "no compiler backend is registered: calling nodes, predict and "
        "to_mlir need one; link //:neuromancer and include "
        "\"neuromancer/neuromancer.h\" (it registers the CPU backend), or "
        "call nm::register_backend");
  // Backends are registered once at start-up and live for the program.
  return *registered();
}

std::vector<Node> source_nodes(const std::vector<Node> &outputs) {
  std::vector<Node> sources;
  for (const Node &out : outputs)
    for (const Node &src : out.input_nodes())
      if (std::find(sources.begin(), sources.end(), src) == sources.end())
        sources.push_back(src);
  return sources;
}

std::optional<ParameterRef> find_parameter(const std::vector<Node> &outputs,
                                           const std::string &argName) {
  for (const Node &out : outputs)
    for (const Node &n : out.all_parents())
      for (const auto &[key, param] : n.impl().params)
        if (n.name() + "_" + key == argName)
          return ParameterRef{n, key};
  return std::nullopt;
}

std::string Node::to_mlir() const {
  return backend().to_mlir({{name(), {*this}}}, "node '" + name() + "'");
}

std::string Model::to_mlir() const {
  std::vector<GraphFunction> functions;
  if (prediction_node_)
    functions.push_back({"prediction", {prediction_node_}});
  if (!prediction_ext_.empty())
    functions.push_back({"prediction_ext", prediction_ext_});
  if (loss_node_)
    functions.push_back({"loss", {loss_node_}});
  if (functions.empty())
    throw ValueError("Model '" + name_ +
                     "' has no designated prediction or loss node; call "
                     "designate_nodes first, or print a node's "
                     "node.to_mlir()");
  return backend().to_mlir(functions, "model '" + name_ + "'");
}

} // namespace nm
