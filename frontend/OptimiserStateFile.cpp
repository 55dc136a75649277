//===- OptimiserStateFile.cpp - the optimiser state in a model file -------===//
//
// The optional group /optimiser of a neuromancer-model-v2 file, so that
// training resumes exactly after save + modelload:
//   /optimiser       attributes lr, mom, wd, beta2 (float64), iterations
//                    (int64), dropout_seed (uint64, once drawn); datasets
//                    step_times (<= 50) and losses
//                    (<= 200), float64, for time_per_step and loss_smooth
//   /optimiser/<opt> one group per optimiser that has state (SGD, AdaGrad,
//                    AdaDelta, Adam); attributes steps (int64: Adam's t,
//                    AdaGrad's first step) and accumulators (int64: how
//                    many datasets follow, so a removed one is noticed)
//   /optimiser/<opt>/<node>/<param>:<state>   one accumulator (SGD d,
//                    AdaGrad h, AdaDelta s d, Adam m s), of its parameter's
//                    shape and dtype, chunked with Fletcher32 like the
//                    parameters; the node group carries the node's real name
//                    as attribute "node".
// Scalars are attributes: they live in object headers, which the HDF5 1.10
// formats checksum. A file without the group (any older file) loads with a
// fresh state. Loading takes every accumulator's shape and dtype from the
// graph's parameter, never from the file, so no size in the file drives an
// allocation beyond the two short series, whose lengths are bounded first.
//
//===----------------------------------------------------------------------===//
#include "frontend/ModelFileDetail.h"
#include "neuromancer/core/Error.h"
#include "neuromancer/core/Format.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace nm::detail {
namespace {

constexpr const char *kGroup = "optimiser";
constexpr const char *kStepTimes = "step_times";
constexpr const char *kLosses = "losses";
constexpr std::size_t kMaxStepTimes = 50, kMaxLosses = 200;

/// The accumulators each optimiser keeps per parameter, in the order of
/// nm-optimizer-step's optimizerStateNames (dialect/Transforms/
/// OptimizerStep.cpp). Repeated because the frontend links no MLIR;
/// training_resume_test round-trips every optimiser, so a drift fails it.
const std::vector<std::string> &stateNames(const std::string &optimiser) {
  static const std::map<std::string, std::vector<std::string>> table = {
      {"SGD", {"d"}},
      {"AdaGrad", {"h"}},
      {"AdaDelta", {"s", "d"}},
      {"Adam", {"m", "s"}}};
  static const std::vector<std::string> none;
  auto it = table.find(optimiser);
  return it == table.end() ? none : it->second;
}

bool knownState(const std::string &optimiser, const std::string &state) {
  const std::vector<std::string> &names = stateNames(optimiser);
  return std::find(names.begin(), names.end(), state) != names.end();
}

/// "<node>_<param>:<state>" -> ("<node>_<param>", "<state>").
std::pair<std::string, std::string> splitAt(const std::string &name) {
  std::size_t colon = name.rfind(':');
  if (colon == std::string::npos)
    return {name, ""};
  return {name.substr(0, colon), name.substr(colon + 1)};
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

void writeScalarAttr(hid_t loc, const char *name, hid_t fileType, hid_t memType,
                     const void *value) {
  h5::Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  h5::Handle attr(
      H5Acreate2(loc, name, fileType, space, H5P_DEFAULT, H5P_DEFAULT),
      H5Aclose);
  if (!attr.ok() || H5Awrite(attr, memType, value) < 0)
    throw IOError(std::string("cannot write attribute '") + name +
                  "' of '/optimiser': " + hdf5Reason());
}

void writeF64(hid_t loc, const char *name, double value) {
  writeScalarAttr(loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

void writeI64(hid_t loc, const char *name, int64_t value) {
  writeScalarAttr(loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value);
}

Array series(const std::deque<double> &values) {
  Array a({static_cast<int64_t>(values.size())}, DType::Float64);
  for (std::size_t i = 0; i < values.size(); ++i)
    a.setFlat(static_cast<int64_t>(i), values[i]);
  return a;
}

/// A new group's id (the caller wraps it in an h5::Handle).
hid_t createGroup(hid_t loc, const std::string &name, const std::string &path) {
  hid_t group =
      H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (group < 0)
    throw IOError("cannot create group '" + path + "': " + hdf5Reason());
  return group;
}

/// A parameter of the saved model, found by the training function's
/// argument name "<node>_<param>".
struct Owner {
  std::string node, param;
  const Array *value;
};

/// Argument name -> parameter, the first in model order winning as in
/// find_parameter (a name like "a_b" + "c" vs "a" + "b_c" is ambiguous
/// there too).
std::map<std::string, Owner> owners(const SavedModel &saved) {
  std::map<std::string, Owner> out;
  for (const auto &[node, values] : saved.params)
    for (const auto &[param, value] : values)
      out.emplace(node + "_" + param, Owner{node, param, &value});
  return out;
}

} // namespace

void writeOptimiserState(hid_t file, const SavedModel &saved) {
  const OptimiserState &s = saved.optimiser;
  h5::Handle group(createGroup(file, kGroup, "/optimiser"), H5Gclose);
  writeF64(group, "lr", s.lr);
  writeF64(group, "mom", s.mom);
  writeF64(group, "wd", s.wd);
  writeF64(group, "beta2", s.beta2);
  writeI64(group, "iterations", s.iterations);
  if (s.seed) {
    uint64_t seed = *s.seed;
    writeScalarAttr(group, "dropout_seed", H5T_STD_U64LE, H5T_NATIVE_UINT64,
                    &seed);
  }
  writeArray(group, kStepTimes, series(s.stepTimes));
  writeArray(group, kLosses, series(s.losses));
  std::map<std::string, Owner> params = owners(saved);
  for (const auto &[name, acc] : s.optimisers) {
    // Refused here rather than written: the file would not load.
    if (stateNames(name).empty())
      throw IOError("the optimiser state names an unknown optimiser '" + name +
                    "'");
    h5::Handle og(createGroup(group, name, "/optimiser/" + name), H5Gclose);
    writeI64(og, "steps", acc.steps);
    writeI64(og, "accumulators", static_cast<int64_t>(acc.arrays.size()));
    for (const auto &[key, array] : acc.arrays) {
      auto [arg, state] = splitAt(key);
      auto owner = params.find(arg);
      std::string what = name + " accumulator '" + key + "'";
      if (!knownState(name, state))
        throw IOError(what + ": " + name + " keeps no state '" + state + "'");
      if (owner == params.end())
        throw IOError(what + " belongs to no parameter of the model");
      const Array &param = *owner->second.value;
      if (array.shape() != param.shape() || array.dtype() != param.dtype())
        throw IOError(what + " is " + dtypeName(array.dtype()) + " " +
                      formatTuple(array.shape()) + ", its parameter " +
                      dtypeName(param.dtype()) + " " +
                      formatTuple(param.shape()));
      std::string nodeName = escapeName(owner->second.node);
      bool fresh = !hasLink(og, nodeName);
      h5::Handle ng(fresh ? createGroup(og, nodeName,
                                        "/optimiser/" + name + "/" + nodeName)
                          : H5Gopen2(og, nodeName.c_str(), H5P_DEFAULT),
                    H5Gclose);
      if (fresh)
        writeStringAttr(ng, "node", owner->second.node);
      writeArray(ng, escapeName(owner->second.param) + ":" + state, array);
    }
  }
}

//===----------------------------------------------------------------------===//
// Reading
//===----------------------------------------------------------------------===//

namespace {

/// Reads one scalar attribute of `loc` (the object at `path`) of class
/// `cls` and 8 bytes; IOError when it is absent or of another kind.
void readScalarAttr(hid_t loc, const char *name, const std::string &path,
                    const ModelFile &f, H5T_class_t cls, hid_t memType,
                    void *value) {
  const std::string at = "'" + path + "' attribute '" + name + "'";
  htri_t exists = H5Aexists(loc, name);
  if (exists < 0)
    fail(f, "cannot read '" + path + "' (" + hdf5Reason() + ")");
  if (exists == 0)
    fail(f, "'" + path + "' has no attribute '" + name + "'");
  h5::Handle attr(H5Aopen(loc, name, H5P_DEFAULT), H5Aclose);
  h5::Handle type(attr.ok() ? H5Aget_type(attr) : -1, H5Tclose);
  h5::Handle space(attr.ok() ? H5Aget_space(attr) : -1, H5Sclose);
  if (!type.ok() || !space.ok() || H5Tget_class(type) != cls ||
      H5Tget_size(type) != 8 || H5Sget_simple_extent_npoints(space) != 1)
    fail(f, at + " is not an 8-byte " +
                (cls == H5T_FLOAT ? "float" : "integer") + " scalar");
  if (H5Aread(attr, memType, value) < 0)
    fail(f, "cannot read " + at + " (" + hdf5Reason() + ")");
}

double readF64(hid_t loc, const char *name, const std::string &path,
               const ModelFile &f) {
  double v = 0;
  readScalarAttr(loc, name, path, f, H5T_FLOAT, H5T_NATIVE_DOUBLE, &v);
  if (!std::isfinite(v))
    fail(f, "'" + path + "' attribute '" + name + "' is not finite");
  return v;
}

int64_t readCount(hid_t loc, const char *name, const std::string &path,
                  const ModelFile &f) {
  int64_t v = 0;
  readScalarAttr(loc, name, path, f, H5T_INTEGER, H5T_NATIVE_INT64, &v);
  if (v < 0)
    fail(f, "'" + path + "' attribute '" + name + "' is negative");
  return v;
}

/// step_times or losses: a float64 vector of at most `limit` values.
std::deque<double> readSeries(hid_t group, const char *name, std::size_t limit,
                              const ModelFile &f) {
  const std::string at = std::string("'/optimiser/") + name + "'";
  htri_t exists = H5Lexists(group, name, H5P_DEFAULT);
  if (exists <= 0)
    fail(f, at + " is missing");
  hssize_t n = -1;
  {
    h5::Handle ds(H5Dopen2(group, name, H5P_DEFAULT), H5Dclose);
    h5::Handle space(ds.ok() ? H5Dget_space(ds) : -1, H5Sclose);
    if (space.ok() && H5Sget_simple_extent_ndims(space) == 1)
      n = H5Sget_simple_extent_npoints(space);
  }
  if (n < 0 || static_cast<std::size_t>(n) > limit)
    fail(f, at + " is not a vector of at most " + std::to_string(limit) +
                " values");
  Array a({static_cast<int64_t>(n)}, DType::Float64);
  readCheckedArray(group, name, at, f, a);
  std::deque<double> out;
  for (int64_t i = 0; i < a.size(); ++i)
    out.push_back(a.getFlat(i));
  return out;
}

/// An existing group's id (the caller wraps it in an h5::Handle).
hid_t openGroup(hid_t loc, const std::string &name, const std::string &path,
                const ModelFile &f) {
  hid_t group = H5Gopen2(loc, name.c_str(), H5P_DEFAULT);
  if (group < 0)
    fail(f, "'" + path + "' is not a readable group (" + hdf5Reason() + ")");
  return group;
}

std::vector<std::string> children(hid_t group, const std::string &path,
                                  const ModelFile &f) {
  try {
    return childNames(group);
  } catch (const IOError &) {
    fail(f, "cannot list '" + path + "' (" + hdf5Reason() + ")");
  }
}

/// The accumulators of optimiser `name` into `acc`, each checked against
/// the parameter it belongs to.
void readAccumulators(hid_t og, const std::string &name, const ModelFile &f,
                      Model &model, OptimiserState::Accumulators &acc) {
  const std::string opath = "/optimiser/" + name;
  int64_t expected = readCount(og, "accumulators", opath, f);
  for (const std::string &group : children(og, opath, f)) {
    const std::string gpath = opath + "/" + group;
    std::string node = unescapeName(group);
    if (!model.contains(node))
      fail(f, "'" + gpath + "': " + name + " accumulators for node '" + node +
                  "', which the graph does not have");
    NodeImpl &impl = model[node].impl();
    h5::Handle ng(openGroup(og, group, gpath, f), H5Gclose);
    std::map<std::string, std::set<std::string>> seen; // param -> states
    for (const std::string &ds : children(ng, gpath, f)) {
      const std::string dpath = gpath + "/" + ds;
      auto [escaped, state] = splitAt(ds);
      std::string param = unescapeName(escaped);
      if (!knownState(name, state))
        fail(f, "'" + dpath + "': " + name + " keeps no accumulator '" + state +
                    "'");
      auto it = impl.params.find(param);
      if (it == impl.params.end())
        fail(f, "'" + dpath + "': " + name + " accumulator for parameter '" +
                    param + "' of node '" + node +
                    "', which the graph does not have");
      const Array &value = it->second.value;
      Array a(value.shape(), value.dtype());
      readCheckedArray(ng, ds, "'" + dpath + "'", f, a);
      acc.arrays[node + "_" + param + ":" + state] = std::move(a);
      seen[param].insert(state);
    }
    // A parameter with some of its optimiser's accumulators would resume
    // with zeros for the others.
    for (const auto &[param, states] : seen)
      for (const std::string &state : stateNames(name))
        if (!states.count(state))
          fail(f, "'" + gpath + "/" + escapeName(param) + ":" + state +
                      "' is missing (" + name + " keeps " + state +
                      " for every parameter it updates)");
  }
  if (static_cast<int64_t>(acc.arrays.size()) != expected)
    fail(f, "'" + opath + "' holds " + std::to_string(acc.arrays.size()) +
                " accumulators, its attribute 'accumulators' says " +
                std::to_string(expected) + " (removed or duplicated datasets)");
}

} // namespace

void readOptimiserState(hid_t file, const ModelFile &f, Model &model) {
  // Not hasLink: an unreadable root group must not pass as "no state".
  htri_t exists = H5Lexists(file, kGroup, H5P_DEFAULT);
  if (exists < 0)
    fail(f, "cannot read its root group (" + hdf5Reason() + ")");
  if (exists == 0)
    return; // an older file: a fresh state
  if (f.v1)
    fail(f, "'/optimiser' in a v1 file (v1 files carry no optimiser state)");
  h5::Handle group(openGroup(file, kGroup, "/optimiser", f), H5Gclose);
  OptimiserState s;
  s.lr = readF64(group, "lr", "/optimiser", f);
  s.mom = readF64(group, "mom", "/optimiser", f);
  s.wd = readF64(group, "wd", "/optimiser", f);
  s.beta2 = readF64(group, "beta2", "/optimiser", f);
  s.iterations = readCount(group, "iterations", "/optimiser", f);
  // Optional: drawn at the first step of a model with dropout.
  htri_t hasSeed = H5Aexists(group, "dropout_seed");
  if (hasSeed < 0)
    fail(f, "cannot read '/optimiser' (" + hdf5Reason() + ")");
  if (hasSeed > 0) {
    uint64_t seed = 0;
    readScalarAttr(group, "dropout_seed", "/optimiser", f, H5T_INTEGER,
                   H5T_NATIVE_UINT64, &seed);
    s.seed = seed;
  }
  s.stepTimes = readSeries(group, kStepTimes, kMaxStepTimes, f);
  s.losses = readSeries(group, kLosses, kMaxLosses, f);
  for (const std::string &child : children(group, "/optimiser", f)) {
    if (child == kStepTimes || child == kLosses)
      continue;
    std::string opath = "/optimiser/" + child;
    if (stateNames(child).empty())
      fail(f, "'" + opath + "': unknown optimiser '" + child +
                  "' (SGD, AdaGrad, AdaDelta or Adam)");
    h5::Handle og(openGroup(group, child, opath, f), H5Gclose);
    OptimiserState::Accumulators &acc = s.optimisers[child];
    acc.steps = readCount(og, "steps", opath, f);
    readAccumulators(og, child, f, model, acc);
  }
  model.set_optimiser_state(std::move(s));
}

} // namespace nm::detail
