//===- Node.h - handles to nodes of the model graph -------------*- C++ -*-===//
//
// A Node is a cheap, copyable handle to one node of a model graph (ELEKTRONN2's
// `Node`). Nodes are created by the layer functions in Layers.h (nm::Conv,
// nm::Softmax, ...) and registered in the current Model.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_FRONTEND_NODE_H
#define NEUROMANCER_FRONTEND_NODE_H

#include "neuromancer/core/DType.h"
#include "neuromancer/core/OrderedDict.h"
#include "neuromancer/core/TaggedShape.h"
#include "neuromancer/runtime/Array.h"

#include <memory>
#include <string>
#include <vector>

namespace nm {

class NodeImpl;
class Model;

/// Keyword arguments of predict_dense, ELEKTRONN2's two first.
struct PredictDenseOptions {
  /// Probabilities as uint8 (p * 255, truncated) instead of float32.
  bool as_uint8 = false;
  /// Mirror the raw image (numpy 'symmetric') by the network's offsets, so
  /// the prediction covers the whole image.
  bool pad_raw = false;
  /// How a tile of a strided network is predicted densely: "densify" (the
  /// dilated equivalent network, nm-densify: one call per tile, no repeated
  /// work), "mfp" (the model rebuilt with override_mfp_to_active: one call
  /// per tile) or "stitch" (ELEKTRONN2's: one call per stride offset).
  std::string strategy = "densify";
};

/// Parameter values of one node, by parameter name ("w", "b", "gamma", ...).
using ParamValues = OrderedDict<Array>;

class Node {
public:
  Node() = default;
  explicit Node(std::shared_ptr<NodeImpl> impl) : impl_(std::move(impl)) {}

  /// Unique name within its model ("conv", "conv1", ...).
  const std::string &name() const;
  /// ELEKTRONN2 class name: "Input", "Conv", "Softmax", "_Errors", ...
  const std::string &cls() const;
  /// Output shape with tags, fov, offsets, strides.
  const TaggedShape &shape() const;
  DType dtype() const;

  /// Trainable parameter elements of this node / of its whole sub-graph.
  int64_t param_count() const;
  int64_t all_params_count() const;
  /// Operations of this node / summed over the node and all its ancestors.
  int64_t computational_cost() const;
  int64_t all_computational_cost() const;

  /// Direct inputs, in constructor order.
  std::vector<Node> parents() const;
  /// The node and all its ancestors, depth first, each once.
  std::vector<Node> all_parents() const;
  /// The source nodes (inputs) this node needs, in all_parents order: the
  /// argument order of the compiled function.
  std::vector<Node> input_nodes() const;
  bool is_source() const;

  /// ELEKTRONN2's repr: "<Conv-Node> 'conv' \n  #Params=3,488 ...".
  std::string repr() const;

  /// The sub-graph behind this node as nm MLIR: a module with one function
  /// named after the node (sources, then parameters, as arguments).
  /// ValueError with the compiler's diagnostics if it cannot be lowered.
  /// Needs a compiler backend (Backend.h; //:neuromancer registers one).
  std::string to_mlir() const;

  /// Calls the node like a function (ELEKTRONN2's `node(*arrays)`): one
  /// array per input_nodes() entry, in that order. The first call compiles
  /// and logs "Compiling softmax, inputs=[image]" and " Compiling done  - in
  /// 0.42 s"; later calls reuse the code, and the disk cache lets another
  /// process skip compiling. TypeError (ELEKTRONN2's text) for a wrong
  /// number, shape or dtype of inputs. Needs a backend (Backend.h).
  Array operator()(const std::vector<Array> &inputs) const;
  template <typename... More>
  Array operator()(const Array &first, const More &...more) const {
    return (*this)(std::vector<Array>{first, more...});
  }
  /// node(): compiles only.
  void operator()() const;
  /// ELEKTRONN2's predict_dense: the dense prediction (n_lab, z, x, y) of a
  /// raw image (ch, z, x, y) (or (ch, x, y) -> (n_lab, x, y) for a 2-D
  /// network), cut into tiles; integer images are divided by 255. Logs
  /// "Predicting img (3, 58, 326, 326) in 16 Blocks: (4, 2, 2)" and
  /// " Inference speed: ... MB or MPix /s, time t=..s". ValueError for an
  /// image with the wrong channels or rank, smaller than the field of view,
  /// or a network without a known field of view.
  Array predict_dense(const Array &raw,
                      const PredictDenseOptions &options = {}) const;
  /// Wall-clock seconds of the last call.
  double last_exec_time() const;
  /// Median-style execution time in ms as ELEKTRONN2 reports it (the mean of
  /// the 3 largest of `n_samples` timings after `n_warmup` calls), on random
  /// inputs; `local` subtracts the direct parents' times. Prints the samples
  /// when `print_info`.
  double measure_exectime(int n_samples = 5, int n_warmup = 4,
                          bool print_info = true, bool local = true,
                          bool nonegative = true) const;
  /// Runs the node once on uniform random inputs (None sizes = 1) and prints
  /// "Node '...' compiled and computation tested" with shape and speed.
  Array test_run() const;

  /// Copies of the parameter values (skip_const drops constants).
  ParamValues get_param_values(bool skip_const = false) const;
  /// Sets parameter values; KeyError for unknown names (BN's gamma/mean/std
  /// are skipped with a message, as ELEKTRONN2 does), ValueError for a wrong
  /// shape or a constant parameter (unless skip_const).
  void set_param_values(const ParamValues &values, bool skip_const = false);

  Model &model() const;
  explicit operator bool() const { return impl_ != nullptr; }
  bool operator==(const Node &other) const { return impl_ == other.impl_; }
  bool operator!=(const Node &other) const { return impl_ != other.impl_; }

  /// The graph record behind the handle (for the compiler).
  NodeImpl &impl() const;
  const std::shared_ptr<NodeImpl> &ptr() const { return impl_; }

private:
  std::shared_ptr<NodeImpl> impl_;
};

/// What dense prediction needs of a node, per axis (z, x, y): a 2-D network
/// gets a leading z of size 1, stride 1 and offset 0, as ELEKTRONN2 does.
struct DenseGeometry {
  Node input;                              // the image the node reads
  Sizes patch, out, strides, offsets, fov; // input / output spatial shapes
  int64_t channels = 0, labels = 0;        // the input's and output's 'f'
  bool twoD = false;
};

/// `node`'s DenseGeometry, the one check behind predict_dense, `neuromancer
/// predict` and `neuromancer compile --dense`. ValueError starting with
/// `who` when the node cannot be predicted densely: not 2 or 3 spatial
/// axes, not exactly one input, no channel axis on the input or output or
/// different spatial axes, an input batch other than 1 or None, or an
/// unknown field of view (UpConv: ELEKTRONN2's message).
DenseGeometry dense_geometry(const Node &node,
                             const std::string &who = "predict_dense");

/// Seeds the generator behind parameter initialisation (glorot normal
/// weights, uniform biases). The default seed is fixed, so a program that
/// builds the same model twice gets the same parameters.
void set_seed(uint64_t seed);

/// A 64-bit value drawn from the generator set_seed seeds: the default seed
/// of what owns its own generator (nm::BatchCreatorImage), so set_seed(n)
/// at the start makes a whole program reproducible.
uint64_t next_seed();

} // namespace nm

#endif // NEUROMANCER_FRONTEND_NODE_H
