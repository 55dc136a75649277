//===- EmDefects.cpp - EM defect augmentations ----------------------------===//
#include "neuromancer/data/EmDefects.h"

#include "neuromancer/core/Error.h"
#include "neuromancer/core/Format.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace nm::data {
namespace {

std::string sizes3(const Index3 &v) { return formatTuple({v[0], v[1], v[2]}); }

void needSections(const std::string &name, const Index3 &ps) {
  if (ps[0] < 2)
    throw ValueError("getbatch: " + name +
                     " needs a 3-D patch of at least 2 sections; the patch " +
                     sizes3(ps) + " has " + std::to_string(ps[0]));
}

/// Trilinear read of a (z, x, y) volume at a real position; coordinates
/// outside are clamped to the border (the patch is all there is).
template <typename T>
double sampleLinear(const T *v, const Index3 &sh, const Vec3 &q) {
  int64_t i0[3];
  double t[3];
  for (int a = 0; a < 3; ++a) {
    double c = std::clamp(q[a], 0.0, static_cast<double>(sh[a] - 1));
    i0[a] = std::min<int64_t>(static_cast<int64_t>(c),
                              std::max<int64_t>(sh[a] - 2, 0));
    t[a] = sh[a] > 1 ? c - static_cast<double>(i0[a]) : 0.0;
  }
  double acc = 0;
  for (int k = 0; k < 8; ++k) {
    double w = 1;
    int64_t idx[3];
    for (int a = 0; a < 3; ++a) {
      bool up = (k >> (2 - a)) & 1;
      w *= up ? t[a] : 1 - t[a];
      idx[a] = std::min(i0[a] + up, sh[a] - 1);
    }
    if (w != 0)
      acc += w *
             static_cast<double>(v[(idx[0] * sh[1] + idx[1]) * sh[2] + idx[2]]);
  }
  return acc;
}

/// Nearest read (round half to even, as the warp's np.round), clamped.
template <typename T>
T sampleNearest(const T *v, const Index3 &sh, const Vec3 &q) {
  int64_t i[3];
  for (int a = 0; a < 3; ++a)
    i[a] = std::clamp<int64_t>(static_cast<int64_t>(std::nearbyint(q[a])), 0,
                               sh[a] - 1);
  return v[(i[0] * sh[1] + i[1]) * sh[2] + i[2]];
}

/// Distinct sections randint-drawn by a partial Fisher-Yates shuffle.
std::vector<int64_t> pickSections(int64_t n, int64_t maxCount, Rng &rng) {
  int64_t k = rng.randint(1, std::min(maxCount, n) + 1);
  std::vector<int64_t> z(n);
  for (int64_t i = 0; i < n; ++i)
    z[i] = i;
  for (int64_t i = 0; i < k; ++i)
    std::swap(z[i], z[rng.randint(i, n)]);
  z.resize(k);
  return z;
}

/// Shifts sections [z0, z1) of every channel by (dx, dy) in-plane.
template <typename T>
void shiftSections(T *v, int64_t n_ch, const Index3 &sh, int64_t z0, int64_t z1,
                   int64_t dx, int64_t dy) {
  const int64_t X = sh[1], Y = sh[2];
  std::vector<T> sec(X * Y);
  for (int64_t c = 0; c < n_ch; ++c)
    for (int64_t z = std::max<int64_t>(z0, 0); z < std::min(z1, sh[0]); ++z) {
      T *s = v + (c * sh[0] + z) * X * Y;
      std::copy(s, s + X * Y, sec.begin());
      for (int64_t x = 0; x < X; ++x)
        for (int64_t y = 0; y < Y; ++y)
          s[x * Y + y] = sec[std::clamp<int64_t>(x - dx, 0, X - 1) * Y +
                             std::clamp<int64_t>(y - dy, 0, Y - 1)];
    }
}

} // namespace

void checkArgs(const ElasticArgs &a, const std::string &name) {
  for (int i = 0; i < 3; ++i) {
    if (a.spacing[i] < 1)
      throw ValueError("getbatch: " + name + ".spacing " + sizes3(a.spacing) +
                       " must be >= 1 on every axis");
    if (!(a.magnitude[i] >= 0 && std::isfinite(a.magnitude[i])))
      throw ValueError("getbatch: " + name +
                       ".magnitude must be finite and "
                       ">= 0, not " +
                       formatG(a.magnitude[i]));
  }
}

