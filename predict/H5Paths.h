//===- H5Paths.h - dataset paths inside HDF5 files --------------*- C++ -*-===//
//
// Both ends of `neuromancer predict` name datasets by slash-separated paths
// ("raw", "volumes/raw"). H5Lexists fails on a missing intermediate group,
// so existence is checked component by component.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_PREDICT_H5PATHS_H
#define NEUROMANCER_PREDICT_H5PATHS_H

#include <hdf5.h>

#include <string>
#include <vector>

namespace nm::predict {

/// True when every component of `path` exists in `file`.
bool pathExists(hid_t file, const std::string &path);

/// Every dataset of `file`, as paths, in name order.
std::vector<std::string> datasetsOf(hid_t file);

} // namespace nm::predict

#endif // NEUROMANCER_PREDICT_H5PATHS_H
