//===- Backend.h - how the frontend reaches a compiler ----------*- C++ -*-===//
//
// The frontend records graphs; compiling them is a backend's job. Calling a
// node (`node(x)`), `model.predict(x)` and `to_mlir()` go through the one
// backend registered here, so //frontend links and runs on its own and the
// compiler depends on the frontend, never the other way round. The umbrella
// header neuromancer/neuromancer.h registers the CPU backend
// (nm::register_cpu_backend, //compiler/backend) in every program that
// includes it.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_FRONTEND_BACKEND_H
#define NEUROMANCER_FRONTEND_BACKEND_H

#include "neuromancer/core/TaggedShape.h"
#include "neuromancer/frontend/Node.h"

#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace nm {

class Executable;

/// What a prediction function does to its output before returning it, in
/// the last kernel (neuromancer predict --classes, --as-uint8): the listed
/// 'f' channels in that order (empty: all of them) and, with `asUint8`,
/// ELEKTRONN2's trunc(p * 255) as uint8 (clamped to [0, 255]).
struct OutputEpilogue {
  std::vector<int64_t> classes;
  bool asUint8 = false;

  bool empty() const { return classes.empty() && !asUint8; }
  /// Channels of the result for an output of `all` channels.
  int64_t channels(int64_t all) const {
    return classes.empty() ? all : static_cast<int64_t>(classes.size());
  }
  bool operator<(const OutputEpilogue &o) const {
    return std::tie(classes, asUint8) < std::tie(o.classes, o.asUint8);
  }
};

/// OutputEpilogue::asUint8 of one probability on the host (TTA's mean,
/// predict_dense): the same clamp and truncation as the compiled epilogue.
inline uint8_t probability_to_uint8(float p) {
  float y = std::fmin(std::fmax(p * 255.0f, 0.0f), 255.0f);
  return static_cast<uint8_t>(y);
}

/// A function of a graph: its name and the nodes it returns.
struct GraphFunction {
  std::string name;
  std::vector<Node> outputs;
  /// Compile the dilated equivalent (nm-densify) at the call's shapes.
  bool densify = false;
  /// Training form: "" (none), kGradients (outputs, then the gradient of
  /// the mean of outputs[0] for every trainable parameter) or an optimiser
  /// name ("SGD", "AdaGrad", "AdaDelta", "Adam": outputs, then every
  /// trainable parameter after one step and its optimiser state). The
  /// parameters of such a function are the nodes' parameters, the state
  /// "<node>_<param>:<state>" and "hyper" (see Training.h).
  std::string training;
  /// Applied to every output (prediction functions have one).
  OutputEpilogue epilogue;
};

/// GraphFunction::training for gradients without an update.
inline constexpr const char kGradients[] = "gradients";

class Backend {
public:
  virtual ~Backend();
  /// Short name for messages ("cpu").
  virtual std::string name() const = 0;
  /// `functions` as one nm MLIR module, printed with node names as
  /// locations. ValueError naming `what` with the diagnostics on failure.
  virtual std::string to_mlir(const std::vector<GraphFunction> &functions,
                              const std::string &what) const = 0;
  /// `function` compiled for this machine. Non-empty `shapes` specialise
  /// the sources' None sizes to those of a call. ValueError naming `what`
  /// with the diagnostics on failure; `fromCache` tells whether the code
  /// came from a compile cache instead of the compiler.
  virtual std::shared_ptr<const Executable>
  compile(const GraphFunction &function, const std::string &what,
          const std::vector<Sizes> &shapes, bool &fromCache) const = 0;
};

/// Makes `backend` the one the frontend compiles with (replacing any).
void register_backend(std::shared_ptr<const Backend> backend);
/// The registered backend; RuntimeError saying how to get one if none is.
const Backend &backend();
bool has_backend();

/// The source nodes `outputs` read, each once, in all_parents order: the
/// inputs of the compiled function and of a node call, in that order.
std::vector<Node> source_nodes(const std::vector<Node> &outputs);

/// The parameter behind the argument `nm.param = "<node>_<param>"` of a
/// function computing `outputs` (its dataset in a model file is
/// "/params/<node>/<param>").
struct ParameterRef {
  Node node;
  std::string param;
};
std::optional<ParameterRef> find_parameter(const std::vector<Node> &outputs,
                                           const std::string &argName);

} // namespace nm

#endif // NEUROMANCER_FRONTEND_BACKEND_H
