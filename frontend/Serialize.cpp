//===- Serialize.cpp - one HDF5 file per model; modelload, rebuild_model --===//
//
// File layout, format "neuromancer-model-v2" (readable with h5dump):
//   /                attribute neuromancer_format = "neuromancer-model-v2"
//   /graph           string: JSON {model_name, nodes: [{cls, name, parents,
//                    attrs}], designation: {...}}; attribute "crc32" (uint32,
//                    CRC-32 of the string's bytes)
//   /params/<node>/<param>   one dataset per parameter, chunked with the
//                    Fletcher32 checksum filter (rank-0 values as shape (1));
//                    the group carries the node's real name as attribute
//                    "node" (names may hold '/').
//   /optimiser       optional: the optimiser state (OptimiserStateFile.cpp);
//                    absent means a fresh state. An optional v2 group, not
//                    a v3: files without training state stay plain v2, and
//                    a reader that predates the group still loads the
//                    parameters of a file that has one.
// The file is written with the HDF5 1.10 object formats (superblock v3,
// object headers v2, chunk indices), whose metadata carry checksums too.
//
// Loading opens only regular files, checks the graph's checksum, replays the
// node list through the same builders the constructors use, and then reads
// each parameter the graph implies into the node's (already allocated)
// array, after its type, dimensions, layout and storage size were checked
// against the graph and the file size. A missing, extra, mis-shaped or
// corrupt parameter is an IOError naming file, node and parameter.
// "neuromancer-model-v1" files (no checksums) load with one warning.
//
//===----------------------------------------------------------------------===//
#include "frontend/ModelFileDetail.h"
#include "neuromancer/core/AtomicFile.h"
#include "neuromancer/core/Format.h"
#include "neuromancer/core/Geometry.h"
#include "neuromancer/core/Log.h"
#include "neuromancer/frontend/Model.h"
#include "neuromancer/frontend/NodeImpl.h"
#include "neuromancer/io/Hdf5.h"

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <new>
#include <set>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace nm::detail {
namespace {

constexpr const char *kFormatAttr = "neuromancer_format";
constexpr const char *kFormatV1 = "neuromancer-model-v1";
constexpr const char *kFormat = "neuromancer-model-v2";
constexpr const char *kCrcAttr = "crc32";

//===----------------------------------------------------------------------===//
// Checksums
//===----------------------------------------------------------------------===//

/// CRC-32 (IEEE 802.3, as zlib's crc32) of `data`.
uint32_t crc32(std::string_view data) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k)
        c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char byte : data)
    crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

//===----------------------------------------------------------------------===//
// HDF5 helpers
//===----------------------------------------------------------------------===//

} // namespace

/// What HDF5's error stack says about the last failure: the system's reason
/// when a read or write failed ("No space left on device"), else the
/// innermost description. `checksum` is set when a checksum did not match.
std::string hdf5Reason(bool *checksum) {
  struct Walk {
    std::string innermost, os;
    bool checksum = false;
  } walk;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_UPWARD,
      [](unsigned, const H5E_error2_t *e, void *data) -> herr_t {
        auto &w = *static_cast<Walk *>(data);
        std::string desc = e->desc ? e->desc : "";
        if (w.innermost.empty())
          w.innermost = desc;
        if (desc.find("checksum") != std::string::npos ||
            desc.find("fletcher32") != std::string::npos)
          w.checksum = true;
        std::size_t at = desc.find("error message = '");
        if (w.os.empty() && at != std::string::npos) {
          at += 17;
          w.os = desc.substr(at, desc.find('\'', at) - at);
        }
        return 0;
      },
      &walk);
  if (checksum)
    *checksum = walk.checksum;
  if (!walk.os.empty())
    return walk.os;
  return walk.innermost.empty() ? "HDF5 error" : walk.innermost;
}

namespace {

/// Whether a file's element type holds `d` exactly (class, size, sign).
bool typeMatches(hid_t type, DType d) {
  hid_t want = h5::nativeType(d);
  H5T_class_t cls = H5Tget_class(type);
  if (cls != H5Tget_class(want) || H5Tget_size(type) != H5Tget_size(want))
    return false;
  return cls != H5T_INTEGER || H5Tget_sign(type) == H5Tget_sign(want);
}

std::string typeName(hid_t type) {
  H5T_class_t cls = H5Tget_class(type);
  std::string kind = cls == H5T_FLOAT     ? "float"
                     : cls == H5T_INTEGER ? "integer"
                     : cls == H5T_STRING  ? "string"
                                          : "class " + std::to_string(cls);
  return std::to_string(H5Tget_size(type)) + "-byte " + kind;
}

} // namespace

