//===- PreviewImages.cpp - the batch test image and filter images ---------===//
//
// Two pictures for checking a set-up by eye: does the target lie where the
// image says it should (Batch_test_image.png), and what have the first
// filters learnt (filters_<node>.png).
//
//===----------------------------------------------------------------------===//
#include "neuromancer/train/Preview.h"

#include "neuromancer/core/Error.h"
#include "neuromancer/core/Format.h"
#include "neuromancer/core/Log.h"
#include "neuromancer/frontend/Node.h"
#include "neuromancer/io/Png.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace nm {
namespace {

/// Class colours 1, 2, ... of the overlay (tab10 without grey).
constexpr std::array<std::array<uint8_t, 3>, 6> kClassColours = {{
    {214, 39, 40},
    {44, 160, 44},
    {31, 119, 180},
    {255, 127, 14},
    {148, 103, 189},
    {23, 190, 207},
}};

/// Spatial sizes (z, x, y) of an (b, ch, [z,] x, y) array; z = 1 for 2-D.
Sizes spatial3(const Array &a) {
  Sizes s(a.shape().begin() + 2, a.shape().end());
  if (s.size() == 2)
    s.insert(s.begin(), 1);
  return s;
}

/// Value of example 0, channel 0 at (z, x, y).
double at0(const Array &a, const Sizes &s, int64_t z, int64_t x, int64_t y) {
  return a.getFlat((z * s[1] + x) * s[2] + y);
}

/// Where the target lies on the image, per axis (z, x, y).
struct Placement {
  Sizes strides, offsets;
};

Placement placeTarget(const Sizes &img, const Sizes &tgt, bool twoD,
                      Sizes strides, Sizes offsets, const std::string &shapes) {
  if (twoD && strides.size() == 2)
    strides.insert(strides.begin(), 1);
  if (twoD && offsets.size() == 2)
    offsets.insert(offsets.begin(), 0);
  if (strides.empty())
    strides.assign(3, 1);
  if (strides.size() != 3 || (!offsets.empty() && offsets.size() != 3))
    throw ValueError("write_batch_test_image: strides " + formatTuple(strides) +
                     " / offsets " + formatTuple(offsets) + " do not match " +
                     shapes);
  if (offsets.empty())
    for (int a = 0; a < 3; ++a) // centred: (img - covered) / 2
      offsets.push_back((img[a] - ((tgt[a] - 1) * strides[a] + 1)) / 2);
  for (int a = 0; a < 3; ++a)
    if (strides[a] < 1 || offsets[a] < 0 ||
        offsets[a] + (tgt[a] - 1) * strides[a] >= img[a])
      throw ValueError("write_batch_test_image: the target does not fit on "
                       "the image with strides " +
                       formatTuple(strides) + " and offsets " +
                       formatTuple(offsets) + ": " + shapes);
  return {strides, offsets};
}

/// The grey value of `v` in the slice's [lo, hi].
uint8_t grey(double v, double lo, double hi) {
  if (!std::isfinite(v) || !(hi > lo))
    return 128;
  return static_cast<uint8_t>(std::lround(255 * (v - lo) / (hi - lo)));
}

/// The colour of target value `t` over grey `g` (see Preview.h).
std::array<uint8_t, 3> overlay(double t, uint8_t g) {
  auto blend = [&](const std::array<uint8_t, 3> &c, double alpha) {
    std::array<uint8_t, 3> out;
    for (int i = 0; i < 3; ++i)
      out[i] =
          static_cast<uint8_t>(std::lround((1 - alpha) * g + alpha * c[i]));
    return out;
  };
  if (!(t > 0))
    return {g, g, g};
  if (t == std::floor(t) && t >= 1)
    return blend(
        kClassColours[(static_cast<int64_t>(t) - 1) % kClassColours.size()],
        0.5);
  return blend(kClassColours[0], 0.6 * std::min(t, 1.0));
}

} // namespace

