//===- Serialize.cpp - one HDF5 file per model; modelload, rebuild_model --===//
//
// File layout (readable with h5dump):
//   /                attribute neuromancer_format = "neuromancer-model-v1"
//   /graph           string: JSON {model_name, nodes: [{cls, name, parents,
//                    attrs}], designation: {...}}
//   /params/<node>/<param>   one dataset per parameter; the group carries the
//                    node's real name as attribute "node" (names may hold '/').
//
// Loading replays the node list through the same builders the constructors
// use, then restores parameter values and the designation.
//
//===----------------------------------------------------------------------===//
#include "neuromancer/core/Format.h"
#include "neuromancer/core/Geometry.h"
#include "neuromancer/core/Log.h"
#include "neuromancer/frontend/Model.h"
#include "neuromancer/frontend/NodeImpl.h"

#include <hdf5.h>

#include <cstdio>
#include <filesystem>
#include <unistd.h>

namespace nm {
namespace {

constexpr const char *kFormatAttr = "neuromancer_format";
constexpr const char *kFormat = "neuromancer-model-v1";

/// The model as data: what save writes and load reads.
struct SavedModel {
  nlohmann::json graph;
  OrderedDict<ParamValues> params;
};

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
  return saved;
}

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

Model &instantiate(SavedModel saved, const ModelLoadOptions &o,
                   const std::string &source) {
  nlohmann::json &graph = saved.graph;
  applyLoadOptions(graph, o);
  std::string name = o.name;
  if (name.empty()) {
    std::vector<std::string> existing = model_manager.names();
    name = choose_name(graph.value("model_name", std::string("model")),
                       {existing.begin(), existing.end()});
  }
  Model &model = model_manager.newmodel(name);
  try {
    for (const nlohmann::json &desc : graph.at("nodes")) {
      std::vector<Node> parents;
      for (const nlohmann::json &p : desc.at("parents"))
        parents.push_back(model[p.get<std::string>()]);
      Node node = makeNode(desc.at("cls").get<std::string>(), parents,
                           desc.at("attrs"));
      if (node.name() != desc.at("name").get<std::string>())
        throw IOError(source + ": node '" + desc.at("name").get<std::string>() +
                      "' appears twice");
      if (!saved.params.contains(node.name()))
        continue;
      for (const auto &[key, value] : saved.params.at(node.name())) {
        auto it = node.impl().params.find(key);
        if (it == node.impl().params.end() ||
            it->second.value.shape() != value.shape())
          throw IOError(source + ": parameter '" + key + "' of node '" +
                        node.name() + "' does not match the graph");
        it->second.value = value.astype(it->second.value.dtype());
      }
    }
    const nlohmann::json &d = graph.at("designation");
    if (!d.empty()) {
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
  } catch (const nlohmann::json::exception &e) {
    model_manager.remove(name);
    throw IOError(source + ": graph description is corrupt: " + e.what());
  } catch (...) {
    model_manager.remove(name);
    throw;
  }
  return model;
}

//===----------------------------------------------------------------------===//
// HDF5
//===----------------------------------------------------------------------===//

/// Closes an HDF5 handle on scope exit.
class H5Id {
public:
  H5Id(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~H5Id() {
    if (id_ >= 0)
      close_(id_);
  }
  H5Id(const H5Id &) = delete;
  H5Id &operator=(const H5Id &) = delete;
  operator hid_t() const { return id_; }
  bool ok() const { return id_ >= 0; }

private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

/// HDF5 prints error stacks by default; we report errors ourselves.
void silenceHdf5() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

hid_t h5Type(DType d) {
  switch (d) {
  case DType::Float32:
    return H5T_NATIVE_FLOAT;
  case DType::Float64:
    return H5T_NATIVE_DOUBLE;
  case DType::Int8:
    return H5T_NATIVE_INT8;
  case DType::Int16:
    return H5T_NATIVE_INT16;
  case DType::Int32:
    return H5T_NATIVE_INT32;
  case DType::Int64:
    return H5T_NATIVE_INT64;
  case DType::UInt8:
  case DType::Bool:
    return H5T_NATIVE_UINT8;
  case DType::UInt16:
    return H5T_NATIVE_UINT16;
  case DType::UInt32:
    return H5T_NATIVE_UINT32;
  case DType::UInt64:
    return H5T_NATIVE_UINT64;
  }
  return H5T_NATIVE_FLOAT;
}

/// The dtype an HDF5 dataset type maps to (for reading).
DType dtypeOf(hid_t type) {
  H5T_class_t cls = H5Tget_class(type);
  size_t size = H5Tget_size(type);
  if (cls == H5T_FLOAT)
    return size == 8 ? DType::Float64 : DType::Float32;
  if (cls == H5T_INTEGER) {
    bool sign = H5Tget_sign(type) == H5T_SGN_2;
    switch (size) {
    case 1:
      return sign ? DType::Int8 : DType::UInt8;
    case 2:
      return sign ? DType::Int16 : DType::UInt16;
    case 4:
      return sign ? DType::Int32 : DType::UInt32;
    default:
      return sign ? DType::Int64 : DType::UInt64;
    }
  }
  throw IOError("unsupported HDF5 element type (class " +
                std::to_string(static_cast<int>(cls)) + ")");
}

/// Group names cannot hold '/'; escape it (and '%') reversibly.
std::string escapeName(const std::string &name) {
  std::string out;
  for (char c : name) {
    if (c == '/')
      out += "%2F";
    else if (c == '%')
      out += "%25";
    else
      out += c;
  }
  return out == "." ? "%2E" : out;
}

void writeStringAttr(hid_t loc, const char *name, const std::string &value) {
  H5Id type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type, value.size() + 1); // room for the terminator
  H5Id space(H5Screate(H5S_SCALAR), H5Sclose);
  H5Id attr(H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT),
            H5Aclose);
  if (!attr.ok() || H5Awrite(attr, type, value.c_str()) < 0)
    throw IOError(std::string("cannot write attribute '") + name + "'");
}

std::string readStringAttr(hid_t loc, const char *name) {
  if (H5Aexists(loc, name) <= 0)
    return "";
  H5Id attr(H5Aopen(loc, name, H5P_DEFAULT), H5Aclose);
  H5Id type(H5Aget_type(attr), H5Tclose);
  if (H5Tget_class(type) != H5T_STRING || H5Tis_variable_str(type) > 0)
    return "";
  std::string value(H5Tget_size(type) + 1, '\0');
  H5Id memType(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(memType, value.size());
  if (H5Aread(attr, memType, value.data()) < 0)
    return "";
  return value.substr(0, value.find('\0'));
}

void writeString(hid_t loc, const char *name, const std::string &value) {
  H5Id type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type, value.size() + 1); // room for the terminator
  H5Id space(H5Screate(H5S_SCALAR), H5Sclose);
  H5Id ds(
      H5Dcreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
      H5Dclose);
  if (!ds.ok() ||
      H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, value.c_str()) < 0)
    throw IOError(std::string("cannot write dataset '") + name + "'");
}

std::string readString(hid_t loc, const char *name, const std::string &file) {
  if (H5Lexists(loc, name, H5P_DEFAULT) <= 0)
    throw IOError("'" + file + "' has no '/" + name + "' dataset");
  H5Id ds(H5Dopen2(loc, name, H5P_DEFAULT), H5Dclose);
  H5Id type(H5Dget_type(ds), H5Tclose);
  if (!ds.ok() || H5Tget_class(type) != H5T_STRING)
    throw IOError("'" + file + "': '/" + name + "' is not a string");
  std::string value(H5Tget_size(type) + 1, '\0');
  H5Id memType(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(memType, value.size());
  if (H5Dread(ds, memType, H5S_ALL, H5S_ALL, H5P_DEFAULT, value.data()) < 0)
    throw IOError("'" + file + "': cannot read '/" + name +
                  "' (file truncated or corrupt?)");
  return value.substr(0, value.find('\0'));
}

void writeArray(hid_t loc, const std::string &name, const Array &a) {
  std::vector<hsize_t> dims(a.shape().begin(), a.shape().end());
  H5Id space(a.ndim() ? H5Screate_simple(static_cast<int>(dims.size()),
                                         dims.data(), nullptr)
                      : H5Screate(H5S_SCALAR),
             H5Sclose);
  H5Id ds(H5Dcreate2(loc, name.c_str(), h5Type(a.dtype()), space, H5P_DEFAULT,
                     H5P_DEFAULT, H5P_DEFAULT),
          H5Dclose);
  if (!ds.ok() || H5Dwrite(ds, h5Type(a.dtype()), H5S_ALL, H5S_ALL, H5P_DEFAULT,
                           a.raw()) < 0)
    throw IOError("cannot write dataset '" + name + "'");
}

Array readArray(hid_t loc, const std::string &name, const std::string &file) {
  H5Id ds(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.ok())
    throw IOError("'" + file + "': cannot open dataset '" + name + "'");
  H5Id space(H5Dget_space(ds), H5Sclose);
  int rank = H5Sget_simple_extent_ndims(space);
  std::vector<hsize_t> dims(rank > 0 ? rank : 0);
  if (rank > 0)
    H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  H5Id type(H5Dget_type(ds), H5Tclose);
  Array a(Sizes(dims.begin(), dims.end()), dtypeOf(type));
  if (H5Dread(ds, h5Type(a.dtype()), H5S_ALL, H5S_ALL, H5P_DEFAULT, a.raw()) <
      0)
    throw IOError("'" + file + "': cannot read dataset '" + name +
                  "' (file truncated or corrupt?)");
  return a;
}

void writeHdf5(const std::string &path, const SavedModel &saved) {
  silenceHdf5();
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  try {
    {
      H5Id file(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT),
                H5Fclose);
      if (!file.ok())
        throw IOError("cannot create '" + tmp + "'");
      writeStringAttr(file, kFormatAttr, kFormat);
      writeString(file, "graph", saved.graph.dump(1));
      H5Id params(
          H5Gcreate2(file, "params", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
          H5Gclose);
      for (const auto &[node, values] : saved.params) {
        H5Id group(H5Gcreate2(params, escapeName(node).c_str(), H5P_DEFAULT,
                              H5P_DEFAULT, H5P_DEFAULT),
                   H5Gclose);
        if (!group.ok())
          throw IOError("cannot create group for node '" + node + "'");
        writeStringAttr(group, "node", node);
        for (const auto &[key, value] : values)
          writeArray(group, escapeName(key), value);
      }
      if (H5Fflush(file, H5F_SCOPE_GLOBAL) < 0)
        throw IOError("cannot flush '" + tmp + "'");
    }
    std::filesystem::rename(tmp, path);
  } catch (const std::exception &e) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    throw IOError("Cannot save model to '" + path + "': " + e.what());
  }
}

herr_t collectGroupName(hid_t, const char *name, const H5L_info_t *,
                        void *out) {
  static_cast<std::vector<std::string> *>(out)->push_back(name);
  return 0;
}

std::vector<std::string> childNames(hid_t group) {
  std::vector<std::string> names;
  H5Literate(group, H5_INDEX_CRT_ORDER, H5_ITER_INC, nullptr, collectGroupName,
             &names);
  if (names.empty())
    H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, nullptr, collectGroupName,
               &names);
  return names;
}

