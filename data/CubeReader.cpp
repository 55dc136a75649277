//===- CubeReader.cpp - HDF5 cubes for the batch creator ------------------===//
#include "neuromancer/data/CubeReader.h"

#include "neuromancer/core/Error.h"
#include "neuromancer/core/Format.h"
#include "neuromancer/io/Hdf5.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <sys/stat.h>

namespace nm::data {
namespace {

/// Serial HDF5 is not thread-safe; every call of this file goes through it.
std::mutex &h5Mutex() {
  static std::mutex m;
  return m;
}

herr_t collectName(hid_t, const char *name, const H5L_info_t *, void *out) {
  static_cast<std::vector<std::string> *>(out)->push_back(name);
  return 0;
}

std::string typeNameOf(hid_t type) {
  H5T_class_t cls = H5Tget_class(type);
  size_t size = H5Tget_size(type);
  if (cls == H5T_INTEGER)
    return std::string(H5Tget_sign(type) == H5T_SGN_2 ? "int" : "uint") +
           std::to_string(8 * size);
  if (cls == H5T_FLOAT)
    return "float" + std::to_string(8 * size);
  if (cls == H5T_STRING)
    return "string";
  if (cls == H5T_COMPOUND)
    return "compound";
  return "HDF5 class " + std::to_string(static_cast<int>(cls));
}

/// `path` opened read-only; IOError naming it (and, for neuro_data_zxy,
/// how to get a stand-in) when it is missing or not HDF5. Call with
/// h5Mutex() held.
h5::Handle openH5(const std::string &path, const std::string &what,
                  const std::string &caller) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    std::string msg = caller + ": " + what + " file '" + path +
                      "' cannot be read: " + std::strerror(errno);
    if (path.find("neuro_data_zxy") != std::string::npos)
      msg += " (neuro_data_zxy is not installed there; `neuromancer "
             "make-data DIR` writes a synthetic stand-in)";
    throw IOError(msg);
  }
  h5::silenceErrors();
  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0)
    throw IOError(caller + ": " + what + " file '" + path +
                  "' is not a readable HDF5 file");
  return h5::Handle(file, H5Fclose);
}

} // namespace

std::vector<std::string> listH5Datasets(const std::string &path,
                                        const std::string &what,
                                        const std::string &caller) {
  std::lock_guard<std::mutex> lock(h5Mutex());
  h5::Handle file = openH5(path, what, caller);
  std::vector<std::string> names, datasets;
  H5Literate(file.get(), H5_INDEX_NAME, H5_ITER_INC, nullptr, collectName,
             &names);
  for (const std::string &name : names) {
    H5O_info_t info;
    if (H5Oget_info_by_name2(file.get(), name.c_str(), &info, H5O_INFO_BASIC,
                             H5P_DEFAULT) >= 0 &&
        info.type == H5O_TYPE_DATASET)
      datasets.push_back(name);
  }
  std::sort(datasets.begin(), datasets.end());
  return datasets;
}

