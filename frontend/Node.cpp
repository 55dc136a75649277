//===- Node.cpp - Node handles, node creation, parameter init -------------===//
#include "neuromancer/frontend/NodeImpl.h"

#include "neuromancer/core/Format.h"
#include "neuromancer/core/Log.h"
#include "neuromancer/frontend/Model.h"

#include <cmath>
#include <map>
#include <random>
#include <set>

namespace nm {

//===----------------------------------------------------------------------===//
// Node handle
//===----------------------------------------------------------------------===//

NodeImpl &Node::impl() const {
  if (!impl_)
    throw ValueError("use of an empty nm::Node handle");
  return *impl_;
}

const std::string &Node::name() const { return impl().name; }
const std::string &Node::cls() const { return impl().cls; }
const TaggedShape &Node::shape() const { return impl().shape; }
DType Node::dtype() const { return impl().dtype; }
int64_t Node::computational_cost() const { return impl().cost; }
bool Node::is_source() const { return impl().isSource; }

Model &Node::model() const {
  if (!impl().model)
    throw RuntimeError("node '" + name() + "' belongs to no model");
  return *impl().model;
}

int64_t Node::param_count() const {
  int64_t n = 0;
  for (const auto &[name, p] : impl().params)
    if (p.trainable)
      n += p.value.size();
  return n;
}

std::vector<Node> Node::parents() const {
  std::vector<Node> out;
  for (const auto &p : impl().parents)
    out.emplace_back(p);
  return out;
}

namespace {
void collectParents(const std::shared_ptr<NodeImpl> &node,
                    std::set<const NodeImpl *> &seen, std::vector<Node> &out) {
  if (!seen.insert(node.get()).second)
    return;
  for (const auto &p : node->parents)
    collectParents(p, seen, out);
  out.emplace_back(node);
}
} // namespace

std::vector<Node> Node::all_parents() const {
  std::set<const NodeImpl *> seen;
  std::vector<Node> out;
  impl(); // an empty handle is a ValueError, not a null dereference
  collectParents(impl_, seen, out);
  return out;
}

std::vector<Node> Node::input_nodes() const {
  std::vector<Node> out;
  for (const Node &n : all_parents())
    if (n.is_source())
      out.push_back(n);
  return out;
}

int64_t Node::all_params_count() const {
  int64_t n = 0;
  for (const Node &p : all_parents())
    n += p.param_count();
  return n;
}

int64_t Node::all_computational_cost() const {
  int64_t n = 0;
  for (const Node &p : all_parents())
    n += p.computational_cost();
  return n;
}

std::string Node::repr() const {
  const NodeImpl &n = impl();
  std::string s = "<" + n.cls + "-Node> '" + n.name + "' \n  ";
  if (int64_t count = param_count(); count > 0)
    s += "#Params=" + formatThousands(count) + " ";
  if (n.cost > 0)
    s += "Comp.Cost=" + pretty_string_ops(static_cast<double>(n.cost)) + ", ";
  s += "Out:" + n.shape.repr();
  std::vector<Node> sources = input_nodes();
  if (sources.size() > 1) {
    std::vector<std::string> names;
    for (const Node &src : sources)
      names.push_back(src.name());
    s += "\n  Order of sources=" + formatStringList(names) + ", ";
  }
  return s + n.reprTail;
}

ParamValues Node::get_param_values(bool skip_const) const {
  ParamValues out;
  for (const auto &[name, p] : impl().params)
    if (!(skip_const && p.constant))
      out.set(name, p.value);
  return out;
}

void Node::set_param_values(const ParamValues &values, bool skip_const) {
  NodeImpl &n = impl();
  for (const auto &[key, value] : values) {
    auto it = n.params.find(key);
    if (it == n.params.end()) {
      if (key == "gamma" || key == "std" || key == "mean") {
        log_info("Node '" + n.name + "' has no parameter '" + key +
                 "' (batch normalisation is off); skipped.");
        continue;
      }
      throw KeyError("Node '" + n.name + "' has no parameter '" + key +
                     "'; it has " + formatStringList(n.params.keys()));
    }
    Param &p = it->second;
    if (p.constant) {
      if (skip_const)
        continue;
      throw ValueError("Parameter '" + key + "' of node '" + n.name +
                       "' is constant and cannot be set");
    }
    if (value.shape() != p.value.shape())
      throw ValueError("Parameter '" + key + "' of node '" + n.name +
                       "' has shape " + p.value.shapeString() + ", got " +
                       value.shapeString());
    p.value = value.astype(p.value.dtype());
  }
}

//===----------------------------------------------------------------------===//
// Node creation
//===----------------------------------------------------------------------===//

Node makeNode(const std::string &cls, std::vector<Node> parents,
              nlohmann::json attrs) {
  const NodeBuilder &build = nodeBuilder(cls);
  Model &model = model_manager.current();
  auto impl = std::make_shared<NodeImpl>();
  impl->cls = cls;
  impl->name =
      choose_name(attrs.value("name", std::string("node")), model.takenNames());
  attrs["name"] = impl->name;
  impl->printRepr = attrs.value("print_repr", true);
  for (const Node &p : parents) {
    if (!p)
      throw ValueError(cls + " '" + impl->name + "': a parent node is empty");
    impl->parents.push_back(p.ptr());
  }
  impl->attrs = std::move(attrs);
  build(*impl);
  model.add(impl);
  Node node(impl);
  log(impl->printRepr ? LogLevel::Info : LogLevel::Debug,
      std::string(87, '-') + "\n" + node.repr());
  return node;
}

void setInitialParam(NodeImpl &node, const std::string &param,
                     const std::optional<Array> &value) {
  if (!value)
    return;
  auto it = node.params.find(param);
  if (it == node.params.end())
    throw ValueError("Node '" + node.name + "' has no parameter '" + param +
                     "' to initialise");
  if (value->shape() != it->second.value.shape())
    throw ValueError("Initial value of '" + param + "' for node '" + node.name +
                     "' has shape " + value->shapeString() + ", expected " +
                     it->second.value.shapeString());
  it->second.value = value->astype(it->second.value.dtype());
}

//===----------------------------------------------------------------------===//
// Parameter initialisation
//===----------------------------------------------------------------------===//

namespace {
std::mt19937_64 &generator() {
  static std::mt19937_64 g(0x6e6575726f6dULL);
  return g;
}
double uniform01() {
  // 53 random bits -> [0, 1); independent of the standard library's
  // distribution implementations, so values are portable.
  return static_cast<double>(generator()() >> 11) * 0x1.0p-53;
}
double standardNormal() {
  // Box-Muller.
  double u1 = uniform01(), u2 = uniform01();
  if (u1 < 1e-300)
    u1 = 1e-300;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}
} // namespace

void set_seed(uint64_t seed) { generator().seed(seed); }

uint64_t next_seed() { return generator()(); }

Array glorotNormal(const Sizes &shape, double fanSum) {
  Array a(shape);
  const double std = std::sqrt(2.0 / fanSum);
  float *d = a.data<float>();
  for (int64_t i = 0; i < a.size(); ++i)
    d[i] = static_cast<float>(std * standardNormal());
  return a;
}

Array uniformArray(const Sizes &shape, double low, double high) {
  Array a(shape);
  float *d = a.data<float>();
  for (int64_t i = 0; i < a.size(); ++i)
    d[i] = static_cast<float>(low + (high - low) * uniform01());
  return a;
}

} // namespace nm
