//===- H5Paths.h - dataset paths inside HDF5 files --------------*- C++ -*-===//
//
// Both ends of `neuromancer predict` name datasets by slash-separated paths
// ("raw", "volumes/raw"). H5Lexists fails on a missing intermediate group,
// so existence is checked component by component. The raw volume and the
// mask are opened the same way, so their refusals read alike.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_PREDICT_H5PATHS_H
#define NEUROMANCER_PREDICT_H5PATHS_H

#include "neuromancer/io/Hdf5.h"

#include <hdf5.h>

#include <memory>
#include <string>
#include <vector>

namespace nm::predict {

/// True when every component of `path` exists in `file`.
bool pathExists(hid_t file, const std::string &path);

/// Every dataset of `file`, as paths, in name order.
std::vector<std::string> datasetsOf(hid_t file);

/// A dataset opened for reading.
struct OpenDataset {
  std::unique_ptr<h5::Handle> file, ds;
  std::string dataset; // its path inside the file
  std::string name;    // "file.h5:dataset", for messages
};

/// Opens `path`:`dataset` (`dataset` empty: the file's only one). `role`
/// ("raw", "mask") starts the messages: IOError for a missing or non-HDF5
/// file, KeyError for a missing dataset or several without a name (listing
/// them).
OpenDataset openDataset(const std::string &role, const std::string &path,
                        const std::string &dataset);

/// The element type of a numeric dataset as read into memory.
struct NumericType {
  std::unique_ptr<h5::Handle> native;
  size_t size = 0;
  bool isFloat = false, isSigned = false;
  std::string name; // "uint8", "float32", ...
};

/// ValueError "<name> has non-numeric elements (HDF5 class string); <needs>"
/// for anything but integers and floats.
NumericType numericType(hid_t ds, const std::string &name,
                        const std::string &needs);

/// The dataset's shape as stored.
std::vector<int64_t> shapeOf(hid_t ds);

/// Calls f(T{}) with T the C++ type of `t` (int8_t ... uint64_t, float,
/// double).
template <typename F> void dispatchNumeric(const NumericType &t, F &&f) {
  if (t.isFloat)
    t.size == 4 ? f(float{}) : f(double{});
  else if (t.isSigned)
    t.size == 1   ? f(int8_t{})
    : t.size == 2 ? f(int16_t{})
    : t.size == 4 ? f(int32_t{})
                  : f(int64_t{});
  else
    t.size == 1   ? f(uint8_t{})
    : t.size == 2 ? f(uint16_t{})
    : t.size == 4 ? f(uint32_t{})
                  : f(uint64_t{});
}

} // namespace nm::predict

#endif // NEUROMANCER_PREDICT_H5PATHS_H