/// Group names cannot hold '/'; escape it (and '%') reversibly.
std::string escapeName(const std::string &name) {
  std::string out;
  for (char c : name) {
    if (c == '/')
      out += "%2F";
    else if (c == '%')
      out += "%25";
    else
      out += c;
  }
  return out == "." ? "%2E" : out;
}

std::string unescapeName(std::string name) {
  if (name == "%2E")
    return ".";
  std::string out;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (name.compare(i, 3, "%2F") == 0) {
      out += '/';
      i += 2;
    } else if (name.compare(i, 3, "%25") == 0) {
      out += '%';
      i += 2;
    } else {
      out += name[i];
    }
  }
  return out;
}

static herr_t collectName(hid_t, const char *name, const H5L_info_t *,
                          void *out) {
  static_cast<std::vector<std::string> *>(out)->push_back(name);
  return 0;
}

std::vector<std::string> childNames(hid_t group) {
  std::vector<std::string> names;
  if (H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, nullptr, collectName,
                 &names) < 0)
    throw IOError("cannot list a group (" + hdf5Reason() + ")");
  return names;
}

bool hasLink(hid_t loc, const std::string &name) {
  return H5Lexists(loc, name.c_str(), H5P_DEFAULT) > 0;
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

void writeStringAttr(hid_t loc, const char *name, const std::string &value) {
  h5::Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type, value.size() + 1); // room for the terminator
  h5::Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  h5::Handle attr(H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT),
                  H5Aclose);
  if (!attr.ok() || H5Awrite(attr, type, value.c_str()) < 0)
    throw IOError(std::string("cannot write attribute '") + name +
                  "': " + hdf5Reason());
}

namespace {

void writeCrcAttr(hid_t loc, uint32_t crc) {
  h5::Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  h5::Handle attr(
      H5Acreate2(loc, kCrcAttr, H5T_STD_U32LE, space, H5P_DEFAULT, H5P_DEFAULT),
      H5Aclose);
  if (!attr.ok() || H5Awrite(attr, H5T_NATIVE_UINT32, &crc) < 0)
    throw IOError(std::string("cannot write attribute '") + kCrcAttr +
                  "': " + hdf5Reason());
}

} // namespace

void writeCheckedText(hid_t loc, const std::string &name,
                      const std::string &text) {
  h5::Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type, text.size() + 1); // room for the terminator
  h5::Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  h5::Handle ds(H5Dcreate2(loc, name.c_str(), type, space, H5P_DEFAULT,
                           H5P_DEFAULT, H5P_DEFAULT),
                H5Dclose);
  if (!ds.ok() ||
      H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, text.c_str()) < 0)
    throw IOError("cannot write dataset '" + name + "': " + hdf5Reason());
  writeCrcAttr(ds, crc32(text));
}

namespace {

/// Chunk dimensions for a dataset of `dims`: the whole array, halved along
/// the leading axes while a chunk exceeds 256 MiB (HDF5's limit is 4 GiB).
std::vector<hsize_t> chunkDims(std::vector<hsize_t> dims, std::size_t item) {
  constexpr hsize_t kMaxChunk = hsize_t(256) << 20;
  auto bytes = [&] {
    hsize_t b = item;
    for (hsize_t d : dims)
      b *= d;
    return b;
  };
  for (hsize_t &d : dims)
    while (bytes() > kMaxChunk && d > 1)
      d = (d + 1) / 2;
  return dims;
}

} // namespace

/// One parameter: chunked with Fletcher32, so libhdf5 verifies it on read.
void writeArray(hid_t loc, const std::string &name, const Array &a) {
  std::vector<hsize_t> dims(a.shape().begin(), a.shape().end());
  if (dims.empty())
    dims = {1}; // a scalar cannot be chunked
  h5::Handle space(
      H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
      H5Sclose);
  h5::Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  if (a.size() > 0) { // a chunk cannot have a zero dimension
    std::vector<hsize_t> chunk = chunkDims(dims, dtypeSize(a.dtype()));
    H5Pset_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data());
    H5Pset_fletcher32(dcpl);
  }
  h5::Handle ds(H5Dcreate2(loc, name.c_str(), h5::nativeType(a.dtype()), space,
                           H5P_DEFAULT, dcpl, H5P_DEFAULT),
                H5Dclose);
  if (!ds.ok() || H5Dwrite(ds, h5::nativeType(a.dtype()), H5S_ALL, H5S_ALL,
                           H5P_DEFAULT, a.raw()) < 0)
    throw IOError("cannot write dataset '" + name + "': " + hdf5Reason());
}

