//===- H5TestFiles.h - small HDF5 volumes for the predict tests -*- C++ -*-===//
//
// Written and read with libhdf5 directly (not through neuromancer's own
// readers), so the tests check the files an independent reader sees.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_TESTS_PREDICT_H5TESTFILES_H
#define NEUROMANCER_TESTS_PREDICT_H5TESTFILES_H

#include "neuromancer/io/Hdf5.h"
#include "neuromancer/runtime/Array.h"

#include <hdf5.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace nm::testing {

/// Writes `a` as dataset `name` of `path` (created, or added when `append`).
inline void writeH5(const std::string &path, const std::string &name,
                    const Array &a, bool append = false) {
  h5::silenceErrors();
  hid_t file =
      append ? H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT)
             : H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (file < 0)
    throw std::runtime_error("cannot create " + path);
  h5::Handle f(file, H5Fclose);
  std::vector<hsize_t> dims(a.shape().begin(), a.shape().end());
  h5::Handle space(
      H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
      H5Sclose);
  h5::Handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  H5Pset_create_intermediate_group(lcpl, 1);
  hid_t type = h5::nativeType(a.dtype());
  h5::Handle ds(
      H5Dcreate2(f, name.c_str(), type, space, lcpl, H5P_DEFAULT, H5P_DEFAULT),
      H5Dclose);
  if (!ds.ok() ||
      H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, a.raw()) < 0)
    throw std::runtime_error("cannot write " + path + ":" + name);
}

/// A dataset of strings (a non-numeric volume).
inline void writeStringH5(const std::string &path, const std::string &name) {
  h5::Handle f(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT),
               H5Fclose);
  h5::Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type, 4);
  hsize_t dims[3] = {4, 4, 4};
  h5::Handle space(H5Screate_simple(3, dims, nullptr), H5Sclose);
  h5::Handle ds(H5Dcreate2(f, name.c_str(), type, space, H5P_DEFAULT,
                           H5P_DEFAULT, H5P_DEFAULT),
                H5Dclose);
}

/// Dataset `name` of `path` as float32 (or uint8 when `uint8`).
inline Array readH5(const std::string &path, const std::string &name,
                    bool uint8 = false) {
  h5::silenceErrors();
  h5::Handle f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!f.ok())
    throw std::runtime_error("cannot open " + path);
  h5::Handle ds(H5Dopen2(f, name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.ok())
    throw std::runtime_error("no dataset " + name + " in " + path);
  h5::Handle space(H5Dget_space(ds), H5Sclose);
  int rank = H5Sget_simple_extent_ndims(space);
  std::vector<hsize_t> dims(rank);
  H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  Array a(std::vector<int64_t>(dims.begin(), dims.end()),
          uint8 ? DType::UInt8 : DType::Float32);
  H5Dread(ds, uint8 ? H5T_NATIVE_UINT8 : H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL,
          H5P_DEFAULT, a.raw());
  return a;
}

/// A string attribute of a dataset ("" when absent).
inline std::string stringAttribute(const std::string &path,
                                   const std::string &ds,
                                   const std::string &name) {
  h5::Handle f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  h5::Handle attr(
      H5Aopen_by_name(f, ds.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
      H5Aclose);
  if (!attr.ok())
    return "";
  h5::Handle type(H5Aget_type(attr), H5Tclose);
  std::string s(H5Tget_size(type), '\0');
  H5Aread(attr, type, s.data());
  return s;
}

/// An integer-array attribute of a dataset (empty when absent).
inline std::vector<int64_t> intsAttribute(const std::string &path,
                                          const std::string &ds,
                                          const std::string &name) {
  h5::Handle f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  h5::Handle attr(
      H5Aopen_by_name(f, ds.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
      H5Aclose);
  if (!attr.ok())
    return {};
  h5::Handle space(H5Aget_space(attr), H5Sclose);
  std::vector<int64_t> v(H5Sget_simple_extent_npoints(space));
  H5Aread(attr, H5T_NATIVE_INT64, v.data());
  return v;
}

} // namespace nm::testing

#endif // NEUROMANCER_TESTS_PREDICT_H5TESTFILES_H
