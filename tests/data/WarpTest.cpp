//===- WarpTest.cpp - the warp matrix, centre ranges, interpolation -------===//
#include "neuromancer/data/Warp.h"
#include "neuromancer/core/Error.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

using namespace nm::data;

namespace {

void expectPoint(const Vec3 &got, const Vec3 &want, double tol = 1e-9) {
  for (int a = 0; a < 3; ++a)
    EXPECT_NEAR(got[a], want[a], tol) << "axis " << a;
}

std::array<CentreRange, 3> ranges(const Index3 &img, const Index3 &ps) {
  return {centreRange(img[0], ps[0]), centreRange(img[1], ps[1]),
          centreRange(img[2], ps[2])};
}

} // namespace

// Reference §6.4: neuro3d on neuro_data_zxy.
TEST(CentreRange, Neuro3dOnNeuroDataZxy) {
  CentreRange z = centreRange(250, 23, 150, 9);
  EXPECT_EQ(z.lo, 54);
  EXPECT_EQ(z.hi, 195);
  EXPECT_DOUBLE_EQ(z.first(), 54.5);
  EXPECT_DOUBLE_EQ(z.last(), 194.5);
  CentreRange x = centreRange(350, 185, 150, 81);
  EXPECT_DOUBLE_EQ(x.first(), 140.5);
  EXPECT_DOUBLE_EQ(x.last(), 208.5);
  // Without a target: ps/2 .. img - ps/2.
  CentreRange free = centreRange(350, 185);
  EXPECT_DOUBLE_EQ(free.first(), 92.5);
  EXPECT_DOUBLE_EQ(free.last(), 256.5);
  // An even patch: no half-voxel remainder.
  CentreRange even = centreRange(10, 4);
  EXPECT_DOUBLE_EQ(even.first(), 2);
  EXPECT_DOUBLE_EQ(even.last(), 7);
  // Exactly one centre fits; none when the patch is larger.
  CentreRange one = centreRange(23, 23);
  EXPECT_FALSE(one.empty());
  EXPECT_DOUBLE_EQ(one.first(), 11.5);
  EXPECT_DOUBLE_EQ(one.last(), 11.5);
  EXPECT_TRUE(centreRange(20, 23).empty());
  // Labels too small for the target patch.
  EXPECT_TRUE(centreRange(250, 23, 8, 9).empty());
}

TEST(WarpMatrix, WithoutWarpItIsAFlipSwapBetweenTheTranslations) {
  Rng rng(5);
  WarpArgs args; // lock_z, sample_aniso
  const Index3 ps = {23, 185, 185};
  int sawSwap = 0, sawFlip = 0;
  for (int t = 0; t < 50; ++t) {
    WarpDraw d = drawWarp(rng, ranges({250, 350, 350}, ps), 0.0, args);
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) {
        EXPECT_EQ(d.R[i][j], i == j ? 1.0 : 0.0);
        EXPECT_EQ(d.W[i][j], i == j ? 1.0 : 0.0);
      }
    Mat4 M = composeWarp(d, ps, 2.0, true);
    // The centre goes to ps/2.
    expectPoint(apply4(M, d.centre, false), {11.5, 92.5, 92.5});
    // Linear part: a signed permutation; z stays z (lock_z) with |1| after
    // S_dest * S_src cancel.
    EXPECT_EQ(std::fabs(M[0][0]), 1.0);
    EXPECT_EQ(M[0][1], 0.0);
    EXPECT_EQ(M[0][2], 0.0);
    EXPECT_EQ(std::fabs(M[1][1]) + std::fabs(M[1][2]), 1.0);
    EXPECT_EQ(std::fabs(M[2][1]) + std::fabs(M[2][2]), 1.0);
    EXPECT_EQ(M[3][0], 0.0);
    EXPECT_EQ(M[3][3], 1.0);
    sawSwap += M[1][2] != 0;
    sawFlip += M[0][0] < 0;
    // The centre lies in the documented range.
    EXPECT_GE(d.centre[0], 11.5);
    EXPECT_LE(d.centre[0], 237.5);
  }
  // Flips and swaps are drawn even without warping (reference quirk 20).
  EXPECT_GT(sawSwap, 5);
  EXPECT_GT(sawFlip, 5);
}

