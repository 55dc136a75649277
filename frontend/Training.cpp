//===- Training.cpp - training steps, gradients, optimiser settings -------===//
//
// The compiled training functions of a model (Training.h): one per
// optimiser ("<opt> step") and one for the gradients ("Gradient Func"),
// specialised per input shapes when a source has None sizes, like the
// designated functions of Call.cpp. A step's outputs go to fresh arrays and
// are copied into the nodes' parameters and the optimiser state only when
// every value is finite, so a failing step changes nothing.
//
//===----------------------------------------------------------------------===//
#include "frontend/CallDetail.h"
#include "neuromancer/core/Error.h"
#include "neuromancer/core/Format.h"
#include "neuromancer/frontend/Backend.h"
#include "neuromancer/frontend/Model.h"
#include "neuromancer/frontend/NodeImpl.h"
#include "neuromancer/runtime/Executable.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

namespace nm {

const std::vector<std::string> &optimiser_names() {
  static const std::vector<std::string> names{"SGD", "AdaGrad", "AdaDelta",
                                              "Adam"};
  return names;
}

namespace {

using Clock = std::chrono::steady_clock;

void checkOptimiser(const std::string &name) {
  const std::vector<std::string> &known = optimiser_names();
  if (std::find(known.begin(), known.end(), name) == known.end())
    throw ValueError("Unknown optimiser '" + name +
                     "'; the optimisers are SGD, AdaGrad, AdaDelta and Adam");
}

bool allFinite(const Array &a) {
  if (a.dtype() == DType::Float32) {
    const float *p = a.data<float>();
    return std::all_of(p, p + a.size(),
                       [](float v) { return std::isfinite(v); });
  }
  for (int64_t i = 0; i < a.size(); ++i)
    if (!std::isfinite(a.getFlat(i)))
      return false;
  return true;
}

/// "<node>_<param>:<suffix>" -> ("<node>_<param>", "<suffix>").
std::pair<std::string, std::string> splitStateName(const std::string &name) {
  std::size_t colon = name.rfind(':');
  if (colon == std::string::npos)
    return {name, ""};
  return {name.substr(0, colon), name.substr(colon + 1)};
}

/// ValueError unless every sparse label that a MultinoulliNLL of `outputs`
/// reads from an input is below its number of classes (negative labels
/// mark unlabelled voxels, as in ELEKTRONN2).
void checkLabels(const std::vector<Node> &outputs,
                 const std::vector<Array> &inputs, const std::string &what) {
  std::vector<Node> sources = source_nodes(outputs);
  std::vector<Node> nodes = outputs;
  for (const Node &o : outputs)
    for (const Node &p : o.all_parents())
      nodes.push_back(p);
  for (const Node &n : nodes) {
    if ((n.cls() != "MultinoulliNLL" && n.cls() != "BlockedMultinoulliNLL") ||
        !n.impl().attr<bool>("target_is_sparse", false))
      continue;
    Node pred = n.parents()[0], target = n.parents()[1];
    auto it = std::find(sources.begin(), sources.end(), target);
    if (it == sources.end() || inputs.size() != sources.size())
      continue;
    const Array &labels = inputs[it - sources.begin()];
    int64_t perBlock = target.shape().hasTag('f') ? target.shape()['f'] : 1;
    int64_t classes = pred.shape()['f'] / std::max<int64_t>(perBlock, 1);
    for (int64_t i = 0; i < labels.size(); ++i) {
      double label = labels.getFlat(i);
      if (label >= static_cast<double>(classes))
        throw ValueError(
            what + ": the target '" + target.name() + "' holds label " +
            formatG(label) + " (element " + std::to_string(i) + "), but '" +
            n.name() + "' has " + std::to_string(classes) + " classes (0.." +
            std::to_string(classes - 1) + "; negative labels are ignored)");
    }
  }
}

double mean(const std::deque<double> &v) {
  if (v.empty())
    return 0;
  return std::accumulate(v.begin(), v.end(), 0.0) /
         static_cast<double>(v.size());
}

} // namespace

/// The training functions of a model; a friend of Model.
struct TrainingFunctions {
  /// What the training functions compute besides the update: the loss,
  /// then the debug outputs.
  static std::vector<Node> outputs(const Model &model) {
    if (!model.loss_node_)
      throw ValueError("Model '" + model.name() +
                       "' has no designated loss node; call designate_nodes "
                       "with a loss_node before training");
    std::vector<Node> out{model.loss_node_};
    for (const Node &n : model.debug_outputs_)
      out.push_back(n);
    return out;
  }

