//===- OutputStore.h - the output of a streamed prediction ------*- C++ -*-===//
//
// libhdf5 1.10 is not crash-safe: a file open for writing when the process
// is killed can be left unreadable. So the prediction never writes into the
// user's output file while it runs:
//
//  - blocks go into a partial file beside it, OUT.h5.<dataset>.partial.h5,
//    holding only the output dataset (chunked, deflate-compressed);
//  - after a block's data is written, flushed and fsync'ed, a line "done
//    <block> <hash of its bytes> <hash of the line>" is appended (and
//    fsync'ed) to the journal OUT.h5.<dataset>.partial.log, whose first
//    line is the run's identity (model hash, raw volume, options, tile);
//  - a rerun with the same identity reopens the partial file, re-reads
//    every journalled block and keeps those whose bytes still hash the
//    same (a torn journal line or a damaged chunk means that block is
//    redone); a partial file HDF5 cannot open is started over;
//  - when every block is done the journal is removed and the dataset is
//    moved into place atomically: the partial file renamed to OUT.h5 when
//    there is none, else OUT.h5 copied to a temporary beside it, the
//    dataset copied in (replacing the old one with --overwrite), and the
//    temporary renamed over OUT.h5 — other datasets are never at risk.
//
// Every block owns whole chunks (Plan.h), so writing one never rewrites a
// chunk of another.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_PREDICT_OUTPUTSTORE_H
#define NEUROMANCER_PREDICT_OUTPUTSTORE_H

#include "neuromancer/predict/Plan.h"

#include <nlohmann/json.hpp>

#include <memory>
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
  /// The identity of an unfinished earlier run, if its journal exists.
  static std::optional<nlohmann::json>
  unfinishedIdentity(const std::string &path, const std::string &dataset);
  static std::string partialPath(const std::string &path,
                                 const std::string &dataset);
  static std::string journalPath(const std::string &path,
                                 const std::string &dataset);

  /// Resumes the unfinished run of the same identity (IOError naming what
  /// differs when the identity differs and not --overwrite) or starts one.
  OutputStore(const OutputSpec &spec, const BlockGrid &grid);
  ~OutputStore();
  OutputStore(const OutputStore &) = delete;
  OutputStore &operator=(const OutputStore &) = delete;

  bool done(int64_t block) const { return done_.at(block); }
  int64_t doneCount() const;
  /// Blocks found done but damaged (redone).
  int64_t damaged() const { return damaged_; }

  /// Writes the owned part of `block`: `data` holds (channels, writeSize)
  /// elements, uint8 or float32 as the spec says. Returns after the data
  /// and the journal line are on disk.
  void write(const Block &block, const void *data);
  /// Moves the finished dataset into OUT (see above).
  void finalise();

private:
  void create();
  bool reopen();
  void verify();

  struct Handles;
  std::unique_ptr<Handles> h_;
  OutputSpec spec_;
  BlockGrid grid_;
  std::string partial_, journal_;
  std::vector<bool> done_;
  std::vector<uint64_t> hashes_;
  int64_t damaged_ = 0;
  int journalFd_ = -1;
};

/// FNV-1a (64 bit) of bytes: what the journal records per block.
uint64_t fnv1a(const void *data, size_t size);

} // namespace nm::predict

#endif // NEUROMANCER_PREDICT_OUTPUTSTORE_H
