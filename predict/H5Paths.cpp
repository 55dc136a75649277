//===- H5Paths.cpp - dataset paths inside HDF5 files ----------------------===//
#include "neuromancer/predict/H5Paths.h"

#include "neuromancer/core/Error.h"
#include "neuromancer/core/Format.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sys/stat.h>

namespace nm::predict {
namespace {

herr_t collectDataset(hid_t, const char *name, const H5O_info_t *info,
                      void *out) {
  if (info->type == H5O_TYPE_DATASET)
    static_cast<std::vector<std::string> *>(out)->push_back(name);
  return 0;
}

std::string className(H5T_class_t cls) {
  return cls == H5T_STRING     ? "string"
         : cls == H5T_COMPOUND ? "compound"
         : cls == H5T_ENUM     ? "enum"
                               : "other";
}

} // namespace

bool pathExists(hid_t file, const std::string &path) {
  size_t pos = 0;
  while (true) {
    size_t next = path.find('/', pos + 1);
    std::string part = path.substr(0, next);
    if (!part.empty() && part != "/" &&
        H5Lexists(file, part.c_str(), H5P_DEFAULT) <= 0)
      return false;
    if (next == std::string::npos)
      return true;
    pos = next;
  }
}

std::vector<std::string> datasetsOf(hid_t file) {
  std::vector<std::string> names;
#if H5_VERSION_GE(1, 12, 0)
  H5Ovisit(file, H5_INDEX_NAME, H5_ITER_INC, collectDataset, &names,
           H5O_INFO_BASIC);
#else
  H5Ovisit(file, H5_INDEX_NAME, H5_ITER_INC, collectDataset, &names);
#endif
  return names;
}

OpenDataset openDataset(const std::string &role, const std::string &path,
                        const std::string &dataset) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    throw IOError(role + " file '" + path +
                  "' cannot be read: " + std::strerror(errno));
  h5::silenceErrors();
  OpenDataset d;
  d.file = std::make_unique<h5::Handle>(
      H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!d.file->ok())
    throw IOError(role + " file '" + path + "' is not a readable HDF5 file");
  std::vector<std::string> names = datasetsOf(*d.file);
  d.dataset = dataset;
  if (d.dataset.empty()) {
    if (names.size() != 1)
      throw KeyError(role + " file '" + path + "' has " +
                     std::to_string(names.size()) + " datasets (" +
                     formatStringList(names) + "); name one as '" + path +
                     ":DATASET'");
    d.dataset = names.front();
  }
  d.name = path + ":" + d.dataset;
  if (!pathExists(*d.file, d.dataset))
    throw KeyError(role + " file '" + path + "' has no dataset '" + d.dataset +
                   "' (it has: " + formatStringList(names) + ")");
  d.ds = std::make_unique<h5::Handle>(
      H5Dopen2(*d.file, d.dataset.c_str(), H5P_DEFAULT), H5Dclose);
  if (!d.ds->ok())
    throw KeyError("'" + d.dataset + "' in " + role + " file '" + path +
                   "' is not a dataset (the datasets are: " +
                   formatStringList(names) + ")");
  return d;
}

NumericType numericType(hid_t ds, const std::string &name,
                        const std::string &needs) {
  h5::Handle type(H5Dget_type(ds), H5Tclose);
  H5T_class_t cls = H5Tget_class(type);
  if (cls != H5T_INTEGER && cls != H5T_FLOAT)
    throw ValueError(name + " has non-numeric elements (HDF5 class " +
                     className(cls) + "); " + needs);
  NumericType t;
  t.native = std::make_unique<h5::Handle>(
      H5Tget_native_type(type, H5T_DIR_ASCEND), H5Tclose);
  t.size = H5Tget_size(*t.native);
  t.isFloat = cls == H5T_FLOAT;
  t.isSigned = !t.isFloat && H5Tget_sign(type) == H5T_SGN_2;
  t.name = std::string(t.isFloat    ? "float"
                       : t.isSigned ? "int"
                                    : "uint") +
           std::to_string(8 * t.size);
  return t;
}

std::vector<int64_t> shapeOf(hid_t ds) {
  h5::Handle space(H5Dget_space(ds), H5Sclose);
  int rank = H5Sget_simple_extent_ndims(space);
  std::vector<hsize_t> dims(std::max(rank, 0));
  H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  return std::vector<int64_t>(dims.begin(), dims.end());
}

} // namespace nm::predict