TEST(WarpMatrix, NoXFlipKeepsYAndSwapsNothing) {
  Rng rng(9);
  WarpArgs args;
  args.no_x_flip = true;
  for (int t = 0; t < 20; ++t) {
    WarpDraw d = drawWarp(rng, ranges({30, 30, 30}, {5, 5, 5}), 0.0, args);
    EXPECT_EQ(d.F[2][2], 1.0);
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j)
        EXPECT_EQ(d.S[i][j], i == j ? 1.0 : 0.0);
  }
}

TEST(WarpMatrix, AKnownRotationMapsAKnownPoint) {
  WarpDraw d;
  d.centre = {20.5, 30, 40};
  d.R = rotateZ4(M_PI / 2); // x' = -y, y' = x
  const Index3 ps = {7, 20, 20};
  Mat4 M = composeWarp(d, ps, 2.0, true);
  // One voxel along x in the cube -> one voxel along y in the patch.
  expectPoint(apply4(M, {20.5, 31, 40}, false), {3.5, 10, 11});
  // One voxel along y -> minus one along x.
  expectPoint(apply4(M, {20.5, 30, 41}, false), {3.5, 9, 10});
  // z: scaled by aniso (S_src) and back (S_dest).
  expectPoint(apply4(M, {21.5, 30, 40}, false), {4.5, 10, 10});
  // Without sample_aniso a z step counts twice.
  Mat4 M2 = composeWarp(d, ps, 2.0, false);
  expectPoint(apply4(M2, {21.5, 30, 40}, false), {5.5, 10, 10});
  // A 3-D rotation about y (z,x plane) by 90 degrees with aniso 1.
  WarpDraw e;
  e.centre = {10, 10, 10};
  e.R = rotateY4(M_PI / 2); // z' = -x, x' = z
  Mat4 M3 = composeWarp(e, {8, 8, 8}, 1.0, true);
  expectPoint(apply4(M3, {11, 10, 10}, false), {4, 5, 4});
  // invert4 undoes it.
  expectPoint(apply4(invert4(M3), {4, 5, 4}, false), {11, 10, 10});
}

TEST(WarpMatrix, RandomWarpRespectsLockZAndPerspective) {
  Rng rng(11);
  WarpArgs a;
  a.perspective = true;
  bool nonzeroPersp = false;
  for (int t = 0; t < 20; ++t) {
    WarpDraw d = drawWarp(rng, ranges({40, 40, 40}, {5, 5, 5}), 1.0, a);
    for (int i = 0; i < 4; ++i) {
      if (i != 0) {
        EXPECT_EQ(d.W[0][i], 0.0); // lock_z: row 0 and column 0
        EXPECT_EQ(d.W[i][0], 0.0);
      }
    }
    EXPECT_EQ(d.W[3][3], 1.0);
    for (int j = 0; j < 3; ++j) {
      EXPECT_LE(std::fabs(d.W[3][j]), 3e-3);
      nonzeroPersp |= d.W[3][j] != 0;
    }
    EXPECT_LE(std::fabs(d.W[1][2]), 0.1);
    // R is an in-plane rotation: z untouched.
    EXPECT_NEAR(d.R[0][0], 1.0, 1e-12);
  }
  EXPECT_TRUE(nonzeroPersp);
  WarpArgs affine;
  affine.lock_z = false;
  for (int t = 0; t < 20; ++t) {
    WarpDraw d = drawWarp(rng, ranges({40, 40, 40}, {5, 5, 5}), 1.0, affine);
    for (int j = 0; j < 3; ++j)
      EXPECT_EQ(d.W[3][j], 0.0);
    // R is a rotation: orthonormal rows.
    for (int i = 0; i < 3; ++i) {
      double n = 0;
      for (int j = 0; j < 3; ++j)
        n += d.R[i][j] * d.R[i][j];
      EXPECT_NEAR(n, 1.0, 1e-12);
    }
  }
}

