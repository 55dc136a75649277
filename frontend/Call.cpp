//===- Call.cpp - calling nodes and models like functions -----------------===//
//
// ELEKTRONN2's `node(*arrays)`, `model.predict(...)` & co. and `to_mlir()`:
// the first call has the registered backend (Backend.h) compile the
// sub-graph and keeps the Executable; later calls only run it. Parameters
// are bound from the nodes' current values at every call, so training
// updates are seen.
//
//===----------------------------------------------------------------------===//
#include "frontend/CallDetail.h"
#include "neuromancer/core/Error.h"
#include "neuromancer/core/Format.h"
#include "neuromancer/core/Log.h"
#include "neuromancer/frontend/Backend.h"
#include "neuromancer/frontend/Model.h"
#include "neuromancer/frontend/NodeImpl.h"
#include "neuromancer/runtime/Executable.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <new>
#include <random>

namespace nm {
using detail::callShapes;
using detail::needsSpecialisation;

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string sourceList(const std::vector<Node> &outputs) {
  std::vector<Node> sources = source_nodes(outputs);
  std::string names = "[";
  for (std::size_t i = 0; i < sources.size(); ++i)
    names += (i ? ", " : "") + sources[i].name();
  return names + "]";
}

} // namespace

bool detail::needsSpecialisation(const std::vector<Node> &outputs) {
  for (const Node &src : source_nodes(outputs))
    for (int64_t s : src.shape().shape())
      if (s == None)
        return true;
  return false;
}

std::vector<Sizes> detail::callShapes(const std::vector<Node> &outputs,
                                      const std::vector<Array> &inputs) {
  size_t required = source_nodes(outputs).size();
  if (inputs.size() != required)
    throw TypeError("\n " + std::to_string(required) + " inputs required, " +
                    std::to_string(inputs.size()) + " were given.");
  std::vector<Sizes> shapes;
  for (const Array &a : inputs)
    shapes.push_back(a.shape());
  return shapes;
}

namespace {

/// compileFunction() of `outputs` as function `name`.
std::shared_ptr<const Executable>
compile(const std::vector<Node> &outputs, const std::string &name,
        const std::string &what, const std::vector<Sizes> &shapes = {},
        bool densify = false, const OutputEpilogue &epilogue = {}) {
  GraphFunction function{name, outputs, densify};
  function.epilogue = epilogue;
  return detail::compileFunction(function, what, shapes);
}

/// Parameter values by the names the importer gives the arguments
/// ("<node>_<param>").
std::vector<const Array *> bindParameters(const Executable &exe,
                                          const std::vector<Node> &outputs) {
  std::vector<const Array *> values;
  for (const ArgSpec &spec : exe.signature().parameters) {
    std::optional<ParameterRef> ref = find_parameter(outputs, spec.name);
    if (!ref)
      throw RuntimeError("compiled function needs parameter '" + spec.name +
                         "', which no node provides");
    values.push_back(&ref->node.impl().params.at(ref->param).value);
  }
  return values;
}

/// Runs `exe` on `inputs`, returns the outputs, records the wall time.
std::vector<Array> run(const Executable &exe, const std::vector<Node> &outputs,
                       const std::vector<Array> &inputs, double &seconds) {
  return detail::runExecutable(exe, inputs, bindParameters(exe, outputs),
                               &seconds);
}

std::shared_ptr<const Executable> nodeExecutable(const Node &node) {
  NodeImpl &impl = node.impl();
  std::lock_guard<std::mutex> lock(impl.compileMutex);
  if (!impl.executable)
    impl.executable = compile({node}, node.name(), node.name());
  return impl.executable;
}

/// The executable for a call on `inputs`: the node's one function, or the
/// one specialised on the inputs' shapes when a source has None sizes.
std::shared_ptr<const Executable>
nodeExecutable(const Node &node, const std::vector<Array> &inputs) {
  if (!needsSpecialisation({node}))
    return nodeExecutable(node);
  std::vector<Sizes> shapes = callShapes({node}, inputs);
  NodeImpl &impl = node.impl();
  std::lock_guard<std::mutex> lock(impl.compileMutex);
  std::shared_ptr<const Executable> &exe = impl.specialised[shapes];
  if (!exe)
    exe = compile({node}, node.name(), node.name(), shapes);
  return exe;
}

/// Random inputs of the node's source shapes (None -> 1): uniform [0, 1)
/// for floats, 0/1 for integer sources (labels).
std::vector<Array> randomInputs(const Node &node) {
  std::mt19937 gen(1234);
  std::uniform_real_distribution<double> uniform(0, 1);
  std::vector<Array> inputs;
  for (const Node &src : node.input_nodes()) {
    Sizes shape = src.shape().shape();
    for (int64_t &s : shape)
      if (s == None)
        s = 1;
    Array a(shape, src.dtype());
    for (int64_t i = 0; i < a.size(); ++i)
      a.setFlat(i, isFloat(a.dtype()) ? uniform(gen) : (gen() % 2));
    inputs.push_back(std::move(a));
  }
  return inputs;
}

} // namespace

