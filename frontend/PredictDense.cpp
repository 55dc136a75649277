//===- PredictDense.cpp - ELEKTRONN2's predict_dense on whole volumes -----===//
//
// Node::predict_dense and Model::predict_dense (docs/elektronn2-reference.md
// §5): the raw volume is cut into the tiles core/DenseTiling computes, each
// tile is predicted densely, and the tiles are written side by side into the
// result. A tile is predicted densely by one of two strategies:
//  - "stitch" (ELEKTRONN2's _predict_densetile): prod(strides) network calls
//    per tile, one per stride offset, interleaved into the dense tile;
//  - "mfp": the model rebuilt with override_mfp_to_active (every Conv keeps
//    all pooling phases, FragmentsToDense interleaves them), one call per
//    tile of the rebuilt network.
//  - "densify" (the default): the dilated equivalent of the network
//    (nm-densify: pools slide by one, later taps spread by the strides
//    before them), one call per tile that yields every voxel with no
//    repeated work.
// A network whose output has stride 1 needs one call per tile either way.
//
//===----------------------------------------------------------------------===//
#include "neuromancer/core/DenseTiling.h"
#include "neuromancer/core/Error.h"
#include "neuromancer/core/Format.h"
#include "neuromancer/core/Log.h"
#include "neuromancer/frontend/Model.h"
#include "neuromancer/frontend/NodeImpl.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace nm {
namespace {

using Clock = std::chrono::steady_clock;

/// A dense (ch, z, x, y) float volume.
struct Volume {
  int64_t ch = 0;
  Sizes spatial; // (z, x, y)
  std::vector<float> data;

