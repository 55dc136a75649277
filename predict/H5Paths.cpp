//===- H5Paths.cpp - dataset paths inside HDF5 files ----------------------===//
#include "neuromancer/predict/H5Paths.h"

namespace nm::predict {
namespace {

herr_t collectDataset(hid_t, const char *name, const H5O_info_t *info,
                      void *out) {
  if (info->type == H5O_TYPE_DATASET)
    static_cast<std::vector<std::string> *>(out)->push_back(name);
  return 0;
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

} // namespace nm::predict
