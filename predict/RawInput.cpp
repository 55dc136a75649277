//===- RawInput.cpp - the raw volume of a streamed prediction -------------===//
#include "neuromancer/predict/RawInput.h"

#include "neuromancer/core/Error.h"
#include "neuromancer/core/Format.h"
#include "neuromancer/io/Hdf5.h"
#include "neuromancer/predict/H5Paths.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace nm::predict {

struct RawInput::Handles {
  std::unique_ptr<h5::Handle> file, ds, type;
};

int64_t mirrored(int64_t i, int64_t n) {
  int64_t period = 2 * n;
  i %= period;
  if (i < 0)
    i += period;
  return i < n ? i : period - 1 - i;
}

namespace {

/// Converts `n` file-typed values at `src` to the network's floats.
template <typename T>
void convert(const unsigned char *src, const std::vector<int64_t> &gather,
             float *out, bool integerScale, double offset, double scale,
             bool meanStd) {
  const T *v = reinterpret_cast<const T *>(src);
  for (size_t i = 0; i < gather.size(); ++i) {
    double x = static_cast<double>(v[gather[i]]);
    // The same expressions as predict_dense (x * (1.0 / 255)), so a uint8
    // volume gives the same floats.
    out[i] = static_cast<float>(meanStd        ? (x - offset) / scale
                                : integerScale ? x * scale
                                               : x);
  }
}

} // namespace

RawInput::RawInput(const std::string &path, const std::string &dataset)
    : h_(std::make_unique<Handles>()) {
  OpenDataset d = openDataset("raw", path, dataset);
  h_->file = std::move(d.file);
  h_->ds = std::move(d.ds);
  dataset_ = d.dataset;
  name_ = d.name;
  NumericType type = numericType(*h_->ds, name_,
                                 "neuromancer predict reads integer or float "
                                 "volumes");
  h_->type = std::move(type.native);
  elemSize_ = type.size;
  isFloat_ = type.isFloat;
  isSigned_ = type.isSigned;
  typeName_ = type.name;
  fileShape_ = shapeOf(*h_->ds);
  int rank = static_cast<int>(fileShape_.size());
  if (rank < 2)
    throw ValueError(name_ + " has shape " + formatTuple(fileShape_) +
                     ", fewer than 2 spatial axes; neuromancer predict reads "
                     "(x, y), (z, x, y) or (ch, z, x, y)");
  if (rank > 4)
    throw ValueError(name_ + " has shape " + formatTuple(fileShape_) + " (" +
                     std::to_string(rank) +
                     " axes); neuromancer predict reads (x, y), (z, x, y) or "
                     "(ch, z, x, y)");
  spatial_.assign(fileShape_.end() - std::min(rank, 3), fileShape_.end());
  if (rank == 2)
    spatial_.insert(spatial_.begin(), 1);
  channels_ = rank == 4 ? fileShape_[0] : 1;
  for (int a = 0; a < 3; ++a)
    if (spatial_[a] == 0)
      throw ValueError(name_ + " is empty (shape " + formatTuple(fileShape_) +
                       ")");
  setNormalisation(std::nullopt, std::nullopt);
}

RawInput::~RawInput() = default;

void RawInput::setNormalisation(std::optional<double> mean,
                                std::optional<double> std) {
  if (mean && std) {
    offset_ = *mean;
    scale_ = *std;
    normText_ = "(x-" + formatG(*mean) + ")/" + formatG(*std);
  } else if (!isFloat_) {
    double range =
        std::ldexp(1.0, static_cast<int>(8 * elemSize_ - (isSigned_ ? 1 : 0))) -
        1;
    offset_ = 0;
    scale_ = 1.0 / range;
    normText_ = "x/" + formatG(range);
  } else {
    offset_ = 0;
    scale_ = 1;
    normText_ = "x";
  }
  meanStd_ = mean && std;
}

std::vector<float> RawInput::read(const Sizes &lo, const Sizes &shape,
                                  bool mirror) const {
  // Per axis, the file voxel each box voxel comes from, and the file box
  // that holds them all (mirroring never reaches farther than the box).
  Sizes fileLo(3), fileN(3);
  std::vector<std::vector<int64_t>> index(3);
  for (int a = 0; a < 3; ++a) {
    for (int64_t i = 0; i < shape[a]; ++i) {
      int64_t v = lo[a] + i;
      if (v < 0 || v >= spatial_[a]) {
        if (!mirror)
          throw RuntimeError("internal: block reads voxel " +
                             std::to_string(v) + " outside " + name_);
        v = mirrored(v, spatial_[a]);
      }
      index[a].push_back(v);
    }
    auto [mn, mx] = std::minmax_element(index[a].begin(), index[a].end());
    fileLo[a] = *mn;
    fileN[a] = *mx - *mn + 1;
  }
  int rank = static_cast<int>(fileShape_.size());
  std::vector<hsize_t> start, count;
  if (rank == 4) {
    start.push_back(0);
    count.push_back(static_cast<hsize_t>(channels_));
  }
  for (int a = rank == 2 ? 1 : 0; a < 3; ++a) {
    start.push_back(static_cast<hsize_t>(fileLo[a]));
    count.push_back(static_cast<hsize_t>(fileN[a]));
  }
  h5::Handle space(H5Dget_space(*h_->ds), H5Sclose);
  h5::Handle mem(H5Screate_simple(rank, count.data(), nullptr), H5Sclose);
  H5Sselect_hyperslab(space, H5S_SELECT_SET, start.data(), nullptr,
                      count.data(), nullptr);
  int64_t fileVoxels = fileN[0] * fileN[1] * fileN[2];
  std::vector<unsigned char> buf(static_cast<size_t>(channels_ * fileVoxels) *
                                 elemSize_);
  if (H5Dread(*h_->ds, *h_->type, mem, space, H5P_DEFAULT, buf.data()) < 0)
    throw IOError("reading " + formatTuple(shape) + " voxels at " +
                  formatTuple(lo) + " of " + name_ + " failed");
  // Gather (channel, z, x, y) of the box from the file box.
  std::vector<int64_t> gather;
  gather.reserve(
      static_cast<size_t>(channels_ * shape[0] * shape[1] * shape[2]));
  for (int64_t c = 0; c < channels_; ++c)
    for (int64_t z : index[0])
      for (int64_t x : index[1]) {
        int64_t row =
            ((c * fileN[0] + z - fileLo[0]) * fileN[1] + x - fileLo[1]) *
                fileN[2] -
            fileLo[2];
        for (int64_t y : index[2])
          gather.push_back(row + y);
      }
  std::vector<float> out(gather.size());
  bool integerScale = !isFloat_;
  NumericType type;
  type.size = elemSize_;
  type.isFloat = isFloat_;
  type.isSigned = isSigned_;
  dispatchNumeric(type, [&](auto tag) {
    convert<decltype(tag)>(buf.data(), gather, out.data(), integerScale,
                           offset_, scale_, meanStd_);
  });
  return out;
}

} // namespace nm::predict