std::vector<Array>
detail::runExecutable(const Executable &exe, const std::vector<Array> &inputs,
                      const std::vector<const Array *> &parameters,
                      double *seconds) {
  std::vector<const Array *> in;
  for (const Array &a : inputs)
    in.push_back(&a);
  std::vector<Array> out;
  for (const ArgSpec &spec : exe.signature().outputs)
    out.emplace_back(spec.shape, spec.dtype);
  std::vector<Array *> outPtrs;
  for (Array &a : out)
    outPtrs.push_back(&a);
  Clock::time_point start = Clock::now();
  exe.call(in, parameters, outPtrs);
  if (seconds)
    *seconds = secondsSince(start);
  return out;
}

std::shared_ptr<const Executable>
detail::compileFunction(const GraphFunction &function, const std::string &what,
                        const std::vector<Sizes> &shapes) {
  const std::vector<Node> &outputs = function.outputs;
  const Backend &compiler = backend();
  log_info(
      "Compiling " + what + ", inputs=" + sourceList(outputs) +
      (shapes.empty() ? "" : ", shapes=[" + formatTupleList(shapes) + "]"));
  Clock::time_point start = Clock::now();
  bool fromCache = false;
  std::shared_ptr<const Executable> exe;
  try {
    exe = compiler.compile(function, what, shapes, fromCache);
  } catch (const Error &) {
    throw;
  } catch (const std::bad_alloc &) {
    throw RuntimeError("out of memory compiling " + what);
  } catch (const std::exception &e) {
    // A failure below the backend's own checks (a library, the file
    // system) still reaches the user as an nm::Error naming the function.
    throw RuntimeError("compiling " + what + " failed: " + e.what());
  }
  char line[96];
  std::snprintf(line, sizeof(line), " Compiling done  - in %.2f s%s",
                secondsSince(start),
                fromCache ? " (loaded from the compile cache)" : "");
  log_info(line);
  return exe;
}

void Node::operator()() const {
  if (needsSpecialisation({*this})) {
    log_info("'" + name() + "' has None sizes: it compiles at its first " +
             "call, for the shapes of that call");
    return;
  }
  nodeExecutable(*this);
}

Array Node::operator()(const std::vector<Array> &inputs) const {
  std::shared_ptr<const Executable> exe = nodeExecutable(*this, inputs);
  double seconds = 0;
  std::vector<Array> out = run(*exe, {*this}, inputs, seconds);
  impl().lastExecTime = seconds;
  return std::move(out.front());
}

double Node::last_exec_time() const { return impl().lastExecTime; }

Array call_densified(const Node &node, const std::vector<Array> &inputs,
                     const OutputEpilogue &epilogue) {
  std::vector<Sizes> shapes;
  for (const Array &a : inputs)
    shapes.push_back(a.shape());
  NodeImpl &impl = node.impl();
  std::shared_ptr<const Executable> exe;
  {
    std::lock_guard<std::mutex> lock(impl.compileMutex);
    std::shared_ptr<const Executable> &slot =
        impl.densified[{shapes, epilogue}];
    if (!slot)
      slot = compile({node}, node.name(), node.name() + " (densified)", shapes,
                     /*densify=*/true, epilogue);
    exe = slot;
  }
  double seconds = 0;
  std::vector<Array> out = run(*exe, {node}, inputs, seconds);
  impl.lastExecTime = seconds;
  return std::move(out.front());
}

