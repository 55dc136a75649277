//===- ModelDescription.cpp - a model as data (graph JSON + values) -------===//
//
// describe() turns a model into its graph description (node classes, names,
// parents, attributes, designation) and parameter values; instantiate()
// replays a description through the node builders, applying modelload's
// options (batch size, MFP, patch size) first.
//
//===----------------------------------------------------------------------===//
#include "frontend/ModelDescription.h"

#include "neuromancer/core/Format.h"
#include "neuromancer/core/Geometry.h"
#include "neuromancer/core/Log.h"

#include <map>
#include <set>

namespace nm::detail {

//===----------------------------------------------------------------------===//
// Model <-> SavedModel
//===----------------------------------------------------------------------===//

SavedModel describe(const Model &model) {
  SavedModel saved;
  nlohmann::json nodes = nlohmann::json::array();
  for (const Node &n : model.nodes()) {
    std::vector<std::string> parents;
    for (const Node &p : n.parents())
      parents.push_back(p.name());
    nodes.push_back({{"cls", n.cls()},
                     {"name", n.name()},
                     {"parents", parents},
                     {"attrs", n.impl().attrs}});
    ParamValues values = n.get_param_values();
    if (!values.empty())
      saved.params.set(n.name(), std::move(values));
  }
  const Model::Designation &d = model.designation();
  nlohmann::json desig = nlohmann::json::object();
  if (d.designated)
    desig = {{"input_node", d.input_node},
             {"target_node", d.target_node},
             {"loss_node", d.loss_node},
             {"prediction_node", d.prediction_node},
             {"error_node", d.error_node},
             {"prediction_ext", d.prediction_ext},
             {"debug_outputs", d.debug_outputs}};
  saved.graph = {
      {"model_name", model.name()}, {"nodes", nodes}, {"designation", desig}};
  saved.optimiser = model.optimiser_state();
  return saved;
}

namespace {

nlohmann::json *findNode(nlohmann::json &nodes, const std::string &name) {
  for (nlohmann::json &n : nodes)
    if (n.at("name") == name)
      return &n;
  return nullptr;
}

/// Applies imposed batch size, MFP and patch size to the description, as
/// ELEKTRONN2's modelload does.
void applyLoadOptions(nlohmann::json &graph, const ModelLoadOptions &o) {
  nlohmann::json &nodes = graph.at("nodes");
  const nlohmann::json &desig = graph.at("designation");
  if (o.imposed_batch_size == 0 && !o.override_mfp_to_active &&
      o.imposed_patch_size.empty())
    return;
  if (desig.empty())
    throw ValueError("rebuild: the model has no designated input node");
  nlohmann::json *input = findNode(nodes, desig.at("input_node"));
  if (!input || input->at("cls") != "Input")
    throw ValueError("rebuild: the designated input node is not an Input");
  nlohmann::json &attrs = input->at("attrs");
  TaggedShape inShape(attrs.at("shape").get<Sizes>(),
                      attrs.at("tags").get<std::string>());
  Sizes shape = inShape.shape();
  if (o.imposed_batch_size > 0)
    shape[inShape.tagIndex('b')] = o.imposed_batch_size;

  if (o.override_mfp_to_active) {
    std::string predName = desig.value("prediction_node", "");
    nlohmann::json *pred = findNode(nodes, predName);
    if (!pred)
      throw ValueError("rebuild with MFP needs a designated prediction node");
    std::set<std::string> taken;
    for (const nlohmann::json &n : nodes)
      taken.insert(n.at("name").get<std::string>());
    std::string denseName = choose_name("to_dense", taken);
    nlohmann::json dense = {
        {"cls", "FragmentsToDense"},
        {"name", denseName},
        {"parents", {pred->at("parents").at(0)}},
        {"attrs", {{"name", denseName}, {"print_repr", true}}}};
    pred->at("parents").at(0) = denseName;
    for (nlohmann::json &n : nodes)
      if (n.at("cls") == "Conv")
        n.at("attrs")["mfp"] = true;
    for (auto it = nodes.begin(); it != nodes.end(); ++it)
      if (it->at("name") == predName) {
        nodes.insert(it, dense);
        break;
      }
  }

  if (o.override_mfp_to_active || !o.imposed_patch_size.empty()) {
    Sizes desired = o.imposed_patch_size.empty() ? inShape.spatialShape()
                                                 : o.imposed_patch_size;
    if (static_cast<int64_t>(desired.size()) != inShape.nSpatial())
      throw ValueError("imposed_patch_size " + formatList(desired) +
                       " needs one size per spatial axis of " + inShape.repr());
    std::vector<CnnLayer> layers;
    for (const nlohmann::json &n : nodes)
      if (n.at("cls") == "Conv") {
        const nlohmann::json &a = n.at("attrs");
        layers.push_back({a.at("filter_shape").get<Sizes>(),
                          a.at("pool_shape").get<Sizes>(),
                          a.value("mfp", false)});
      }
    CnnCalculation calc = cnncalculator(layers, desired).take();
    for (const std::string &note : calc.notes)
      log_info(note);
    std::vector<int64_t> axes = inShape.spatialAxes();
    for (std::size_t j = 0; j < axes.size(); ++j)
      shape[axes[j]] = calc.patch[j];
  }
  attrs["shape"] = shape;
}

/// The attributes a node's builder needs and would otherwise default
/// silently (the constructors always store them): a file whose node lacks
/// one is corrupt, not a node with n_f = 0.
const std::vector<std::string> &requiredAttrs(const std::string &cls) {
  static const std::map<std::string, std::vector<std::string>> table = {
      {"Conv",
       {"n_f", "filter_shape", "pool_shape", "conv_mode", "mfp",
        "activation_func", "batch_normalisation", "dropout_rate"}},
      {"Perceptron",
       {"n_f", "flatten", "activation_func", "batch_normalisation",
        "dropout_rate"}},
      {"UpConv",
       {"n_f", "pool_shape", "identity_init", "activation_func",
        "batch_normalisation", "dropout_rate"}},
      {"Pool", {"pool_shape", "stride", "mfp", "mode"}},
      {"Crop", {"crop"}},
      {"Pad", {"pad", "value"}},
      {"Input", {"shape", "tags", "dtype"}},
      {"ValueNode", {"shape", "tags", "dtype", "apply_train"}},
  };
  static const std::vector<std::string> none;
  auto it = table.find(cls);
  return it == table.end() ? none : it->second;
}

/// Parent nodes of `desc` (the node at `index`), with a message naming the
/// node when a parent is defined later or nowhere.
std::vector<Node> parentsOf(Model &model, const nlohmann::json &nodes,
                            std::size_t index, const std::string &source) {
  const nlohmann::json &desc = nodes.at(index);
  const std::string name = desc.at("name").get<std::string>();
  std::vector<Node> parents;
  for (const nlohmann::json &p : desc.at("parents")) {
    std::string parent = p.get<std::string>();
    if (model.contains(parent)) {
      parents.push_back(model[parent]);
      continue;
    }
    bool later = false;
    for (std::size_t j = index; j < nodes.size() && !later; ++j)
      later = nodes.at(j).at("name") == parent;
    throw IOError(source + ": node '" + name + "' (" +
                  desc.at("cls").get<std::string>() + ") names parent '" +
                  parent + "', which " +
                  (later ? "is defined after it" : "does not exist"));
  }
  return parents;
}

/// Builds one node of the description; errors name the node and source.
Node buildNode(Model &model, const nlohmann::json &nodes, std::size_t index,
               const std::string &source, bool fromFile) {
  const nlohmann::json &desc = nodes.at(index);
  const std::string name = desc.at("name").get<std::string>();
  const std::string cls = desc.at("cls").get<std::string>();
  const std::string where = source + ": node '" + name + "' (" + cls + ")";
  std::vector<Node> parents = parentsOf(model, nodes, index, source);
  const nlohmann::json &attrs = desc.at("attrs");
  if (!attrs.is_object())
    throw IOError(where + ": 'attrs' is not an object");
  for (const std::string &key : requiredAttrs(cls))
    if (!attrs.contains(key))
      throw IOError(where + " has no attribute '" + key + "'");
  try {
    return makeNode(cls, parents, attrs);
  } catch (const nlohmann::json::exception &e) {
    throw IOError(where + ": an attribute has the wrong type: " + e.what());
  } catch (const Error &e) {
    if (!fromFile)
      throw;
    throw IOError(where + ": " + e.what());
  }
}

void designate(Model &model, const nlohmann::json &d) {
  if (d.empty())
    return;
  DesignateOptions opts;
  opts.input_node = d.at("input_node").get<std::string>();
  auto optional = [&](const char *key) -> std::optional<NodeRef> {
    std::string v = d.value(key, std::string());
    if (v.empty())
      return std::nullopt;
    return NodeRef(v);
  };
  opts.target_node = optional("target_node");
  opts.loss_node = optional("loss_node");
  opts.prediction_node = optional("prediction_node");
  opts.error_node = optional("error_node");
  for (const auto &v : d.at("prediction_ext"))
    opts.prediction_ext.emplace_back(v.get<std::string>());
  for (const auto &v : d.at("debug_outputs"))
    opts.debug_outputs.emplace_back(v.get<std::string>());
  model.designate_nodes(opts);
}

} // namespace

/// Builds the model described by `graph`; `fill` gives each node its saved
/// parameters right after the node is built. `finish` runs once all nodes
/// exist, before the designation; a throw removes the model.
Model &instantiate(nlohmann::json graph, const ModelLoadOptions &o,
                   const std::string &source, bool fromFile,
                   const ParamFiller &fill,
                   const std::function<void(Model &)> &finish) {
  std::string name = o.name;
  try {
    applyLoadOptions(graph, o);
    if (name.empty()) {
      std::vector<std::string> existing = model_manager.names();
      name = choose_name(graph.value("model_name", std::string("model")),
                         {existing.begin(), existing.end()});
    }
  } catch (const nlohmann::json::exception &e) {
    throw IOError(source + ": graph description is corrupt: " + e.what());
  }
  Model &model = model_manager.newmodel(name);
  try {
    const nlohmann::json &nodes = graph.at("nodes");
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      Node node = buildNode(model, nodes, i, source, fromFile);
      if (node.name() != nodes.at(i).at("name").get<std::string>())
        throw IOError(source + ": node '" +
                      nodes.at(i).at("name").get<std::string>() +
                      "' appears twice");
      fill(node.impl());
    }
    if (finish)
      finish(model);
    designate(model, graph.at("designation"));
  } catch (const nlohmann::json::exception &e) {
    model_manager.remove(name);
    throw IOError(source + ": graph description is corrupt: " + e.what());
  } catch (...) {
    model_manager.remove(name);
    throw;
  }
  return model;
}

/// The in-memory filler of rebuild_model: the values describe() took.
ParamFiller memoryFiller(const SavedModel &saved, const std::string &source) {
  return [&saved, source](NodeImpl &node) {
    if (!saved.params.contains(node.name))
      return;
    for (const auto &[key, value] : saved.params.at(node.name)) {
      auto it = node.params.find(key);
      if (it == node.params.end() || it->second.value.shape() != value.shape())
        throw IOError(source + ": parameter '" + key + "' of node '" +
                      node.name + "' does not match the graph");
      it->second.value = value.astype(it->second.value.dtype());
    }
  };
}

} // namespace nm::detail
