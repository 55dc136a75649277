//===- StreamPredict.h - dense prediction of volumes on disk ----*- C++ -*-===//
//
// `neuromancer predict`: a model applied densely to an HDF5 volume of any
// size, block by block, with memory bounded by a budget. Each block is read
// with its halo (hyperslabs only), predicted by the densified network
// (nm-densify, one call per block, one compiled function for all blocks;
// with --tta one per flip, averaged), unless a mask says the block has no
// foreground, and written into a chunked, compressed HDF5 dataset through
// OutputStore, which makes the run resumable and the output appear atomically.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_PREDICT_STREAMPREDICT_H
#define NEUROMANCER_PREDICT_STREAMPREDICT_H

#include "neuromancer/core/TaggedShape.h"

#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace nm::predict {

struct StreamOptions {
  std::string model;           // model file (model.save)
  std::string raw, rawDataset; // dataset empty: the file's only one
  std::string out, outDataset = "prediction";
  bool padRaw = false, asUint8 = false, overwrite = false;
  std::vector<int64_t> classes;      // empty: all, in order
  std::optional<Sizes> roiLo, roiHi; // raw voxels [lo, hi), (z, x, y)
  int64_t memory = 0;                // peak RSS bytes; 0: kDefaultMemory
  Sizes tile;                        // empty: chosen from the budget
  int threads = 0;                   // 0: the runtime's default
  std::optional<double> mean, std;
  /// --mask: blocks whose owned voxels have no nonzero mask voxel are not
  /// predicted (they stay 0); empty: no mask. Dataset empty: the file's
  /// only one. See Mask.h.
  std::string mask, maskDataset;
  /// --tta: each block is the mean of the 8 flips (2-D network: 4) of its
  /// box through the network. See BlockNet.h.
  bool tta = false;
  /// Where the progress bar or lines go (nullptr: nowhere); tty -1 asks
  /// isatty, interval is the seconds between plain lines.
  std::FILE *progress = stderr;
  int progressTty = -1;
  double progressInterval = 10;
  /// Informational lines (the chosen tile, resumed blocks, the summary).
  std::function<void(const std::string &)> say;
  /// Called after each block's file is on disk, with its index and
  /// the number of blocks done; tests stop a run here (throw, or kill the
  /// process) to simulate an interruption.
  std::function<void(int64_t block, int64_t done)> afterBlock;
};

struct StreamReport {
  Sizes roiLo, roiShape, tile, chunk;
  int64_t blocks = 0, resumed = 0;
  int64_t skipped = 0;       // blocks left 0 by --mask, earlier runs' included
  int64_t estimateBytes = 0; // process + one block, as --memory counts
  double seconds = 0;
};

/// Runs the prediction. nm::Error (ValueError, KeyError, IOError) with a
/// one-line message naming the file, dataset, axis or size for bad input.
StreamReport predictStream(const StreamOptions &options);

/// "z0,x0,y0:z1,x1,y1" → (lo, hi); "z,x,y" → sizes; "1,0,3" → classes.
/// ValueError naming the option for anything else.
std::pair<Sizes, Sizes> parseRoi(const std::string &text);
Sizes parseTriple(const std::string &option, const std::string &text);
std::vector<int64_t> parseClasses(const std::string &text);
/// "file.h5:group/ds" → ("file.h5", "group/ds"); a name that exists as a
/// file, or has no ':', is the file alone.
std::pair<std::string, std::string> splitDatasetPath(const std::string &arg);

} // namespace nm::predict

#endif // NEUROMANCER_PREDICT_STREAMPREDICT_H
