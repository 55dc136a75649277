//===- SyntheticFiles.cpp - neuro_data_zxy's files, HDF5 and PNG ----------===//
//
// Every file is written through nm::AtomicFile (a temporary renamed into
// place), as chunked, gzip-compressed HDF5 without object timestamps, so
// the same seed gives the same bytes and h5py reads them as it reads the
// real neuro_data_zxy.
//
//===----------------------------------------------------------------------===//
#include "neuromancer/data/synthetic/SyntheticEm.h"
#include "neuromancer/io/Hdf5.h"
#include "neuromancer/io/Png.h"

#include "neuromancer/core/AtomicFile.h"
#include "neuromancer/core/Error.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace nm::data {
namespace {

namespace fs = std::filesystem;

constexpr int kCubes = 3;

/// Writes `a` as dataset `name`, chunked and gzip-compressed, no timestamps.
void writeDataset(hid_t file, const std::string &path, const std::string &name,
                  const Array &a, int gzipLevel) {
  std::vector<hsize_t> dims(a.shape().begin(), a.shape().end());
  std::vector<hsize_t> chunk(dims.size());
  const hsize_t chunkCap[3] = {16, 64, 64};
  for (std::size_t i = 0; i < dims.size(); ++i)
    chunk[i] =
        std::min<hsize_t>(dims[i], chunkCap[std::min<std::size_t>(i, 2)]);
  h5::Handle space(H5Screate_simple(int(dims.size()), dims.data(), nullptr),
                   H5Sclose);
  h5::Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  if (!space.ok() || !dcpl.ok() ||
      H5Pset_chunk(dcpl, int(chunk.size()), chunk.data()) < 0 ||
      H5Pset_deflate(dcpl, unsigned(gzipLevel)) < 0 ||
      H5Pset_obj_track_times(dcpl, false) < 0)
    throw IOError("'" + path + "': cannot set up dataset '" + name + "'");
  h5::Handle ds(H5Dcreate2(file, name.c_str(), h5::nativeType(a.dtype()), space,
                           H5P_DEFAULT, dcpl, H5P_DEFAULT),
                H5Dclose);
  if (!ds.ok() || H5Dwrite(ds, h5::nativeType(a.dtype()), H5S_ALL, H5S_ALL,
                           H5P_DEFAULT, a.raw()) < 0)
    throw IOError("'" + path + "': cannot write dataset '" + name + "' " +
                  a.shapeString() + " (disk full?)");
}

/// Writes the named arrays into a new HDF5 file at `path`, atomically.
void writeHdf5(const std::string &path,
               const std::vector<std::pair<std::string, const Array *>> &sets,
               int gzipLevel) {
  h5::silenceErrors();
  AtomicFile out(path);
  {
    // The root group's timestamps too: same seed, same bytes.
    h5::Handle fcpl(H5Pcreate(H5P_FILE_CREATE), H5Pclose);
    if (!fcpl.ok() || H5Pset_obj_track_times(fcpl, false) < 0)
      throw IOError("'" + path + "': cannot set up the HDF5 file");
    h5::Handle file(
        H5Fcreate(out.tempPath().c_str(), H5F_ACC_TRUNC, fcpl, H5P_DEFAULT),
        H5Fclose);
    if (!file.ok())
      throw IOError("cannot create HDF5 file '" + out.tempPath() + "' for '" +
                    path + "'");
    for (const auto &[name, array] : sets)
      writeDataset(file, path, name, *array, gzipLevel);
    if (H5Fflush(file, H5F_SCOPE_GLOBAL) < 0)
      throw IOError("'" + path + "': cannot flush the HDF5 file (disk full?)");
  }
  out.commit();
}

/// A section through the label centre: raw on the left; on the right the
/// labels (barrier white, cell black) inside the label box, grey outside.
std::vector<uint8_t> previewImage(const SyntheticCube &cube) {
  const auto &rs = cube.raw.shape(), &ls = cube.lab.shape();
  int64_t nx = rs[1], ny = rs[2], z = rs[0] / 2;
  int64_t ox = (rs[1] - ls[1]) / 2, oy = (rs[2] - ls[2]) / 2;
  int64_t lz = z - (rs[0] - ls[0]) / 2;
  std::vector<uint8_t> img(nx * 2 * ny, 96);
  const uint8_t *raw = cube.raw.data<uint8_t>();
  const int16_t *lab = cube.lab.data<int16_t>();
  for (int64_t x = 0; x < nx; ++x)
    for (int64_t y = 0; y < ny; ++y) {
      img[x * 2 * ny + y] = raw[(z * nx + x) * ny + y];
      int64_t lx = x - ox, ly = y - oy;
      if (lz >= 0 && lz < ls[0] && lx >= 0 && lx < ls[1] && ly >= 0 &&
          ly < ls[2])
        img[x * 2 * ny + ny + y] =
            lab[(lz * ls[1] + lx) * ls[2] + ly] ? 255 : 0;
    }
  return img;
}

std::string shapeText(const Array &a) {
  std::string s = "(";
  for (std::size_t i = 0; i < a.shape().size(); ++i)
    s += (i ? ", " : "") + std::to_string(a.shape()[i]);
  return s + ")";
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

double barrierFraction(const Array &lab) {
  const int16_t *p = lab.data<int16_t>();
  int64_t n = 0;
  for (int64_t i = 0; i < lab.size(); ++i)
    n += p[i] != 0;
  return lab.size() ? double(n) / double(lab.size()) : 0.0;
}

double secondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
      .count();
}

/// Creates `dir` if needed and refuses to replace files unless allowed.
void prepareDirectory(const std::string &dir, const MakeDataOptions &opt) {
  std::error_code ec;
  fs::file_status st = fs::status(dir, ec);
  if (fs::exists(st) && !fs::is_directory(st))
    throw IOError("make-data: '" + dir + "' exists and is not a directory");
  if (!fs::exists(st) && !fs::create_directories(dir, ec) && ec)
    throw IOError("make-data: cannot create directory '" + dir +
                  "': " + ec.message());
  std::string present;
  for (const std::string &name : syntheticFileNames(opt.png)) {
    fs::path p = fs::path(dir) / name;
    if (fs::exists(fs::symlink_status(p, ec)))
      present += (present.empty() ? "" : ", ") + name;
  }
  if (!present.empty() && !opt.overwrite)
    throw ValueError("make-data: '" + dir + "' already holds " + present +
                     "; pass --overwrite to replace them");
}

} // namespace