void checkArgs(const MisalignArgs &a, const std::string &name,
               const Index3 &ps) {
  if (a.max_shift < 0)
    throw ValueError("getbatch: " + name + ".max_shift must be >= 0, not " +
                     std::to_string(a.max_shift));
  if (!(a.slip_ratio >= 0 && a.slip_ratio <= 1))
    throw ValueError("getbatch: " + name + ".slip_ratio must be in [0, 1], " +
                     "not " + formatG(a.slip_ratio));
  needSections(name, ps);
}

void checkArgs(const MissingSectionArgs &a, const std::string &name,
               const Index3 &ps) {
  if (a.max_sections < 1)
    throw ValueError("getbatch: " + name + ".max_sections must be >= 1, not " +
                     std::to_string(a.max_sections));
  needSections(name, ps);
}

void checkArgs(const MotionBlurArgs &a, const std::string &name) {
  if (a.max_sections < 1)
    throw ValueError("getbatch: " + name + ".max_sections must be >= 1, not " +
                     std::to_string(a.max_sections));
  if (a.length_range[0] < 1 || a.length_range[1] < a.length_range[0])
    throw ValueError("getbatch: " + name + ".length_range (" +
                     std::to_string(a.length_range[0]) + ", " +
                     std::to_string(a.length_range[1]) +
                     ") must satisfy 1 <= lo <= hi");
}

void elasticDeform(const ExamplePatch &p, const ElasticArgs &a, Rng &rng) {
  const Index3 &ps = p.ps;
  Index3 n;
  for (int ax = 0; ax < 3; ++ax)
    n[ax] = (ps[ax] - 1) / a.spacing[ax] + 2; // covers ps - 1
  const int64_t nCtrl = n[0] * n[1] * n[2];
  // Control displacements, axis by axis in raster order.
  std::array<std::vector<double>, 3> ctrl;
  for (int ax = 0; ax < 3; ++ax)
    if (a.magnitude[ax] > 0) {
      ctrl[ax].resize(nCtrl);
      for (double &v : ctrl[ax])
        v = rng.uniform(-a.magnitude[ax], a.magnitude[ax]);
    }
  // Per axis: the control cell of each voxel and its smoothstep weight.
  std::array<std::vector<std::pair<int64_t, double>>, 3> cell;
  for (int ax = 0; ax < 3; ++ax)
    for (int64_t i = 0; i < ps[ax]; ++i) {
      int64_t i0 = i / a.spacing[ax];
      double t = double(i - i0 * a.spacing[ax]) / double(a.spacing[ax]);
      cell[ax].push_back({i0, t * t * (3 - 2 * t)});
    }
  const int64_t vol = ps[0] * ps[1] * ps[2];
  std::vector<Vec3> disp(vol, Vec3{0, 0, 0});
  for (int ax = 0; ax < 3; ++ax) {
    if (ctrl[ax].empty())
      continue;
    int64_t j = 0;
    for (const auto &[z0, wz] : cell[0])
      for (const auto &[x0, wx] : cell[1])
        for (const auto &[y0, wy] : cell[2]) {
          double acc = 0;
          for (int k = 0; k < 8; ++k) {
            int dz = (k >> 2) & 1, dx = (k >> 1) & 1, dy = k & 1;
            double w =
                (dz ? wz : 1 - wz) * (dx ? wx : 1 - wx) * (dy ? wy : 1 - wy);
            acc += w * ctrl[ax][((z0 + dz) * n[1] + x0 + dx) * n[2] + y0 + dy];
          }
          disp[j++][ax] = acc;
        }
  }
  // Images: trilinear at voxel + displacement.
  std::vector<float> src(vol);
  for (int64_t c = 0; c < p.n_ch; ++c) {
    float *d = p.img + c * vol;
    std::copy(d, d + vol, src.begin());
    int64_t j = 0;
    for (int64_t z = 0; z < ps[0]; ++z)
      for (int64_t x = 0; x < ps[1]; ++x)
        for (int64_t y = 0; y < ps[2]; ++y, ++j) {
          Vec3 q = {z + disp[j][0], x + disp[j][1], y + disp[j][2]};
          d[j] = static_cast<float>(sampleLinear(src.data(), ps, q));
        }
  }
  if (!p.target)
    return;
  // Targets: the central tps part of the patch moves with the same field.
  const Index3 &tps = p.tps;
  Index3 off;
  for (int ax = 0; ax < 3; ++ax)
    off[ax] = (ps[ax] - tps[ax]) / 2;
  const int64_t tvol = tps[0] * tps[1] * tps[2];
  std::vector<double> tsrc(tvol);
  for (int64_t c = 0; c < p.t_n_ch; ++c) {
    double *t = p.target + c * tvol;
    std::copy(t, t + tvol, tsrc.begin());
    const bool nearest = !p.discrete || p.discrete->empty() || (*p.discrete)[c];
    int64_t j = 0;
    for (int64_t z = 0; z < tps[0]; ++z)
      for (int64_t x = 0; x < tps[1]; ++x)
        for (int64_t y = 0; y < tps[2]; ++y, ++j) {
          const Vec3 &d =
              disp[((z + off[0]) * ps[1] + x + off[1]) * ps[2] + y + off[2]];
          Vec3 q = {z + d[0], x + d[1], y + d[2]};
          t[j] = nearest ? sampleNearest(tsrc.data(), tps, q)
                         : sampleLinear(tsrc.data(), tps, q);
        }
  }
}