  static std::shared_ptr<const Executable>
  executable(Model &model, const std::vector<Node> &outputs,
             const std::string &training, const std::vector<Array> &inputs) {
    std::vector<Sizes> shapes = detail::callShapes(outputs, inputs);
    std::string what =
        training == kGradients ? "Gradient Func" : training + " step";
    std::string key = what;
    if (detail::needsSpecialisation(outputs))
      key += " " + formatTupleList(shapes);
    else
      shapes.clear();
    std::lock_guard<std::mutex> lock(model.compileMutex_);
    std::shared_ptr<const Executable> &slot = model.compiled_[key];
    if (!slot) {
      std::string symbol =
          training == kGradients ? "gradients" : training + "_step";
      GraphFunction function{symbol, outputs, false, training};
      slot = detail::compileFunction(function, what, shapes);
    }
    return slot;
  }

  /// The parameters of a training function by argument name: the nodes'
  /// parameters, the optimiser's accumulators (zeros at first use) and the
  /// hyper-parameter vector.
  static std::vector<const Array *> bind(const Executable &exe,
                                         const std::vector<Node> &outputs,
                                         OptimiserState::Accumulators *acc,
                                         const Array *hyper,
                                         const Array *seed) {
    std::vector<const Array *> values;
    for (const ArgSpec &spec : exe.signature().parameters) {
      if (spec.name == "hyper" && hyper) {
        values.push_back(hyper);
        continue;
      }
      if (spec.name == "seed") {
        values.push_back(seed);
        continue;
      }
      auto [param, state] = splitStateName(spec.name);
      if (!state.empty() && acc) {
        Array &a = acc->arrays[spec.name];
        if (a.shape() != spec.shape || a.dtype() != spec.dtype)
          a = Array(spec.shape, spec.dtype);
        values.push_back(&a);
        continue;
      }
      std::optional<ParameterRef> ref = find_parameter(outputs, spec.name);
      if (!ref)
        throw RuntimeError("training function needs parameter '" + spec.name +
                           "', which no node provides");
      values.push_back(&ref->node.impl().params.at(ref->param).value);
    }
    return values;
  }

  /// The dropout seed of the model's next step (tensor<1xi64>).
  static Array stepSeed(OptimiserState &state) {
    if (!state.seed)
      state.seed = next_seed();
    uint64_t z = *state.seed + static_cast<uint64_t>(state.iterations + 1) *
                                   0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    Array a({1}, DType::Int64);
    a.data<int64_t>()[0] = static_cast<int64_t>(z ^ (z >> 31));
    return a;
  }

