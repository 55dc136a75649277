//===- Dense.cpp - the dense entry point of `neuromancer compile` ---------===//
#include "Dense.h"

#include "neuromancer/core/Error.h"
#include "neuromancer/core/Format.h"

#include <algorithm>

namespace nm::aot {
namespace {

std::string sizesText(const std::vector<int64_t> &sizes) {
  std::string s;
  for (size_t i = 0; i < sizes.size(); ++i)
    s += (i ? "," : "") + std::to_string(sizes[i]);
  return s;
}

/// "z,x,y": the spatial tags of `shape`, in tensor order.
std::string spatialTags(const TaggedShape &shape) {
  std::string s;
  for (int64_t axis : shape.spatialAxes())
    s += std::string(s.empty() ? "" : ",") + shape.tags()[axis];
  return s;
}

/// The prediction node, checked by nm::dense_geometry as predict_dense and
/// `neuromancer predict` check it, so the entry point streams whatever
/// `neuromancer predict` streams.
Node denseNode(const Model &model, const std::string &modelPath) {
  Node node = model.prediction_node();
  if (!node)
    throw ValueError("--dense compiles the prediction node, but model '" +
                     model.name() + "' (" + modelPath +
                     ") has no designated prediction node; designate_nodes "
                     "before saving");
  dense_geometry(node, "--dense");
  return node;
}

/// `shape`'s axes with 'b' -> 1, 'f' -> `channels` and the spatial axes
/// -> `spatial`; ValueError for another axis.
std::vector<int64_t> boxShape(const TaggedShape &shape, int64_t channels,
                              const std::vector<int64_t> &spatial,
                              const std::string &what) {
  std::vector<int64_t> box;
  size_t next = 0;
  std::vector<int64_t> axes = shape.spatialAxes();
  for (int64_t axis = 0; axis < shape.ndim(); ++axis) {
    char tag = shape.tags()[axis];
    if (std::find(axes.begin(), axes.end(), axis) != axes.end())
      box.push_back(spatial[next++]);
    else if (tag == 'b')
      box.push_back(1);
    else if (tag == 'f')
      box.push_back(channels);
    else
      throw ValueError("--dense: " + what + " has an axis '" +
                       std::string(1, tag) + "' (" + shape.tagString() +
                       "); a dense entry point takes b, f and spatial axes");
  }
  return box;
}

} // namespace

void checkDenseOptions(const CompileRequest &request) {
  if (!request.dense) {
    if (!request.tile.empty())
      throw ValueError("--tile " + sizesText(request.tile) +
                       " is the output tile of a dense entry point; add "
                       "--dense (or drop --tile)");
    if (!request.classes.empty() || request.asUint8)
      throw ValueError(
          std::string(request.asUint8 ? "--as-uint8" : "--classes") +
          " shapes the output of a dense entry point; add "
          "--dense --tile z,x,y");
    return;
  }
  if (request.tile.empty())
    throw ValueError("--dense needs --tile z,x,y: the dense output voxels "
                     "each call computes");
  if (!request.inputShape.empty())
    throw ValueError("--dense takes --tile, not --input-shape: the input "
                     "box follows from the tile (tile + fov - 1 per axis, "
                     "batch 1); drop --input-shape");
  if (!request.functions.empty())
    throw ValueError("--dense compiles the designated prediction node "
                     "(entry <name>_prediction_dense); drop --function, or "
                     "compile other functions in a separate compile without "
                     "--dense");
  for (int64_t t : request.tile)
    if (t < 1)
      throw ValueError("--tile " + sizesText(request.tile) +
                       ": every size must be positive");
}

DensePlan planDense(const Model &model, const CompileRequest &request) {
  DensePlan plan;
  plan.node = denseNode(model, request.modelPath);
  const TaggedShape &out = plan.node.shape();
  const TaggedShape &in = plan.node.input_nodes().front().shape();
  DenseDoc &d = plan.doc;
  d.spatialAxes = spatialTags(out);
  if (static_cast<int64_t>(request.tile.size()) != out.nSpatial())
    throw ValueError("--tile " + sizesText(request.tile) + " has " +
                     std::to_string(request.tile.size()) +
                     " sizes; prediction node '" + plan.node.name() + "' has " +
                     std::to_string(out.nSpatial()) + " spatial axes (" +
                     d.spatialAxes + ")");
  d.fov = out.fov();
  d.offsets = out.offsets();
  d.strides = out.strides();
  d.tile = request.tile;
  for (size_t a = 0; a < d.tile.size(); ++a)
    d.inputBox.push_back(d.tile[a] + d.fov[a] - 1);
  d.channels = in['f'];
  for (int64_t c : request.classes)
    if (c < 0 || c >= out['f'])
      throw ValueError("--classes: class " + std::to_string(c) +
                       " does not exist; prediction node '" + plan.node.name() +
                       "' predicts " + std::to_string(out['f']) +
                       " classes (0.." + std::to_string(out['f'] - 1) + ")");
  plan.epilogue = {request.classes, request.asUint8};
  d.classes = request.classes;
  d.labels = plan.epilogue.channels(out['f']);
  plan.inputShape = boxShape(in, d.channels, d.inputBox, "the input");
  plan.outputShape = boxShape(out, d.labels, d.tile, "the prediction");
  return plan;
}

} // namespace nm::aot
