//===- ModelDescription.h - a model as data (graph JSON + values) -*- C++
//-*-===//
//
// Internal to frontend/: the description Model::save writes and
// modelload / rebuild_model replay (Serialize.cpp does the HDF5 side).
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_FRONTEND_MODELDESCRIPTION_H
#define NEUROMANCER_FRONTEND_MODELDESCRIPTION_H

#include "neuromancer/frontend/Model.h"
#include "neuromancer/frontend/NodeImpl.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <string>

namespace nm::detail {

/// The model as data: what save writes and rebuild_model reads.
struct SavedModel {
  nlohmann::json graph;
  OrderedDict<ParamValues> params;
  /// Hyper-parameters, accumulators and counters: saved in the file's
  /// /optimiser group and carried by rebuild_model, so training resumes.
  OptimiserState optimiser;
  /// Model::save's SaveOptions::attachments (never carried by rebuild_model).
  std::map<std::string, std::string> attachments;
};

/// Fills the parameters of a node that instantiate just built.
using ParamFiller = std::function<void(NodeImpl &)>;

/// The graph description and parameter values of `model`.
SavedModel describe(const Model &model);

/// Builds the model described by `graph`; `fill` gives each node its saved
/// parameters right after the node is built. `finish` runs once all nodes
/// exist, before the designation (the file reader checks for parameters no
/// node claimed and reads the optimiser state); a throw removes the model.
Model &instantiate(nlohmann::json graph, const ModelLoadOptions &o,
                   const std::string &source, bool fromFile,
                   const ParamFiller &fill,
                   const std::function<void(Model &)> &finish = {});

/// The in-memory filler of rebuild_model: the values describe() took.
ParamFiller memoryFiller(const SavedModel &saved, const std::string &source);

} // namespace nm::detail

#endif // NEUROMANCER_FRONTEND_MODELDESCRIPTION_H
