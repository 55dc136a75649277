//===- LayerSupport.h - helpers shared by the node builders -----*- C++ -*-===//
#ifndef NEUROMANCER_FRONTEND_LAYERSUPPORT_H
#define NEUROMANCER_FRONTEND_LAYERSUPPORT_H

#include "neuromancer/frontend/NodeImpl.h"

#include <map>
#include <string>

namespace nm {

using BuilderTable = std::map<std::string, NodeBuilder>;

/// The common keyword arguments every node records.
inline nlohmann::json baseAttrs(const std::string &name, bool printRepr) {
  return {{"name", name}, {"print_repr", printRepr}};
}

inline Sizes sizesAttr(const NodeImpl &n, const char *key) {
  return n.attr<Sizes>(key, Sizes{});
}

/// Size of parent i's output without unknown axes (ELEKTRONN2's
/// stripnone_prod), the default cost of most nodes.
inline int64_t parentSize(const NodeImpl &n, std::size_t i = 0) {
  return n.parent(i).shape.stripnoneProd();
}

inline void addParam(NodeImpl &n, const std::string &name, Array value,
                     bool trainable = true, bool constant = false,
                     bool applyReg = false) {
  n.params.set(name, Param{std::move(value), trainable, constant, applyReg});
}

/// Throws ValueError unless `n` has exactly `count` parents.
void expectParents(const NodeImpl &n, std::size_t count);

/// Validates an activation name ("relu", "lin", "maxout 2", ...) with core's
/// rule; returns the maxout factor (1 for the others).
int64_t checkActivation(const std::string &cls, const std::string &name,
                        const std::string &activation);

/// Parameters w, b (+ gamma/mean/std, dropout_rate) of Conv, UpConv and
/// Perceptron, initialised as ELEKTRONN2 does.
struct WeightLayerSpec {
  Sizes wShape;
  double glorotFanSum = 1;
  /// Kernel volume (1 for dense layers): relu/maxout bias = 1 / volume.
  int64_t kernelVolume = 1;
  int64_t n_f = 0;
};
void addWeightLayerParams(NodeImpl &n, const WeightLayerSpec &spec);
/// ", Dropout rate=0.5, BN in 'train' mode " style repr pieces.
std::string batchNormReprPiece(const NodeImpl &n);

/// Applies user-given initial values (options.w, .b, ...) after a build.
template <typename Options>
void applyInitialParams(const Node &node, const Options &o) {
  NodeImpl &n = node.impl();
  setInitialParam(n, "w", o.w);
  setInitialParam(n, "b", o.b);
  setInitialParam(n, "gamma", o.gamma);
  setInitialParam(n, "mean", o.mean);
  setInitialParam(n, "std", o.std);
}

} // namespace nm

#endif // NEUROMANCER_FRONTEND_LAYERSUPPORT_H
