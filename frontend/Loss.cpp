//===- Loss.cpp - ELEKTRONN2's loss module --------------------------------===//
#include "neuromancer/frontend/Layers.h"

#include "neuromancer/core/Format.h"
#include "neuromancer/frontend/LayerSupport.h"

#include <set>

namespace nm {
namespace {

/// Target and prediction must agree on every axis but 'f' (unknown sizes
/// match anything).
void checkTargetMatches(const NodeImpl &n, const TaggedShape &pred,
                        const TaggedShape &target) {
  bool ok = pred.tags() == target.tags();
  for (int64_t i = 0; ok && i < pred.ndim(); ++i)
    if (pred.tags()[i] != 'f' && pred[i] != None && target[i] != None &&
        pred[i] != target[i])
      ok = false;
  if (!ok)
    throw ValueError(n.cls + " '" + n.name + "': target " + target.repr() +
                     " does not match prediction " + pred.repr() +
                     " (all axes but 'f' must agree)");
}

/// Walks through FromTensor to the node a prediction really comes from.
const NodeImpl &throughFromTensor(const NodeImpl &n) {
  const NodeImpl *p = &n;
  while (p->cls == "FromTensor")
    p = &p->parent();
  return *p;
}

void buildSoftmax(NodeImpl &n) {
  expectParents(n, 1);
  const NodeImpl &parent = n.parent();
  if (parent.attrs.contains("activation_func")) {
    std::string act = parent.attr<std::string>("activation_func", "");
    if (act != "lin" && act != "linear")
      throw ValueError("Softmax '" + n.name +
                       "' needs a parent with "
                       "activation_func='lin', but " +
                       parent.cls + " '" + parent.name +
                       "' has activation_func='" + act + "'");
  }
  const TaggedShape &in = parent.shape;
  if (!in.hasTag('f') || in['f'] == None)
    throw ValueError("Softmax '" + n.name + "' needs a known 'f' axis, got " +
                     in.repr());
  int64_t n_indep = n.attr<int64_t>("n_indep", 1);
  int64_t n_class = n.attr<int64_t>("n_class", 0);
  if (n_indep < 1 || in['f'] % n_indep != 0)
    throw ValueError(
        "Softmax '" + n.name + "': " + std::to_string(in['f']) +
        " features cannot form n_indep=" + std::to_string(n_indep) + " blocks");
  if (n_class == 0)
    n.attrs["n_class"] = in['f'] / n_indep;
  else if (n_class * n_indep != in['f'])
    throw ValueError("Softmax '" + n.name +
                     "': n_class=" + std::to_string(n_class) +
                     " x n_indep=" + std::to_string(n_indep) +
                     " != " + std::to_string(in['f']) + " features");
  n.shape = in;
  n.cost = parentSize(n);
}

void buildOneHot(NodeImpl &n) {
  expectParents(n, 1);
  std::string axis = n.attr<std::string>("axis", "f");
  int64_t n_class = n.attr<int64_t>("n_class", 0);
  if (n_class < 1)
    throw ValueError("OneHot '" + n.name + "' needs n_class >= 1");
  n.shape = n.parent().shape.updateShape(axis.at(0), n_class);
  n.cost = parentSize(n);
}

/// MultinoulliNLL and BlockedMultinoulliNLL: parents are pred, target, then
/// the optional nodes named in attrs["extra_inputs"].
void buildMultinoulliNLL(NodeImpl &n) {
  if (n.parents.size() < 2)
    throw ValueError(n.cls + " '" + n.name + "' needs pred and target");
  const NodeImpl &pred = n.parent(0);
  if (throughFromTensor(pred).cls != "Softmax")
    throw ValueError(n.cls + " '" + n.name +
                     "' needs a Softmax prediction "
                     "(or a split of one), got " +
                     pred.cls + " '" + pred.name + "'");
  const TaggedShape &ps = pred.shape, &ts = n.parent(1).shape;
  checkTargetMatches(n, ps, ts);
  bool sparse = n.attr<bool>("target_is_sparse", false);
  // n_indep softmaxes over blocks of n_class features: a sparse target
  // holds one label per block, class weights one weight per class.
  const NodeImpl &softmax = throughFromTensor(pred);
  int64_t nIndep =
      softmax.cls == "Softmax" ? softmax.attr<int64_t>("n_indep", 1) : 1;
  if (sparse && ts.hasTag('f') && ts['f'] != nIndep)
    throw ValueError(n.cls + " '" + n.name +
                     "': a sparse target needs f=" + std::to_string(nIndep) +
                     " (one label per independent "
                     "softmax), got " +
                     ts.repr());
  if (!sparse && ts['f'] != ps['f'] && ts['f'] != None && ps['f'] != None)
    throw ValueError(n.cls + " '" + n.name + "': a dense target needs f=" +
                     std::to_string(ps['f']) + ", got " + ts.repr() +
                     " (set target_is_sparse for class labels)");
  std::vector<double> cw = n.attr<std::vector<double>>("class_weights", {});
  int64_t nClass = ps['f'] == None ? None : ps['f'] / nIndep;
  if (!cw.empty() && static_cast<int64_t>(cw.size()) != nClass)
    throw ValueError(n.cls + " '" + n.name + "': " + std::to_string(cw.size()) +
                     " class_weights for " + std::to_string(nClass) +
                     " classes");
  n.shape = ps.updateShape('f', 1);
  n.cost = parentSize(n);
}

int64_t autoIndep(const NodeImpl &pred, int64_t given) {
  if (given > 0)
    return given;
  const NodeImpl &src = throughFromTensor(pred);
  return src.cls == "Softmax" ? src.attr<int64_t>("n_indep", 1) : 1;
}

void buildClassification(NodeImpl &n) {
  expectParents(n, 1);
  int64_t n_indep = autoIndep(n.parent(), n.attr<int64_t>("n_indep", 0));
  n.attrs["n_indep"] = n_indep;
  n.shape = n.parent().shape.updateShape('f', n_indep);
  n.dtype = DType::Int64;
  n.cost = parentSize(n);
}

TaggedShape scalarShape() { return TaggedShape({1}, "f"); }

void buildErrors(NodeImpl &n) {
  expectParents(n, 2);
  checkTargetMatches(n, n.parent(0).shape, n.parent(1).shape);
  n.shape = scalarShape();
  n.cost = parentSize(n);
}

/// Losses of the form loss(pred..., target) with the shape of the first
/// parent and 'f' reduced to 1 when `reduceF`.
NodeBuilder elementwiseLoss(std::size_t nParents, bool reduceF) {
  return [=](NodeImpl &n) {
    expectParents(n, nParents);
    const TaggedShape &first = n.parent(0).shape;
    for (std::size_t i = 1; i < nParents; ++i) {
      const TaggedShape &other = n.parent(i).shape;
      if (other.tags() != first.tags() || other.ndim() != first.ndim())
        throw ValueError(n.cls + " '" + n.name + "': input " + other.repr() +
                         " does not match " + first.repr());
      for (int64_t k = 0; k < first.ndim(); ++k)
        if (first[k] != None && other[k] != None && first[k] != other[k])
          throw ValueError(n.cls + " '" + n.name + "': input " + other.repr() +
                           " does not match " + first.repr());
    }
    n.shape = reduceF && first.hasTag('f') ? first.updateShape('f', 1) : first;
    n.cost = parentSize(n);
  };
}

void buildAggregateLoss(NodeImpl &n) {
  if (n.parents.empty())
    throw ValueError("AggregateLoss '" + n.name + "' needs at least one loss");
  std::vector<double> w = n.attr<std::vector<double>>("mixing_weights", {});
  if (w.empty())
    w.assign(n.parents.size(), 1.0);
  if (w.size() != n.parents.size())
    throw ValueError("AggregateLoss '" + n.name +
                     "': " + std::to_string(w.size()) + " mixing_weights for " +
                     std::to_string(n.parents.size()) + " losses");
  Array weights({static_cast<int64_t>(w.size())});
  for (std::size_t i = 0; i < w.size(); ++i)
    weights.setFlat(i, w[i]);
  addParam(n, "mixing_weights", weights, false);
  n.shape = scalarShape();
  n.cost = 0;
  for (std::size_t i = 0; i < n.parents.size(); ++i)
    n.cost += parentSize(n, i);
}

nlohmann::json nllAttrs(const std::string &name, bool printRepr, bool sparse,
                        const std::vector<double> &classWeights,
                        std::vector<Node> &parents,
                        const std::vector<std::pair<const char *, Node>> &opt) {
  nlohmann::json a = baseAttrs(name, printRepr);
  a["target_is_sparse"] = sparse;
  a["class_weights"] = classWeights;
  std::vector<std::string> extra;
  for (const auto &[key, node] : opt)
    if (node) {
      parents.push_back(node);
      extra.push_back(key);
    }
  a["extra_inputs"] = extra;
  return a;
}

} // namespace

void registerLossNodes(BuilderTable &t) {
  t["Softmax"] = buildSoftmax;
  t["OneHot"] = buildOneHot;
  t["MultinoulliNLL"] = buildMultinoulliNLL;
  t["BlockedMultinoulliNLL"] = buildMultinoulliNLL;
  t["Classification"] = buildClassification;
  t["_Errors"] = buildErrors;
  t["GaussianNLL"] = elementwiseLoss(3, false);
  t["BetaNLL"] = elementwiseLoss(3, false);
  t["BinaryNLL"] = elementwiseLoss(2, false);
  t["SquaredLoss"] = elementwiseLoss(2, true);
  t["AbsLoss"] = elementwiseLoss(2, true);
  t["EuclideanDistance"] = elementwiseLoss(2, true);
  t["RampLoss"] = elementwiseLoss(2, true);
  t["AggregateLoss"] = buildAggregateLoss;
}

Node Softmax(const Node &parent, const SoftmaxOptions &o) {
  nlohmann::json a = baseAttrs(o.name, o.print_repr);
  a["n_class"] = o.n_class;
  a["n_indep"] = o.n_indep;
  return makeNode("Softmax", {parent}, a);
}

Node OneHot(const Node &target, int64_t n_class, const OneHotOptions &o) {
  nlohmann::json a = baseAttrs(o.name, o.print_repr);
  a["n_class"] = n_class;
  a["axis"] = o.axis;
  return makeNode("OneHot", {target}, a);
}

Node MultinoulliNLL(const Node &pred, const Node &target,
                    const MultinoulliNLLOptions &o) {
  std::vector<Node> parents = {pred, target};
  nlohmann::json a = nllAttrs(
      o.name, o.print_repr, o.target_is_sparse, o.class_weights, parents,
      {{"example_weights", o.example_weights},
       {"mask_class_labeled", o.mask_class_labeled},
       {"mask_class_not_present", o.mask_class_not_present}});
  a["weakness"] = o.weakness;
  return makeNode("MultinoulliNLL", parents, a);
}

Node BlockedMultinoulliNLL(const Node &pred, const Node &target,
                           const BlockedMultinoulliNLLOptions &o) {
  std::vector<Node> parents = {pred, target};
  nlohmann::json a =
      nllAttrs(o.name, o.print_repr, o.target_is_sparse, o.class_weights,
               parents, {{"example_weights", o.example_weights}});
  a["blocking_factor"] = o.blocking_factor;
  return makeNode("BlockedMultinoulliNLL", parents, a);
}

Node Classification(const Node &pred, const ClassificationOptions &o) {
  nlohmann::json a = baseAttrs(o.name, o.print_repr);
  a["n_class"] = o.n_class;
  a["n_indep"] = o.n_indep;
  return makeNode("Classification", {pred}, a);
}

Node Errors(const Node &pred, const Node &target, const ErrorsOptions &o) {
  Node cls = Classification(pred, {.n_class = o.n_class,
                                   .n_indep = o.n_indep,
                                   .name = "cls for errors",
                                   .print_repr = false});
  nlohmann::json a = baseAttrs(o.name, o.print_repr);
  a["target_is_sparse"] = o.target_is_sparse;
  return makeNode("_Errors", {cls, target}, a);
}

Node GaussianNLL(const Node &mu, const Node &sig, const Node &target,
                 const GaussianNLLOptions &o) {
  nlohmann::json a = baseAttrs(o.name, o.print_repr);
  a["sig_is_log"] = o.sig_is_log;
  return makeNode("GaussianNLL", {mu, sig, target}, a);
}

Node BetaNLL(const Node &mode, const Node &concentration, const Node &target,
             const BetaNLLOptions &o) {
  return makeNode("BetaNLL", {mode, concentration, target},
                  baseAttrs(o.name, o.print_repr));
}

Node BinaryNLL(const Node &pred, const Node &target,
               const BinaryNLLOptions &o) {
  nlohmann::json a = baseAttrs(o.name, o.print_repr);
  a["subtract_label_entropy"] = o.subtract_label_entropy;
  return makeNode("BinaryNLL", {pred, target}, a);
}

namespace {
nlohmann::json regressionAttrs(const RegressionLossOptions &o,
                               const char *defaultName) {
  nlohmann::json a =
      baseAttrs(o.name.empty() ? defaultName : o.name, o.print_repr);
  a["margin"] = o.margin ? nlohmann::json(*o.margin) : nlohmann::json();
  a["scale_correction"] = o.scale_correction
                              ? nlohmann::json(*o.scale_correction)
                              : nlohmann::json();
  return a;
}
} // namespace

Node SquaredLoss(const Node &pred, const Node &target,
                 const RegressionLossOptions &o) {
  return makeNode("SquaredLoss", {pred, target}, regressionAttrs(o, "se"));
}

Node AbsLoss(const Node &pred, const Node &target,
             const RegressionLossOptions &o) {
  return makeNode("AbsLoss", {pred, target}, regressionAttrs(o, "absloss"));
}

Node EuclideanDistance(const Node &pred, const Node &target,
                       const EuclideanDistanceOptions &o) {
  return makeNode("EuclideanDistance", {pred, target},
                  baseAttrs(o.name, o.print_repr));
}

Node RampLoss(const Node &d_low, const Node &d_big, const RampLossOptions &o) {
  nlohmann::json a = baseAttrs(o.name, o.print_repr);
  a["margin"] = o.margin;
  return makeNode("RampLoss", {d_low, d_big}, a);
}

Node AggregateLoss(const std::vector<Node> &parents,
                   const AggregateLossOptions &o) {
  nlohmann::json a = baseAttrs(o.name, o.print_repr);
  a["mixing_weights"] = o.mixing_weights;
  return makeNode("AggregateLoss", parents, a);
}

Node AggregateLoss(const Node &parent, const AggregateLossOptions &o) {
  return AggregateLoss(std::vector<Node>{parent}, o);
}

} // namespace nm