namespace {

void writeParams(hid_t file, const SavedModel &saved) {
  h5::Handle params(
      H5Gcreate2(file, "params", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
      H5Gclose);
  if (!params.ok())
    throw IOError("cannot create group 'params': " + hdf5Reason());
  for (const auto &[node, values] : saved.params) {
    h5::Handle group(H5Gcreate2(params, escapeName(node).c_str(), H5P_DEFAULT,
                                H5P_DEFAULT, H5P_DEFAULT),
                     H5Gclose);
    if (!group.ok())
      throw IOError("cannot create group for node '" + node +
                    "': " + hdf5Reason());
    writeStringAttr(group, "node", node);
    for (const auto &[key, value] : values)
      writeArray(group, escapeName(key), value);
  }
}

/// HDF5's metadata checksum (Bob Jenkins' lookup3 hashlittle, initval 0).
uint32_t lookup3(const unsigned char *k, std::size_t length) {
  auto rot = [](uint32_t x, int r) { return (x << r) | (x >> (32 - r)); };
  auto word = [&](const unsigned char *p) {
    return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 |
           uint32_t(p[3]) << 24;
  };
  uint32_t a, b, c;
  a = b = c = 0xdeadbeef + static_cast<uint32_t>(length);
  for (; length > 12; length -= 12, k += 12) {
    a += word(k), b += word(k + 4), c += word(k + 8);
    a -= c, a ^= rot(c, 4), c += b;
    b -= a, b ^= rot(a, 6), a += c;
    c -= b, c ^= rot(b, 8), b += a;
    a -= c, a ^= rot(c, 16), c += b;
    b -= a, b ^= rot(a, 19), a += c;
    c -= b, c ^= rot(b, 4), b += a;
  }
  if (length == 0)
    return c;
  unsigned char tail[12] = {};
  std::memcpy(tail, k, length);
  a += word(tail), b += word(tail + 4), c += word(tail + 8);
  c ^= b, c -= rot(b, 14);
  a ^= c, a -= rot(c, 11);
  b ^= a, b -= rot(a, 25);
  c ^= b, c -= rot(b, 16);
  a ^= c, a -= rot(c, 4);
  b ^= a, b -= rot(a, 14);
  c ^= b, c -= rot(b, 24);
  return c;
}

/// libhdf5 1.10's H5Fget_file_image clears the superblock's status flags
/// (as a closed file has them) without updating the superblock checksum;
/// this recomputes it (superblock v2/v3 with 8-byte offsets: 44 bytes, then
/// the checksum).
void fixSuperblockChecksum(std::string &image) {
  auto *bytes = reinterpret_cast<unsigned char *>(image.data());
  if (image.size() < 48 || image.compare(0, 8, "\x89HDF\r\n\x1a\n") != 0 ||
      bytes[8] < 2 || bytes[9] != 8 || bytes[10] != 8)
    throw IOError("libhdf5 produced an unexpected superblock");
  uint32_t sum = lookup3(bytes, 44);
  for (int i = 0; i < 4; ++i)
    bytes[44 + i] = static_cast<unsigned char>(sum >> (8 * i));
}

/// The model file's bytes, built by libhdf5 in memory (the core driver).
/// libhdf5 never writes to disk: with the sec2 driver a failed write (full
/// disk) left a file that H5Fclose could not close and libhdf5 crashed at
/// exit; now the disk write is ours, with errno.
std::string hdf5Image(const SavedModel &saved) {
  static std::atomic<unsigned> serial{0};
  h5::Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  H5Pset_fapl_core(fapl, 1 << 20, /*backing_store=*/false);
  // Checksummed metadata (superblock v3, object headers v2, chunk indices).
  H5Pset_libver_bounds(fapl, H5F_LIBVER_V110, H5F_LIBVER_V110);
  // Closing the file closes whatever an error path left open in it.
  H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG);
  std::string name = "neuromancer-model-in-memory-" +
                     std::to_string(::getpid()) + "-" +
                     std::to_string(serial++);
  h5::Handle file(H5Fcreate(name.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl),
                  H5Fclose);
  if (!file.ok())
    throw IOError("cannot create an HDF5 file in memory: " + hdf5Reason());
  writeStringAttr(file, kFormatAttr, kFormat);
  writeCheckedText(file, "graph", saved.graph.dump(1));
  writeParams(file, saved);
  writeOptimiserState(file, saved);
  writeAttachments(file, saved.attachments);
  if (H5Fflush(file, H5F_SCOPE_GLOBAL) < 0)
    throw IOError("cannot flush the HDF5 file: " + hdf5Reason());
  ssize_t size = H5Fget_file_image(file, nullptr, 0);
  std::string image(size > 0 ? static_cast<std::size_t>(size) : 0, '\0');
  if (size <= 0 || H5Fget_file_image(file, image.data(), image.size()) != size)
    throw IOError("cannot get the HDF5 file image: " + hdf5Reason());
  if (!file.close())
    throw IOError("cannot close the HDF5 file: " + hdf5Reason());
  fixSuperblockChecksum(image);
  return image;
}

//===----------------------------------------------------------------------===//
// Reading
//===----------------------------------------------------------------------===//

} // namespace

