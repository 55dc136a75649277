//===- Mask.cpp - the foreground mask of a streamed prediction ------------===//
#include "neuromancer/predict/Mask.h"

#include "neuromancer/core/Error.h"
#include "neuromancer/core/Format.h"
#include "neuromancer/predict/H5Paths.h"

#include <algorithm>
#include <filesystem>
#include <sys/stat.h>

namespace nm::predict {

struct MaskInput::Handles {
  OpenDataset d;
  NumericType type;
};

namespace {

const char *kAxes = "zxy";

template <typename T> bool anyNonzero(const unsigned char *data, size_t n) {
  const T *v = reinterpret_cast<const T *>(data);
  return std::any_of(v, v + n, [](T x) { return !(x == T(0)); });
}

/// The mask's (z, x, y): (1, z, x, y) drops its leading 1, (x, y) gains
/// z = 1 like a 2-D raw volume. ValueError for any other rank.
Sizes spatialOf(const Sizes &shape, const std::string &name) {
  if (shape.size() == 3)
    return shape;
  if (shape.size() == 4 && shape[0] == 1)
    return Sizes(shape.begin() + 1, shape.end());
  if (shape.size() == 2)
    return {1, shape[0], shape[1]};
  throw ValueError("mask " + name + " has shape " + formatTuple(shape) +
                   "; a mask is (z, x, y) or (1, z, x, y) like the raw "
                   "volume's spatial axes");
}

} // namespace

MaskInput::MaskInput(const std::string &path, const std::string &dataset,
                     const Sizes &rawSpatial, const std::string &rawName)
    : h_(std::make_unique<Handles>()), path_(path) {
  h_->d = openDataset("mask", path, dataset);
  name_ = h_->d.name;
  dataset_ = h_->d.dataset;
  h_->type = numericType(*h_->d.ds, "mask " + name_,
                         "a mask holds integers or floats (nonzero = "
                         "foreground)");
  fileShape_ = shapeOf(*h_->d.ds);
  Sizes spatial = spatialOf(fileShape_, name_);
  for (int a = 0; a < 3; ++a)
    if (spatial[a] != rawSpatial[a])
      throw ValueError("mask " + name_ + " has " + std::to_string(spatial[a]) +
                       " voxels along " + kAxes[a] + ", but the raw volume " +
                       rawName + " has " + std::to_string(rawSpatial[a]) +
                       " (a mask has the raw volume's spatial shape " +
                       formatTuple(rawSpatial) + ")");
}

MaskInput::~MaskInput() = default;

size_t MaskInput::elemSize() const { return h_->type.size; }

nlohmann::json MaskInput::identity() const {
  struct stat st {};
  ::stat(path_.c_str(), &st);
  int64_t mtime =
      int64_t(st.st_mtim.tv_sec) * 1000000000 + int64_t(st.st_mtim.tv_nsec);
  return {
      {"mask_file", std::filesystem::absolute(path_).lexically_normal()},
      {"mask_dataset", dataset_},
      {"mask_shape", fileShape_},
      {"mask_dtype", h_->type.name},
      {"mask_file_bytes", static_cast<int64_t>(st.st_size)},
      {"mask_file_mtime_ns", mtime},
  };
}

bool MaskInput::any(const Sizes &lo, const Sizes &shape) const {
  int rank = static_cast<int>(fileShape_.size());
  std::vector<hsize_t> start, count;
  if (rank == 4) {
    start.push_back(0);
    count.push_back(1);
  }
  for (int a = rank == 2 ? 1 : 0; a < 3; ++a) {
    start.push_back(static_cast<hsize_t>(lo[a]));
    count.push_back(static_cast<hsize_t>(shape[a]));
  }
  hid_t ds = *h_->d.ds;
  h5::Handle space(H5Dget_space(ds), H5Sclose);
  h5::Handle mem(H5Screate_simple(rank, count.data(), nullptr), H5Sclose);
  H5Sselect_hyperslab(space, H5S_SELECT_SET, start.data(), nullptr,
                      count.data(), nullptr);
  size_t n = static_cast<size_t>(shape[0] * shape[1] * shape[2]);
  std::vector<unsigned char> buf(n * h_->type.size);
  if (H5Dread(ds, *h_->type.native, mem, space, H5P_DEFAULT, buf.data()) < 0)
    throw IOError("reading " + formatTuple(shape) + " voxels at " +
                  formatTuple(lo) + " of mask " + name_ + " failed");
  bool found = false;
  dispatchNumeric(h_->type, [&](auto tag) {
    found = anyNonzero<decltype(tag)>(buf.data(), n);
  });
  return found;
}

} // namespace nm::predict