double Node::measure_exectime(int n_samples, int n_warmup, bool print_info,
                              bool local, bool nonegative) const {
  if (input_nodes().empty() || is_source())
    return 0.0;
  std::vector<Array> inputs = randomInputs(*this);
  for (int i = 0; i < n_warmup; ++i)
    (*this)(inputs);
  std::vector<double> ms;
  for (int i = 0; i < std::max(n_samples, 1); ++i) {
    (*this)(inputs);
    ms.push_back(last_exec_time() * 1000.0);
  }
  // ELEKTRONN2 reports the mean of the 3 largest samples as the "median".
  std::vector<double> sorted = ms;
  std::sort(sorted.rbegin(), sorted.rend());
  std::size_t k = std::min<std::size_t>(3, sorted.size());
  double total = 0;
  for (std::size_t i = 0; i < k; ++i)
    total += sorted[i];
  total /= static_cast<double>(k);
  impl().totalExecTime = total;
  double result = total;
  if (local)
    for (const Node &p : parents())
      if (!p.is_source())
        result -= p.impl().totalExecTime >= 0
                      ? p.impl().totalExecTime
                      : p.measure_exectime(n_samples, n_warmup, false, false);
  if (nonegative && result < 0) {
    log_warning("measure_exectime: the local time of '" + name() +
                "' came out negative; reporting 0");
    result = 0;
  }
  if (print_info) {
    std::string samples = "[";
    for (std::size_t i = 0; i < ms.size(); ++i) {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%s%.3f", i ? " " : " ", ms[i]);
      samples += buf;
    }
    char line[128];
    std::snprintf(line, sizeof(line), "%s: median execution time: %.5g ms\n",
                  name().c_str(), result);
    log_info(name() + " samples in ms:\n" + samples + "]\n" + line);
  }
  return result;
}

Array Node::test_run() const {
  std::vector<Array> inputs = randomInputs(*this);
  Array out = (*this)(inputs);
  double seconds = last_exec_time();
  double mpix = 0;
  for (const Array &in : inputs)
    mpix += static_cast<double>(in.size());
  mpix /= 1e6;
  const TaggedShape &expected = shape();
  bool agree =
      out.shape() == expected.shape() || out.size() == expected.stripnoneProd();
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "Node '%s' compiled and computation tested\nOutshape: %s\n"
                "Runtime: %g s\nSpeed: %.3f MB or MPix /s\n%s",
                name().c_str(), out.shapeString().c_str(), seconds,
                seconds > 0 ? mpix / seconds : 0.0,
                agree ? "Shapes agree"
                      : ("Shapes do not agree (Outshape should be " +
                         formatTuple(expected.shape()) + ")")
                            .c_str());
  log_info(buf);
  return out;
}

/// The designated functions of a model, compiled once per designation.
struct ModelFunctions {
  static std::vector<Array> call(Model &model, const std::string &name,
                                 const std::vector<Node> &outputs,
                                 const std::vector<Array> &inputs,
                                 const std::string &keySuffix = "") {
    if (outputs.empty() || !outputs.front())
      throw ValueError("Model '" + model.name() + "' has no designated " +
                       name + " node(s); call designate_nodes first");
    std::vector<Sizes> shapes;
    std::string key = name + keySuffix;
    if (needsSpecialisation(outputs)) {
      shapes = callShapes(outputs, inputs);
      key += " " + formatTupleList(shapes);
    }
    std::shared_ptr<const Executable> exe;
    {
      std::lock_guard<std::mutex> lock(model.compileMutex_);
      std::shared_ptr<const Executable> &slot = model.compiled_[key];
      if (!slot)
        slot = compile(outputs, name, "'" + name + "'", shapes);
      exe = slot;
    }
    double seconds = 0;
    return run(*exe, outputs, inputs, seconds);
  }
};

Array Model::predict(const std::vector<Array> &inputs) {
  return std::move(
      ModelFunctions::call(*this, "prediction", {prediction_node_}, inputs)
          .front());
}

std::vector<Array> Model::activations(const std::vector<Array> &inputs,
                                      const std::vector<Node> &outputs) {
  std::string nodes;
  for (const Node &n : outputs)
    nodes += " " + n.name();
  return ModelFunctions::call(*this, "activations", outputs, inputs, nodes);
}

std::vector<Array> Model::predict_ext(const std::vector<Array> &inputs) {
  return ModelFunctions::call(*this, "prediction_ext", prediction_ext_, inputs);
}

Array Model::loss(const std::vector<Array> &inputs) {
  return std::move(
      ModelFunctions::call(*this, "loss", {loss_node_}, inputs).front());
}

} // namespace nm
