//===- OutputStore.cpp - the output of a streamed prediction --------------===//
#include "neuromancer/predict/OutputStore.h"

#include "neuromancer/core/AtomicFile.h"
#include "neuromancer/core/Error.h"
#include "neuromancer/core/Format.h"
#include "neuromancer/core/Log.h"
#include "neuromancer/io/Hdf5.h"
#include "neuromancer/predict/H5Paths.h"

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

namespace nm::predict {

namespace fs = std::filesystem;

struct OutputStore::Handles {
  std::unique_ptr<h5::Handle> file, ds;
  void close() {
    ds.reset();
    file.reset();
  }
};

uint64_t fnv1a(const void *data, size_t size) {
  const unsigned char *p = static_cast<const unsigned char *>(data);
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < size; ++i)
    h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

namespace {

constexpr const char *kJournalMagic = "neuromancer-predict-journal-v1 ";

std::string systemReason() {
  return errno ? std::string(": ") + std::strerror(errno) : std::string();
}

std::string sanitised(const std::string &dataset) {
  std::string s = dataset;
  for (char &c : s)
    if (c == '/')
      c = '_';
  return s;
}

/// fsync of a directory, so a rename or unlink in it survives a crash.
void syncDirectory(const std::string &file) {
  fs::path dir = fs::path(file).parent_path();
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

/// fsync of the file behind an HDF5 file id (the sec2 driver's descriptor).
bool syncHdf5(hid_t file) {
  void *handle = nullptr;
  if (H5Fget_vfd_handle(file, H5P_DEFAULT, &handle) < 0 || !handle)
    return false;
  return ::fsync(*static_cast<int *>(handle)) == 0;
}

std::string hex16(uint64_t v) {
  char text[20];
  std::snprintf(text, sizeof text, "%016" PRIx64, v);
  return text;
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
  } else if (value.is_number_integer() || value.is_boolean()) {
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

/// The keys whose values differ, "key: was A, now B; ...", for the
/// refusal to resume with other arguments.
std::string differences(const nlohmann::json &was, const nlohmann::json &now) {
  std::string text;
  auto shorten = [](const nlohmann::json &v) {
    std::string s = v.is_null() ? "(none)" : v.dump();
    return s.size() > 40 ? s.substr(0, 16) + "…" : s;
  };
  for (auto it = now.begin(); it != now.end(); ++it) {
    nlohmann::json old = was.contains(it.key()) ? was[it.key()] : nullptr;
    if (old != it.value())
      text += (text.empty() ? "" : "; ") + it.key() + " was " + shorten(old) +
              ", now " + shorten(it.value());
  }
  return text.empty() ? "the journal's format" : text;
}

} // namespace

std::string OutputStore::partialPath(const std::string &path,
                                     const std::string &dataset) {
  return path + "." + sanitised(dataset) + ".partial.h5";
}

std::string OutputStore::journalPath(const std::string &path,
                                     const std::string &dataset) {
  return path + "." + sanitised(dataset) + ".partial.log";
}

void OutputStore::checkTarget(const std::string &path,
                              const std::string &dataset, bool overwrite) {
  h5::silenceErrors();
  std::error_code ec;
  if (fs::is_directory(path, ec))
    throw IOError("output '" + path + "' is a directory");
  fs::path dir = fs::path(path).parent_path();
  std::string dirName = dir.empty() ? "." : dir.string();
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
  bool has = pathExists(file, dataset);
  // A run killed after moving its dataset into place left its journal:
  // the output is complete, the journal is stale.
  if (has && !fs::exists(partialPath(path, dataset), ec))
    std::remove(journalPath(path, dataset).c_str());
  if (!overwrite && has)
    throw IOError("output file '" + path + "' already has dataset '" + dataset +
                  "'; pass --overwrite to replace it");
}

std::optional<nlohmann::json>
OutputStore::unfinishedIdentity(const std::string &path,
                                const std::string &dataset) {
  std::ifstream in(journalPath(path, dataset));
  std::string line;
  if (!in || !std::getline(in, line) || line.rfind(kJournalMagic, 0) != 0)
    return std::nullopt;
  nlohmann::json id = nlohmann::json::parse(
      line.substr(std::strlen(kJournalMagic)), nullptr, false);
  if (id.is_discarded())
    return std::nullopt;
  return id;
}

OutputStore::OutputStore(const OutputSpec &spec, const BlockGrid &grid)
    : h_(std::make_unique<Handles>()), spec_(spec), grid_(grid),
      partial_(partialPath(spec.path, spec.dataset)),
      journal_(journalPath(spec.path, spec.dataset)), done_(grid.size(), false),
      hashes_(grid.size(), 0) {
  h5::silenceErrors();
  std::optional<nlohmann::json> earlier =
      unfinishedIdentity(spec.path, spec.dataset);
  if (earlier && *earlier != spec.identity && !spec.overwrite)
    throw IOError("output '" + spec.path + ":" + spec.dataset +
                  "' has an unfinished run (journal '" + journal_ +
                  "') with other arguments (" +
                  differences(*earlier, spec.identity) +
                  "); rerun with the same arguments to resume it, or pass "
                  "--overwrite to start over");
  if (earlier && *earlier == spec.identity) {
    if (reopen()) {
      verify();
    } else {
      log_warning("neuromancer predict: the partial output '" + partial_ +
                  "' of the unfinished run cannot be opened (killed while "
                  "HDF5 wrote?); starting over");
      create();
    }
  } else {
    create();
  }
  journalFd_ = ::open(journal_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (journalFd_ < 0)
    throw IOError("cannot open the journal '" + journal_ + "'" +
                  systemReason());
}

OutputStore::~OutputStore() {
  if (journalFd_ >= 0)
    ::close(journalFd_);
}

int64_t OutputStore::doneCount() const {
  return std::count(done_.begin(), done_.end(), true);
}

void OutputStore::create() {
  h_->close();
  std::remove(journal_.c_str());
  std::remove(partial_.c_str());
  errno = 0;
  hid_t file =
      H5Fcreate(partial_.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT);
  if (file < 0)
    throw IOError("cannot create the partial output '" + partial_ + "'" +
                  systemReason());
  h_->file = std::make_unique<h5::Handle>(file, H5Fclose);
  hsize_t dims[4] = {
      static_cast<hsize_t>(spec_.channels), static_cast<hsize_t>(grid_.roi[0]),
      static_cast<hsize_t>(grid_.roi[1]), static_cast<hsize_t>(grid_.roi[2])};
  hsize_t chunk[4] = {1, static_cast<hsize_t>(spec_.chunk[0]),
                      static_cast<hsize_t>(spec_.chunk[1]),
                      static_cast<hsize_t>(spec_.chunk[2])};
  h5::Handle space(H5Screate_simple(4, dims, nullptr), H5Sclose);
  h5::Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_chunk(dcpl, 4, chunk);
  H5Pset_shuffle(dcpl);
  H5Pset_deflate(dcpl, 4);
  H5Pset_obj_track_times(dcpl, false); // same arguments, same bytes
  h5::Handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  H5Pset_create_intermediate_group(lcpl, 1);
  hid_t type = spec_.asUint8 ? H5T_STD_U8LE : H5T_IEEE_F32LE;
  hid_t ds = H5Dcreate2(file, spec_.dataset.c_str(), type, space, lcpl, dcpl,
                        H5P_DEFAULT);
  if (ds < 0)
    throw IOError("cannot create dataset '" + spec_.dataset + "' in '" +
                  partial_ + "'");
  h_->ds = std::make_unique<h5::Handle>(ds, H5Dclose);
  for (auto it = spec_.attributes.begin(); it != spec_.attributes.end(); ++it)
    writeAttribute(ds, it.key(), it.value());
  if (H5Fflush(file, H5F_SCOPE_LOCAL) < 0 || !syncHdf5(file))
    throw IOError("cannot write the partial output '" + partial_ + "'" +
                  systemReason());
  writeFileAtomically(journal_, kJournalMagic + spec_.identity.dump() + "\n");
}

bool OutputStore::reopen() {
  hid_t file = H5Fopen(partial_.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  if (file < 0)
    return false;
  h_->file = std::make_unique<h5::Handle>(file, H5Fclose);
  hid_t ds = H5Dopen2(file, spec_.dataset.c_str(), H5P_DEFAULT);
  if (ds < 0)
    return false;
  h_->ds = std::make_unique<h5::Handle>(ds, H5Dclose);
  h5::Handle space(H5Dget_space(ds), H5Sclose);
  hsize_t dims[4];
  if (H5Sget_simple_extent_ndims(space) != 4)
    return false;
  H5Sget_simple_extent_dims(space, dims, nullptr);
  return dims[0] == static_cast<hsize_t>(spec_.channels) &&
         dims[1] == static_cast<hsize_t>(grid_.roi[0]) &&
         dims[2] == static_cast<hsize_t>(grid_.roi[1]) &&
         dims[3] == static_cast<hsize_t>(grid_.roi[2]);
}

/// The journalled blocks whose data still hash as recorded count as done.
void OutputStore::verify() {
  std::ifstream in(journal_);
  std::string line;
  std::getline(in, line); // the identity
  while (std::getline(in, line)) {
    long long index = -1;
    char dataHash[17] = {}, lineHash[17] = {};
    size_t cut = line.rfind(' ');
    if (cut == std::string::npos ||
        std::sscanf(line.c_str(), "done %lld %16s %16s", &index, dataHash,
                    lineHash) != 3 ||
        hex16(fnv1a(line.data(), cut)) != lineHash || index < 0 ||
        index >= grid_.size())
      continue; // torn by a kill: the block is redone
    done_[index] = true;
    hashes_[index] = std::strtoull(dataHash, nullptr, 16);
  }
  size_t elem = spec_.asUint8 ? 1 : 4;
  for (int64_t i = 0; i < grid_.size(); ++i) {
    if (!done_[i])
      continue;
    Block b = grid_.block(i);
    hsize_t start[4] = {0}, count[4] = {static_cast<hsize_t>(spec_.channels)};
    for (int a = 0; a < 3; ++a) {
      start[a + 1] = static_cast<hsize_t>(b.writeLo[a]);
      count[a + 1] = static_cast<hsize_t>(b.writeSize[a]);
    }
    std::vector<unsigned char> data(count[0] * count[1] * count[2] * count[3] *
                                    elem);
    h5::Handle fileSpace(H5Dget_space(*h_->ds), H5Sclose);
    H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, start, nullptr, count,
                        nullptr);
    h5::Handle mem(H5Screate_simple(4, count, nullptr), H5Sclose);
    if (H5Dread(*h_->ds, spec_.asUint8 ? H5T_NATIVE_UINT8 : H5T_NATIVE_FLOAT,
                mem, fileSpace, H5P_DEFAULT, data.data()) < 0 ||
        fnv1a(data.data(), data.size()) != hashes_[i]) {
      done_[i] = false;
      ++damaged_;
    }
  }
  if (damaged_)
    log_warning("neuromancer predict: " + std::to_string(damaged_) +
                " block(s) of the unfinished run do not read back as "
                "written; they are predicted again");
}

void OutputStore::write(const Block &b, const void *data) {
  hsize_t start[4] = {0}, count[4] = {static_cast<hsize_t>(spec_.channels)};
  for (int a = 0; a < 3; ++a) {
    start[a + 1] = static_cast<hsize_t>(b.writeLo[a]);
    count[a + 1] = static_cast<hsize_t>(b.writeSize[a]);
  }
  size_t bytes =
      count[0] * count[1] * count[2] * count[3] * (spec_.asUint8 ? 1 : 4);
  h5::Handle fileSpace(H5Dget_space(*h_->ds), H5Sclose);
  H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, start, nullptr, count,
                      nullptr);
  h5::Handle mem(H5Screate_simple(4, count, nullptr), H5Sclose);
  errno = 0;
  if (H5Dwrite(*h_->ds, spec_.asUint8 ? H5T_NATIVE_UINT8 : H5T_NATIVE_FLOAT,
               mem, fileSpace, H5P_DEFAULT, data) < 0 ||
      H5Fflush(*h_->file, H5F_SCOPE_LOCAL) < 0 || !syncHdf5(*h_->file))
    throw IOError("writing block " + std::to_string(b.index) + " of '" +
                  spec_.path + ":" + spec_.dataset + "' into '" + partial_ +
                  "' failed" + systemReason() +
                  " (disk full?); the blocks written before are kept, rerun "
                  "the same command to resume");
  uint64_t hash = fnv1a(data, bytes);
  std::string line = "done " + std::to_string(b.index) + " " + hex16(hash);
  line += " " + hex16(fnv1a(line.data(), line.size())) + "\n";
  if (::write(journalFd_, line.data(), line.size()) !=
          static_cast<ssize_t>(line.size()) ||
      ::fsync(journalFd_) != 0)
    throw IOError("appending to the journal '" + journal_ + "' failed" +
                  systemReason());
  done_[b.index] = true;
  hashes_[b.index] = hash;
}

void OutputStore::finalise() {
  if (doneCount() != grid_.size())
    throw RuntimeError("internal: finalising an unfinished prediction");
  h5::Handle &file = *h_->file;
  h_->ds.reset();
  if (!file.close())
    throw IOError("closing the partial output '" + partial_ + "' failed");
  h_->file.reset();
  {
    int fd = ::open(partial_.c_str(), O_RDONLY);
    if (fd < 0 || ::fsync(fd) != 0)
      throw IOError("cannot sync '" + partial_ + "'" + systemReason());
    ::close(fd);
  }
  // The journal goes last: until the dataset is in place a rerun finds
  // every block done and only retries this move.
  auto dropJournal = [&] {
    ::close(journalFd_);
    journalFd_ = -1;
    std::remove(journal_.c_str());
    syncDirectory(journal_);
  };
  std::error_code ec;
  if (!fs::exists(spec_.path, ec)) {
    if (std::rename(partial_.c_str(), spec_.path.c_str()) != 0)
      throw IOError("cannot rename '" + partial_ + "' to '" + spec_.path + "'" +
                    systemReason());
    syncDirectory(spec_.path);
    dropJournal();
    return;
  }
  AtomicFile out(spec_.path);
  fs::copy_file(out.targetPath(), out.tempPath(),
                fs::copy_options::overwrite_existing, ec);
  if (ec)
    throw IOError("cannot copy '" + spec_.path + "' to add dataset '" +
                  spec_.dataset + "': " + ec.message());
  {
    h5::Handle src(H5Fopen(partial_.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT),
                   H5Fclose);
    h5::Handle dst(H5Fopen(out.tempPath().c_str(), H5F_ACC_RDWR, H5P_DEFAULT),
                   H5Fclose);
    if (!src.ok() || !dst.ok())
      throw IOError("cannot open '" + spec_.path + "' to add dataset '" +
                    spec_.dataset + "'");
    if (pathExists(dst, spec_.dataset)) {
      if (!spec_.overwrite)
        throw IOError("output file '" + spec_.path + "' got a dataset '" +
                      spec_.dataset +
                      "' while predicting; pass --overwrite to replace it");
      H5Ldelete(dst, spec_.dataset.c_str(), H5P_DEFAULT);
    }
    h5::Handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
    H5Pset_create_intermediate_group(lcpl, 1);
    if (H5Ocopy(src, spec_.dataset.c_str(), dst, spec_.dataset.c_str(),
                H5P_DEFAULT, lcpl) < 0 ||
        !dst.close())
      throw IOError("copying dataset '" + spec_.dataset + "' into '" +
                    spec_.path +
                    "' failed (disk full?); rerun the same "
                    "command to retry (the blocks are kept)");
  }
  out.commit();
  std::remove(partial_.c_str());
  dropJournal();
}

} // namespace nm::predict