void fail(const ModelFile &f, const std::string &what) {
  throw IOError("Cannot load model: " + f.quoted + ": " + what);
}

namespace {

/// Refuses anything but a readable regular file, with the system's reason,
/// before HDF5 sees it (a FIFO would block HDF5 forever).
hsize_t checkRegularFile(const std::string &path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT)
      throw IOError("Cannot load model: file '" + path + "' does not exist");
    throw IOError("Cannot load model: cannot access '" + path +
                  "': " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode))
    throw IOError("Cannot load model: '" + path +
                  "' is not a regular file (a directory, FIFO or device)");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    throw IOError("Cannot load model: cannot open '" + path +
                  "': " + std::strerror(errno));
  bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  ::close(fd);
  if (!regular) // replaced between stat and open
    throw IOError("Cannot load model: '" + path + "' is not a regular file");
  return static_cast<hsize_t>(st.st_size);
}

/// A fixed-length string of one element, read only after its size was
/// checked against `limit`; nullopt when absent or of another kind.
std::optional<std::string> readStringAttr(hid_t loc, const char *name,
                                          hsize_t limit) {
  if (H5Aexists(loc, name) <= 0)
    return std::nullopt;
  h5::Handle attr(H5Aopen(loc, name, H5P_DEFAULT), H5Aclose);
  if (!attr.ok())
    return std::nullopt;
  h5::Handle type(H5Aget_type(attr), H5Tclose);
  h5::Handle space(H5Aget_space(attr), H5Sclose);
  if (!type.ok() || !space.ok() || H5Tget_class(type) != H5T_STRING ||
      H5Tis_variable_str(type) != 0 ||
      H5Sget_simple_extent_npoints(space) != 1 || H5Tget_size(type) > limit)
    return std::nullopt;
  std::string value(H5Tget_size(type) + 1, '\0');
  h5::Handle memType(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(memType, value.size());
  if (H5Aread(attr, memType, value.data()) < 0)
    return std::nullopt;
  return value.substr(0, value.find('\0'));
}

/// The format version; only v1 and v2 files pass.
void checkFormat(hid_t file, ModelFile &f) {
  // A corrupt root object header (checksum) is not a foreign file.
  if (H5Aexists(file, kFormatAttr) < 0)
    fail(f, "cannot read its root group (" + hdf5Reason() + ")");
  std::optional<std::string> format = readStringAttr(file, kFormatAttr, 256);
  if (format == kFormatV1) {
    f.v1 = true;
    log_warning("Model file " + f.quoted + " is in the old format '" +
                kFormatV1 +
                "' without checksums: corruption cannot be detected; save "
                "the model again to add them.");
    return;
  }
  if (format != kFormat)
    fail(f, std::string("is not a neuromancer model file (no '") + kFormatAttr +
                "' = '" + kFormat + "' attribute)");
  H5F_info2_t info = {};
  if (H5Fget_info2(file, &info) < 0 || info.super.version < 2)
    fail(f, "the file's metadata carry no checksums (superblock version " +
                std::to_string(info.super.version) + ")");
}

/// A contiguous dataset's bytes must lie inside the file.
void checkInsideFile(hid_t ds, hsize_t bytes, const ModelFile &f,
                     const std::string &what) {
  h5::Handle dcpl(H5Dget_create_plist(ds), H5Pclose);
  if (!dcpl.ok() || H5Pget_layout(dcpl) != H5D_CONTIGUOUS)
    return;
  haddr_t offset = H5Dget_offset(ds);
  if (offset == HADDR_UNDEF || offset > f.size || f.size - offset < bytes)
    fail(f, what + ": its data lie beyond the end of the file (truncated?)");
}

} // namespace