void write_batch_test_image(const std::vector<Array> &batch,
                            const std::string &png_path, const Sizes &strides,
                            const Sizes &offsets) {
  if (batch.size() < 2)
    throw ValueError("write_batch_test_image: the batch needs images and "
                     "targets, it has " +
                     std::to_string(batch.size()) + " array(s)");
  const Array &img = batch[0], &tgt = batch[1];
  const std::string shapes = "images " + formatTuple(img.shape()) +
                             ", target " + formatTuple(tgt.shape());
  if ((img.ndim() != 4 && img.ndim() != 5) || tgt.ndim() != img.ndim() ||
      img.shape()[0] < 1 || tgt.shape()[0] < 1 || img.shape()[1] < 1 ||
      tgt.shape()[1] < 1)
    throw ValueError("write_batch_test_image: need (b, ch, [z,] x, y) images "
                     "and targets, got " +
                     shapes);
  const Sizes is = spatial3(img), ts = spatial3(tgt);
  Placement pl = placeTarget(is, ts, img.ndim() == 4, strides, offsets, shapes);
  const int64_t tz = ts[0] / 2, z = pl.offsets[0] + tz * pl.strides[0];

  double lo = INFINITY, hi = -INFINITY;
  for (int64_t x = 0; x < is[1]; ++x)
    for (int64_t y = 0; y < is[2]; ++y) {
      double v = at0(img, is, z, x, y);
      if (std::isfinite(v))
        lo = std::min(lo, v), hi = std::max(hi, v);
    }
  PngImage out(2 * is[2], is[1], 3);
  for (int64_t x = 0; x < is[1]; ++x)
    for (int64_t y = 0; y < is[2]; ++y) {
      uint8_t g = grey(at0(img, is, z, x, y), lo, hi);
      for (int c = 0; c < 3; ++c)
        out.at(x, y, c) = g;
      // Target voxel covering (x, y), if any.
      int64_t dx = x - pl.offsets[1], dy = y - pl.offsets[2];
      int64_t tx = dx >= 0 ? dx / pl.strides[1] : -1;
      int64_t ty = dy >= 0 ? dy / pl.strides[2] : -1;
      std::array<uint8_t, 3> rgb = {uint8_t(g / 2), uint8_t(g / 2),
                                    uint8_t(g / 2)};
      if (tx >= 0 && tx < ts[1] && ty >= 0 && ty < ts[2])
        rgb = overlay(at0(tgt, ts, tz, tx, ty), g);
      for (int c = 0; c < 3; ++c)
        out.at(x, is[2] + y, c) = rgb[c];
    }
  writePng(png_path, out);
}

void save_filter_image(const Node &conv, const std::string &png_path) {
  ParamValues params = conv.get_param_values();
  if (!params.contains("w") ||
      (params.at("w").ndim() != 4 && params.at("w").ndim() != 5))
    throw ValueError("save_filter_image: node '" + conv.name() + "' (" +
                     conv.cls() +
                     ") has no convolution weights 'w' (n_f, n_in, [z,] x, "
                     "y) to show");
  const Array &w = params.at("w");
  Sizes s = w.shape();
  if (s.size() == 4)
    s.insert(s.begin() + 2, 1);
  // Rows: filters; columns: (input channel, z); at most 256 of each.
  const int64_t rows = std::min<int64_t>(s[0], 256);
  const int64_t cols = std::min<int64_t>(s[1] * s[2], 256);
  if (rows < s[0] || cols < s[1] * s[2])
    log_warning("save_filter_image: node '" + conv.name() + "' has " +
                formatTuple(w.shape()) + " weights; showing the first " +
                std::to_string(rows) + " filters and " + std::to_string(cols) +
                " tiles of each");
  const int64_t kx = s[3], ky = s[4];
  const int64_t scale =
      std::clamp<int64_t>(32 / std::max<int64_t>(kx, ky), 1, 8);
  const int64_t tileW = ky * scale + 1, tileH = kx * scale + 1;
  PngImage out(cols * tileW + 1, rows * tileH + 1, 1, 255);
  const int64_t perFilter = s[1] * s[2] * kx * ky;
  for (int64_t f = 0; f < rows; ++f) {
    double lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < perFilter; ++i) {
      double v = w.getFlat(f * perFilter + i);
      if (std::isfinite(v))
        lo = std::min(lo, v), hi = std::max(hi, v);
    }
    for (int64_t t = 0; t < cols; ++t)
      for (int64_t x = 0; x < kx * scale; ++x)
        for (int64_t y = 0; y < ky * scale; ++y) {
          double v =
              w.getFlat(f * perFilter + (t * kx + x / scale) * ky + y / scale);
          out.at(f * tileH + 1 + x, t * tileW + 1 + y) = grey(v, lo, hi);
        }
  }
  writePng(png_path, out);
}

} // namespace nm
