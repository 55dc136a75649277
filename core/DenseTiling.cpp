//===- DenseTiling.cpp ----------------------------------------------------===//
#include "neuromancer/core/DenseTiling.h"

#include "neuromancer/core/Format.h"

namespace nm {

int64_t DenseTiling::totalTiles() const {
  int64_t n = 1;
  for (int64_t t : tiles)
    n *= t;
  return n;
}

std::string DenseTiling::logLine() const {
  std::string blocks;
  for (std::size_t i = 0; i < tiles.size(); ++i)
    blocks += (i ? ", " : "") + std::to_string(tiles[i]);
  return "Predicting img " + formatTuple(rawShape) + " in " +
         std::to_string(totalTiles()) + " Blocks: (" + blocks + ")";
}

Expected<DenseTiling> denseTiling(const Sizes &rawShape, const Sizes &patch,
                                  const Sizes &outSpatial, const Sizes &strides,
                                  const Sizes &offsets, bool padRaw) {
  const std::size_t n = patch.size();
  if (outSpatial.size() != n || strides.size() != n || offsets.size() != n)
    return valueError("predict_dense: patch, output, strides and offsets "
                      "must have one entry per spatial axis");
  if (n < 2)
    return valueError("predict_dense needs a network with at least 2 spatial "
                      "axes, this one has " +
                      std::to_string(n));
  if (rawShape.size() != n + 1)
    return valueError("predict_dense: raw image " + formatTuple(rawShape) +
                      " must be (ch, " + (n == 3 ? "z, x, y" : "x, y") + ")");
  for (int64_t o : offsets)
    if (o < 0)
      return valueError("predict_dense: the network's offsets " +
                        formatList(offsets) +
                        " are unknown (UpConv without designate_nodes' fov "
                        "fix?)");
  DenseTiling t;
  t.rawShape = rawShape;
  t.padding = padRaw ? offsets : Sizes(n, 0);
  for (std::size_t j = 0; j < n; ++j) {
    int64_t raw = rawShape[j + 1] + 2 * t.padding[j];
    t.rawShape[j + 1] = raw;
    t.tileShape.push_back(patch[j] + strides[j] - 1);
    t.probShape.push_back(outSpatial[j] * strides[j]);
    t.predShape.push_back(raw - 2 * offsets[j]);
    // A raw volume smaller than the patch is fine (short tiles are
    // zero-padded on the right); it must only cover one field of view.
    if (t.predShape[j] < 1)
      return valueError("predict_dense: raw image " + formatTuple(rawShape) +
                        " is smaller than the network's field of view on "
                        "spatial axis " +
                        std::to_string(j) + " (offset " +
                        std::to_string(offsets[j]) + " on each side)");
    t.tiles.push_back((t.predShape[j] + t.probShape[j] - 1) / t.probShape[j]);
    t.callsPerTile *= strides[j];
  }
  return t;
}

} // namespace nm