  Volume() = default;
  Volume(int64_t channels, Sizes shape)
      : ch(channels), spatial(std::move(shape)),
        data(static_cast<size_t>(ch * spatial[0] * spatial[1] * spatial[2])) {}
  float &at(int64_t c, int64_t z, int64_t x, int64_t y) {
    return data[((c * spatial[0] + z) * spatial[1] + x) * spatial[2] + y];
  }
  float at(int64_t c, int64_t z, int64_t x, int64_t y) const {
    return data[((c * spatial[0] + z) * spatial[1] + x) * spatial[2] + y];
  }
};

/// numpy's pad(mode='symmetric') index: mirrors at the edges, repeating the
/// edge voxel (valid for padding up to the axis length, and beyond by
/// folding again).
int64_t mirrored(int64_t i, int64_t n) {
  int64_t period = 2 * n;
  i %= period;
  if (i < 0)
    i += period;
  return i < n ? i : period - 1 - i;
}

/// The raw image as a (ch, z, x, y) float volume: integers divided by 255
/// (ELEKTRONN2's normalisation), a 3-D raw given a singleton z.
Volume normalisedRaw(const Array &raw, const DenseGeometry &g, bool &stripZ) {
  stripZ = raw.ndim() == 3;
  if (raw.ndim() != 3 && raw.ndim() != 4)
    throw ValueError("predict_dense: raw image " + formatTuple(raw.shape()) +
                     " must be (ch, z, x, y)" +
                     std::string(g.twoD ? " or (ch, x, y)" : ""));
  if (stripZ && !g.twoD)
    throw ValueError("predict_dense: raw image " + formatTuple(raw.shape()) +
                     " is (ch, x, y), but the network has 3 spatial axes; "
                     "give (ch, z, x, y)");
  if (raw.shape()[0] != g.channels)
    throw ValueError("predict_dense: raw image " + formatTuple(raw.shape()) +
                     " has " + std::to_string(raw.shape()[0]) +
                     " channels on its first axis, the network reads " +
                     std::to_string(g.channels));
  Sizes spatial(raw.shape().begin() + 1, raw.shape().end());
  if (stripZ)
    spatial.insert(spatial.begin(), 1);
  Volume v(g.channels, spatial);
  double scale = isFloat(raw.dtype()) ? 1.0 : 1.0 / 255;
  for (int64_t i = 0; i < raw.size(); ++i)
    v.data[i] = static_cast<float>(raw.getFlat(i) * scale);
  return v;
}

/// `raw` mirrored by `padding` voxels on both sides of each spatial axis.
Volume padSymmetric(const Volume &raw, const Sizes &padding) {
  Sizes shape(3);
  for (int a = 0; a < 3; ++a)
    shape[a] = raw.spatial[a] + 2 * padding[a];
  Volume out(raw.ch, shape);
  for (int64_t c = 0; c < raw.ch; ++c)
    for (int64_t z = 0; z < shape[0]; ++z)
      for (int64_t x = 0; x < shape[1]; ++x)
        for (int64_t y = 0; y < shape[2]; ++y)
          out.at(c, z, x, y) =
              raw.at(c, mirrored(z - padding[0], raw.spatial[0]),
                     mirrored(x - padding[1], raw.spatial[1]),
                     mirrored(y - padding[2], raw.spatial[2]));
  return out;
}

/// The (1, ch, [z,] x, y) network input cut from `tile` at `start`.
Array networkInput(const Volume &tile, const Sizes &start, const Sizes &patch,
                   const DenseGeometry &g, DType dtype) {
  Sizes shape = {1, tile.ch};
  for (int a = g.twoD ? 1 : 0; a < 3; ++a)
    shape.push_back(patch[a]);
  Array in(shape, DType::Float32);
  float *p = in.data<float>();
  for (int64_t c = 0; c < tile.ch; ++c)
    for (int64_t z = 0; z < patch[0]; ++z)
      for (int64_t x = 0; x < patch[1]; ++x)
        for (int64_t y = 0; y < patch[2]; ++y)
          *p++ = tile.at(c, start[0] + z, start[1] + x, start[2] + y);
  return dtype == DType::Float32 ? in : in.astype(dtype);
}

/// ELEKTRONN2's _predict_densetile: the dense prediction of one tile of
/// tile_sh = patch + strides - 1 voxels, one network call per stride
/// offset, output element k at offset o going to o + k * stride.
Volume predictDenseTile(const Node &node, const Volume &tile,
                        const DenseGeometry &g, DType inputType) {
  Sizes probShape(3);
  for (int a = 0; a < 3; ++a)
    probShape[a] = g.out[a] * g.strides[a];
  Volume prob(g.labels, probShape);
  for (int64_t xo = 0; xo < g.strides[1]; ++xo)
    for (int64_t yo = 0; yo < g.strides[2]; ++yo)
      for (int64_t zo = 0; zo < g.strides[0]; ++zo) {
        Array out =
            node({networkInput(tile, {zo, xo, yo}, g.patch, g, inputType)});
        Array values = out.astype(DType::Float32);
        const float *p = values.data<float>();
        for (int64_t c = 0; c < g.labels; ++c)
          for (int64_t z = 0; z < g.out[0]; ++z)
            for (int64_t x = 0; x < g.out[1]; ++x)
              for (int64_t y = 0; y < g.out[2]; ++y)
                prob.at(c, zo + z * g.strides[0], xo + x * g.strides[1],
                        yo + y * g.strides[2]) = *p++;
      }
  return prob;
}

/// The dense prediction of one tile by the densified network: one call on
/// the whole tile (patch + strides - 1) gives out * strides voxels.
Volume predictDensifiedTile(const Node &node, const Volume &tile,
                            const DenseGeometry &g, DType inputType) {
  Sizes probShape(3);
  for (int a = 0; a < 3; ++a)
    probShape[a] = g.out[a] * g.strides[a];
  Array out = call_densified(
      node, {networkInput(tile, {0, 0, 0}, tile.spatial, g, inputType)});
  if (out.size() != g.labels * probShape[0] * probShape[1] * probShape[2])
    throw RuntimeError("predict_dense: the densified network returned " +
                       formatTuple(out.shape()) + " for a tile of " +
                       formatTuple(tile.spatial));
  Volume prob(g.labels, probShape);
  Array values = out.astype(DType::Float32);
  std::copy(values.data<float>(), values.data<float>() + values.size(),
            prob.data.begin());
  return prob;
}

/// The tile of `raw` starting at `start`, `shape` voxels, zero-padded on the
/// right where the volume ends.
Volume cutTile(const Volume &raw, const Sizes &start, const Sizes &shape) {
  Volume tile(raw.ch, shape);
  Sizes have(3);
  for (int a = 0; a < 3; ++a)
    have[a] = std::min(shape[a], raw.spatial[a] - start[a]);
  for (int64_t c = 0; c < raw.ch; ++c)
    for (int64_t z = 0; z < have[0]; ++z)
      for (int64_t x = 0; x < have[1]; ++x)
        for (int64_t y = 0; y < have[2]; ++y)
          tile.at(c, z, x, y) =
              raw.at(c, start[0] + z, start[1] + x, start[2] + y);
  return tile;
}

/// ELEKTRONN2's predict_dense loop for `node`; a strided network's tiles
/// densified or (`densify` false) stitched.
Array predictDenseTiles(const Node &node, const Array &raw,
                        const PredictDenseOptions &options, bool densify) {
  DenseGeometry g = dense_geometry(node);
  DType inputType = g.input.dtype();
  Clock::time_point start = Clock::now();
  bool stripZ = false;
  Volume image = normalisedRaw(raw, g, stripZ);
  Sizes rawShape = {image.ch};
  rawShape.insert(rawShape.end(), image.spatial.begin(), image.spatial.end());
  DenseTiling t = denseTiling(rawShape, g.patch, g.out, g.strides, g.offsets,
                              options.pad_raw)
                      .take();
  if (options.pad_raw)
    image = padSymmetric(image, t.padding);

  log_info(t.logLine());
  if (!densify)
    node(); // compiles before the first tile, as ELEKTRONN2 does
  Sizes predShape = {g.labels};
  predShape.insert(predShape.end(), t.predShape.begin(), t.predShape.end());
  Volume pred(g.labels, t.predShape);
  for (int64_t zt = 0; zt < t.tiles[0]; ++zt)
    for (int64_t xt = 0; xt < t.tiles[1]; ++xt)
      for (int64_t yt = 0; yt < t.tiles[2]; ++yt) {
        Sizes at = {zt * t.probShape[0], xt * t.probShape[1],
                    yt * t.probShape[2]};
        Volume tile = cutTile(image, at, t.tileShape);
        Volume prob = densify ? predictDensifiedTile(node, tile, g, inputType)
                              : predictDenseTile(node, tile, g, inputType);
        Sizes keep(3);
        for (int a = 0; a < 3; ++a)
          keep[a] = std::min(t.probShape[a], t.predShape[a] - at[a]);
        for (int64_t c = 0; c < g.labels; ++c)
          for (int64_t z = 0; z < keep[0]; ++z)
            for (int64_t x = 0; x < keep[1]; ++x)
              for (int64_t y = 0; y < keep[2]; ++y)
                pred.at(c, at[0] + z, at[1] + x, at[2] + y) =
                    prob.at(c, z, x, y);
      }

  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  double voxels = 1;
  for (int64_t s : t.predShape)
    voxels *= static_cast<double>(s);
  char line[96];
  std::snprintf(line, sizeof line,
                " Inference speed: %.3f MB or MPix /s, time %s",
                voxels / 1e6 / std::max(seconds, 1e-9),
                pretty_string_time(seconds).c_str());
  log_info(line);

  if (stripZ)
    predShape.erase(predShape.begin() + 1);
  Array result(predShape, options.as_uint8 ? DType::UInt8 : DType::Float32);
  if (options.as_uint8) {
    uint8_t *out = result.data<uint8_t>();
    // numpy's truncating cast of p * 255 (clamped: numpy leaves values
    // outside [0, 255] undefined), as neuromancer predict's epilogue.
    std::transform(pred.data.begin(), pred.data.end(), out,
                   probability_to_uint8);
  } else {
    std::copy(pred.data.begin(), pred.data.end(), result.data<float>());
  }
  return result;
}

bool hasStride(const Node &node) {
  const Sizes &strides = node.shape().strides();
  return std::any_of(strides.begin(), strides.end(),
                     [](int64_t s) { return s != 1; });
}

/// The "mfp" strategy: the model rebuilt with MFP at the node's patch size
/// (rounded to a valid MFP size), its prediction node predicting densely.
Array predictDenseMfp(const Node &node, const Array &raw,
                      const PredictDenseOptions &options) {
  Model &model = node.model();
  if (model.prediction_node() != node)
    throw ValueError("predict_dense with strategy 'mfp' rebuilds the model "
                     "around its prediction node; node '" +
                     node.name() + "' is not the prediction node of model '" +
                     model.name() + "'");
  ModelLoadOptions rebuild;
  rebuild.override_mfp_to_active = true;
  rebuild.imposed_batch_size = 1;
  rebuild.imposed_patch_size =
      node.input_nodes().front().shape().spatialShape();
  Model &mfp = rebuild_model(model, rebuild);
  std::string name = mfp.name();
  try {
    Array result =
        predictDenseTiles(mfp.prediction_node(), raw, options, false);
    model_manager.remove(name);
    return result;
  } catch (...) {
    model_manager.remove(name);
    throw;
  }
}

} // namespace

