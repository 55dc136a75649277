//===- Plan.h - blocks of a streamed dense prediction -----------*- C++ -*-===//
//
// The arithmetic of `neuromancer predict`, apart from any I/O: what the
// network needs around each output voxel, how big a block may be within a
// memory budget, and which blocks cover the region of interest.
//
// Coordinates: output voxel p of the ROI is raw voxel roiLo + p, and the
// network reads the raw window [roiLo + p - offsets, ... + fov) for it
// (ELEKTRONN2's predict_dense: pred = raw - 2 * offsets without padding).
//
// Blocks: every block computes `tile` output voxels per axis, so one
// compiled function serves them all. Block k of an axis owns the output
// voxels [k * tile, min((k + 1) * tile, roi)); the last one, when the ROI is
// not a multiple of the tile, is computed shifted inward (it overlaps its
// neighbour) and writes only the voxels it owns. Owned ranges start at
// multiples of the tile and HDF5 chunks divide the tile, so every chunk of
// the output is written whole, by exactly one block.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_PREDICT_PLAN_H
#define NEUROMANCER_PREDICT_PLAN_H

#include "neuromancer/core/DType.h"
#include "neuromancer/core/TaggedShape.h"

#include <string>
#include <vector>

namespace nm {
class Node;
}

namespace nm::predict {

/// What streaming needs to know of the prediction node, in 3-D (a 2-D net
/// gets z fov 1 and offset 0 and is run one z slice at a time).
struct NetGeometry {
  Sizes fov, offsets;
  int64_t channels = 0, labels = 0;
  bool twoD = false;
  DType inputType = DType::Float32;
  /// Features and fov of every computed node up to the prediction (for the
  /// memory estimate of the densified network's intermediate buffers).
  std::vector<int64_t> nodeFeatures;
  std::vector<Sizes> nodeFov;
  /// Multiply-accumulates per voxel of each of those buffers (the work of
  /// computing it; a pooled output's is its features).
  std::vector<int64_t> nodeMacs;
  /// Bytes of the parameters the prediction reads.
  int64_t paramBytes = 0;
};

/// ValueError naming the node when it cannot be predicted densely
/// (nm::dense_geometry's checks, prefixed "predict").
NetGeometry netGeometry(const Node &prediction);

/// Per axis (z, x, y), how far the window a flipped network reads for an
/// output voxel (--tta, see BlockNet.h) lies from the plain one:
/// 2 * offset - fov + 1, 0 for an odd fov and 1 for an even one; all 0
/// without TTA and on the z axis of a 2-D network.
Sizes ttaShift(const NetGeometry &g, bool tta);

/// What the budget must hold besides the network: the raw element size,
/// the output element type and channel count, the mask's element size (0:
/// no mask) and whether the blocks are averaged over flips.
struct BlockCost {
  size_t rawElemSize = 4;
  int64_t outChannels = 1;
  bool asUint8 = false;
  size_t maskElemSize = 0;
  bool tta = false;
};

/// Estimated peak bytes that predicting and writing one block of `tile`
/// output voxels adds to the process: the raw box read and converted, the
/// network's input, every intermediate buffer of the densified network
/// (each node's output and, for pooling convs, the output before pooling;
/// counted as alive at once, as the runtime's own check does), its output
/// (the selected classes in the output type, which the last kernel writes;
/// every class as float with TTA), the write buffer and HDF5's compression
/// buffers, plus a fixed 8 MiB;
/// with a mask its box of `tile` voxels, with TTA the accumulator of the
/// flipped outputs and the voxel the box grows by on even-fov axes.
int64_t blockBytes(const NetGeometry &g, const Sizes &tile,
                   const BlockCost &cost);

/// What the process holds besides the blocks once the model is loaded and
/// compiled: a fixed 192 MiB (the libraries, LLVM's heap kept after
/// compiling, HDF5, the compiled code; measured on neuro3d: about 150 MiB)
/// plus twice the parameters (the model's and the bound copies).
int64_t processBytes(const NetGeometry &g);

/// HDF5 chunk (z, x, y) for a tile: per axis a divisor of the tile of at
/// most 64 voxels (the tile itself when it has no divisor from 16 to 64).
Sizes chunkFor(const Sizes &tile);

/// The default budget when --memory is not given: the example
/// budget, which lets neuro3d's blocks of a (48, 300, 300) volume execute
/// 1.6x the useful work (their halo) where 1 GiB makes it 2.9x.
constexpr int64_t kDefaultMemory = int64_t(4) << 30;
/// Blocks hold at most this many output voxels (256^3) even when the budget
/// allows more, so that progress and resume stay fine-grained.
constexpr int64_t kMaxBlockVoxels = int64_t(1) << 24;

/// Whether a block of `tile` may run within `budget`: processBytes plus
/// blockBytes with a tenth of its buffers more (the allocator's and HDF5's
/// overhead, which the estimate does not count: the small test model's blocks
/// measured about 10 % over it), and at most kMaxBlockVoxels output voxels.
bool fitsBudget(const NetGeometry &g, const Sizes &tile, int64_t budget,
                const BlockCost &cost);

/// Multiply-accumulates the densified network executes for one block of
/// `tile` output voxels: every buffer of netGeometry at its size there, the
/// halo each layer computes around the tile included.
int64_t blockMacs(const NetGeometry &g, const Sizes &tile);

/// The tile for `roi` within `budget` (the process's peak resident memory)
/// that executes the least work for the whole ROI: blocks × blockMacs, so a
/// small tile pays for its halo and a tile just over a divisor of the ROI
/// for its extra block. Per axis it tries the sizes ceil(roi / k) (any other
/// size needs as many blocks as the next smaller of these and more work);
/// a tile must satisfy fitsBudget. Ties go to the larger tile. Deterministic in
/// (geometry, roi, budget, cost). ValueError when even a tile of one voxel does
/// not fit, naming the budget and the need.
Sizes chooseTile(const NetGeometry &g, const Sizes &roi, int64_t budget,
                 const BlockCost &cost);

/// One block: where the network computes (ROI coordinates) and the part of
/// it the block owns and writes.
struct Block {
  int64_t index = 0;
  Sizes computeLo;          // output voxel of the ROI the block starts at
  Sizes writeLo, writeSize; // the owned voxels, ROI coordinates
};

struct BlockGrid {
  Sizes roi;    // ROI shape (z, x, y)
  Sizes tile;   // output voxels per block, <= roi
  Sizes counts; // blocks per axis

  BlockGrid(Sizes roiShape, Sizes tileShape);
  int64_t size() const { return counts[0] * counts[1] * counts[2]; }
  /// Block i in z-major order.
  Block block(int64_t i) const;
};

/// "1.5 GiB", "12 MiB": budgets and estimates as printed.
std::string formatBytes(int64_t bytes);
/// "4G", "512M", "100K", "1024" (binary units, optional "iB"/"B") in bytes;
/// ValueError for anything else.
int64_t parseMemory(const std::string &text);

} // namespace nm::predict

#endif // NEUROMANCER_PREDICT_PLAN_H
