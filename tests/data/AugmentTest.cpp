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