std::string readCheckedText(hid_t loc, const std::string &name,
                            const std::string &at, const ModelFile &f) {
  const std::string q = "'" + at + "'";
  h5::Handle ds(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.ok())
    fail(f, "cannot open " + q + " (" + hdf5Reason() + ")");
  h5::Handle type(H5Dget_type(ds), H5Tclose);
  h5::Handle space(H5Dget_space(ds), H5Sclose);
  if (!type.ok() || !space.ok() || H5Tget_class(type) != H5T_STRING ||
      H5Tis_variable_str(type) != 0 || H5Sget_simple_extent_npoints(space) != 1)
    fail(f, q + " is not a string");
  hsize_t bytes = H5Tget_size(type);
  if (bytes > f.size || H5Dget_storage_size(ds) != bytes)
    fail(f, q + " claims " + std::to_string(bytes) + " bytes but stores " +
                std::to_string(H5Dget_storage_size(ds)) + " (file of " +
                std::to_string(f.size) + " bytes; truncated or corrupt?)");
  checkInsideFile(ds, bytes, f, q);
  std::string text(bytes, '\0');
  h5::Handle memType(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(memType, bytes);
  if (H5Dread(ds, memType, H5S_ALL, H5S_ALL, H5P_DEFAULT, text.data()) < 0)
    fail(f, "cannot read " + q + " (" + hdf5Reason() + ")");
  text.resize(std::min(text.size(), text.find('\0')));
  if (!f.v1) {
    uint32_t stored = 0;
    h5::Handle attr(
        H5Aexists(ds, kCrcAttr) > 0 ? H5Aopen(ds, kCrcAttr, H5P_DEFAULT) : -1,
        H5Aclose);
    h5::Handle attrSpace(attr.ok() ? H5Aget_space(attr) : -1, H5Sclose);
    if (!attr.ok() || H5Sget_simple_extent_npoints(attrSpace) != 1 ||
        H5Aread(attr, H5T_NATIVE_UINT32, &stored) < 0)
      fail(f, q + " has no readable 'crc32' checksum attribute");
    if (stored != crc32(text))
      fail(f, "checksum mismatch in " + q + " (corrupt)");
  }
  return text;
}

namespace {

/// The JSON graph, its size checked before it is read, its CRC after.
nlohmann::json readGraph(hid_t file, const ModelFile &f) {
  if (!hasLink(file, "graph"))
    fail(f, "has no '/graph' dataset");
  std::string text = readCheckedText(file, "graph", "/graph", f);
  try {
    nlohmann::json graph = nlohmann::json::parse(text);
    (void)graph.at("nodes");
    (void)graph.at("designation");
    return graph;
  } catch (const nlohmann::json::exception &e) {
    fail(f, std::string("graph description is corrupt: ") + e.what());
  }
}

void checkTypeAndShape(hid_t ds, const std::string &at, const ModelFile &f,
                       const Array &value) {
  h5::Handle type(H5Dget_type(ds), H5Tclose);
  if (!type.ok() || !typeMatches(type, value.dtype()))
    fail(f, at + ": stored as " + (type.ok() ? typeName(type) : "?") +
                ", the graph implies " + dtypeName(value.dtype()));
  h5::Handle space(H5Dget_space(ds), H5Sclose);
  int rank = space.ok() ? H5Sget_simple_extent_ndims(space) : -1;
  if (rank < 0 || rank > H5S_MAX_RANK)
    fail(f, at + ": unreadable dataspace");
  std::vector<hsize_t> dims(rank);
  H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  Sizes stored(dims.begin(), dims.end());
  Sizes want = value.shape();
  // v2 stores a scalar as shape (1); v1 as an HDF5 scalar.
  if (want.empty() && !f.v1)
    want = {1};
  if (stored != want)
    fail(f, at + ": stored with shape " + formatTuple(stored) +
                ", the graph implies " + formatTuple(want));
}

/// Layout and bytes on disk against the logical size and the file size,
/// so no read can run past the data or make HDF5 allocate more.
void checkStorage(hid_t ds, const std::string &at, const ModelFile &f,
                  const Array &value) {
  hsize_t logical = value.nbytes();
  hsize_t storage = H5Dget_storage_size(ds);
  h5::Handle dcpl(H5Dget_create_plist(ds), H5Pclose);
  if (!dcpl.ok())
    fail(f, at + ": unreadable dataset properties");
  H5D_layout_t layout = H5Pget_layout(dcpl);
  int filters = H5Pget_nfilters(dcpl);
  if (f.v1) {
    if (layout != H5D_CONTIGUOUS && layout != H5D_COMPACT)
      fail(f, at + ": unexpected storage layout for a v1 file");
    if (filters != 0 || storage != logical)
      fail(f, at + ": stores " + std::to_string(storage) + " bytes, expected " +
                  std::to_string(logical) + " (truncated or corrupt?)");
    checkInsideFile(ds, storage, f, at);
    return;
  }
  if (logical == 0)
    return; // nothing stored, nothing to checksum
  unsigned flags = 0, config = 0;
  std::size_t nelmts = 0;
  if (layout != H5D_CHUNKED || filters != 1 ||
      H5Pget_filter2(dcpl, 0, &flags, &nelmts, nullptr, 0, nullptr, &config) !=
          H5Z_FILTER_FLETCHER32)
    fail(f, at + ": not stored with its Fletcher32 checksum");
  int rank = value.ndim() ? static_cast<int>(value.ndim()) : 1;
  std::vector<hsize_t> chunk(rank);
  if (H5Pget_chunk(dcpl, rank, chunk.data()) != rank)
    fail(f, at + ": corrupt chunk layout");
  hsize_t chunkBytes = dtypeSize(value.dtype());
  for (int i = 0; i < rank; ++i) {
    hsize_t dim = value.ndim() ? value.shape()[i] : 1;
    if (chunk[i] == 0 || chunk[i] > dim)
      fail(f, at + ": corrupt chunk layout");
    chunkBytes *= chunk[i];
  }
  if (storage < logical || storage > f.size || chunkBytes > f.size)
    fail(f, at + ": stores " + std::to_string(storage) + " bytes for " +
                std::to_string(logical) + " bytes of values in a file of " +
                std::to_string(f.size) + " (truncated or corrupt?)");
}

} // namespace

void readCheckedArray(hid_t loc, const std::string &name, const std::string &at,
                      const ModelFile &f, Array &value) {
  h5::Handle ds(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.ok())
    fail(f, at + ": cannot open its dataset (" + hdf5Reason() + ")");
  checkTypeAndShape(ds, at, f, value);
  checkStorage(ds, at, f, value);
  if (value.nbytes() == 0)
    return; // an empty series: nothing stored, nothing to read
  bool checksum = false;
  if (H5Dread(ds, h5::nativeType(value.dtype()), H5S_ALL, H5S_ALL, H5P_DEFAULT,
              value.raw()) < 0) {
    std::string reason = hdf5Reason(&checksum);
    fail(f, at + (checksum ? ": checksum mismatch (the stored values are "
                             "corrupt)"
                           : ": cannot read it (" + reason + ")"));
  }
}

namespace {

/// Reads the parameters the graph implies, node by node, into the arrays
/// the builders allocated; remembers which datasets it used.
class FileParams {
public:
  FileParams(hid_t file, const ModelFile &f) : f_(f) {
    if (hasLink(file, "params"))
      params_ = H5Gopen2(file, "params", H5P_DEFAULT);
  }
  ~FileParams() {
    if (params_ >= 0)
      H5Gclose(params_);
  }
  FileParams(const FileParams &) = delete;
  FileParams &operator=(const FileParams &) = delete;

  void fill(NodeImpl &node) {
    if (node.params.empty())
      return;
    std::string groupName = escapeName(node.name);
    if (params_ < 0 || !hasLink(params_, groupName))
      missing(node, node.params.begin()->first);
    h5::Handle group(H5Gopen2(params_, groupName.c_str(), H5P_DEFAULT),
                     H5Gclose);
    if (!group.ok())
      fail(f_, where(node, node.params.begin()->first) +
                   ": cannot open its group (" + hdf5Reason() + ")");
    for (auto &[key, param] : node.params) {
      if (!hasLink(group, escapeName(key)))
        missing(node, key);
      readCheckedArray(group, escapeName(key), where(node, key), f_,
                       param.value);
      used_.insert("/params/" + groupName + "/" + escapeName(key));
    }
  }

  /// Datasets no node claimed mean graph and parameters disagree.
  void checkNoneLeft() {
    if (params_ < 0)
      return;
    for (const std::string &group : childNames(params_)) {
      h5::Handle g(H5Gopen2(params_, group.c_str(), H5P_DEFAULT), H5Gclose);
      if (!g.ok())
        fail(f_, "'/params/" + group + "' is not a group");
      for (const std::string &ds : childNames(g))
        if (!used_.count("/params/" + group + "/" + ds))
          fail(f_, "parameter '" + unescapeName(ds) + "' of node '" +
                       unescapeName(group) +
                       "' is stored but the graph has no such parameter");
    }
  }

private:
  std::string where(const NodeImpl &node, const std::string &key) const {
    return "node '" + node.name + "' (" + node.cls + "), parameter '" + key +
           "'";
  }
  [[noreturn]] void missing(const NodeImpl &node, const std::string &key) {
    fail(f_, where(node, key) + " is missing from the file");
  }

  const ModelFile &f_;
  hid_t params_ = -1;
  std::set<std::string> used_;
};

} // namespace

h5::Handle openModelFile(const std::string &path, ModelFile &f) {
  h5::silenceErrors();
  f = ModelFile{path, "'" + path + "'", checkRegularFile(path)};
  if (H5Fis_hdf5(path.c_str()) <= 0)
    throw IOError("Cannot load model: '" + path +
                  "' is not an HDF5 file (or it is truncated)");
  h5::Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG);
  h5::Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl), H5Fclose);
  if (!file.ok())
    fail(f,
         "cannot be opened (truncated or corrupt HDF5 file?): " + hdf5Reason());
  checkFormat(file, f);
  return file;
}

