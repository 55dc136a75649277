//===- Mask.h - the foreground mask of a streamed prediction ----*- C++ -*-===//
//
// `neuromancer predict --mask MASK.h5[:dataset]`: blocks whose owned output
// voxels hold no foreground (no nonzero mask voxel) are not predicted; they
// stay the output's fill value 0. The mask has the raw volume's spatial
// shape, (z, x, y) or (1, z, x, y) (a 2-D raw (x, y) takes an (x, y) mask),
// any integer or float type, and is read per block by hyperslab, never
// whole. Predicted blocks are written unmasked: the mask only decides which
// blocks run.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_PREDICT_MASK_H
#define NEUROMANCER_PREDICT_MASK_H

#include "neuromancer/core/TaggedShape.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

namespace nm::predict {

class MaskInput {
public:
  /// `dataset` empty: the file's only one. IOError / KeyError / ValueError,
  /// one line naming the file, dataset and axis: a missing file or dataset,
  /// several datasets and no name (listed), a non-numeric type, or a shape
  /// other than `rawSpatial` (z, x, y) of `rawName`.
  MaskInput(const std::string &path, const std::string &dataset,
            const Sizes &rawSpatial, const std::string &rawName);
  ~MaskInput();
  MaskInput(const MaskInput &) = delete;
  MaskInput &operator=(const MaskInput &) = delete;

  /// "mask.h5:fg" for messages.
  const std::string &name() const { return name_; }
  const std::string &dataset() const { return dataset_; }
  size_t elemSize() const;

  /// What a resume must match: the file (absolute), dataset, shape, type and
  /// the file's size and modification time. Not a hash of the contents:
  /// the mask often lives in the raw volume's file, which can be far too
  /// large to hash at every start.
  nlohmann::json identity() const;

  /// True when a voxel of the raw box [lo, lo + shape) (z, x, y) is nonzero
  /// (NaN counts as nonzero).
  bool any(const Sizes &lo, const Sizes &shape) const;

private:
  struct Handles;
  std::unique_ptr<Handles> h_;
  std::string path_, name_, dataset_;
  Sizes fileShape_;
};

} // namespace nm::predict

#endif // NEUROMANCER_PREDICT_MASK_H