std::vector<std::string> syntheticFileNames(bool png) {
  std::vector<std::string> names;
  for (int i = 0; i < kCubes; ++i)
    names.push_back("raw_" + std::to_string(i) + ".h5");
  for (int i = 0; i < kCubes; ++i)
    names.push_back("barrier_int16_" + std::to_string(i) + ".h5");
  names.push_back("preview_cubes.h5");
  if (png)
    names.push_back("preview_0.png");
  return names;
}

MakeDataReport makeSyntheticData(const std::string &dir,
                                 const MakeDataOptions &opt) {
  auto say = [&](const std::string &line) {
    if (opt.progress)
      opt.progress(line);
  };
  prepareDirectory(dir, opt);
  bool full = opt.size == SyntheticSize::Full;
  Shape3 rawShape = full ? Shape3{250, 350, 350} : Shape3{64, 256, 256};
  Shape3 labShape = full ? Shape3{150, 150, 150} : Shape3{40, 200, 200};
  Shape3 previewShape = full ? Shape3{32, 200, 200} : Shape3{16, 160, 160};
  auto start = std::chrono::steady_clock::now();
  MakeDataReport report;
  auto path = [&](const std::string &name) {
    return (fs::path(dir) / name).string();
  };
  for (int i = 0; i < kCubes; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    SyntheticCube cube = generateSyntheticCube(
        {opt.seed, uint64_t(i), rawShape, labShape, opt.threads});
    std::string raw = "raw_" + std::to_string(i) + ".h5";
    std::string lab = "barrier_int16_" + std::to_string(i) + ".h5";
    writeHdf5(path(raw), {{"raw", &cube.raw}}, 1);
    report.files.push_back(path(raw));
    say("make-data: " + raw + " " + shapeText(cube.raw) + " uint8 written in " +
        fixed(secondsSince(t0), 1) + " s");
    writeHdf5(path(lab), {{"lab", &cube.lab}}, 4);
    report.files.push_back(path(lab));
    double fraction = barrierFraction(cube.lab);
    report.barrierFractions.push_back(fraction);
    say("make-data: " + lab + " " + shapeText(cube.lab) +
        " int16 written, barrier " + fixed(100 * fraction, 1) + " %");
    if (i == 0 && opt.png) {
      PngImage preview(2 * rawShape[2], rawShape[1], 1);
      preview.pixels = previewImage(cube);
      writePng(path("preview_0.png"), preview);
      say("make-data: preview_0.png (section " +
          std::to_string(rawShape[0] / 2) + " of raw_0 and its labels)");
    }
  }
  auto t0 = std::chrono::steady_clock::now();
  SyntheticCube p0 = generateSyntheticCube(
      {opt.seed, 100, previewShape, {0, 0, 0}, opt.threads});
  SyntheticCube p1 = generateSyntheticCube(
      {opt.seed, 101, previewShape, {0, 0, 0}, opt.threads});
  writeHdf5(path("preview_cubes.h5"),
            {{"preview_0", &p0.raw}, {"preview_1", &p1.raw}}, 1);
  report.files.push_back(path("preview_cubes.h5"));
  say("make-data: preview_cubes.h5 2 x " + shapeText(p0.raw) +
      " uint8 written in " + fixed(secondsSince(t0), 1) + " s");
  if (opt.png)
    report.files.push_back(path("preview_0.png"));
  report.seconds = secondsSince(start);
  std::string fractions;
  for (double f : report.barrierFractions)
    fractions += (fractions.empty() ? "" : ", ") + fixed(100 * f, 1) + " %";
  say("make-data: " + std::to_string(report.files.size()) + " files in '" +
      dir + "' (seed " + std::to_string(opt.seed) + ", size " +
      (full ? "full" : "small") + ") in " + fixed(report.seconds, 1) +
      " s; barrier fraction per label cube: " + fractions);
  return report;
}