namespace {

Model &loadFile(const std::string &path, const ModelLoadOptions &options) {
  ModelFile f;
  h5::Handle file = openModelFile(path, f);
  nlohmann::json graph = readGraph(file, f);
  FileParams params(file, f);
  return instantiate(
      std::move(graph), options, f.quoted, /*fromFile=*/true,
      [&](NodeImpl &node) { params.fill(node); },
      [&](Model &model) {
        params.checkNoneLeft();
        readOptimiserState(file, f, model);
      });
}

} // namespace
} // namespace nm::detail

namespace nm {

using detail::describe;
using detail::SavedModel;

void Model::save(const std::string &path, const SaveOptions &options) const {
  SavedModel saved = describe(*this);
  saved.attachments = options.attachments;
  h5::silenceErrors();
  try {
    writeFileAtomically(path, detail::hdf5Image(saved));
  } catch (const IOError &e) {
    throw IOError("Cannot save model to '" + path + "': " + e.what());
  }
}

Model &modelload(const std::string &path, const ModelLoadOptions &options) {
  try {
    return detail::loadFile(path, options);
  } catch (const std::bad_alloc &) {
    // A v1 graph (no checksum) can imply parameters of any size, allocated
    // before the file's datasets are compared; Array reports its own
    // failures, this catches any other allocation.
    throw IOError("Cannot load model: '" + path +
                  "': out of memory (corrupt graph?)");
  }
}

Model &rebuild_model(const Model &model, const ModelLoadOptions &options) {
  SavedModel saved = describe(model);
  std::string source = "model '" + model.name() + "'";
  // rebuild_model is ELEKTRONN2's save + modelload: the rebuilt model
  // continues training where `model` stopped.
  return detail::instantiate(std::move(saved.graph), options, source,
                             /*fromFile=*/false,
                             detail::memoryFiller(saved, source),
                             [&saved](Model &rebuilt) {
                               rebuilt.set_optimiser_state(saved.optimiser);
                             });
}

} // namespace nm
