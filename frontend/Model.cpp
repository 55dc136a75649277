//===- Model.cpp - Model, model_manager, designate_nodes ------------------===//
#include "neuromancer/frontend/Model.h"

#include "neuromancer/core/Format.h"
#include "neuromancer/core/Geometry.h"
#include "neuromancer/core/Log.h"
#include "neuromancer/frontend/NodeImpl.h"

#include <algorithm>
#include <random>

namespace nm {

ModelManager model_manager;

Model::Model(std::string name) : name_(std::move(name)) {}

std::vector<std::string> Model::names() const {
  std::vector<std::string> out;
  for (const Node &n : nodes_)
    out.push_back(n.name());
  return out;
}

std::set<std::string> Model::takenNames() const {
  std::vector<std::string> n = names();
  return {n.begin(), n.end()};
}

bool Model::contains(const std::string &name) const {
  return std::any_of(nodes_.begin(), nodes_.end(),
                     [&](const Node &n) { return n.name() == name; });
}

Node Model::operator[](const std::string &name) const {
  for (const Node &n : nodes_)
    if (n.name() == name)
      return n;
  throw KeyError("Model '" + name_ + "' has no node '" + name +
                 "'; its nodes are " + formatStringList(names()));
}

Node Model::at(std::size_t index) const {
  if (index >= nodes_.size())
    throw KeyError("Model '" + name_ + "' has " +
                   std::to_string(nodes_.size()) + " nodes, no index " +
                   std::to_string(index));
  return nodes_[index];
}

std::string Model::repr() const { return formatStringList(names()); }

void Model::add(std::shared_ptr<NodeImpl> node) {
  if (contains(node->name))
    throw ValueError("Model '" + name_ + "' already has a node '" + node->name +
                     "'");
  node->model = this;
  nodes_.emplace_back(std::move(node));
}

Node Model::resolve(const NodeRef &ref, const char *role) const {
  if (ref.node) {
    if (&ref.node.model() != this)
      throw ValueError(std::string("designate_nodes: ") + role + " '" +
                       ref.node.name() + "' belongs to model '" +
                       ref.node.model().name() + "', not to '" + name_ + "'");
    return ref.node;
  }
  if (!contains(ref.name))
    throw KeyError(std::string("designate_nodes: ") + role + " '" + ref.name +
                   "' is not a node of model '" + name_ + "'; its nodes are " +
                   formatStringList(names()));
  return (*this)[ref.name];
}

int64_t Model::total_computational_cost() const {
  if (loss_node_)
    return loss_node_.all_computational_cost();
  return prediction_node_ ? prediction_node_.all_computational_cost() : 0;
}

int64_t Model::total_params_count() const {
  if (loss_node_)
    return loss_node_.all_params_count();
  return prediction_node_ ? prediction_node_.all_params_count() : 0;
}

namespace {
/// ELEKTRONN2's fov fix for nets with UpConv: the stored fov becomes the
/// input/output extent difference, for the prediction and the target.
void applyUpConvFovFix(const Node &input, const Node &prediction,
                       const Node &target) {
  const TaggedShape &pred = prediction.shape();
  if (std::none_of(pred.fov().begin(), pred.fov().end(),
                   [](int64_t f) { return f < 0; }))
    return;
  Sizes diff = upconvFovFix(input.shape().spatialShape(), pred.spatialShape(),
                            pred.strides())
                   .take();
  prediction.impl().shape = pred.withFov(diff);
  if (target && target.shape().nSpatial() == pred.nSpatial())
    target.impl().shape = target.shape().withFov(diff);
}
} // namespace

void Model::designate_nodes(const DesignateOptions &o) {
  Designation d;
  input_node_ = resolve(o.input_node, "input_node");
  d.input_node = input_node_.name();
  auto optional = [&](const std::optional<NodeRef> &ref, const char *role,
                      std::string &nameOut) -> Node {
    if (!ref)
      return Node();
    Node n = resolve(*ref, role);
    nameOut = n.name();
    return n;
  };
  target_node_ = optional(o.target_node, "target_node", d.target_node);
  loss_node_ = optional(o.loss_node, "loss_node", d.loss_node);
  prediction_node_ =
      optional(o.prediction_node, "prediction_node", d.prediction_node);
  error_node_ = optional(o.error_node, "error_node", d.error_node);
  prediction_ext_.clear();
  for (const NodeRef &r : o.prediction_ext) {
    prediction_ext_.push_back(resolve(r, "prediction_ext"));
    d.prediction_ext.push_back(prediction_ext_.back().name());
  }
  debug_outputs_.clear();
  for (const NodeRef &r : o.debug_outputs) {
    debug_outputs_.push_back(resolve(r, "debug_outputs"));
    d.debug_outputs.push_back(debug_outputs_.back().name());
  }
  d.designated = true;
  designation_ = d;
  {
    std::lock_guard<std::mutex> lock(compileMutex_);
    compiled_.clear(); // the designated functions changed
  }

  if (!prediction_node_)
    return;
  const TaggedShape &pred = prediction_node_.shape();
  batch_size_ = pred.hasTag('b') ? pred['b'] : None;
  ndim_ = pred.nSpatial();
  applyUpConvFovFix(input_node_, prediction_node_, target_node_);

  const TaggedShape &fixed = prediction_node_.shape();
  log_info("Prediction properties:\n" + fixed.extRepr());
  if (!fixed.fovAllCentered())
    log_warning("Not all field of views are centered (odd). This might lead "
                "to incorrect dense predictions.");
  double total = static_cast<double>(total_computational_cost());
  int64_t spatial = loss_node_ && !prediction_node_
                        ? loss_node_.shape().spatialSize()
                        : fixed.spatialSize();
  log_info("\nTotal Computational Cost of Model: " + pretty_string_ops(total) +
           "\nTotal number of trainable parameters: " +
           formatThousands(total_params_count()) +
           ".\nComputational Cost per pixel: " +
           pretty_string_ops(total / static_cast<double>(spatial)) + "\n");
}

ModelParamValues Model::get_param_values(bool skip_const) const {
  ModelParamValues out;
  for (const Node &n : nodes_)
    out.set(n.name(), n.get_param_values(skip_const));
  return out;
}

void Model::set_param_values(const ModelParamValues &values, bool skip_const) {
  for (const auto &[name, params] : values) {
    if (!contains(name))
      throw KeyError("set_param_values: model '" + name_ + "' has no node '" +
                     name + "'");
    (*this)[name].set_param_values(params, skip_const);
  }
}

//===----------------------------------------------------------------------===//
// ModelManager
//===----------------------------------------------------------------------===//

Model &ModelManager::current() {
  if (!current_)
    return newmodel("default");
  return *current_;
}

Model &ModelManager::getmodel(const std::string &name) {
  if (name.empty())
    return current();
  for (auto &m : models_)
    if (m->name() == name) {
      if (current_ != m.get()) {
        last_ = current_;
        current_ = m.get();
      }
      return *m;
    }
  throw KeyError("model_manager has no model '" + name + "'; it has " +
                 formatStringList(names()));
}

Model &ModelManager::newmodel(const std::string &nameIn) {
  std::string name = nameIn;
  if (name.empty()) {
    std::vector<std::string> n = names();
    name = choose_name("model", {n.begin(), n.end()});
  }
  for (auto &m : models_)
    if (m->name() == name)
      throw ValueError("A model named '" + name + "' exists already");
  models_.push_back(std::make_unique<Model>(name));
  last_ = current_;
  current_ = models_.back().get();
  return *current_;
}

void ModelManager::togglemodel() { std::swap(current_, last_); }

std::vector<std::string> ModelManager::names() const {
  std::vector<std::string> out;
  for (const auto &m : models_)
    out.push_back(m->name());
  return out;
}

void ModelManager::remove(const std::string &name) {
  for (auto it = models_.begin(); it != models_.end(); ++it)
    if ((*it)->name() == name) {
      for (const Node &n : (*it)->nodes())
        n.impl().model = nullptr;
      // The model current before the removed one became current is current
      // again (a temporary model, e.g. predict_dense's MFP rebuild, leaves
      // the user's current model as it was).
      if (current_ == it->get()) {
        current_ = last_;
        last_ = nullptr;
      }
      if (last_ == it->get())
        last_ = nullptr;
      models_.erase(it);
      return;
    }
  throw KeyError("model_manager has no model '" + name + "'");
}

} // namespace nm
