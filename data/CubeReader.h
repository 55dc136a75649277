//===- CubeReader.h - HDF5 cubes for the batch creator ----------*- C++ -*-===//
//
// Reads an image or label cube (or, for h5stream, one spatial box of it)
// from an HDF5 dataset, with errors naming the file, dataset and type.
// Serial libhdf5 is not thread-safe: every read takes one process-wide lock.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_DATA_CUBEREADER_H
#define NEUROMANCER_DATA_CUBEREADER_H

#include "neuromancer/core/TaggedShape.h"
#include "neuromancer/data/Warp.h"

#include <string>
#include <vector>

namespace nm::data {

/// One dataset, read whole, in double (exact for every integer a label
/// cube holds) or float.
struct H5Data {
  bool present = true; // false: an optional dataset that is absent
  Sizes shape;
  bool isInteger = false, isUnsigned = false;
  size_t elemSize = 0;
  std::string typeName;
  std::vector<float> f;
  std::vector<double> d;
};

/// What to read of a dataset: everything, its shape and type only, or the
/// spatial box [lo, lo + n) of every channel (h5stream).
struct H5Select {
  bool metaOnly = false;
  /// An absent dataset gives `present == false` instead of a KeyError (the
  /// optional `ll_mask` of label files).
  bool optional = false;
  bool box = false;
  Index3 lo{}, n{};
  /// Who reads, the first word of every message ("load_preview_data").
  std::string caller = "BatchCreatorImage";
};

/// The names of the datasets in the root group of `path`, sorted; IOError
/// (messages begin with `caller`) naming the file when it is missing or not
/// HDF5. Takes the same lock as readH5.
std::vector<std::string> listH5Datasets(const std::string &path,
                                        const std::string &what,
                                        const std::string &caller);

/// Dataset `key` of `path` (`what` = "data" or "label" in messages), as
/// double (`asDouble`) or float. IOError / KeyError naming file and dataset.
H5Data readH5(const std::string &path, const std::string &key,
              const std::string &what, bool asDouble, const H5Select &sel = {});

} // namespace nm::data

#endif // NEUROMANCER_DATA_CUBEREADER_H