Array readHdf5Dataset(const std::string &path, const std::string &dataset) {
  h5::silenceErrors();
  std::error_code ec;
  if (!fs::exists(path, ec))
    throw IOError("cannot read '" + path + "': no such file");
  if (H5Fis_hdf5(path.c_str()) <= 0)
    throw IOError("cannot read '" + path + "': not an HDF5 file");
  h5::Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.ok())
    throw IOError("cannot open HDF5 file '" + path + "'");
  if (H5Lexists(file, dataset.c_str(), H5P_DEFAULT) <= 0)
    throw IOError("'" + path + "' has no dataset '" + dataset + "'");
  h5::Handle ds(H5Dopen2(file, dataset.c_str(), H5P_DEFAULT), H5Dclose);
  h5::Handle space(ds.ok() ? H5Dget_space(ds) : -1, H5Sclose);
  h5::Handle type(ds.ok() ? H5Dget_type(ds) : -1, H5Tclose);
  if (!ds.ok() || !space.ok() || !type.ok())
    throw IOError("'" + path + "': cannot open dataset '" + dataset + "'");
  int rank = H5Sget_simple_extent_ndims(space);
  std::vector<hsize_t> dims(std::max(rank, 0));
  H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  std::size_t size = H5Tget_size(type);
  bool isSigned = H5Tget_sign(type) == H5T_SGN_2;
  DType dt;
  switch (H5Tget_class(type)) {
  case H5T_INTEGER:
    dt = size == 1   ? (isSigned ? DType::Int8 : DType::UInt8)
         : size == 2 ? (isSigned ? DType::Int16 : DType::UInt16)
         : size == 4 ? (isSigned ? DType::Int32 : DType::UInt32)
                     : (isSigned ? DType::Int64 : DType::UInt64);
    break;
  case H5T_FLOAT:
    dt = size == 4 ? DType::Float32 : DType::Float64;
    break;
  default:
    throw IOError("'" + path + "': dataset '" + dataset +
                  "' is neither integer nor floating point");
  }
  Array a(std::vector<int64_t>(dims.begin(), dims.end()), dt);
  if (H5Dread(ds, h5::nativeType(dt), H5S_ALL, H5S_ALL, H5P_DEFAULT, a.raw()) <
      0)
    throw IOError("'" + path + "': cannot read dataset '" + dataset +
                  "' (file truncated or corrupt?)");
  return a;
}

std::vector<std::string> hdf5DatasetNames(const std::string &path) {
  h5::silenceErrors();
  h5::Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.ok())
    throw IOError("cannot open HDF5 file '" + path + "'");
  std::vector<std::string> names;
  auto collect = [](hid_t, const char *name, const H5L_info_t *,
                    void *out) -> herr_t {
    static_cast<std::vector<std::string> *>(out)->push_back(name);
    return 0;
  };
  H5Literate(file, H5_INDEX_NAME, H5_ITER_INC, nullptr, collect, &names);
  return names;
}

} // namespace nm::data