void misalign(const ExamplePatch &p, const MisalignArgs &a, Rng &rng) {
  const bool slip = rng.rand() < a.slip_ratio;
  const int64_t z0 = slip ? rng.randint(0, p.ps[0]) : rng.randint(1, p.ps[0]);
  const int64_t z1 = slip ? z0 + 1 : p.ps[0];
  const int64_t dx = rng.randint(-a.max_shift, a.max_shift + 1);
  const int64_t dy = rng.randint(-a.max_shift, a.max_shift + 1);
  shiftSections(p.img, p.n_ch, p.ps, z0, z1, dx, dy);
  if (p.target) {
    const int64_t off = (p.ps[0] - p.tps[0]) / 2; // target z in patch z
    shiftSections(p.target, p.t_n_ch, p.tps, z0 - off, z1 - off, dx, dy);
  }
}

void missingSection(const ExamplePatch &p, const MissingSectionArgs &a,
                    Rng &rng) {
  const int64_t sec = p.ps[1] * p.ps[2];
  for (int64_t z : pickSections(p.ps[0], a.max_sections, rng))
    for (int64_t c = 0; c < p.n_ch; ++c) {
      float *s = p.img + (c * p.ps[0] + z) * sec;
      std::fill(s, s + sec, static_cast<float>(a.value));
    }
}

void motionBlur(const ExamplePatch &p, const MotionBlurArgs &a, Rng &rng) {
  const Index3 plane = {1, p.ps[1], p.ps[2]};
  const int64_t sec = p.ps[1] * p.ps[2];
  std::vector<float> src(sec);
  for (int64_t z : pickSections(p.ps[0], a.max_sections, rng)) {
    const int64_t len = rng.randint(a.length_range[0], a.length_range[1] + 1);
    const double theta = rng.rand() * std::numbers::pi;
    const double cx = std::cos(theta), cy = std::sin(theta);
    for (int64_t c = 0; c < p.n_ch; ++c) {
      float *s = p.img + (c * p.ps[0] + z) * sec;
      std::copy(s, s + sec, src.begin());
      for (int64_t x = 0; x < p.ps[1]; ++x)
        for (int64_t y = 0; y < p.ps[2]; ++y) {
          double acc = 0;
          for (int64_t k = 0; k < len; ++k) {
            double t = double(k) - double(len - 1) / 2;
            acc += sampleLinear(src.data(), plane,
                                Vec3{0, x + t * cx, y + t * cy});
          }
          s[x * p.ps[2] + y] = static_cast<float>(acc / double(len));
        }
    }
  }
}

} // namespace nm::data