H5Data readH5(const std::string &path, const std::string &key,
              const std::string &what, bool asDouble, const H5Select &sel) {
  std::lock_guard<std::mutex> lock(h5Mutex());
  h5::Handle file = openH5(path, what, sel.caller);
  if (H5Lexists(file.get(), key.c_str(), H5P_DEFAULT) <= 0) {
    if (sel.optional) {
      H5Data absent;
      absent.present = false;
      return absent;
    }
    std::vector<std::string> names;
    H5Literate(file.get(), H5_INDEX_NAME, H5_ITER_INC, nullptr, collectName,
               &names);
    throw KeyError(sel.caller + ": " + what + " file '" + path +
                   "' has no dataset '" + key +
                   "' (it has: " + formatStringList(names) + ")");
  }
  h5::Handle ds(H5Dopen2(file.get(), key.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.ok())
    throw IOError(sel.caller + ": '" + key + "' in " + what + " file '" + path +
                  "' is not a dataset");
  h5::Handle type(H5Dget_type(ds.get()), H5Tclose);
  h5::Handle space(H5Dget_space(ds.get()), H5Sclose);
  H5Data out;
  out.typeName = typeNameOf(type.get());
  H5T_class_t cls = H5Tget_class(type.get());
  if (cls != H5T_INTEGER && cls != H5T_FLOAT)
    throw ValueError(sel.caller + ": dataset '" + key + "' in " + what +
                     " file '" + path + "' has element type " + out.typeName +
                     "; images and labels must be integers or floats");
  out.isInteger = cls == H5T_INTEGER;
  out.isUnsigned = out.isInteger && H5Tget_sign(type.get()) == H5T_SGN_NONE;
  out.elemSize = H5Tget_size(type.get());
  int rank = H5Sget_simple_extent_ndims(space.get());
  std::vector<hsize_t> dims(std::max(rank, 0));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  size_t n = 1;
  for (hsize_t v : dims) {
    out.shape.push_back(static_cast<int64_t>(v));
    n *= v;
  }
  if (sel.metaOnly)
    return out;
  // A box: a hyperslab of the file, all channels.
  hid_t memSpace = H5S_ALL, fileSpace = H5S_ALL;
  std::unique_ptr<h5::Handle> mem;
  if (sel.box) {
    if (rank != 3 && rank != 4)
      throw ValueError(sel.caller + ": dataset '" + key + "' of '" + path +
                       "' is not (z,x,y) or (ch,z,x,y)");
    std::vector<hsize_t> start(rank, 0), count(dims);
    n = rank == 4 ? dims[0] : 1;
    for (int a = 0; a < 3; ++a) {
      start[rank - 3 + a] = static_cast<hsize_t>(sel.lo[a]);
      count[rank - 3 + a] = static_cast<hsize_t>(sel.n[a]);
      n *= static_cast<size_t>(sel.n[a]);
    }
    H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start.data(), nullptr,
                        count.data(), nullptr);
    mem = std::make_unique<h5::Handle>(
        H5Screate_simple(rank, count.data(), nullptr), H5Sclose);
    memSpace = mem->get();
    fileSpace = space.get();
  }
  // Read in the file's own type and convert here: HDF5's conversion path
  // (e.g. uint8 -> float) is several times slower.
  h5::Handle native(H5Tget_native_type(type.get(), H5T_DIR_ASCEND), H5Tclose);
  std::vector<unsigned char> buf(n * H5Tget_size(native.get()));
  if (H5Dread(ds.get(), native.get(), memSpace, fileSpace, H5P_DEFAULT,
              buf.data()) < 0)
    throw IOError(sel.caller + ": reading dataset '" + key + "' of " + what +
                  " file '" + path + "' failed");
  if (asDouble)
    out.d.resize(n);
  else
    out.f.resize(n);
  auto convert = [&](auto tag) {
    using T = decltype(tag);
    const T *src = reinterpret_cast<const T *>(buf.data());
    if (asDouble)
      std::copy(src, src + n, out.d.begin());
    else
      std::transform(src, src + n, out.f.begin(),
                     [](T v) { return static_cast<float>(v); });
  };
  const size_t es = H5Tget_size(native.get());
  if (cls == H5T_FLOAT) {
    if (es == 4)
      convert(float{});
    else
      convert(double{});
  } else if (out.isUnsigned) {
    if (es == 1)
      convert(uint8_t{});
    else if (es == 2)
      convert(uint16_t{});
    else if (es == 4)
      convert(uint32_t{});
    else
      convert(uint64_t{});
  } else {
    if (es == 1)
      convert(int8_t{});
    else if (es == 2)
      convert(int16_t{});
    else if (es == 4)
      convert(int32_t{});
    else
      convert(int64_t{});
  }
  return out;
}

} // namespace nm::data
