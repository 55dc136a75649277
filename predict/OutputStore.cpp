//===- OutputStore.cpp - the output of a streamed prediction --------------===//
#include "neuromancer/predict/OutputStore.h"

#include "neuromancer/core/AtomicFile.h"
#include "neuromancer/core/Error.h"
#include "neuromancer/core/Format.h"
#include "neuromancer/core/Log.h"
#include "neuromancer/io/Hdf5.h"
#include "neuromancer/predict/H5Paths.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace nm::predict {

namespace fs = std::filesystem;

uint64_t fnv1a(const void *data, size_t size) {
  const unsigned char *p = static_cast<const unsigned char *>(data);
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < size; ++i)
    h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

namespace {

constexpr const char *kIdentityFile = "identity.json";
constexpr const char *kIdentityAttr = "neuromancer_predict_identity";
/// The root attribute of a block file recording an empty (masked) block.
constexpr const char *kEmptyAttr = "empty";

std::string systemReason() {
  return errno ? std::string(": ") + std::strerror(errno) : std::string();
}

/// fsync of a directory, so a rename, creation or removal in it survives a
/// crash.
void syncDirectory(const std::string &dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

std::string parentOf(const std::string &path) {
  return fs::path(path).parent_path().string();
}

void writeAttribute(hid_t obj, const std::string &name,
                    const nlohmann::json &value) {
  h5::Handle scalar(H5Screate(H5S_SCALAR), H5Sclose);
  if (value.is_string()) {
    std::string s = value.get<std::string>();
    h5::Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(type, std::max<size_t>(s.size(), 1));
    h5::Handle attr(
        H5Acreate2(obj, name.c_str(), type, scalar, H5P_DEFAULT, H5P_DEFAULT),
        H5Aclose);
    H5Awrite(attr, type, s.c_str());
  } else if (value.is_array()) {
    std::vector<int64_t> v = value.get<std::vector<int64_t>>();
    hsize_t n = v.size();
    h5::Handle space(n ? H5Screate_simple(1, &n, nullptr) : H5Screate(H5S_NULL),
                     H5Sclose);
    h5::Handle attr(H5Acreate2(obj, name.c_str(), H5T_STD_I64LE, space,
                               H5P_DEFAULT, H5P_DEFAULT),
                    H5Aclose);
    if (n)
      H5Awrite(attr, H5T_NATIVE_INT64, v.data());
  } else if (value.is_number_integer() || value.is_boolean() ||
             value.is_number_unsigned()) {
    int64_t v = value.is_boolean() ? value.get<bool>() : value.get<int64_t>();
    h5::Handle attr(H5Acreate2(obj, name.c_str(), H5T_STD_I64LE, scalar,
                               H5P_DEFAULT, H5P_DEFAULT),
                    H5Aclose);
    H5Awrite(attr, H5T_NATIVE_INT64, &v);
  } else if (value.is_number()) {
    double v = value.get<double>();
    h5::Handle attr(H5Acreate2(obj, name.c_str(), H5T_IEEE_F64LE, scalar,
                               H5P_DEFAULT, H5P_DEFAULT),
                    H5Aclose);
    H5Awrite(attr, H5T_NATIVE_DOUBLE, &v);
  }
}

/// A string attribute of `obj` ("" when absent).
std::string stringAttribute(hid_t obj, const char *name) {
  if (H5Aexists(obj, name) <= 0)
    return "";
  h5::Handle attr(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
  h5::Handle type(H5Aget_type(attr), H5Tclose);
  if (H5Tget_class(type) != H5T_STRING)
    return "";
  std::string s(H5Tget_size(type), '\0');
  H5Aread(attr, type, s.data());
  return s.substr(0, s.find('\0'));
}

/// The keys whose values differ, "key was A, now B; ...", for the refusal
/// to resume with other arguments.
std::string differences(const nlohmann::json &was, const nlohmann::json &now) {
  std::string text;
  auto shorten = [](const nlohmann::json &v) {
    std::string s = v.is_null() ? "(none)" : v.dump();
    return s.size() > 40 ? s.substr(0, 16) + "…" : s;
  };
  auto valueIn = [](const nlohmann::json &id, const std::string &key) {
    return id.contains(key) ? id[key] : nlohmann::json(nullptr);
  };
  // Optional keys (the mask, tta) are recorded only when used: a key may be
  // in either record.
  nlohmann::json keys = now;
  for (auto it = was.begin(); it != was.end(); ++it)
    keys.emplace(it.key(), nullptr);
  for (auto it = keys.begin(); it != keys.end(); ++it) {
    nlohmann::json old = valueIn(was, it.key()), cur = valueIn(now, it.key());
    if (old != cur)
      text += (text.empty() ? "" : "; ") + it.key() + " was " + shorten(old) +
              ", now " + shorten(cur);
  }
  return text.empty() ? "the record's format" : text;
}

/// Hyperslab (channels, owned voxels) of a block in a (c, z, x, y) space.
struct Slab {
  hsize_t start[4] = {0, 0, 0, 0}, count[4] = {0, 0, 0, 0};
  Slab(int64_t channels, const Block &b) {
    count[0] = static_cast<hsize_t>(channels);
    for (int a = 0; a < 3; ++a) {
      start[a + 1] = static_cast<hsize_t>(b.writeLo[a]);
      count[a + 1] = static_cast<hsize_t>(b.writeSize[a]);
    }
  }
  size_t elements() const { return count[0] * count[1] * count[2] * count[3]; }
};

} // namespace

std::string OutputStore::partialPath(const std::string &path,
                                     const std::string &dataset) {
  std::string s = dataset;
  for (char &c : s)
    if (c == '/')
      c = '_';
  return path + "." + s + ".partial";
}

std::string OutputStore::blockPath(int64_t index) const {
  return partial_ + "/block-" + std::to_string(index) + ".h5";
}

void OutputStore::checkTarget(const std::string &path,
                              const std::string &dataset, bool overwrite) {
  h5::silenceErrors();
  std::error_code ec;
  if (fs::is_directory(path, ec))
    throw IOError("output '" + path + "' is a directory");
  std::string dirName = parentOf(path).empty() ? "." : parentOf(path);
  if (!fs::is_directory(dirName, ec))
    throw IOError("output '" + path + "': directory '" + dirName +
                  "' does not exist");
  if (::access(dirName.c_str(), W_OK) != 0)
    throw IOError("output '" + path + "': cannot write into directory '" +
                  dirName + "'" + systemReason());
  if (!fs::exists(path, ec))
    return;
  if (H5Fis_hdf5(path.c_str()) <= 0)
    throw IOError("output file '" + path +
                  "' exists and is not an HDF5 file; it is left untouched "
                  "(predict adds its dataset to HDF5 files only)");
  h5::Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.ok())
    throw IOError("output file '" + path +
                  "' exists but HDF5 cannot open it; it is left untouched");
  if (!pathExists(file, dataset))
    return;
  // A run killed after moving its dataset into place left its directory:
  // the dataset carries the same identity, the directory is stale.
  if (std::optional<nlohmann::json> id = unfinishedIdentity(path, dataset)) {
    h5::Handle ds(H5Dopen2(file, dataset.c_str(), H5P_DEFAULT), H5Dclose);
    if (ds.ok() && stringAttribute(ds, kIdentityAttr) == id->dump())
      fs::remove_all(partialPath(path, dataset), ec);
  }
  if (!overwrite)
    throw IOError("output file '" + path + "' already has dataset '" + dataset +
                  "'; pass --overwrite to replace it");
}

std::optional<nlohmann::json>
OutputStore::unfinishedIdentity(const std::string &path,
                                const std::string &dataset) {
  std::ifstream in(partialPath(path, dataset) + "/" + kIdentityFile);
  if (!in)
    return std::nullopt;
  nlohmann::json id = nlohmann::json::parse(in, nullptr, false);
  if (id.is_discarded())
    return std::nullopt;
  return id;
}

OutputStore::OutputStore(const OutputSpec &spec, const BlockGrid &grid)
    : spec_(spec), grid_(grid), partial_(partialPath(spec.path, spec.dataset)),
      done_(grid.size(), false), empty_(grid.size(), false) {
  h5::silenceErrors();
  std::optional<nlohmann::json> earlier =
      unfinishedIdentity(spec.path, spec.dataset);
  if (earlier && *earlier != spec.identity && !spec.overwrite)
    throw IOError("output '" + spec.path + ":" + spec.dataset +
                  "' has an unfinished run ('" + partial_ +
                  "') with other arguments (" +
                  differences(*earlier, spec.identity) +
                  "); rerun with the same arguments to resume it, or pass "
                  "--overwrite to start over");
  if (earlier && *earlier == spec.identity)
    verify();
  else
    create();
}

OutputStore::~OutputStore() = default;

int64_t OutputStore::doneCount() const {
  return std::count(done_.begin(), done_.end(), true);
}

int64_t OutputStore::emptyCount() const {
  return std::count(empty_.begin(), empty_.end(), true);
}

void OutputStore::create() {
  std::error_code ec;
  fs::remove_all(partial_, ec);
  if (ec || !fs::create_directory(partial_, ec))
    throw IOError("cannot create the directory '" + partial_ +
                  "' for the blocks of the output: " + ec.message());
  writeFileAtomically(partial_ + "/" + kIdentityFile,
                      spec_.identity.dump(1) + "\n");
  syncDirectory(parentOf(partial_));
}

bool OutputStore::readBlock(int64_t index, std::vector<unsigned char> &data,
                            uint64_t *hash, bool *empty) const {
  h5::Handle file(
      H5Fopen(blockPath(index).c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.ok())
    return false;
  *empty = H5Aexists(file, kEmptyAttr) > 0;
  if (*empty)
    return true;
  h5::Handle ds(H5Dopen2(file, "data", H5P_DEFAULT), H5Dclose);
  if (!ds.ok())
    return false;
  Slab slab(spec_.channels, grid_.block(index));
  h5::Handle space(H5Dget_space(ds), H5Sclose);
  hsize_t dims[4];
  if (H5Sget_simple_extent_ndims(space) != 4)
    return false;
  H5Sget_simple_extent_dims(space, dims, nullptr);
  if (!std::equal(dims, dims + 4, slab.count))
    return false;
  data.resize(slab.elements() * (spec_.asUint8 ? 1 : 4));
  if (H5Dread(ds, spec_.asUint8 ? H5T_NATIVE_UINT8 : H5T_NATIVE_FLOAT, H5S_ALL,
              H5S_ALL, H5P_DEFAULT, data.data()) < 0)
    return false;
  if (hash) {
    if (H5Aexists(ds, "fnv1a") <= 0)
      return false;
    h5::Handle attr(H5Aopen(ds, "fnv1a", H5P_DEFAULT), H5Aclose);
    if (H5Aread(attr, H5T_NATIVE_UINT64, hash) < 0)
      return false;
  }
  return true;
}

/// Block files that open and whose data hash as recorded count as done.
void OutputStore::verify() {
  std::vector<unsigned char> data;
  for (int64_t i = 0; i < grid_.size(); ++i) {
    std::error_code ec;
    if (!fs::exists(blockPath(i), ec))
      continue;
    uint64_t hash = 0;
    bool empty = false;
    if (readBlock(i, data, &hash, &empty) &&
        (empty || fnv1a(data.data(), data.size()) == hash)) {
      done_[i] = true;
      empty_[i] = empty;
    } else
      ++damaged_;
  }
  if (damaged_)
    log_warning("neuromancer predict: " + std::to_string(damaged_) +
                " block file(s) of the unfinished run in '" + partial_ +
                "' do not read back as written; those blocks are predicted "
                "again");
}

void OutputStore::write(const Block &b, const void *data) {
  writeBlockFile(b, data);
}

void OutputStore::writeEmpty(const Block &b) {
  writeBlockFile(b, nullptr);
  empty_[b.index] = true;
}

namespace {

/// A block file's content: the owned voxels and their hash, or (data null)
/// only the mark of an empty block. False when HDF5 fails.
bool fillBlockFile(const std::string &path, const hsize_t (&count)[4],
                   bool asUint8, const void *data, uint64_t hash) {
  h5::Handle file(
      H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT),
      H5Fclose);
  h5::Handle scalar(H5Screate(H5S_SCALAR), H5Sclose);
  if (!data) {
    int64_t one = 1;
    h5::Handle attr(H5Acreate2(file, kEmptyAttr, H5T_STD_I64LE, scalar,
                               H5P_DEFAULT, H5P_DEFAULT),
                    H5Aclose);
    return file.ok() && H5Awrite(attr, H5T_NATIVE_INT64, &one) >= 0 &&
           attr.close() && file.close();
  }
  h5::Handle space(H5Screate_simple(4, count, nullptr), H5Sclose);
  h5::Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  hsize_t chunk[4] = {1, count[1], count[2], count[3]};
  H5Pset_chunk(dcpl, 4, chunk);
  H5Pset_shuffle(dcpl);
  H5Pset_deflate(dcpl, 1); // a scratch copy: fast, still compact
  hid_t type = asUint8 ? H5T_NATIVE_UINT8 : H5T_NATIVE_FLOAT;
  h5::Handle ds(H5Dcreate2(file, "data",
                           asUint8 ? H5T_STD_U8LE : H5T_IEEE_F32LE, space,
                           H5P_DEFAULT, dcpl, H5P_DEFAULT),
                H5Dclose);
  h5::Handle attr(
      H5Acreate2(ds, "fnv1a", H5T_STD_U64LE, scalar, H5P_DEFAULT, H5P_DEFAULT),
      H5Aclose);
  return file.ok() && ds.ok() &&
         H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0 &&
         H5Awrite(attr, H5T_NATIVE_UINT64, &hash) >= 0 && attr.close() &&
         ds.close() && file.close();
}

} // namespace

void OutputStore::writeBlockFile(const Block &b, const void *data) {
  Slab slab(spec_.channels, b);
  size_t bytes = slab.elements() * (spec_.asUint8 ? 1 : 4);
  uint64_t hash = data ? fnv1a(data, bytes) : 0;
  std::string where = "block " + std::to_string(b.index) + " of '" +
                      spec_.path + ":" + spec_.dataset + "'";
  errno = 0;
  try {
    AtomicFile out(blockPath(b.index));
    if (!fillBlockFile(out.tempPath(), slab.count, spec_.asUint8, data, hash))
      throw IOError("HDF5 write");
    out.commit();
  } catch (const IOError &) {
    throw IOError("writing " + where + " to '" + blockPath(b.index) +
                  "' failed" + systemReason() +
                  " (disk full?); the blocks written before are kept, rerun "
                  "the same command to resume");
  }
  syncDirectory(partial_);
  done_[b.index] = true;
}

void OutputStore::finalise() {
  if (doneCount() != grid_.size())
    throw RuntimeError("internal: finalising an unfinished prediction");
  std::error_code ec;
  bool exists = fs::exists(spec_.path, ec);
  std::string failed = "assembling dataset '" + spec_.dataset + "' of '" +
                       spec_.path +
                       "' failed (disk full?); rerun the same "
                       "command to retry (the blocks are kept in '" +
                       partial_ + "')";
  AtomicFile out(spec_.path);
  if (exists) {
    fs::copy_file(out.targetPath(), out.tempPath(),
                  fs::copy_options::overwrite_existing, ec);
    if (ec)
      throw IOError("copying '" + spec_.path + "' to add dataset '" +
                    spec_.dataset + "' failed (" + ec.message() +
                    "); rerun the same command to retry (the blocks are "
                    "kept in '" +
                    partial_ + "')");
  }
  {
    h5::Handle file(
        exists ? H5Fopen(out.tempPath().c_str(), H5F_ACC_RDWR, H5P_DEFAULT)
               : H5Fcreate(out.tempPath().c_str(), H5F_ACC_TRUNC, H5P_DEFAULT,
                           H5P_DEFAULT),
        H5Fclose);
    if (!file.ok())
      throw IOError(failed);
    if (exists && pathExists(file, spec_.dataset)) {
      if (!spec_.overwrite)
        throw IOError("output file '" + spec_.path + "' got a dataset '" +
                      spec_.dataset +
                      "' while predicting; pass --overwrite to replace it");
      H5Ldelete(file, spec_.dataset.c_str(), H5P_DEFAULT);
    }
    hsize_t dims[4] = {static_cast<hsize_t>(spec_.channels),
                       static_cast<hsize_t>(grid_.roi[0]),
                       static_cast<hsize_t>(grid_.roi[1]),
                       static_cast<hsize_t>(grid_.roi[2])};
    hsize_t chunk[4] = {1, static_cast<hsize_t>(spec_.chunk[0]),
                        static_cast<hsize_t>(spec_.chunk[1]),
                        static_cast<hsize_t>(spec_.chunk[2])};
    h5::Handle space(H5Screate_simple(4, dims, nullptr), H5Sclose);
    h5::Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    H5Pset_chunk(dcpl, 4, chunk);
    H5Pset_shuffle(dcpl);
    H5Pset_deflate(dcpl, 4);
    H5Pset_obj_track_times(dcpl, false); // same arguments, same bytes
    // What the chunks of the mask's empty blocks read as (HDF5's default,
    // stated because the output relies on it).
    double zero = 0;
    H5Pset_fill_value(dcpl, H5T_NATIVE_DOUBLE, &zero);
    h5::Handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t type = spec_.asUint8 ? H5T_NATIVE_UINT8 : H5T_NATIVE_FLOAT;
    h5::Handle ds(H5Dcreate2(file, spec_.dataset.c_str(),
                             spec_.asUint8 ? H5T_STD_U8LE : H5T_IEEE_F32LE,
                             space, lcpl, dcpl, H5P_DEFAULT),
                  H5Dclose);
    if (!ds.ok())
      throw IOError(failed);
    for (auto it = spec_.attributes.begin(); it != spec_.attributes.end(); ++it)
      writeAttribute(ds, it.key(), it.value());
    writeAttribute(ds, kIdentityAttr, spec_.identity.dump());
    std::vector<unsigned char> data;
    for (int64_t i = 0; i < grid_.size(); ++i) {
      bool empty = false;
      if (!readBlock(i, data, nullptr, &empty))
        throw IOError("block file '" + blockPath(i) +
                      "' can no longer be read; rerun the same command to "
                      "predict it again");
      if (empty)
        continue; // its chunks are never written: they read as 0
      Slab slab(spec_.channels, grid_.block(i));
      h5::Handle mem(H5Screate_simple(4, slab.count, nullptr), H5Sclose);
      H5Sselect_hyperslab(space, H5S_SELECT_SET, slab.start, nullptr,
                          slab.count, nullptr);
      if (H5Dwrite(ds, type, mem, space, H5P_DEFAULT, data.data()) < 0)
        throw IOError(failed);
    }
    if (!ds.close() || !file.close())
      throw IOError(failed);
  }
  out.commit();
  syncDirectory(parentOf(spec_.path));
  // Last: until here a rerun finds every block done and assembles again.
  fs::remove_all(partial_, ec);
  syncDirectory(parentOf(spec_.path));
}

} // namespace nm::predict
