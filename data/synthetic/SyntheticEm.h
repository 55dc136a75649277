//===- SyntheticEm.h - a synthetic serial-section EM data set ---*- C++ -*-===//
//
// The stand-in for ELEKTRONN2's neuro_data_zxy (reference §7), which cannot
// be downloaded here: `makeSyntheticData(DIR)` writes raw_0.h5 … raw_2.h5
// (dataset `raw`, uint8, (z,x,y)), barrier_int16_0.h5 … _2.h5 (dataset
// `lab`, int16 {0,1}, centred in raw) and preview_cubes.h5 (two small uint8
// cubes), in the real set's layout, so a user with the real data or any
// HDF5 cubes uses the same options.
//
// The content is rendered from a cell volume: a power-weighted Voronoi
// tessellation of isotropic space, stretched along a random direction
// (neurite-like elongated cells) and bent by a smooth warp; membranes at the
// cell faces (1–3 voxels), extracellular pockets along some triple edges,
// vesicle clusters and mitochondria inside cells. Sections are sampled every
// second isotropic unit in z (anisotropy 2), blurred in-plane, given a slow
// brightness drift, per-section contrast jitter and shot + read noise.
// Labels ("barrier") are membrane ∪ extracellular space of the same volume.
//
// Everything is a function of the seed: every random draw comes from
// std::mt19937_64 streams seeded per cube and per section, turned into
// numbers by hand (no std:: distributions), so the bytes are the same for
// any thread count; the HDF5 files carry no timestamps.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_DATA_SYNTHETIC_SYNTHETICEM_H
#define NEUROMANCER_DATA_SYNTHETIC_SYNTHETICEM_H

#include "neuromancer/runtime/Array.h"

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace nm::data {

using Shape3 = std::array<int64_t, 3>; // (z, x, y)

/// One cube of the volume: which stream of the seed and its extents.
struct SyntheticCubeSpec {
  uint64_t seed = 0;
  /// Sub-stream: cubes with different indices show different cells.
  uint64_t index = 0;
  Shape3 rawShape{64, 256, 256};
  /// Centred in rawShape; {0,0,0} for no labels (preview cubes).
  Shape3 labShape{40, 200, 200};
  /// Worker threads (0: the machine's); the result does not depend on it.
  unsigned threads = 0;
};

struct SyntheticCube {
  Array raw; ///< uint8 (z, x, y)
  Array lab; ///< int16 (z, x, y), 1 = barrier; empty without labels
};

/// Renders one cube in memory. ValueError for an empty or odd shape (a
/// label extent larger than the raw one, or one that cannot be centred).
SyntheticCube generateSyntheticCube(const SyntheticCubeSpec &spec);

enum class SyntheticSize {
  Small, ///< raw (64,256,256), labels (40,200,200): tests, main example
  Full,  ///< raw (250,350,350), labels (150,150,150): neuro_data_zxy's
};

/// Parses "small" / "full" (ValueError naming the value otherwise).
SyntheticSize parseSyntheticSize(const std::string &text);

struct MakeDataOptions {
  uint64_t seed = 0;
  SyntheticSize size = SyntheticSize::Full;
  /// Replace files of an earlier run; without it an existing file is an
  /// error and nothing is written.
  bool overwrite = false;
  /// Also write preview_0.png (a raw section beside its labels).
  bool png = true;
  unsigned threads = 0;
  /// Receives one line per file written and the summary (no newline).
  std::function<void(const std::string &)> progress;
};

struct MakeDataReport {
  std::vector<std::string> files;       ///< paths written, in order
  std::vector<double> barrierFractions; ///< per label cube
  double seconds = 0;
};

/// The files makeSyntheticData writes into a directory (names only).
std::vector<std::string> syntheticFileNames(bool png);

/// Writes the data set into `dir` (created if missing). IOError naming the
/// directory or file and the system's reason; ValueError when `dir` already
/// holds one of the files and `overwrite` is false. Each file is written
/// atomically (a temporary renamed into place).
MakeDataReport makeSyntheticData(const std::string &dir,
                                 const MakeDataOptions &options);

/// Reads a whole dataset of an HDF5 file (uint8, int16, ... float64) as an
/// Array; IOError naming file and dataset when it is missing or unreadable.
Array readHdf5Dataset(const std::string &path, const std::string &dataset);

/// The dataset names of an HDF5 file's root group, in name order.
std::vector<std::string> hdf5DatasetNames(const std::string &path);

} // namespace nm::data

#endif // NEUROMANCER_DATA_SYNTHETIC_SYNTHETICEM_H
