//===- DenseTilingTest.cpp - predict_dense geometry (vectors 8, 9, 12) ----===//
#include "neuromancer/core/DenseTiling.h"

#include <gtest/gtest.h>

using namespace nm;

TEST(DenseTiling, MfpSeedModelWithPadding) { // vector 8
  // MFP-rebuilt seed model: patch (22,182,182), dense out (14,156,156).
  DenseTiling t = *denseTiling({3, 50, 300, 300}, {22, 182, 182},
                               {14, 156, 156}, {1, 1, 1}, {4, 13, 13}, true);
  EXPECT_EQ(t.logLine(), "Predicting img (3, 58, 326, 326) in 16 Blocks: "
                         "(4, 2, 2)");
  EXPECT_EQ(t.predShape, (Sizes{50, 300, 300}));
  EXPECT_EQ(t.tileShape, (Sizes{22, 182, 182}));
  EXPECT_EQ(t.callsPerTile, 1);
}

TEST(DenseTiling, StridedSeedModel) { // vector 9
  DenseTiling t = *denseTiling({3, 50, 300, 300}, {23, 183, 183}, {8, 40, 40},
                               {2, 4, 4}, {4, 13, 13}, true);
  EXPECT_EQ(t.tileShape, (Sizes{24, 186, 186}));
  EXPECT_EQ(t.probShape, (Sizes{16, 160, 160}));
  EXPECT_EQ(t.tiles, (Sizes{4, 2, 2}));
  EXPECT_EQ(t.callsPerTile, 32);
}

TEST(DenseTiling, Neuro3dWithoutPadding) { // vector 12
  DenseTiling t = *denseTiling({1, 32, 160, 160}, {23, 185, 185}, {5, 21, 21},
                               {2, 4, 4}, {7, 52, 52}, false);
  EXPECT_EQ(t.tileShape, (Sizes{24, 188, 188}));
  EXPECT_EQ(t.probShape, (Sizes{10, 84, 84}));
  EXPECT_EQ(t.predShape, (Sizes{18, 56, 56}));
  EXPECT_EQ(t.tiles, (Sizes{2, 1, 1}));
  EXPECT_EQ(t.logLine(), "Predicting img (1, 32, 160, 160) in 2 Blocks: "
                         "(2, 1, 1)");
}

TEST(DenseTiling, BadInput) {
  EXPECT_FALSE(denseTiling({1, 10, 10, 10}, {23, 185, 185}, {5, 21, 21},
                           {2, 4, 4}, {7, 52, 52}, false))
      << "raw smaller than the field of view";
  EXPECT_FALSE(denseTiling({1, 100, 100}, {23, 185, 185}, {5, 21, 21},
                           {2, 4, 4}, {7, 52, 52}, false))
      << "rank mismatch";
  auto unknown =
      denseTiling({1, 40, 40}, {20, 20}, {20, 20}, {1, 1}, {-1, -1}, false);
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.message().find("unknown"), std::string::npos);
  EXPECT_FALSE(denseTiling({1, 40}, {20}, {20}, {1}, {0}, false))
      << "needs 2 spatial axes";
}
