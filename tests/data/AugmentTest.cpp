//===- AugmentTest.cpp - greyAugment and the generator
//---------------------===//
#include "neuromancer/data/Augment.h"
#include "neuromancer/core/Error.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

using nm::data::greyAugment;
using nm::data::Rng;

TEST(Rng, SameSeedSameDrawsAndRandintInRange) {
  Rng a(7), b(7), c(8);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    double x = a.rand();
    EXPECT_EQ(x, b.rand());
    differs |= x != c.rand();
    EXPECT_GE(x, 0.0);
    EXPECT_LT(x, 1.0);
  }
  EXPECT_TRUE(differs);
  std::vector<int> seen(5, 0);
  for (int i = 0; i < 1000; ++i) {
    int64_t k = a.randint(3, 8);
    ASSERT_GE(k, 3);
    ASSERT_LT(k, 8);
    seen[k - 3]++;
  }
  for (int s : seen)
    EXPECT_GT(s, 100);
  EXPECT_THROW(a.randint(4, 4), nm::ValueError);
}

TEST(Rng, BatchGeneratorsDependOnSeedStreamAndIndex) {
  double base = Rng::forBatch(1, 0, 0).rand();
  EXPECT_EQ(base, Rng::forBatch(1, 0, 0).rand());
  EXPECT_NE(base, Rng::forBatch(2, 0, 0).rand());
  EXPECT_NE(base, Rng::forBatch(1, 1, 0).rand());
  EXPECT_NE(base, Rng::forBatch(1, 0, 1).rand());
}

// The documented formula, per channel, with the draws in E2's order: all
// alphas, all cs, all gammas.
TEST(GreyAugment, MatchesTheFormulaPerChannel) {
  const int64_t n = 50;
  std::vector<float> d(3 * n);
  for (int64_t i = 0; i < 3 * n; ++i)
    d[i] = static_cast<float>((i % n) / double(n - 1)); // 0..1 ramps
  std::vector<float> orig = d;
  Rng rng(123), ref(123);
  auto p = greyAugment(d.data(), 3, n, {2, 0}, rng);
  ASSERT_EQ(p.size(), 2u);
  double u[6];
  for (double &v : u)
    v = ref.rand();
  const double alpha[2] = {1 + (u[0] - 0.5) * 0.3, 1 + (u[1] - 0.5) * 0.3};
  const double c[2] = {(u[2] - 0.5) * 0.3, (u[3] - 0.5) * 0.3};
  const double gamma[2] = {std::pow(2.0, u[4] * 2 - 1),
                           std::pow(2.0, u[5] * 2 - 1)};
  for (int k = 0; k < 2; ++k) {
    EXPECT_DOUBLE_EQ(p[k].alpha, alpha[k]);
    EXPECT_DOUBLE_EQ(p[k].c, c[k]);
    EXPECT_DOUBLE_EQ(p[k].gamma, gamma[k]);
    EXPECT_GE(p[k].alpha, 0.85);
    EXPECT_LE(p[k].alpha, 1.15);
    EXPECT_GE(p[k].gamma, 0.5);
    EXPECT_LE(p[k].gamma, 2.0);
  }
  // Channel 2 got the first parameters, channel 0 the second (the listed
  // order), channel 1 is untouched.
  const int64_t chans[2] = {2, 0};
  for (int k = 0; k < 2; ++k)
    for (int64_t i = 0; i < n; ++i) {
      double x = orig[chans[k] * n + i];
      double want =
          std::pow(std::clamp(x * alpha[k] + c[k], 0.0, 1.0), gamma[k]);
      ASSERT_NEAR(d[chans[k] * n + i], want, 1e-6) << k << " " << i;
    }
  for (int64_t i = 0; i < n; ++i)
    EXPECT_EQ(d[n + i], orig[n + i]);
  // Two channels really get different curves (E2's broadcasting bug would
  // apply one).
  EXPECT_NE(p[0].gamma, p[1].gamma);
}

TEST(GreyAugment, EmptyChannelsDrawNothingAndBadChannelsThrow) {
  std::vector<float> d(10, 0.5f);
  Rng rng(1), ref(1);
  EXPECT_TRUE(greyAugment(d.data(), 1, 10, {}, rng).empty());
  EXPECT_EQ(rng.rand(), ref.rand());
  EXPECT_THROW(greyAugment(d.data(), 1, 10, {1}, rng), nm::ValueError);
}

TEST(NoiseAugment, AddsCentredUniformNoiseOfTheLevel) {
  std::vector<float> d(20000, 0.5f);
  Rng rng(4);
  nm::data::noiseAugment(d.data(), 20000, 0.15, rng);
  double sum = 0, mn = 1, mx = 0;
  for (float v : d) {
    sum += v;
    mn = std::min<double>(mn, v);
    mx = std::max<double>(mx, v);
  }
  EXPECT_NEAR(sum / 20000, 0.5, 0.002);
  EXPECT_GE(mn, 0.5 - 0.075 - 1e-6);
  EXPECT_LE(mx, 0.5 + 0.075 + 1e-6);
  EXPECT_LT(mn, 0.43);
  EXPECT_GT(mx, 0.57);
  EXPECT_THROW(nm::data::noiseAugment(d.data(), 1, 1.5, rng), nm::ValueError);
}