namespace {

double ramp(double z, double x, double y) { return 3 * z + 2 * x - y + 7; }

std::vector<float> rampVolume(const Index3 &sh) {
  std::vector<float> v(sh[0] * sh[1] * sh[2]);
  for (int64_t z = 0; z < sh[0]; ++z)
    for (int64_t x = 0; x < sh[1]; ++x)
      for (int64_t y = 0; y < sh[2]; ++y)
        v[(z * sh[1] + x) * sh[2] + y] = static_cast<float>(ramp(z, x, y));
  return v;
}

Mat4 someWarp(bool perspective) {
  Rng rng(3);
  WarpArgs a;
  a.lock_z = false;
  a.perspective = perspective;
  WarpDraw d = drawWarp(rng, ranges({40, 60, 60}, {6, 12, 12}), 0.3, a);
  d.centre = {20, 30, 30};
  return composeWarp(d, {6, 12, 12}, 2.0, true);
}

} // namespace

TEST(Interpolation, TrilinearIsExactOnLinearRamps) {
  const Index3 sh = {40, 60, 60}, ps = {6, 12, 12};
  std::vector<float> vol = rampVolume(sh);
  for (bool persp : {false, true}) {
    Mat4 M = someWarp(persp);
    Mat4 inv = invert4(M);
    std::vector<float> out(6 * 12 * 12);
    ASSERT_TRUE(warpImage({vol.data(), 1, sh}, ps, M, out.data()));
    bool fractional = false;
    for (int64_t z = 0; z < ps[0]; ++z)
      for (int64_t x = 0; x < ps[1]; ++x)
        for (int64_t y = 0; y < ps[2]; ++y) {
          Vec3 s = apply4(inv, {double(z), double(x), double(y)}, persp);
          fractional |= s[1] != std::floor(s[1]);
          ASSERT_NEAR(out[(z * ps[1] + x) * ps[2] + y], ramp(s[0], s[1], s[2]),
                      2e-4);
        }
    EXPECT_TRUE(fractional); // the test really interpolates
  }
}

TEST(Interpolation, NearestForDiscreteTargetsLinearOtherwise) {
  const Index3 img = {40, 60, 60}, lab = {30, 40, 40};
  const Index3 ps = {6, 12, 12}, tps = {4, 6, 6};
  std::vector<float> f = rampVolume(lab);
  std::vector<double> two(2 * f.size());
  for (size_t i = 0; i < f.size(); ++i)
    two[i] = two[f.size() + i] = f[i];
  Mat4 M = someWarp(false);
  Mat4 inv = invert4(M);
  std::vector<double> out(2 * 4 * 6 * 6);
  ASSERT_TRUE(warpTarget({two.data(), 2, lab}, img, ps, tps, M, {true, false},
                         {}, out.data()));
  const int64_t vol = 4 * 6 * 6;
  for (int64_t z = 0; z < 4; ++z)
    for (int64_t x = 0; x < 6; ++x)
      for (int64_t y = 0; y < 6; ++y) {
        Vec3 s = apply4(inv, {z + 1.0, x + 3.0, y + 3.0}, false);
        // Into label space: off = (img - lab) / 2 = (5, 10, 10).
        s[0] -= 5;
        s[1] -= 10;
        s[2] -= 10;
        int64_t i = (z * 6 + x) * 6 + y;
        EXPECT_EQ(out[i], ramp(std::nearbyint(s[0]), std::nearbyint(s[1]),
                               std::nearbyint(s[2])));
        EXPECT_NEAR(out[vol + i], ramp(s[0], s[1], s[2]), 2e-4);
      }
}

TEST(Interpolation, OutOfBoundsIsReportedNotRead) {
  const Index3 sh = {10, 10, 10};
  std::vector<float> vol = rampVolume(sh);
  std::vector<float> out(5 * 5 * 5);
  WarpDraw d;
  d.centre = {2.5, 5.5, 5.5}; // the patch starts at z = 0: fits
  EXPECT_TRUE(warpImage({vol.data(), 1, sh}, {5, 5, 5},
                        composeWarp(d, {5, 5, 5}, 1, true), out.data()));
  EXPECT_EQ(out[0], ramp(0, 3, 3));
  d.centre = {1.5, 5.5, 5.5}; // starts at z = -1
  EXPECT_FALSE(warpImage({vol.data(), 1, sh}, {5, 5, 5},
                         composeWarp(d, {5, 5, 5}, 1, true), out.data()));
  d.centre = {7.5, 5.5, 5.5}; // ends at z = 9: +1 for interpolation is out
  EXPECT_FALSE(warpImage({vol.data(), 1, sh}, {5, 5, 5},
                         composeWarp(d, {5, 5, 5}, 1, true), out.data()));
}
