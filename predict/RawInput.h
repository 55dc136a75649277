//===- RawInput.h - the raw volume of a streamed prediction -----*- C++ -*-===//
//
// Opens the raw HDF5 dataset once and reads boxes of it as the network's
// float input: hyperslabs only (never the whole volume), mirrored (numpy
// 'symmetric', ELEKTRONN2's pad_raw) where a box reaches past the volume,
// integers scaled by their type's range (uint8 / 255 as ELEKTRONN2, uint16
// / 65535, ...) or every type by (x - mean) / std.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_PREDICT_RAWINPUT_H
#define NEUROMANCER_PREDICT_RAWINPUT_H

#include "neuromancer/core/TaggedShape.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nm::predict {

class RawInput {
public:
  /// `dataset` empty: the file's only dataset (KeyError listing them when
  /// there are several). IOError / KeyError / ValueError naming the file,
  /// the dataset and what is wrong (rank, element type).
  RawInput(const std::string &path, const std::string &dataset);
  ~RawInput();
  RawInput(const RawInput &) = delete;
  RawInput &operator=(const RawInput &) = delete;

  /// "raw.h5:stack" for messages.
  const std::string &name() const { return name_; }
  const std::string &dataset() const { return dataset_; }
  /// The file's shape as stored.
  const Sizes &fileShape() const { return fileShape_; }
  int64_t channels() const { return channels_; }
  /// (z, x, y); a 2-D dataset (x, y) has z = 1.
  const Sizes &spatial() const { return spatial_; }
  /// "uint8", "float32", ...
  const std::string &typeName() const { return typeName_; }
  size_t elemSize() const { return elemSize_; }

  /// Scaling: integers by their range unless mean/std are given, which
  /// apply to every type. "x/255", "(x-0.5)/0.25", "x" for the record.
  void setNormalisation(std::optional<double> mean, std::optional<double> std);
  const std::string &normalisation() const { return normText_; }

  /// The (channels, shape) box at raw voxel `lo` as floats, voxels outside
  /// the volume mirrored (the caller checked `mirror` where they are).
  std::vector<float> read(const Sizes &lo, const Sizes &shape,
                          bool mirror) const;

private:
  struct Handles;
  std::unique_ptr<Handles> h_;
  std::string name_, dataset_, typeName_, normText_;
  Sizes fileShape_, spatial_;
  int64_t channels_ = 1;
  size_t elemSize_ = 0;
  bool isFloat_ = false, isSigned_ = false, meanStd_ = false;
  double offset_ = 0, scale_ = 1;
};

/// numpy's pad(mode='symmetric') source index of i on an axis of n voxels
/// (folds again for padding beyond n).
int64_t mirrored(int64_t i, int64_t n);

} // namespace nm::predict

#endif // NEUROMANCER_PREDICT_RAWINPUT_H