namespace {
// scipy's reflect index, written independently of the implementation.
double gaussW(int k, double s, int r) {
  double sum = 0;
  for (int j = -r; j <= r; ++j)
    sum += std::exp(-0.5 * j * j / (s * s));
  return std::exp(-0.5 * k * k / (s * s)) / sum;
}
} // namespace

TEST(GaussianFilter, MatchesScipyReflectOnAnImpulseAndAtTheBorder) {
  // An impulse in the middle: the separable product of the weights.
  std::array<int64_t, 3> sh = {11, 11, 11};
  std::vector<float> d(11 * 11 * 11, 0.f);
  d[(5 * 11 + 5) * 11 + 5] = 1.f;
  nm::data::gaussianFilter(d.data(), sh, 1.0); // radius int(4.5) = 4
  for (int z = 1; z <= 9; ++z)
    for (int x = 1; x <= 9; ++x)
      for (int y = 1; y <= 9; ++y)
        ASSERT_NEAR(d[(z * 11 + x) * 11 + y],
                    gaussW(z - 5, 1, 4) * gaussW(x - 5, 1, 4) *
                        gaussW(y - 5, 1, 4),
                    1e-7);
  EXPECT_EQ(d[(0 * 11 + 5) * 11 + 5], 0.f); // 5 away: outside the radius
  // At the border, 'reflect' folds d c b a | a b c d: a one at index 0 of a
  // line counts for index -1 as well.
  std::array<int64_t, 3> line = {1, 1, 8};
  std::vector<float> l(8, 0.f);
  l[0] = 1.f;
  nm::data::gaussianFilter(l.data(), line, 1.0);
  EXPECT_NEAR(l[0], gaussW(0, 1, 4) + gaussW(1, 1, 4), 1e-7);
  EXPECT_NEAR(l[1], gaussW(1, 1, 4) + gaussW(2, 1, 4), 1e-7);
  EXPECT_NEAR(l[3], gaussW(3, 1, 4) + gaussW(4, 1, 4), 1e-7);
  EXPECT_NEAR(l[4], gaussW(4, 1, 4), 1e-7);
  // A constant stays constant.
  std::vector<float> c(5 * 6 * 7, 0.25f);
  nm::data::gaussianFilter(c.data(), {5, 6, 7}, 2.0);
  for (float v : c)
    ASSERT_NEAR(v, 0.25f, 1e-6);
}

TEST(Blobs, UniformErasingFillsOneCubeOfTheDrawnSide) {
  std::array<int64_t, 3> sh = {20, 30, 30};
  std::vector<float> d(2 * 20 * 30 * 30, 0.f);
  nm::data::BlobArgs a;
  a.num_blob_range = {1, 2}; // exactly one blob per channel
  a.blob_size_range = {6, 7};
  a.value = 0.5;
  Rng rng(8);
  nm::data::addBlobs(d.data(), 2, sh, nm::data::BlobKind::Uniform, a, rng);
  for (int ch = 0; ch < 2; ++ch) {
    int64_t n = 0, lo[3] = {99, 99, 99}, hi[3] = {-1, -1, -1};
    for (int64_t z = 0; z < 20; ++z)
      for (int64_t x = 0; x < 30; ++x)
        for (int64_t y = 0; y < 30; ++y)
          if (d[((ch * 20 + z) * 30 + x) * 30 + y] == 0.5f) {
            ++n;
            int64_t p[3] = {z, x, y};
            for (int i = 0; i < 3; ++i) {
              lo[i] = std::min(lo[i], p[i]);
              hi[i] = std::max(hi[i], p[i]);
            }
          }
    EXPECT_EQ(n, 6 * 6 * 6) << ch;
    for (int i = 0; i < 3; ++i)
      EXPECT_EQ(hi[i] - lo[i], 5);
  }
  // Noise blobs stay in the noise range; blurred blobs keep a constant.
  std::vector<float> e(20 * 30 * 30, 0.f);
  a.noise_range = {2, 3};
  nm::data::addBlobs(e.data(), 1, sh, nm::data::BlobKind::Noise, a, rng);
  int64_t noisy = 0;
  for (float v : e) {
    ASSERT_TRUE(v == 0.f || (v >= 2.f && v < 3.f));
    noisy += v != 0.f;
  }
  EXPECT_EQ(noisy, 216);
  std::vector<float> f(20 * 30 * 30, 0.7f);
  a.num_blob_range = {5, 15};
  a.blob_size_range = {10, 32};
  nm::data::addBlobs(f.data(), 1, sh, nm::data::BlobKind::Blur, a, rng);
  for (float v : f)
    ASSERT_NEAR(v, 0.7f, 1e-5);
  a.num_blob_range = {3, 3};
  EXPECT_THROW(
      nm::data::addBlobs(f.data(), 1, sh, nm::data::BlobKind::Blur, a, rng),
      nm::ValueError);
}
