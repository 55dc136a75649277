//===- SyntheticEm.cpp - rendering the synthetic EM volume ----------------===//
//
// Coordinates: p = (z, x, y) in isotropic units (one xy voxel); section k
// lies at z = 2k (anisotropy 2). Cells live in q = Q (p + warp(p)), where Q
// compresses space along a random direction u (so cells are elongated along
// u, like neurites) and warp is a sum of a few long-wave sinusoids (so faces
// are curved). Seeds sit on a jittered grid of spacing kSpacing in q; each
// voxel's three nearest seeds (power distance |q - s|² - w, the weights
// giving a spread of cell sizes) give its cell and the distances to the two
// nearest faces, from which membranes and extracellular pockets are drawn.
//
//===----------------------------------------------------------------------===//
#include "neuromancer/data/synthetic/SyntheticEm.h"

#include "neuromancer/core/Error.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <mutex>
#include <random>
#include <thread>

namespace nm::data {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kSpacing = 22.0; // seed grid spacing in q
constexpr double kBucket = 8.0;   // blob lookup grid, isotropic units
constexpr int kWarpTerms = 6;
constexpr double kEcsLevel = 205.0; // extracellular space: unstained

//===----------------------------------------------------------------------===//
// Random numbers, by hand so that every libstdc++ gives the same stream.
//===----------------------------------------------------------------------===//

uint64_t splitmix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

double unitFromBits(uint64_t bits) { return (bits >> 11) * 0x1.0p-53; }

/// A hash of up to three cell ids as a number in [0, 1).
double hashUnit(uint64_t salt, uint64_t a, uint64_t b = 0, uint64_t c = 0) {
  return unitFromBits(splitmix(splitmix(splitmix(salt ^ a) ^ b) ^ c));
}

class Rng {
public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  double uniform() { return unitFromBits(gen_()); }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  /// Box–Muller; the second value of each pair is kept for the next call.
  double normal() {
    if (hasSpare_) {
      hasSpare_ = false;
      return spare_;
    }
    double u1 = 1.0 - uniform(); // (0, 1]
    double u2 = uniform();
    double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(2 * kPi * u2);
    hasSpare_ = true;
    return r * std::cos(2 * kPi * u2);
  }

private:
  std::mt19937_64 gen_;
  double spare_ = 0;
  bool hasSpare_ = false;
};

struct Vec3 {
  double v[3];
  double operator[](int i) const { return v[i]; }
  double &operator[](int i) { return v[i]; }
};

Vec3 randomDirection(Rng &rng) {
  double z = rng.uniform(-1, 1), phi = rng.uniform(0, 2 * kPi);
  double r = std::sqrt(1 - z * z);
  return {{z, r * std::cos(phi), r * std::sin(phi)}};
}

double dot(const Vec3 &a, const Vec3 &b) {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

//===----------------------------------------------------------------------===//
// The cell volume of one cube.
//===----------------------------------------------------------------------===//

struct WarpTerm {
  Vec3 dir, omega;
  double phase, amp;
};

struct Seed {
  Vec3 q;
  double w;    // power weight
  float level; // cytoplasm grey value
};

enum class BlobKind { Vesicle, Mito };

struct Blob {
  BlobKind kind;
  int32_t owner;
  Vec3 c, axis; // centre; long axis (mitochondria)
  double a, b;  // semi-axes (a along axis; vesicles: a == b)
  double phase; // cristae
};

/// The nearest three seeds of a point and its distances to the faces.
struct Locus {
  int32_t a, b, c;
  double m2, m3; // distance to the a|b and a|c faces (isotropic units)
};

class Volume {
public:
  Volume(uint64_t seed, uint64_t index, Shape3 rawShape);
  /// Renders section z: grey values (before blur and noise) and labels.
  void renderSection(int64_t z, float *grey, uint8_t *label) const;
  /// Smooth brightness drift in grey levels, a sum of three terms: the
  /// section's (x, y < 0), the row's (x >= 0, y < 0), the column's (y >= 0).
  double drift(int64_t z, int64_t x, int64_t y) const;

private:
  void makeSeeds(Rng &rng);
  void makeBlobs(Rng &rng);
  void addBlob(const Blob &blob);
  Vec3 warp(const Vec3 &p) const;
  Vec3 toQ(const Vec3 &pw) const;
  Locus locate(const Vec3 &p, const Vec3 &warpAtP) const;
  double faceDistance(const Seed &a, const Seed &b, double da, double db) const;
  double shade(const Locus &l, const Vec3 &p, uint8_t &label) const;
  double blobTexture(int32_t cell, const Vec3 &p, double base) const;

  uint64_t salt_;
  Shape3 shape_;
  Vec3 u_;          // stretch direction
  double compress_; // Q = I + (compress - 1) u uᵀ
  WarpTerm warp_[kWarpTerms];
  double maxWarp_ = 0;
  Vec3 gridLo_;
  int64_t gridN_[3];
  std::vector<Seed> seeds_;
  std::vector<Blob> blobs_;
  Vec3 bucketLo_;
  int64_t bucketN_[3];
  std::vector<std::vector<int32_t>> buckets_;
  double driftAmp_[3], driftOmega_[4], driftPhase_[4];
};

Volume::Volume(uint64_t seed, uint64_t index, Shape3 rawShape)
    : salt_(splitmix(seed * 0x100000001b3ULL + index)), shape_(rawShape) {
  Rng rng(salt_);
  u_ = randomDirection(rng);
  compress_ = 1.0 / rng.uniform(1.8, 2.6);
  for (WarpTerm &t : warp_) {
    t.dir = randomDirection(rng);
    Vec3 k = randomDirection(rng);
    double wavelength = rng.uniform(45, 130);
    for (int i = 0; i < 3; ++i)
      t.omega[i] = k[i] * 2 * kPi / wavelength;
    t.phase = rng.uniform(0, 2 * kPi);
    t.amp = rng.uniform(2.5, 5.5);
    maxWarp_ += t.amp;
  }
  makeSeeds(rng);
  makeBlobs(rng);
  for (double &a : driftAmp_)
    a = rng.uniform(4, 9);
  for (int i = 0; i < 4; ++i) {
    driftOmega_[i] = 2 * kPi / rng.uniform(250, 600);
    driftPhase_[i] = rng.uniform(0, 2 * kPi);
  }
}

Vec3 Volume::warp(const Vec3 &p) const {
  Vec3 w{{0, 0, 0}};
  for (const WarpTerm &t : warp_) {
    double s = t.amp * std::sin(dot(t.omega, p) + t.phase);
    for (int i = 0; i < 3; ++i)
      w[i] += s * t.dir[i];
  }
  return w;
}

Vec3 Volume::toQ(const Vec3 &pw) const {
  double along = (compress_ - 1) * dot(u_, pw);
  return {
      {pw[0] + along * u_[0], pw[1] + along * u_[1], pw[2] + along * u_[2]}};
}

void Volume::makeSeeds(Rng &rng) {
  // The bounding box of Q(box ± maxWarp), with a margin of two cells so that
  // the 27 grid neighbours of every voxel exist.
  double hi[3] = {2.0 * shape_[0], double(shape_[1]), double(shape_[2])};
  Vec3 lo{{1e30, 1e30, 1e30}}, up{{-1e30, -1e30, -1e30}};
  for (int corner = 0; corner < 8; ++corner) {
    Vec3 p;
    for (int i = 0; i < 3; ++i)
      p[i] = (corner >> i & 1) ? hi[i] + maxWarp_ : -maxWarp_;
    Vec3 q = toQ(p);
    for (int i = 0; i < 3; ++i) {
      lo[i] = std::min(lo[i], q[i]);
      up[i] = std::max(up[i], q[i]);
    }
  }
  for (int i = 0; i < 3; ++i) {
    gridLo_[i] = lo[i] - 2 * kSpacing;
    gridN_[i] = int64_t((up[i] - lo[i]) / kSpacing) + 5;
  }
  seeds_.resize(gridN_[0] * gridN_[1] * gridN_[2]);
  int64_t n = 0;
  for (int64_t i = 0; i < gridN_[0]; ++i)
    for (int64_t j = 0; j < gridN_[1]; ++j)
      for (int64_t k = 0; k < gridN_[2]; ++k) {
        Seed &s = seeds_[n++];
        int64_t idx[3] = {i, j, k};
        for (int d = 0; d < 3; ++d)
          s.q[d] = gridLo_[d] + (idx[d] + rng.uniform(0.1, 0.9)) * kSpacing;
        // Mostly small cells (thin axons), some large (dendrites).
        double r = 0.45 * kSpacing * std::pow(rng.uniform(), 3.0);
        s.w = r * r;
        bool dark = rng.uniform() < 0.08; // darker glia/axoplasm profiles
        s.level = float(dark ? rng.uniform(125, 145) : rng.uniform(160, 200));
      }
}

void Volume::addBlob(const Blob &blob) {
  int32_t id = int32_t(blobs_.size());
  blobs_.push_back(blob);
  int64_t lo[3], hi[3];
  for (int i = 0; i < 3; ++i) {
    double reach = std::max(blob.a, blob.b) * 1.3 + 1;
    lo[i] = std::max<int64_t>(
        0, int64_t(std::floor((blob.c[i] - reach - bucketLo_[i]) / kBucket)));
    hi[i] = std::min<int64_t>(
        bucketN_[i] - 1,
        int64_t(std::floor((blob.c[i] + reach - bucketLo_[i]) / kBucket)));
  }
  for (int64_t i = lo[0]; i <= hi[0]; ++i)
    for (int64_t j = lo[1]; j <= hi[1]; ++j)
      for (int64_t k = lo[2]; k <= hi[2]; ++k)
        buckets_[(i * bucketN_[1] + j) * bucketN_[2] + k].push_back(id);
}

void Volume::makeBlobs(Rng &rng) {
  double hi[3] = {2.0 * shape_[0], double(shape_[1]), double(shape_[2])};
  for (int i = 0; i < 3; ++i) {
    bucketLo_[i] = -kBucket;
    bucketN_[i] = int64_t(hi[i] / kBucket) + 3;
  }
  buckets_.assign(bucketN_[0] * bucketN_[1] * bucketN_[2], {});
  // The inverse of Q stretches along u.
  double stretch = 1.0 / compress_;
  for (int32_t id = 0; id < int32_t(seeds_.size()); ++id) {
    const Seed &s = seeds_[id];
    double along = (stretch - 1) * dot(u_, s.q);
    Vec3 centre;
    for (int i = 0; i < 3; ++i)
      centre[i] = s.q[i] + along * u_[i];
    Vec3 w = warp(centre);
    for (int i = 0; i < 3; ++i)
      centre[i] -= w[i];
    bool inside = true;
    for (int i = 0; i < 3; ++i)
      inside &= centre[i] > -20 && centre[i] < hi[i] + 20;
    // Draw the cell's numbers whether or not it is used, so the stream does
    // not depend on which cells fall inside.
    double kind = rng.uniform();
    uint64_t cellSeed = rng.uniform() * 0x1.0p53;
    if (!inside || locate(centre, warp(centre)).a != id)
      continue;
    Rng cr(splitmix(salt_ ^ cellSeed));
    if (kind < 0.22) { // a bouton: a cluster of synaptic vesicles
      int n = 12 + int(cr.uniform() * 40);
      double radius = cr.uniform(5, 10);
      for (int v = 0; v < n; ++v) {
        Vec3 d = randomDirection(cr);
        double r = radius * std::cbrt(cr.uniform());
        Blob b{BlobKind::Vesicle, id, {}, {}, 0, 0, 0};
        for (int i = 0; i < 3; ++i)
          b.c[i] = centre[i] + r * d[i];
        b.a = b.b = cr.uniform(1.6, 2.6);
        addBlob(b);
      }
    } else if (kind < 0.55) { // one or two mitochondria along the neurite
      int n = cr.uniform() < 0.3 ? 2 : 1;
      for (int m = 0; m < n; ++m) {
        Vec3 d = randomDirection(cr), axis;
        for (int i = 0; i < 3; ++i)
          axis[i] = u_[i] + 0.35 * d[i];
        double norm = std::sqrt(dot(axis, axis));
        Blob b{BlobKind::Mito, id, {}, {}, 0, 0, 0};
        for (int i = 0; i < 3; ++i) {
          b.axis[i] = axis[i] / norm;
          b.c[i] = centre[i] + cr.uniform(-4, 4);
        }
        b.a = cr.uniform(6, 13);
        b.b = cr.uniform(2.5, 4.5);
        b.phase = cr.uniform(0, 2 * kPi);
        addBlob(b);
      }
    }
  }
}

double Volume::faceDistance(const Seed &a, const Seed &b, double da,
                            double db) const {
  // The a|b face is {(db - da)/2 = 0}, a plane in q; its gradient in p is
  // Q (a - b) (Q symmetric; the warp's Jacobian is close to I).
  Vec3 diff;
  for (int i = 0; i < 3; ++i)
    diff[i] = a.q[i] - b.q[i];
  Vec3 g = toQ(diff);
  return (db - da) / (2 * std::sqrt(dot(g, g)));
}

Locus Volume::locate(const Vec3 &p, const Vec3 &warpAtP) const {
  Vec3 pw;
  for (int i = 0; i < 3; ++i)
    pw[i] = p[i] + warpAtP[i];
  Vec3 q = toQ(pw);
  int64_t cell[3];
  for (int i = 0; i < 3; ++i)
    cell[i] = std::clamp<int64_t>(
        int64_t(std::floor((q[i] - gridLo_[i]) / kSpacing)), 1, gridN_[i] - 2);
  double best[3] = {1e300, 1e300, 1e300};
  int32_t id[3] = {0, 0, 0};
  for (int64_t i = cell[0] - 1; i <= cell[0] + 1; ++i)
    for (int64_t j = cell[1] - 1; j <= cell[1] + 1; ++j) {
      int64_t row = (i * gridN_[1] + j) * gridN_[2];
      for (int64_t k = cell[2] - 1; k <= cell[2] + 1; ++k) {
        const Seed &s = seeds_[row + k];
        double dz = q[0] - s.q[0], dx = q[1] - s.q[1], dy = q[2] - s.q[2];
        double d = dz * dz + dx * dx + dy * dy - s.w;
        if (d >= best[2])
          continue;
        int32_t n = int32_t(row + k);
        if (d < best[0]) {
          best[2] = best[1], id[2] = id[1];
          best[1] = best[0], id[1] = id[0];
          best[0] = d, id[0] = n;
        } else if (d < best[1]) {
          best[2] = best[1], id[2] = id[1];
          best[1] = d, id[1] = n;
        } else {
          best[2] = d, id[2] = n;
        }
      }
    }
  const Seed &a = seeds_[id[0]];
  return {id[0], id[1], id[2], faceDistance(a, seeds_[id[1]], best[0], best[1]),
          faceDistance(a, seeds_[id[2]], best[0], best[2])};
}

double Volume::blobTexture(int32_t cell, const Vec3 &p, double base) const {
  int64_t b[3];
  for (int i = 0; i < 3; ++i) {
    b[i] = int64_t(std::floor((p[i] - bucketLo_[i]) / kBucket));
    if (b[i] < 0 || b[i] >= bucketN_[i])
      return base;
  }
  double v = base;
  for (int32_t id :
       buckets_[(b[0] * bucketN_[1] + b[1]) * bucketN_[2] + b[2]]) {
    const Blob &blob = blobs_[id];
    if (blob.owner != cell)
      continue;
    Vec3 d;
    for (int i = 0; i < 3; ++i)
      d[i] = p[i] - blob.c[i];
    if (blob.kind == BlobKind::Vesicle) {
      double t = std::sqrt(dot(d, d)) / blob.a;
      if (t > 1.4)
        continue;
      if (t < 0.9) // lumen: a little darker than cytoplasm
        v = 0.6 * v + 0.4 * 150.0;
      double rim = std::exp(-std::pow((t - 0.95) / 0.22, 2));
      v += (85.0 - v) * rim;
      continue;
    }
    double along = dot(d, blob.axis);
    double perp2 = dot(d, d) - along * along;
    double t = std::sqrt(along * along / (blob.a * blob.a) +
                         perp2 / (blob.b * blob.b));
    if (t > 1.3)
      continue;
    if (t < 1.0) // matrix with cristae across the long axis
      v = 110.0 + 22.0 * std::sin(along * 2 * kPi / 3.5 + blob.phase);
    double rim = std::exp(-std::pow((t - 1.0) / 0.12, 2));
    v += (70.0 - v) * rim;
  }
  return v;
}

double Volume::shade(const Locus &l, const Vec3 &p, uint8_t &label) const {
  // Membrane half-thickness per pair of cells: full thickness 1–3 voxels.
  int32_t lo = std::min(l.a, l.b), hi = std::max(l.a, l.b);
  double half = 0.5 + hashUnit(salt_ ^ 0x51, lo, hi);
  // Extracellular pockets along some triple edges.
  int32_t t[3] = {l.a, l.b, l.c};
  std::sort(t, t + 3);
  double ecs = 0;
  if (hashUnit(salt_ ^ 0xEC5, t[0], t[1], t[2]) < 0.3)
    ecs = 1.5 + 3.5 * hashUnit(salt_ ^ 0xEC6, t[0], t[1], t[2]);
  double s = ecs > 0 ? std::max(l.m2, l.m3) - ecs : 1e30;
  bool inEcs = s < 0;
  double wall = inEcs ? -s : std::min(l.m2, s);
  label = inEcs || wall < half;
  double base = inEcs ? kEcsLevel : seeds_[l.a].level;
  if (!inEcs && wall > half + 0.5)
    base = blobTexture(l.a, p, base);
  double dark = 40.0 + 30.0 * hashUnit(salt_ ^ 0xDA, lo, hi);
  double sigma = 0.75 * half + 0.25;
  double k = std::exp(-0.5 * (wall / sigma) * (wall / sigma));
  return base + (dark - base) * k;
}

void Volume::renderSection(int64_t z, float *grey, uint8_t *label) const {
  const int64_t nx = shape_[1], ny = shape_[2];
  for (int64_t x = 0; x < nx; ++x) {
    // The warp along a row by rotating phasors: sin(θ0 + y ω_y).
    double sn[kWarpTerms], cs[kWarpTerms], rs[kWarpTerms], rc[kWarpTerms];
    for (int t = 0; t < kWarpTerms; ++t) {
      const WarpTerm &w = warp_[t];
      double theta = w.omega[0] * 2.0 * z + w.omega[1] * x + w.phase;
      sn[t] = std::sin(theta), cs[t] = std::cos(theta);
      rs[t] = std::sin(w.omega[2]), rc[t] = std::cos(w.omega[2]);
    }
    for (int64_t y = 0; y < ny; ++y) {
      Vec3 p{{2.0 * z, double(x), double(y)}}, w{{0, 0, 0}};
      for (int t = 0; t < kWarpTerms; ++t) {
        double a = warp_[t].amp * sn[t];
        for (int i = 0; i < 3; ++i)
          w[i] += a * warp_[t].dir[i];
        double s2 = sn[t] * rc[t] + cs[t] * rs[t];
        cs[t] = cs[t] * rc[t] - sn[t] * rs[t];
        sn[t] = s2;
      }
      Locus l = locate(p, w);
      grey[x * ny + y] = float(shade(l, p, label[x * ny + y]));
    }
  }
}

double Volume::drift(int64_t z, int64_t x, int64_t y) const {
  // A sum of one-axis terms, so a section needs nx + ny evaluations.
  double zi = 2.0 * z;
  if (x < 0 && y < 0)
    return driftAmp_[0] * std::sin(driftOmega_[0] * zi + driftPhase_[0]);
  if (y < 0)
    return driftAmp_[1] * std::sin(driftOmega_[1] * x + driftPhase_[1] +
                                   0.5 * std::sin(driftOmega_[3] * zi));
  return driftAmp_[2] * std::cos(driftOmega_[2] * y + driftPhase_[2]);
}

//===----------------------------------------------------------------------===//
// Imaging: blur, drift, section jitter, noise.
//===----------------------------------------------------------------------===//

/// Separable Gaussian blur (sigma 0.85) within a section; edges clamped.
void blurSection(std::vector<float> &img, int64_t nx, int64_t ny) {
  const float k[5] = {0.0298f, 0.2356f, 0.4692f, 0.2356f, 0.0298f};
  std::vector<float> tmp(img.size());
  for (int64_t x = 0; x < nx; ++x)
    for (int64_t y = 0; y < ny; ++y) {
      float acc = 0;
      for (int d = -2; d <= 2; ++d)
        acc += k[d + 2] * img[x * ny + std::clamp<int64_t>(y + d, 0, ny - 1)];
      tmp[x * ny + y] = acc;
    }
  for (int64_t x = 0; x < nx; ++x)
    for (int64_t y = 0; y < ny; ++y) {
      float acc = 0;
      for (int d = -2; d <= 2; ++d)
        acc += k[d + 2] * tmp[std::clamp<int64_t>(x + d, 0, nx - 1) * ny + y];
      img[x * ny + y] = acc;
    }
}

void imageSection(const Volume &vol, uint64_t sectionSeed, int64_t z,
                  Shape3 shape, std::vector<float> &grey, uint8_t *out) {
  const int64_t nx = shape[1], ny = shape[2];
  blurSection(grey, nx, ny);
  Rng rng(sectionSeed);
  double gain = 1.0 + 0.07 * rng.normal();
  double offset = 6.0 * rng.normal() + vol.drift(z, -1, -1);
  std::vector<double> column(ny);
  for (int64_t y = 0; y < ny; ++y)
    column[y] = vol.drift(z, -1, y);
  for (int64_t x = 0; x < nx; ++x) {
    double row = offset + vol.drift(z, x, -1);
    for (int64_t y = 0; y < ny; ++y) {
      double v = (grey[x * ny + y] - 150.0) * gain + 150.0 + row + column[y];
      v += std::sqrt(std::max(v, 0.0) * 0.5 + 25.0) * rng.normal(); // shot+read
      out[x * ny + y] = uint8_t(std::clamp(std::lround(v), 0L, 255L));
    }
  }
}

void checkSpec(const SyntheticCubeSpec &spec) {
  for (int i = 0; i < 3; ++i) {
    if (spec.rawShape[i] <= 0 || spec.rawShape[i] > 100000)
      throw ValueError("synthetic data: raw shape (" +
                       std::to_string(spec.rawShape[0]) + ", " +
                       std::to_string(spec.rawShape[1]) + ", " +
                       std::to_string(spec.rawShape[2]) +
                       ") must be positive in every axis");
    int64_t l = spec.labShape[i], r = spec.rawShape[i];
    if (l < 0 || l > r || (r - l) % 2)
      throw ValueError("synthetic data: label shape axis " + std::to_string(i) +
                       " (" + std::to_string(l) +
                       ") cannot be centred in the raw axis (" +
                       std::to_string(r) +
                       "): it must not be larger and differ by an even "
                       "number");
  }
}

} // namespace

SyntheticCube generateSyntheticCube(const SyntheticCubeSpec &spec) {
  checkSpec(spec);
  const Shape3 shape = spec.rawShape, labShape = spec.labShape;
  bool hasLabels = labShape[0] && labShape[1] && labShape[2];
  Volume vol(spec.seed, spec.index, shape);
  SyntheticCube cube{Array({shape[0], shape[1], shape[2]}, DType::UInt8), {}};
  if (hasLabels)
    cube.lab = Array({labShape[0], labShape[1], labShape[2]}, DType::Int16);
  Shape3 off;
  for (int i = 0; i < 3; ++i)
    off[i] = (shape[i] - labShape[i]) / 2;
  uint8_t *raw = cube.raw.data<uint8_t>();
  int16_t *lab = hasLabels ? cube.lab.data<int16_t>() : nullptr;
  const int64_t plane = shape[1] * shape[2];
  const uint64_t streamBase = splitmix(splitmix(spec.seed) ^ spec.index);

  // One section per task; each section owns its random stream, so the
  // result does not depend on the number of threads.
  std::atomic<int64_t> next{0};
  std::exception_ptr failure;
  std::mutex failureMutex;
  auto work = [&] {
    std::vector<float> grey(plane);
    std::vector<uint8_t> label(plane);
    try {
      for (int64_t z = next++; z < shape[0]; z = next++) {
        vol.renderSection(z, grey.data(), label.data());
        imageSection(vol, splitmix(streamBase + uint64_t(z)), z, shape, grey,
                     raw + z * plane);
        int64_t lz = z - off[0];
        if (!lab || lz < 0 || lz >= labShape[0])
          continue;
        for (int64_t x = 0; x < labShape[1]; ++x)
          for (int64_t y = 0; y < labShape[2]; ++y)
            lab[(lz * labShape[1] + x) * labShape[2] + y] =
                label[(x + off[1]) * shape[2] + y + off[2]];
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(failureMutex);
      failure = std::current_exception();
      next = shape[0];
    }
  };
  unsigned threads = spec.threads
                         ? spec.threads
                         : std::max(1u, std::thread::hardware_concurrency());
  threads = unsigned(std::min<int64_t>(threads, shape[0]));
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t)
    pool.emplace_back(work);
  work();
  for (std::thread &t : pool)
    t.join();
  if (failure)
    std::rethrow_exception(failure);
  return cube;
}

SyntheticSize parseSyntheticSize(const std::string &text) {
  if (text == "small")
    return SyntheticSize::Small;
  if (text == "full")
    return SyntheticSize::Full;
  throw ValueError("synthetic data: unknown size '" + text +
                   "' (expected small or full)");
}

} // namespace nm::data
