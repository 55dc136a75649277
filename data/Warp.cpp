//===- Warp.cpp - ELEKTRONN2's get_warped_slice ---------------------------===//
#include "neuromancer/data/Warp.h"

#include "neuromancer/core/Error.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <string>

namespace nm::data {

Mat4 identity4() {
  Mat4 m{};
  for (int i = 0; i < 4; ++i)
    m[i][i] = 1;
  return m;
}

Mat4 translate4(double dz, double dx, double dy) {
  Mat4 m = identity4();
  m[0][3] = dz;
  m[1][3] = dx;
  m[2][3] = dy;
  return m;
}

Mat4 scale4(double mz, double mx, double my) {
  Mat4 m = identity4();
  m[0][0] = mz;
  m[1][1] = mx;
  m[2][2] = my;
  return m;
}

Mat4 rotateZ4(double a) {
  Mat4 m = identity4();
  m[1][1] = std::cos(a);
  m[1][2] = -std::sin(a);
  m[2][1] = std::sin(a);
  m[2][2] = std::cos(a);
  return m;
}

Mat4 rotateY4(double a) {
  Mat4 m = identity4();
  m[0][0] = std::cos(a);
  m[0][1] = -std::sin(a);
  m[1][0] = std::sin(a);
  m[1][1] = std::cos(a);
  return m;
}

Mat4 matmul4(const Mat4 &a, const Mat4 &b) {
  Mat4 c{};
  for (int i = 0; i < 4; ++i)
    for (int k = 0; k < 4; ++k)
      for (int j = 0; j < 4; ++j)
        c[i][j] += a[i][k] * b[k][j];
  return c;
}

Mat4 invert4(const Mat4 &m) {
  // Gauss-Jordan with partial pivoting, in double (ELEKTRONN2 inverts in
  // float64 "for stability" too).
  Mat4 a = m, inv = identity4();
  for (int c = 0; c < 4; ++c) {
    int p = c;
    for (int r = c + 1; r < 4; ++r)
      if (std::fabs(a[r][c]) > std::fabs(a[p][c]))
        p = r;
    if (std::fabs(a[p][c]) < 1e-12)
      throw ValueError("warp: the transform matrix is singular");
    std::swap(a[p], a[c]);
    std::swap(inv[p], inv[c]);
    double d = a[c][c];
    for (int j = 0; j < 4; ++j) {
      a[c][j] /= d;
      inv[c][j] /= d;
    }
    for (int r = 0; r < 4; ++r) {
      if (r == c)
        continue;
      double f = a[r][c];
      for (int j = 0; j < 4; ++j) {
        a[r][j] -= f * a[c][j];
        inv[r][j] -= f * inv[c][j];
      }
    }
  }
  return inv;
}

Vec3 apply4(const Mat4 &m, const Vec3 &p, bool homogeneousDivide) {
  double h[4];
  for (int i = 0; i < 4; ++i)
    h[i] = m[i][0] * p[0] + m[i][1] * p[1] + m[i][2] * p[2] + m[i][3];
  if (homogeneousDivide)
    return {h[0] / h[3], h[1] / h[3], h[2] / h[3]};
  return {h[0], h[1], h[2]};
}

CentreRange centreRange(int64_t img, int64_t ps, int64_t lab, int64_t tps) {
  double lo = ps / 2.0, hi = img - ps / 2.0;
  if (lab >= 0 && tps >= 0) {
    // ELEKTRONN2 floor-divides the offset here; warpTarget insists on
    // even differences.
    double off = static_cast<double>((img - lab) / 2);
    lo = std::max(lo, tps / 2.0 + off);
    hi = std::min(hi, lab - tps / 2.0 + off);
  }
  // Old numpy's randint truncates float bounds.
  CentreRange r;
  r.lo = static_cast<int64_t>(std::trunc(lo));
  r.hi = static_cast<int64_t>(std::trunc(hi));
  r.remainder = (ps % 2) / 2.0;
  // Exactly one centre fits (numpy's randint would raise "low >= high").
  if (r.hi == r.lo && hi >= lo)
    r.hi = r.lo + 1;
  return r;
}

namespace {

Mat4 randomFlip(Rng &rng, bool noXFlip) {
  Mat4 f = identity4();
  double flips[4];
  for (double &v : flips) // rng.binomial(1, 0.5, 4) * 2 - 1
    v = rng.rand() < 0.5 ? -1.0 : 1.0;
  flips[3] = 1;
  if (noXFlip)
    flips[2] = 1;
  for (int i = 0; i < 4; ++i)
    f[i][i] = flips[i];
  return f;
}

Mat4 randomSwap(Rng &rng, bool lockZ) {
  static const int kSwaps[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                   {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
  int64_t i = rng.randint(0, lockZ ? 2 : 6);
  Mat4 s{};
  for (int r = 0; r < 3; ++r)
    s[r][kSwaps[i][r]] = 1; // S = I[swaps[i]]: rows permuted
  s[3][3] = 1;
  return s;
}

Mat4 randomRotation(Rng &rng, bool lockZ, double amount) {
  double gamma = rng.rand() * 2 * M_PI * amount;
  if (lockZ)
    return rotateZ4(gamma);
  double phi = rng.rand() * 2 * M_PI * amount;
  double theta = std::asin(rng.rand()) * amount;
  return matmul4(matmul4(rotateZ4(gamma), rotateY4(-theta)), rotateZ4(-phi));
}

Mat4 randomWarp(Rng &rng, bool lockZ, bool perspective, double amount) {
  amount *= 0.1;
  Mat4 p{};
  for (auto &row : p)
    for (double &v : row)
      v = rng.uniform(-amount, amount);
  p[3][3] = 0;
  if (lockZ)
    for (int i = 0; i < 4; ++i)
      p[0][i] = p[i][0] = 0;
  if (!perspective)
    for (int j = 0; j < 4; ++j)
      p[3][j] = 0;
  // Perspective parameters must be very small.
  for (int j = 0; j < 3; ++j)
    p[3][j] = std::clamp(p[3][j] * 0.05, -3e-3, 3e-3);
  Mat4 w = identity4();
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j)
      w[i][j] += p[i][j];
  return w;
}

bool isProjective(const Mat4 &M) {
  return M[3][0] != 0 || M[3][1] != 0 || M[3][2] != 0;
}

/// Source coordinates of dest voxels, row by row along y.
struct SourceCoords {
  Mat4 inv;
  bool projective;
  // Source of dest (z, x, y), as homogeneous before the divide.
  void row(int64_t z, int64_t x, double h[4], double step[4]) const {
    for (int i = 0; i < 4; ++i) {
      h[i] = inv[i][0] * z + inv[i][1] * x + inv[i][3];
      step[i] = inv[i][2];
    }
  }
};

/// floor(min) and ceil(max + 1) of the sources of the box [b0, b0+n).
void sourceBox(const SourceCoords &sc, const Index3 &b0, const Index3 &n,
               Index3 &lo, Index3 &hi) {
  double mn[3] = {1e300, 1e300, 1e300}, mx[3] = {-1e300, -1e300, -1e300};
  for (int c = 0; c < 8; ++c) {
    Vec3 d = {double(b0[0] + ((c & 4) ? n[0] - 1 : 0)),
              double(b0[1] + ((c & 2) ? n[1] - 1 : 0)),
              double(b0[2] + ((c & 1) ? n[2] - 1 : 0))};
    Vec3 s = apply4(sc.inv, d, sc.projective);
    for (int a = 0; a < 3; ++a) {
      mn[a] = std::min(mn[a], s[a]);
      mx[a] = std::max(mx[a], s[a]);
    }
  }
  for (int a = 0; a < 3; ++a) {
    lo[a] = static_cast<int64_t>(std::floor(mn[a]));
    hi[a] = static_cast<int64_t>(std::ceil(mx[a] + 1));
  }
}

bool outside(const Index3 &lo, const Index3 &hi, const Index3 &shape) {
  for (int a = 0; a < 3; ++a)
    if (lo[a] < 0 || hi[a] >= shape[a])
      return true;
  return false;
}

template <typename T>
double trilinear(const T *src, const Index3 &sh, double u, double v, double w) {
  const int64_t u0 = static_cast<int64_t>(u), v0 = static_cast<int64_t>(v),
                w0 = static_cast<int64_t>(w);
  const double du = u - u0, dv = v - v0, dw = w - w0;
  const int64_t sx = sh[2], sz = sh[1] * sh[2];
  const T *p = src + u0 * sz + v0 * sx + w0;
  return p[0] * (1 - du) * (1 - dv) * (1 - dw) +
         p[sz] * du * (1 - dv) * (1 - dw) + p[sx] * (1 - du) * dv * (1 - dw) +
         p[1] * (1 - du) * (1 - dv) * dw + p[sz + 1] * du * (1 - dv) * dw +
         p[sx + 1] * (1 - du) * dv * dw + p[sz + sx] * du * dv * (1 - dw) +
         p[sz + sx + 1] * du * dv * dw;
}

template <typename T>
double nearest(const T *src, const Index3 &sh, const Index3 &origin, double u,
               double v, double w) {
  // np.round: half to even, as std::nearbyint in the default rounding mode.
  // Rounded in cube coordinates, then moved into the box: ties to even are
  // not invariant under odd shifts.
  const auto iu = static_cast<int64_t>(std::nearbyint(u)) - origin[0],
             iv = static_cast<int64_t>(std::nearbyint(v)) - origin[1],
             iw = static_cast<int64_t>(std::nearbyint(w)) - origin[2];
  return src[(iu * sh[1] + iv) * sh[2] + iw];
}

/// Visits every voxel of the box [b0, b0+n) of the patch with its source
/// coordinate shifted by -shift.
template <typename F>
void forEachSource(const SourceCoords &sc, const Index3 &b0, const Index3 &n,
                   const Vec3 &shift, F &&f) {
  double h[4], step[4];
  int64_t i = 0;
  for (int64_t z = 0; z < n[0]; ++z)
    for (int64_t x = 0; x < n[1]; ++x) {
      sc.row(b0[0] + z, b0[1] + x, h, step);
      for (int k = 0; k < 4; ++k)
        h[k] += step[k] * b0[2];
      for (int64_t y = 0; y < n[2]; ++y, ++i) {
        double u, v, w;
        if (sc.projective) {
          u = h[0] / h[3], v = h[1] / h[3], w = h[2] / h[3];
        } else {
          u = h[0], v = h[1], w = h[2];
        }
        f(i, u - shift[0], v - shift[1], w - shift[2]);
        for (int k = 0; k < 4; ++k)
          h[k] += step[k];
      }
    }
}

} // namespace

WarpDraw drawWarp(Rng &rng, const std::array<CentreRange, 3> &ranges,
                  double warpAmount, const WarpArgs &args) {
  WarpDraw d;
  for (int a = 0; a < 3; ++a) {
    if (ranges[a].empty())
      throw ValueError("warp: no patch centre fits on axis " +
                       std::to_string(a) + " (range [" +
                       std::to_string(ranges[a].lo) + ", " +
                       std::to_string(ranges[a].hi) + ") is empty)");
    d.centre[a] = rng.randint(ranges[a].lo, ranges[a].hi) + ranges[a].remainder;
  }
  d.F = randomFlip(rng, args.no_x_flip);
  d.S = args.no_x_flip ? identity4() : randomSwap(rng, args.lock_z);
  if (std::fabs(warpAmount) > 1e-8) { // np.isclose(warp_amount, 0)
    d.R = randomRotation(rng, args.lock_z, warpAmount);
    d.W = randomWarp(rng, args.lock_z, args.perspective, warpAmount);
  }
  return d;
}

Mat4 composeWarp(const WarpDraw &d, const Index3 &ps, double aniso,
                 bool sampleAniso) {
  Mat4 tSrc = translate4(-d.centre[0], -d.centre[1], -d.centre[2]);
  Mat4 sSrc = scale4(aniso, 1, 1);
  Mat4 sDest = sampleAniso ? scale4(1.0 / aniso, 1, 1) : identity4();
  Mat4 tDest = translate4(ps[0] / 2.0, ps[1] / 2.0, ps[2] / 2.0);
  Mat4 m = tDest;
  for (const Mat4 *f : std::initializer_list<const Mat4 *>{
           &sDest, &d.R, &d.W, &d.F, &d.S, &sSrc, &tSrc})
    m = matmul4(m, *f);
  return m;
}

namespace {

Index3 labelOffset(const Index3 &img, const Index3 &lab, const Index3 &ps,
                   const Index3 &tps, Index3 &offPs) {
  Index3 off;
  for (int a = 0; a < 3; ++a) {
    if ((img[a] - lab[a]) % 2 || (ps[a] - tps[a]) % 2)
      throw ValueError("targets must be centered w.r.t. images");
    off[a] = (img[a] - lab[a]) / 2;
    offPs[a] = (ps[a] - tps[a]) / 2;
  }
  return off;
}

/// A box read from disk must hold what the patch reads.
template <typename T>
void checkHolds(const Volume<T> &v, const Index3 &lo, const Index3 &hi) {
  for (int a = 0; a < 3; ++a)
    if (lo[a] < v.origin[a] || hi[a] >= v.origin[a] + v.shape[a])
      throw RuntimeError("warp: the volume box does not hold the patch's "
                         "source box");
}

} // namespace

bool imageBox(const Index3 &img, const Index3 &ps, const Mat4 &M, Index3 &lo,
              Index3 &hi) {
  SourceCoords sc{invert4(M), isProjective(M)};
  sourceBox(sc, {0, 0, 0}, ps, lo, hi);
  return !outside(lo, hi, img);
}

bool targetBox(const Index3 &img, const Index3 &lab, const Index3 &ps,
               const Index3 &tps, const Mat4 &M, Index3 &lo, Index3 &hi) {
  Index3 offPs;
  Index3 off = labelOffset(img, lab, ps, tps, offPs);
  SourceCoords sc{invert4(M), isProjective(M)};
  sourceBox(sc, offPs, tps, lo, hi);
  for (int a = 0; a < 3; ++a) { // into label space
    lo[a] -= off[a];
    hi[a] -= off[a];
  }
  return !outside(lo, hi, lab);
}

bool warpImage(const Volume<float> &img, const Index3 &ps, const Mat4 &M,
               float *out) {
  Index3 lo, hi;
  if (!imageBox(img.cube(), ps, M, lo, hi))
    return false;
  checkHolds(img, lo, hi);
  SourceCoords sc{invert4(M), isProjective(M)};
  const Vec3 shift = {double(img.origin[0]), double(img.origin[1]),
                      double(img.origin[2])};
  const int64_t chSize = img.shape[0] * img.shape[1] * img.shape[2];
  const int64_t outSize = ps[0] * ps[1] * ps[2];
  for (int64_t c = 0; c < img.n_ch; ++c) {
    const float *src = img.data + c * chSize;
    float *dst = out + c * outSize;
    forEachSource(
        sc, {0, 0, 0}, ps, shift, [&](int64_t i, double u, double v, double w) {
          dst[i] = static_cast<float>(trilinear(src, img.shape, u, v, w));
        });
  }
  return true;
}

bool warpTarget(const Volume<double> &lab, const Index3 &imgShape,
                const Index3 &ps, const Index3 &tps, const Mat4 &M,
                const std::vector<bool> &discrete,
                const std::vector<std::array<int64_t, 3>> &vecIx, double *out) {
  Index3 lo, hi, offPs;
  if (!targetBox(imgShape, lab.cube(), ps, tps, M, lo, hi))
    return false;
  checkHolds(lab, lo, hi);
  Index3 off = labelOffset(imgShape, lab.cube(), ps, tps, offPs);
  SourceCoords sc{invert4(M), isProjective(M)};
  const Vec3 shift = {double(off[0]), double(off[1]), double(off[2])};
  const Index3 &o = lab.origin;
  const int64_t chSize = lab.shape[0] * lab.shape[1] * lab.shape[2];
  const int64_t outSize = tps[0] * tps[1] * tps[2];
  for (int64_t c = 0; c < lab.n_ch; ++c) {
    const double *src = lab.data + c * chSize;
    double *dst = out + c * outSize;
    bool discr = discrete.empty() || discrete.at(c);
    forEachSource(
        sc, offPs, tps, shift, [&](int64_t i, double u, double v, double w) {
          dst[i] =
              discr ? nearest(src, lab.shape, o, u, v, w)
                    : trilinear(src, lab.shape, u - o[0], v - o[1], w - o[2]);
        });
  }
  if (!vecIx.empty()) {
    if (sc.projective)
      throw ValueError("target_vec_ix needs an affine warp; perspective "
                       "warps cannot re-rotate vectors");
    for (const auto &ix : vecIx) {
      for (int64_t i = 0; i < outSize; ++i) {
        double v[3], r[3];
        for (int k = 0; k < 3; ++k)
          v[k] = out[ix[k] * outSize + i];
        for (int k = 0; k < 3; ++k)
          r[k] = M[k][0] * v[0] + M[k][1] * v[1] + M[k][2] * v[2];
        for (int k = 0; k < 3; ++k)
          out[ix[k] * outSize + i] = r[k];
      }
    }
  }
  return true;
}

} // namespace nm::data
