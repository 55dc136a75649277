//===- DenseTiling.h - how predict_dense cuts a volume into tiles -*- C++
//-*-===//
//
// ELEKTRONN2's Node.predict_dense (docs/elektronn2-reference.md §5.1) as
// geometry: given the raw volume, the network's input patch, output shape,
// strides and offsets, which tiles are read and written. The runtime loop that
// calls the network lives elsewhere; this is the arithmetic both it and tests
// rely on.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_CORE_DENSETILING_H
#define NEUROMANCER_CORE_DENSETILING_H

#include "neuromancer/core/Error.h"
#include "neuromancer/core/TaggedShape.h"

#include <string>

namespace nm {

struct DenseTiling {
  Sizes rawShape;           // (ch, z, x, y) after optional mirror padding
  Sizes tileShape;          // input voxels per tile: patch + strides - 1
  Sizes probShape;          // dense output voxels per tile: out * strides
  Sizes predShape;          // dense output voxels in all: raw - 2 * offset
  Sizes tiles;              // tiles per spatial axis: ceil(pred / prob)
  int64_t callsPerTile = 1; // prod(strides): shifted network calls per tile
  Sizes padding;            // mirror padding per side (offsets) when pad_raw

  int64_t totalTiles() const;
  /// "Predicting img (3, 58, 326, 326) in 16 Blocks: (4, 2, 2)".
  std::string logLine() const;
};

/// `rawShape` is (ch, z, x, y) (or (ch, x, y) for a 2-D net); `patch`,
/// `outSpatial`, `strides`, `offsets` are per spatial axis of the network.
/// Fails for nets with unknown fov (UpConv without the designate fix), a raw
/// volume that does not cover one field of view, or mismatched ranks.
Expected<DenseTiling> denseTiling(const Sizes &rawShape, const Sizes &patch,
                                  const Sizes &outSpatial, const Sizes &strides,
                                  const Sizes &offsets, bool padRaw);

} // namespace nm

#endif // NEUROMANCER_CORE_DENSETILING_H
