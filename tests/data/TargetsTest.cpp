//===- TargetsTest.cpp - nhood targets, striding, affinity graphs ---------===//
//
// Hand-computed cases of ELEKTRONN2's make_nhood_targets, seg_to_affgraph
// and affgraph_to_seg (reference §6.4 steps 5-8).
//
//===----------------------------------------------------------------------===//
#include "neuromancer/data/Targets.h"
#include "neuromancer/core/Error.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

using nm::data::Index3;

TEST(Targets, SegToAffgraphConnectsEqualPositiveIdsOnly) {
  // One row along y: ids 1 1 0 2 2 -1 -1.
  std::vector<double> seg = {1, 1, 0, 2, 2, -1, -1};
  const Index3 sh = {1, 1, 7};
  std::vector<Index3> nhood = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
  std::vector<int16_t> aff(3 * 7, 9);
  nm::data::segToAffgraph(seg.data(), sh, nhood, aff.data());
  // z and x edges leave the volume: 0. The last voxel's y edge too.
  for (int i = 0; i < 14; ++i)
    EXPECT_EQ(aff[i], 0) << i;
  std::vector<int16_t> y(aff.begin() + 14, aff.end());
  EXPECT_EQ(y, (std::vector<int16_t>{1, 0, 0, 1, 0, 0, 0}));
  // A negative offset connects to the lower neighbour.
  nm::data::segToAffgraph(seg.data(), sh, {{0, 0, -1}}, aff.data());
  EXPECT_EQ(std::vector<int16_t>(aff.begin(), aff.begin() + 7),
            (std::vector<int16_t>{0, 1, 0, 0, 1, 0, 0}));
}

TEST(Targets, AffgraphToSegNumbersComponentsAndDropsSingletons) {
  // 2 x 3 plane: ids 5 5 0 / 7 0 7 -> component {0,1}; the two 7s are
  // not neighbours, so they and the 0s are singletons (size_thresh 1).
  std::vector<double> seg = {5, 5, 0, 7, 0, 7};
  const Index3 sh = {1, 2, 3};
  std::vector<Index3> nhood = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
  std::vector<int16_t> aff(3 * 6), out(6, 9);
  nm::data::segToAffgraph(seg.data(), sh, nhood, aff.data());
  nm::data::affgraphToSeg(aff.data(), sh, nhood, 1, out.data());
  EXPECT_EQ(out, (std::vector<int16_t>{1, 1, 0, 0, 0, 0}));
  // Two components of size 2 (joined along x), numbered by their first
  // voxel; size_thresh 0 keeps singletons, the id-0 voxels too (as E2).
  seg = {3, 0, 4, 3, 0, 4};
  nm::data::segToAffgraph(seg.data(), sh, nhood, aff.data());
  nm::data::affgraphToSeg(aff.data(), sh, nhood, 1, out.data());
  EXPECT_EQ(out, (std::vector<int16_t>{1, 0, 2, 1, 0, 2}));
  nm::data::affgraphToSeg(aff.data(), sh, nhood, 0, out.data());
  EXPECT_EQ(out, (std::vector<int16_t>{1, 2, 3, 1, 4, 3}));
}

TEST(Targets, MakeAffinitiesUsesChannelZeroOfEachExample) {
  // bs 2, 2 channels, (2, 1, 2): example 0 ids all 1; example 1 ids 1 2 / 1
  // 2. Channel 1 holds garbage that must be ignored.
  std::vector<float> v = {1, 1, 1, 1, 8, 9, 8, 9, 1, 2, 1, 2, 0, 0, 0, 0};
  nm::Array t = nm::Array::fromVector({2, 2, 2, 1, 2}, v);
  nm::Array aff, seg;
  nm::data::makeAffinities(t, aff, seg);
  EXPECT_EQ(aff.shape(), (std::vector<int64_t>{2, 3, 2, 1, 2}));
  EXPECT_EQ(seg.shape(), (std::vector<int64_t>{2, 1, 2, 1, 2}));
  EXPECT_EQ(aff.dtype(), nm::DType::Int16);
  // Example 0: z edges (voxels of z=0) and y edges (y=0) are 1.
  std::vector<double> a0, a1, s;
  for (int i = 0; i < 12; ++i) {
    a0.push_back(aff.getFlat(i));
    a1.push_back(aff.getFlat(12 + i));
  }
  EXPECT_EQ(a0, (std::vector<double>{1, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0}));
  EXPECT_EQ(a1, (std::vector<double>{1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
  for (int i = 0; i < 8; ++i)
    s.push_back(seg.getFlat(i));
  EXPECT_EQ(s, (std::vector<double>{1, 1, 1, 1, 1, 2, 1, 2}));
}

TEST(Targets, NhoodTargetsShiftChannelZeroAndKeepTheOthers) {
  // One example, 2 channels of (1, 1, 3): channel 0 = 1 2 3, channel 1 = 7.
  std::vector<double> d = {1, 2, 3, 7, 7, 7};
  int64_t n =
      nm::data::nhoodTargets(d, 1, 2, {1, 1, 3}, {{0, 0, 0}, {0, 0, 1}});
  EXPECT_EQ(n, 3);
  // out[p] = t[p - o]: offset +1 along y gives -1 1 2.
  EXPECT_EQ(d, (std::vector<double>{1, 2, 3, -1, 1, 2, 7, 7, 7}));
  EXPECT_EQ(nm::data::defaultNhood().size(), 7u);
  d = {1, 2, 3};
  nm::data::nhoodTargets(d, 1, 1, {1, 1, 3}, nm::data::defaultNhood());
  EXPECT_EQ(d, (std::vector<double>{1,  2,  3,  -1, -1, -1, -1, -1, -1, -1, -1,
                                    -1, -1, -1, -1, -1, 1,  2,  2,  3,  -1}));
}

TEST(Targets, WriteStridedTakesEverySthVoxelAndReplacesNan) {
  std::vector<double> d = {0, 1, 2, 3, NAN, 5};
  // Rows (0 1 2), (3 nan 5); y strided by 2: 0 2 / 3 5.
  nm::Array out2({1, 1, 2, 2}, nm::DType::Int16);
  nm::data::writeStrided(out2, d, 1, {1, 2, 3}, {1, 1, 2});
  EXPECT_EQ(out2.getFlat(0), 0);
  EXPECT_EQ(out2.getFlat(1), 2);
  EXPECT_EQ(out2.getFlat(2), 3);
  EXPECT_EQ(out2.getFlat(3), 5);
  nm::Array out3({1, 1, 2, 3}, nm::DType::Int16);
  nm::data::writeStrided(out3, d, 1, {1, 2, 3}, {1, 1, 1});
  EXPECT_EQ(out3.getFlat(4), -666);
}
