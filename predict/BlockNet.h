//===- BlockNet.h - the densified network on one block ----------*- C++ -*-===//
//
// One block of `neuromancer predict`: the raw box around it through the
// densified network (one compiled function for every block), plainly or,
// with --tta, averaged over the flips of the box. The result holds the
// selected classes in the output type: a plain pass gets them from the
// compiled output epilogue (the last kernel selects and quantises, so no
// float output is stored); TTA averages every class as float and then
// selects and quantises here, with the epilogue's rule.
//
// TTA. For each subset of the axes (z, x, y; only x, y for a 2-D network)
// the box is flipped, run through the same function and the output flipped
// back; the outputs are summed in a fixed order (identity first, then the
// flip masks in increasing order) and divided by their count, so the result
// does not depend on the thread count. Per axis, flipping the whole volume
// makes output voxel q read the raw window [q + off - fov + 1, q + off + 1)
// reversed, where the plain network reads [q - off, q - off + fov). With
// off = fov / 2 (floor, ELEKTRONN2's offsets) both are the same window for
// an odd fov; for an even fov the flipped one lies one voxel further on.
// So on such an axis the box is read one voxel longer, the plain pass uses
// its first `in` voxels and a pass flipping that axis its last `in`: the
// result is exactly the mean of the predictions of the flipped volumes.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_PREDICT_BLOCKNET_H
#define NEUROMANCER_PREDICT_BLOCKNET_H

#include "neuromancer/frontend/Backend.h"
#include "neuromancer/frontend/Node.h"
#include "neuromancer/predict/Plan.h"
#include "neuromancer/runtime/Array.h"

#include <vector>

namespace nm::predict {

class BlockNet {
public:
  BlockNet(const Node &node, const NetGeometry &g, const Sizes &tile, bool tta,
           const OutputEpilogue &epilogue);

  /// The raw box for a block whose first computed output voxel is raw
  /// voxel `at` (ROI offset + computeLo): its first voxel and its shape
  /// (tile + fov - 1, plus the TTA shift).
  Sizes boxLo(const Sizes &at) const;
  const Sizes &boxShape() const { return box_; }
  /// Network calls per block: 1, or the 8 (2-D: 4) flips.
  int passes() const { return static_cast<int>(flips_.size()); }

  /// (classes, tile), uint8 or float32 as the epilogue says, for the
  /// (channels, boxShape) floats of a box: the network's output, or the
  /// mean of the flipped passes. ValueError when the network does not map
  /// the box onto the tile (`same` convolutions).
  Array predict(const std::vector<float> &box) const;

private:
  Array pass(const std::vector<float> &box, unsigned flip,
             const OutputEpilogue &epilogue) const;
  void addFlipped(const Array &out, unsigned flip, float *acc) const;
  Array selectAndQuantise(const Array &mean) const;

  Node node_;
  NetGeometry g_;
  OutputEpilogue epilogue_;
  int64_t classes_;
  Sizes tile_, in_, box_, shift_;
  std::vector<unsigned> flips_; // bit 2: z, bit 1: x, bit 0: y
};

} // namespace nm::predict

#endif // NEUROMANCER_PREDICT_BLOCKNET_H