  /// NumericalError for step `step` unless the loss and every updated
  /// value are finite; names the first parameter whose update is not.
  static void checkFinite(const Executable &exe, const std::vector<Array> &out,
                          std::size_t nForward, const std::string &what,
                          int64_t step) {
    std::string head = what + " " + std::to_string(step) + ": ";
    const std::string tail = "; the parameters and the optimiser state are "
                             "unchanged";
    bool lossOk = allFinite(out[0]);
    for (std::size_t i = nForward; i < out.size(); ++i) {
      if (allFinite(out[i]))
        continue;
      auto [param, state] = splitStateName(exe.signature().outputs[i].name);
      throw NumericalError(head + (lossOk ? "" : "the loss is not finite; ") +
                           "the update of parameter '" + param +
                           "' is not finite (its gradient or the optimiser's "
                           "state overflowed)" +
                           tail);
    }
    if (!lossOk)
      throw NumericalError(head + "the loss is not finite" + tail);
  }
};

StepResult Model::trainingstep(const std::vector<Array> &inputs,
                               const TrainingStepOptions &options) {
  checkOptimiser(options.optimiser);
  std::vector<Node> outputs = TrainingFunctions::outputs(*this);
  std::shared_ptr<const Executable> exe =
      TrainingFunctions::executable(*this, outputs, options.optimiser, inputs);
  checkLabels(outputs, inputs, "trainingstep");
  OptimiserState::Accumulators &acc = training_.optimisers[options.optimiser];
  // [lr, mom, wd, beta2, t, adagrad_first, 0, 0]
  Array hyper({8}, DType::Float64);
  double *h = hyper.data<double>();
  h[0] = training_.lr;
  h[1] = training_.mom;
  h[2] = training_.wd;
  h[3] = training_.beta2;
  h[4] = static_cast<double>(acc.steps + 1);
  h[5] = acc.steps == 0 ? 1.0 : 0.0;
  // Bind to copies of the accumulators: the step's results replace them
  // only when they are finite.
  OptimiserState::Accumulators scratch = acc;
  Array seed = TrainingFunctions::stepSeed(training_);
  std::vector<const Array *> params =
      TrainingFunctions::bind(*exe, outputs, &scratch, &hyper, &seed);
  Clock::time_point start = Clock::now();
  std::vector<Array> out = detail::runExecutable(*exe, inputs, params);
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  TrainingFunctions::checkFinite(*exe, out, outputs.size(),
                                 options.optimiser + " step",
                                 training_.iterations + 1);
  const std::vector<ArgSpec> &specs = exe->signature().outputs;
  for (std::size_t i = outputs.size(); i < out.size(); ++i) {
    auto [param, state] = splitStateName(specs[i].name);
    if (!state.empty()) {
      acc.arrays[specs[i].name] = std::move(out[i]);
      continue;
    }
    std::optional<ParameterRef> ref = find_parameter(outputs, param);
    if (!ref)
      throw RuntimeError("training step returned unknown parameter '" + param +
                         "'");
    ref->node.impl().params.at(ref->param).value = std::move(out[i]);
  }
  ++acc.steps;
  ++training_.iterations;
  StepResult result;
  result.time = seconds;
  result.loss = out[0].getFlat(0);
  for (std::size_t i = 1; i < outputs.size(); ++i)
    result.debug_outputs.push_back(std::move(out[i]));
  if (options.update_loss)
    result.loss = loss(inputs).getFlat(0);
  training_.stepTimes.push_back(seconds);
  if (training_.stepTimes.size() > 50)
    training_.stepTimes.pop_front();
  training_.losses.push_back(result.loss);
  if (training_.losses.size() > 200)
    training_.losses.pop_front();
  return result;
}

ModelParamValues Model::gradients(const std::vector<Array> &inputs) {
  std::vector<Node> outputs{TrainingFunctions::outputs(*this).front()};
  std::shared_ptr<const Executable> exe =
      TrainingFunctions::executable(*this, outputs, kGradients, inputs);
  checkLabels(outputs, inputs, "gradients");
  Array seed = TrainingFunctions::stepSeed(training_);
  std::vector<Array> out = detail::runExecutable(
      *exe, inputs,
      TrainingFunctions::bind(*exe, outputs, nullptr, nullptr, &seed));
  ModelParamValues grads;
  const std::vector<ArgSpec> &specs = exe->signature().outputs;
  for (std::size_t i = 1; i < out.size(); ++i) {
    auto [param, suffix] = splitStateName(specs[i].name);
    if (suffix != "grad")
      continue; // a batch-norm running average
    std::optional<ParameterRef> ref = find_parameter(outputs, param);
    if (!ref)
      throw RuntimeError("gradient of unknown parameter '" + param + "'");
    std::string node = ref->node.name();
    if (!grads.contains(node))
      grads.set(node, ParamValues());
    grads.at(node).set(ref->param, std::move(out[i]));
  }
  return grads;
}

void Model::set_opt_meta_params(const std::string &opt_name,
                                const std::map<std::string, double> &params) {
  checkOptimiser(opt_name);
  for (const auto &[key, value] : params) {
    if (key == "lr")
      training_.lr = value;
    else if (key == "mom")
      training_.mom = value;
    else if (key == "wd")
      training_.wd = value;
    else if (key == "beta2")
      training_.beta2 = value;
    else
      throw ValueError("Unknown meta-parameter '" + key + "' for optimiser " +
                       opt_name + " (lr, mom, wd, beta2)");
  }
}

/// Compiled functions embed dropout rates and mixing weights as
/// attributes: after a change every function compiles again (the disk
/// cache still serves IR it has seen).
void Model::forgetCompiledFunctions() {
  std::lock_guard<std::mutex> lock(compileMutex_);
  compiled_.clear();
  for (const Node &n : nodes_) {
    std::lock_guard<std::mutex> nodeLock(n.impl().compileMutex);
    n.impl().executable.reset();
    n.impl().specialised.clear();
    n.impl().densified.clear();
  }
}

std::vector<double> Model::mixing() const {
  if (!loss_node_ || loss_node_.cls() != "AggregateLoss")
    throw ValueError("Model '" + name_ +
                     "': mixing needs an AggregateLoss as the loss node");
  std::vector<double> w =
      loss_node_.impl().attr<std::vector<double>>("mixing_weights", {});
  if (w.empty())
    w.assign(loss_node_.parents().size(), 1.0);
  return w;
}

void Model::set_mixing(const std::vector<double> &weights) {
  std::vector<double> old = mixing();
  if (weights.size() != old.size())
    throw ValueError(
        "Model '" + name_ + "': mixing needs " + std::to_string(old.size()) +
        " weights (one per loss), got " + std::to_string(weights.size()));
  NodeImpl &loss = loss_node_.impl();
  loss.attrs["mixing_weights"] = weights;
  Array &w = loss.params.at("mixing_weights").value;
  for (std::size_t i = 0; i < weights.size(); ++i)
    w.setFlat(static_cast<int64_t>(i), weights[i]);
  forgetCompiledFunctions();
}

std::vector<double> Model::dropout_rates() const {
  std::vector<double> rates;
  for (const Node &n : nodes_)
    if (n.impl().params.contains("dropout_rate"))
      rates.push_back(n.impl().params.at("dropout_rate").value.getFlat(0));
  return rates;
}

void Model::set_dropout_rates(const std::vector<double> &rates) {
  std::vector<Node> layers;
  for (const Node &n : nodes_)
    if (n.impl().params.contains("dropout_rate"))
      layers.push_back(n);
  if (rates.size() != 1 && rates.size() != layers.size())
    throw ValueError("Model '" + name_ + "': dropout_rates needs one rate or " +
                     std::to_string(layers.size()) +
                     " (one per layer with dropout), got " +
                     std::to_string(rates.size()));
  for (double r : rates)
    if (!(r >= 0.0 && r < 1.0))
      throw ValueError("Model '" + name_ +
                       "': dropout rates must be in [0, 1), got " + formatG(r));
  for (std::size_t i = 0; i < layers.size(); ++i) {
    double r = rates.size() == 1 ? rates[0] : rates[i];
    layers[i].impl().attrs["dropout_rate"] = r;
    layers[i].impl().params.at("dropout_rate").value.setFlat(0, r);
  }
  forgetCompiledFunctions();
}

double Model::time_per_step() const { return mean(training_.stepTimes) + 1e-6; }

double Model::loss_smooth() const { return mean(training_.losses); }

} // namespace nm
