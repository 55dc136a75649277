//===- Preview.cpp - preview data and ELEKTRONN2's preview_slice ----------===//
//
// A preview is a cheap look at what the network sees: a few central slices
// of each held-out cube, predicted in one tile along z where possible (the
// z_thick rule), written as PNG files named as ELEKTRONN2 names them.
//
//===----------------------------------------------------------------------===//
#include "neuromancer/train/Preview.h"

#include "neuromancer/core/Error.h"
#include "neuromancer/core/Format.h"
#include "neuromancer/core/Log.h"
#include "neuromancer/data/CubeReader.h"
#include "neuromancer/frontend/Model.h"
#include "neuromancer/io/Png.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

namespace nm {
namespace {

constexpr const char *kLoader = "load_preview_data";

/// A dataset read by readH5 as a float32 array in [0, 1] for integers.
Array toArray(const data::H5Data &d) {
  float div = !d.isInteger                        ? 1.f
              : (d.isUnsigned && d.elemSize == 2) ? 65535.f
                                                  : 255.f;
  Array out(d.shape, DType::Float32);
  float *p = out.data<float>();
  for (size_t i = 0; i < d.f.size(); ++i)
    p[i] = d.f[i] / div;
  return out;
}

/// numpy's transpose(2, 0, 1) of a 3-D array: out[i, j, k] = in[j, k, i].
Array transpose201(const Array &in) {
  const Sizes &s = in.shape();
  Array out({s[2], s[0], s[1]}, DType::Float32);
  const float *src = in.data<float>();
  float *dst = out.data<float>();
  for (int64_t j = 0; j < s[0]; ++j)
    for (int64_t k = 0; k < s[1]; ++k)
      for (int64_t i = 0; i < s[2]; ++i)
        dst[(i * s[0] + j) * s[1] + k] = src[(j * s[1] + k) * s[2] + i];
  return out;
}

/// The classes to export, or affinity (channels 0, 2, 4 as RGB).
struct ExportSpec {
  bool affinity = false;
  std::vector<int64_t> classes;
};

ExportSpec parseExportClass(const std::string &spec, int64_t nLabels) {
  ExportSpec out;
  if (spec == "malis" || spec == "affinity") {
    if (nLabels < 5)
      throw ValueError("preview_slice: export_class '" + spec +
                       "' shows channels 0, 2, 4 as RGB, but the prediction "
                       "has " +
                       std::to_string(nLabels) + " channel(s)");
    out.affinity = true;
    return out;
  }
  if (spec == "all") {
    for (int64_t c = 0; c < nLabels; ++c)
      out.classes.push_back(c);
    return out;
  }
  size_t pos = 0;
  while (pos <= spec.size()) {
    size_t end = std::min(spec.find(',', pos), spec.size());
    std::string item = spec.substr(pos, end - pos);
    item.erase(0, item.find_first_not_of(" []"));
    item.erase(item.find_last_not_of(" []") + 1);
    size_t used = 0;
    int64_t c = -1;
    try {
      c = std::stoll(item, &used);
    } catch (const std::exception &) {
      used = 0;
    }
    if (item.empty() || used != item.size())
      throw ValueError("preview_slice: export_class '" + spec +
                       "' is not 'all', 'malis', 'affinity', a class or a "
                       "comma-separated list of classes");
    if (c < 0 || c >= nLabels)
      throw ValueError("preview_slice: export_class '" + spec +
                       "' asks for class " + std::to_string(c) +
                       ", but the prediction has " + std::to_string(nLabels) +
                       " channel(s)");
    out.classes.push_back(c);
    pos = end + 1;
  }
  return out;
}

uint8_t toByte(float v) {
  if (!(v > 0))
    return 0; // NaN too
  return v >= 1 ? 255 : static_cast<uint8_t>(std::lround(v * 255.f));
}

/// Channel `c`, z `z` of a (C, Z, X, Y) float array as a grey image.
PngImage section(const Array &a, int64_t c, int64_t z) {
  const Sizes &s = a.shape();
  PngImage im(s[3], s[2], 1);
  const float *p = a.data<float>() + ((c * s[1] + z) * s[2]) * s[3];
  for (size_t i = 0; i < im.pixels.size(); ++i)
    im.pixels[i] = toByte(p[i]);
  return im;
}

/// Channels 0, 2, 4 at `z` as RGB.
PngImage affinitySection(const Array &a, int64_t z) {
  const Sizes &s = a.shape();
  PngImage im(s[3], s[2], 3);
  for (int ch = 0; ch < 3; ++ch) {
    PngImage g = section(a, 2 * ch, z);
    for (size_t i = 0; i < g.pixels.size(); ++i)
      im.pixels[3 * i + ch] = g.pixels[i];
  }
  return im;
}

/// The cube as (ch, z, x, y) float32; ValueError naming the cube.
Array asChannelCube(const Array &cube, size_t index) {
  Array f = cube.dtype() == DType::Float32 ? cube : cube.astype(DType::Float32);
  Sizes s = f.shape();
  if (s.size() == 3)
    s.insert(s.begin(), 1);
  else if (s.size() == 2)
    s.insert(s.begin(), {1, 1});
  else if (s.size() != 4)
    throw ValueError("preview_slice: preview cube " + std::to_string(index) +
                     " has shape " + formatTuple(f.shape()) +
                     "; it must be (z, x, y) or (ch, z, x, y)");
  Array out(s, DType::Float32);
  std::copy(f.data<float>(), f.data<float>() + f.size(), out.data<float>());
  return out;
}

/// Slices [z0, z0 + n) of a (ch, z, x, y) array.
Array zRange(const Array &a, int64_t z0, int64_t n) {
  const Sizes &s = a.shape();
  Array out({s[0], n, s[2], s[3]}, DType::Float32);
  const int64_t plane = s[2] * s[3];
  for (int64_t c = 0; c < s[0]; ++c)
    std::copy_n(a.data<float>() + (c * s[1] + z0) * plane, n * plane,
                out.data<float>() + c * n * plane);
  return out;
}

/// `name` in `dir` (just `name` for an empty dir).
std::string inDir(const std::string &dir, const std::string &name) {
  return (std::filesystem::path(dir) / name).string();
}

/// ELEKTRONN2's file names, '%s-pred-%s-z%i-c%i-%shrs.png' and relatives.
std::string predName(const std::string &save, size_t j, int64_t z, int64_t c,
                     const std::string &hours) {
  return save + "-pred-" + std::to_string(j) + "-z" + std::to_string(z) + "-c" +
         std::to_string(c) + "-" + hours + "hrs.png";
}
std::string affinityName(const std::string &save, size_t j, int64_t z,
                         const std::string &hours) {
  return save + "-pred-" + std::to_string(j) + "-aff-z" + std::to_string(z) +
         "-" + hours + "hrs.png";
}
std::string rawName(const std::string &save, size_t j, int64_t z) {
  return save + "-raw-" + std::to_string(j) + "-z" + std::to_string(z) + ".png";
}

/// The prediction of a cube's central slices: written slice k is
/// pred[:, first + k] and lies on raw[:, rawFirst + k].
struct CubePrediction {
  Array pred, raw;
  int64_t n = 0, first = 0, rawFirst = 0;
};

std::string tooSmall(size_t j, const Sizes &cube, const Sizes &needed) {
  return "preview_slice: preview cube " + std::to_string(j) + " " +
         formatTuple(cube) +
         " is too small for the model: its (z, x, y) must be at least " +
         formatTuple(needed);
}

/// A 3-D network: the central z_thick slices in one predict_dense call.
CubePrediction predict3d(Model &model, const Array &cube, size_t j,
                         const Sizes &given, int64_t maxZ) {
  const Sizes patch = model.input_node().shape().spatialShape();
  const Sizes offsets = model.prediction_node().shape().offsets();
  const int64_t zThick = preview_z_thick(model, maxZ);
  const Sizes &s = cube.shape();
  if (s[1] < zThick || s[2] < patch[1] || s[3] < patch[2])
    throw ValueError(tooSmall(j, given, {zThick, patch[1], patch[2]}) +
                     " (z_thick " + std::to_string(zThick) +
                     " for max_z_pred " + std::to_string(maxZ) + ", patch " +
                     formatTuple(patch) + ")");
  CubePrediction out;
  out.raw = zRange(cube, (s[1] - zThick) / 2, zThick);
  out.pred = model.predict_dense(out.raw);
  const int64_t pz = out.pred.shape()[1];
  out.n = std::min(maxZ, pz);
  out.first = (pz - out.n) / 2;
  out.rawFirst = out.first + offsets[0];
  return out;
}

/// A 2-D network: each of the central slices on its own.
CubePrediction predict2d(Model &model, const Array &cube, size_t j,
                         const Sizes &given, int64_t maxZ) {
  const Sizes patch = model.input_node().shape().spatialShape();
  const Sizes &s = cube.shape();
  if (s[2] < patch[0] || s[3] < patch[1])
    throw ValueError(tooSmall(j, given, {1, patch[0], patch[1]}));
  CubePrediction out;
  out.n = std::min(maxZ, s[1]);
  out.raw = zRange(cube, (s[1] - out.n) / 2, out.n);
  for (int64_t k = 0; k < out.n; ++k) {
    Array slice = zRange(out.raw, k, 1);
    Array p = model.predict_dense(Array::fromVector(
        {s[0], s[2], s[3]},
        std::vector<float>(slice.data<float>(),
                           slice.data<float>() + slice.size())));
    const Sizes &ps = p.shape(); // (labels, x, y)
    if (k == 0)
      out.pred = Array({ps[0], out.n, ps[1], ps[2]}, DType::Float32);
    const int64_t plane = ps[1] * ps[2];
    for (int64_t c = 0; c < ps[0]; ++c)
      std::copy_n(p.data<float>() + c * plane, plane,
                  out.pred.data<float>() + (c * out.n + k) * plane);
  }
  return out;
}

} // namespace

std::vector<Array> load_preview_data(const std::string &path,
                                     const std::string &key) {
  std::vector<std::string> keys = {key};
  if (key.empty()) {
    keys = data::listH5Datasets(path, "preview", kLoader);
    if (keys.empty())
      throw KeyError(std::string(kLoader) + ": preview file '" + path +
                     "' has no datasets");
  }
  data::H5Select sel;
  sel.caller = kLoader;
  std::vector<Array> cubes;
  for (const std::string &k : keys) {
    Array a = toArray(data::readH5(path, k, "preview", false, sel));
    if (a.ndim() == 3 && a.shape()[0] > a.shape()[2]) {
      Array t = transpose201(a);
      log_warning(std::string(kLoader) + ": dataset '" + k + "' of '" + path +
                  "' has shape " + formatTuple(a.shape()) +
                  " with shape[0] > shape[2]; taking it as (x, y, z) and "
                  "transposing (2, 0, 1) to " +
                  formatTuple(t.shape()));
      a = std::move(t);
    }
    cubes.push_back(std::move(a));
  }
  return cubes;
}

int64_t preview_z_thick(int64_t patch_z, int64_t stride_z, int64_t out_z_size,
                        int64_t max_z_pred) {
  const int64_t minZ = patch_z + stride_z - 1;
  const int64_t outZ = out_z_size * stride_z;
  if (outZ > max_z_pred)
    return minZ;
  // ceil((max_z_pred - out_z) / st_z) in integers.
  return minZ + stride_z * ((max_z_pred - outZ + stride_z - 1) / stride_z);
}

int64_t preview_z_thick(const Model &model, int64_t max_z_pred) {
  const TaggedShape &in = model.input_node().shape();
  const TaggedShape &out = model.prediction_node().shape();
  if (out.nSpatial() != 3 || in.nSpatial() != 3)
    throw ValueError("preview_z_thick: the model's prediction " + out.repr() +
                     " is not 3-D");
  return preview_z_thick(in.spatialShape()[0], out.strides()[0],
                         out.spatialShape()[0], max_z_pred);
}

std::vector<std::string>
preview_slice(Model &model, const std::vector<Array> &cubes,
              const PreviewOptions &options, const std::string &dir,
              const std::string &save_name, const std::string &hours_label,
              bool write_raw) {
  if (options.max_z_pred < 1)
    throw ValueError("preview_slice: max_z_pred must be at least 1, not " +
                     std::to_string(options.max_z_pred));
  const std::string hours =
      hours_label.empty() ? std::to_string(options.number) : hours_label;
  const bool threeD = model.ndim() == 3;
  std::vector<std::string> written;
  for (size_t j = 0; j < cubes.size(); ++j) {
    Array cube = asChannelCube(cubes[j], j);
    CubePrediction p;
    try {
      const Sizes &given = cubes[j].shape();
      p = threeD ? predict3d(model, cube, j, given, options.max_z_pred)
                 : predict2d(model, cube, j, given, options.max_z_pred);
    } catch (const ValueError &e) {
      std::string what = e.what();
      if (what.rfind("preview_slice:", 0) == 0)
        throw;
      throw ValueError("preview_slice: preview cube " + std::to_string(j) +
                       " " + formatTuple(cubes[j].shape()) + ": " + what);
    }
    ExportSpec spec = parseExportClass(options.export_class, p.pred.shape()[0]);
    for (int64_t k = 0; k < p.n; ++k) {
      if (spec.affinity) {
        written.push_back(inDir(dir, affinityName(save_name, j, k, hours)));
        writePng(written.back(), affinitySection(p.pred, p.first + k));
      }
      for (int64_t c : spec.classes) {
        written.push_back(inDir(dir, predName(save_name, j, k, c, hours)));
        writePng(written.back(), section(p.pred, c, p.first + k));
      }
      if (write_raw) {
        written.push_back(inDir(dir, rawName(save_name, j, k)));
        writePng(written.back(), section(p.raw, 0, p.rawFirst + k));
      }
    }
  }
  return written;
}

} // namespace nm
