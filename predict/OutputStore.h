//===- OutputStore.h - the output of a streamed prediction ------*- C++ -*-===//
//
// libhdf5 1.10 is not crash-safe: a file open for writing when the process
// is killed (or when a write fails on a full disk) can be left unreadable.
// So no HDF5 file is ever open for writing across blocks:
//
//  - the run lives in a directory beside the output,
//    OUT.h5.<dataset>.partial/, holding identity.json (model hash, raw
//    volume, options, tile: what a resume must match) and one small HDF5
//    file per finished block, block-<n>.h5 (its owned voxels, deflated, and
//    a hash of their bytes), each written to a temporary, fsync'ed and
//    renamed into place (AtomicFile): a block file exists whole or not at
//    all, and no block is reported done that was not written; a block the
//    mask skips has a file too, with no data and an "empty" mark, so a
//    resume treats it like any other finished block;
//  - a rerun with the same identity keeps every block file that opens and
//    whose data still hash as recorded, and redoes the rest; another
//    identity is refused (or, with --overwrite, started over);
//  - when every block is done, the output dataset is assembled block by
//    block into a temporary beside OUT.h5 (a new file, or a copy of the
//    existing OUT.h5 with the dataset added or, with --overwrite,
//    replaced), which is then renamed over OUT.h5 (empty blocks are not
//    written: their chunks read as the fill value 0); other datasets are never
//    at risk. The directory is removed last: a kill during the assembly
//    leaves a run that only assembles again.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_PREDICT_OUTPUTSTORE_H
#define NEUROMANCER_PREDICT_OUTPUTSTORE_H

#include "neuromancer/predict/Plan.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace nm::predict {

struct OutputSpec {
  std::string path, dataset;
  int64_t channels = 1;
  Sizes chunk; // (z, x, y)
  bool asUint8 = false;
  bool overwrite = false;
  /// What a resume must match (JSON object; shown key by key on mismatch).
  nlohmann::json identity;
  /// Attributes of the output dataset: strings, numbers, arrays of integers.
  nlohmann::json attributes;
};

class OutputStore {
public:
  /// Refuses early, before any compiling: OUT exists but is no HDF5 file,
  /// or already has the dataset (without --overwrite).
  static void checkTarget(const std::string &path, const std::string &dataset,
                          bool overwrite);
  /// The identity of an unfinished earlier run, if there is one.
  static std::optional<nlohmann::json>
  unfinishedIdentity(const std::string &path, const std::string &dataset);
  /// OUT.h5.<dataset>.partial (the dataset's slashes as underscores).
  static std::string partialPath(const std::string &path,
                                 const std::string &dataset);

  /// Resumes the unfinished run of the same identity (IOError naming what
  /// differs when the identity differs and not --overwrite) or starts one.
  OutputStore(const OutputSpec &spec, const BlockGrid &grid);
  ~OutputStore();
  OutputStore(const OutputStore &) = delete;
  OutputStore &operator=(const OutputStore &) = delete;

  bool done(int64_t block) const { return done_.at(block); }
  int64_t doneCount() const;
  /// Done blocks recorded empty (skipped by the mask), earlier runs' too.
  int64_t emptyCount() const;
  /// Blocks found done but damaged (redone).
  int64_t damaged() const { return damaged_; }

  /// Writes the owned part of `block`: `data` holds (channels, writeSize)
  /// elements, uint8 or float32 as the spec says. Returns after the block
  /// file is on disk.
  void write(const Block &block, const void *data);
  /// Records `block` done with no data: it stays the fill value 0.
  void writeEmpty(const Block &block);
  /// Moves the finished dataset into OUT (see above).
  void finalise();

  /// The block file of block `index`.
  std::string blockPath(int64_t index) const;

private:
  void create();
  void verify();
  /// Block `index`'s owned voxels from its file (`empty` set and `data`
  /// left alone for an empty block); false if unreadable.
  bool readBlock(int64_t index, std::vector<unsigned char> &data,
                 uint64_t *hash, bool *empty) const;
  /// Writes a block file through a temporary; `data` null: an empty block.
  void writeBlockFile(const Block &block, const void *data);

  OutputSpec spec_;
  BlockGrid grid_;
  std::string partial_;
  std::vector<bool> done_, empty_;
  int64_t damaged_ = 0;
};

/// FNV-1a (64 bit) of bytes: what each block file records of its data.
uint64_t fnv1a(const void *data, size_t size);

} // namespace nm::predict

#endif // NEUROMANCER_PREDICT_OUTPUTSTORE_H
