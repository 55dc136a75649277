//===- H5Cubes.h - tiny HDF5 writer for the data tests ----------*- C++ -*-===//
#ifndef NEUROMANCER_TESTS_DATA_H5CUBES_H
#define NEUROMANCER_TESTS_DATA_H5CUBES_H

#include <hdf5.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace nm::testing {

template <typename T> hid_t h5TypeOf();
template <> inline hid_t h5TypeOf<float>() { return H5T_NATIVE_FLOAT; }
template <> inline hid_t h5TypeOf<double>() { return H5T_NATIVE_DOUBLE; }
template <> inline hid_t h5TypeOf<uint8_t>() { return H5T_NATIVE_UINT8; }
template <> inline hid_t h5TypeOf<uint16_t>() { return H5T_NATIVE_UINT16; }
template <> inline hid_t h5TypeOf<int16_t>() { return H5T_NATIVE_INT16; }
template <> inline hid_t h5TypeOf<int32_t>() { return H5T_NATIVE_INT32; }

/// Writes `values` (row-major, `shape`) as dataset `key` of a new (or
/// truncated, when `truncate`) file.
template <typename T>
void writeH5(const std::string &path, const std::string &key,
             const std::vector<int64_t> &shape, const std::vector<T> &values,
             bool truncate = true) {
  hid_t f = truncate ? H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT,
                                 H5P_DEFAULT)
                     : H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  if (f < 0)
    throw std::runtime_error("cannot write " + path);
  std::vector<hsize_t> dims(shape.begin(), shape.end());
  hid_t space =
      H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  hid_t ds = H5Dcreate2(f, key.c_str(), h5TypeOf<T>(), space, H5P_DEFAULT,
                        H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(ds, h5TypeOf<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
  H5Dclose(ds);
  H5Sclose(space);
  H5Fclose(f);
}

/// A dataset of fixed-length strings (a wrong element type).
inline void writeH5Strings(const std::string &path, const std::string &key,
                           hsize_t n) {
  hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, 4);
  hid_t space = H5Screate_simple(1, &n, nullptr);
  hid_t ds = H5Dcreate2(f, key.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT,
                        H5P_DEFAULT);
  std::vector<char> buf(4 * n, 'a');
  H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data());
  H5Dclose(ds);
  H5Sclose(space);
  H5Tclose(type);
  H5Fclose(f);
}

} // namespace nm::testing

#endif // NEUROMANCER_TESTS_DATA_H5CUBES_H