DenseGeometry dense_geometry(const Node &node, const std::string &who) {
  const TaggedShape &shape = node.shape();
  std::string what =
      who + ": node '" + node.name() + "' (" + shape.repr() + ")";
  if (shape.nSpatial() < 2 || shape.nSpatial() > 3)
    throw ValueError(what + " has " + std::to_string(shape.nSpatial()) +
                     " spatial axes; dense prediction works only for nodes "
                     "with 2 or 3");
  std::vector<Node> inputs = node.input_nodes();
  if (inputs.size() != 1)
    throw ValueError(what + " reads " + std::to_string(inputs.size()) +
                     " inputs; dense prediction needs exactly one (the image)");
  const TaggedShape &in = inputs.front().shape();
  if (!in.hasTag('f') || !shape.hasTag('f') ||
      in.nSpatial() != shape.nSpatial())
    throw ValueError(what + " does not map an image with a channel axis onto "
                            "a label map with the same spatial axes");
  if (in.hasTag('b') && in['b'] != None && in['b'] != 1)
    throw ValueError(what + " reads input '" + inputs.front().name() +
                     "' with batch size " + std::to_string(in['b']) +
                     "; dense prediction calls the network on one box at a "
                     "time: rebuild the model with imposed_batch_size=1");
  DenseGeometry g;
  g.offsets = shape.offsets();
  g.fov = shape.fov();
  for (size_t a = 0; a < g.fov.size(); ++a)
    if (g.offsets[a] < 0 || g.fov[a] <= 0)
      throw ValueError(who +
                       ": Cannot predict dense because the CNN contains "
                       "UpConvs which cause unknown FOVs. If you use UpConvs "
                       "you should not need predict dense anyway! (node '" +
                       node.name() + "' has field of view " +
                       formatTuple(g.fov) + ")");
  g.input = inputs.front();
  g.patch = in.spatialShape();
  g.out = shape.spatialShape();
  g.strides = shape.strides();
  g.channels = in['f'];
  g.labels = shape['f'];
  g.twoD = shape.nSpatial() == 2;
  if (g.twoD) {
    for (Sizes *s : {&g.patch, &g.out, &g.strides, &g.fov})
      s->insert(s->begin(), 1);
    g.offsets.insert(g.offsets.begin(), 0);
  }
  return g;
}

Array Node::predict_dense(const Array &raw,
                          const PredictDenseOptions &options) const {
  const std::string &s = options.strategy;
  if (s != "densify" && s != "stitch" && s != "mfp")
    throw ValueError("predict_dense: unknown strategy '" + s +
                     "' (expected 'densify', 'mfp' or 'stitch')");
  if (s == "mfp" && hasStride(*this))
    return predictDenseMfp(*this, raw, options);
  return predictDenseTiles(*this, raw, options,
                           s == "densify" && hasStride(*this));
}

Array Model::predict_dense(const Array &raw,
                           const PredictDenseOptions &options) {
  if (!prediction_node_)
    throw ValueError("predict_dense: model '" + name() +
                     "' has no designated prediction node");
  return prediction_node_.predict_dense(raw, options);
}

} // namespace nm