SavedModel readHdf5(const std::string &path) {
  silenceHdf5();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw IOError("Cannot load model: file '" + path + "' does not exist");
  if (H5Fis_hdf5(path.c_str()) <= 0)
    throw IOError("Cannot load model: '" + path +
                  "' is not an HDF5 file (or it is truncated)");
  H5Id file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.ok())
    throw IOError("Cannot load model: '" + path +
                  "' cannot be opened (truncated or corrupt HDF5 file?)");
  if (readStringAttr(file, kFormatAttr) != kFormat)
    throw IOError("Cannot load model: '" + path +
                  "' is not a neuromancer model file (no '" +
                  std::string(kFormatAttr) + "' = '" + kFormat +
                  "' attribute)");
  SavedModel saved;
  std::string text = readString(file, "graph", path);
  try {
    saved.graph = nlohmann::json::parse(text);
    (void)saved.graph.at("nodes");
    (void)saved.graph.at("designation");
  } catch (const nlohmann::json::exception &e) {
    throw IOError("Cannot load model: '" + path +
                  "': graph description is corrupt: " + e.what());
  }
  if (H5Lexists(file, "params", H5P_DEFAULT) <= 0)
    return saved;
  H5Id params(H5Gopen2(file, "params", H5P_DEFAULT), H5Gclose);
  for (const std::string &groupName : childNames(params)) {
    H5Id group(H5Gopen2(params, groupName.c_str(), H5P_DEFAULT), H5Gclose);
    std::string node = readStringAttr(group, "node");
    if (node.empty())
      node = groupName;
    ParamValues values;
    for (const std::string &ds : childNames(group)) {
      std::string key = ds;
      for (std::size_t at; (at = key.find("%2F")) != std::string::npos;)
        key.replace(at, 3, "/");
      values.set(key, readArray(group, ds, path));
    }
    saved.params.set(node, std::move(values));
  }
  return saved;
}

} // namespace

void Model::save(const std::string &path) const {
  writeHdf5(path, describe(*this));
}

Model &modelload(const std::string &path, const ModelLoadOptions &options) {
  return instantiate(readHdf5(path), options, "'" + path + "'");
}

Model &rebuild_model(const Model &model, const ModelLoadOptions &options) {
  return instantiate(describe(model), options, "model '" + model.name() + "'");
}

} // namespace nm
