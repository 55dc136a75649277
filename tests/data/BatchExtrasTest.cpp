//===- BatchExtrasTest.cpp - getbatch's extras on small HDF5 cubes --------===//
//
// Border modes, explicit normalisation, affinities, nhood targets,
// lazy-label masks and the EM defect augmentations through
// BatchCreatorImage (cubes as in BatchFixture.h).
//
//===----------------------------------------------------------------------===//
#include "BatchFixture.h"

#include "neuromancer/core/Error.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>
#include <vector>

using nm::BatchCreatorImage;
using nm::GetBatchOptions;
using nm::Sizes;
using nm::testing::BatchCreator;
using nm::testing::expectError;
using nm::testing::writeCodeLabels;
using nm::testing::writeCoordImages;
using nm::testing::writeH5;

namespace {

std::vector<double> flat(const nm::Array &a, int64_t from, int64_t n) {
  std::vector<double> v;
  for (int64_t i = 0; i < n; ++i)
    v.push_back(a.getFlat(from + i));
  return v;
}

/// Labels (z, x, y) of segment ids: stripes id = x / 3 + 1, with a 0
/// (background) plane at every y % 5 == 0.
void writeStripeLabels(const std::string &path, const Sizes &sh) {
  std::vector<int16_t> v;
  for (int64_t z = 0; z < sh[0]; ++z)
    for (int64_t x = 0; x < sh[1]; ++x)
      for (int64_t y = 0; y < sh[2]; ++y)
        v.push_back(static_cast<int16_t>(y % 5 ? x / 3 + 1 : 0));
  writeH5<int16_t>(path, "lab", sh, v);
}

} // namespace

//===----------------------------------------------------------------------===//
// border_mode (img-scalar) and normalisation
//===----------------------------------------------------------------------===//

// Cube (3,5,5), values y + 1, patch (5,9,9): 'mirror' and '0-pad' pad it to
// the patch plus one, (6,10,10), ceil(excess/2) before: z (2,1), x/y (3,2).
// The patch reads 9 of the 10 voxels of each line, [0,9) or (flipped)
// [1,10).
TEST_F(BatchCreator, BorderModesMirrorAndZeroPadSmallImgScalarCubes) {
  nm::model_manager.newmodel();
  input = nm::Input({1, 1, 5, 9, 9}, "b,f,z,x,y", {.name = "raw"});
  target = nm::Input({1, 2}, "b,f", {.name = "cls", .dtype = "int16"});
  std::vector<float> cube;
  for (int i = 0; i < 75; ++i)
    cube.push_back(static_cast<float>(i % 5 + 1));
  writeH5<float>(file("raw_0.h5"), "raw", {3, 5, 5}, cube);
  writeH5<int32_t>(file("lab_0.h5"), "lab", {2}, {3, 7});
  auto o = opts();
  expectError<nm::ValueError>([&] { BatchCreatorImage(input, target, o); },
                              {"patch (5, 9, 9) is larger than the images "
                               "(3, 5, 5)"});
  o.border_mode = "0-pad";
  BatchCreatorImage zero(input, target, o);
  auto b = zero.getbatch({.batch_size = 4});
  for (int n = 0; n < 4; ++n) {
    double sum = 0;
    int nonzero = 0;
    for (double v : flat(b[0], n * 405, 405)) {
      sum += v;
      nonzero += v != 0;
    }
    EXPECT_EQ(sum, 225); // the whole cube, 3*5*(1+2+3+4+5)
    EXPECT_EQ(nonzero, 75);
  }
  o.border_mode = "mirror";
  BatchCreatorImage mirror(input, target, o);
  b = mirror.getbatch({.batch_size = 8});
  // numpy's 'symmetric' pad of 1 2 3 4 5 by (3, 2).
  const std::vector<double> padded = {3, 2, 1, 1, 2, 3, 4, 5, 5, 4};
  std::set<std::vector<double>> windows;
  for (int s = 0; s < 2; ++s) {
    std::vector<double> w(padded.begin() + s, padded.begin() + s + 9);
    windows.insert(w);
    windows.insert(std::vector<double>(w.rbegin(), w.rend()));
  }
  for (int n = 0; n < 8; ++n) {
    std::vector<double> alongY = flat(b[0], n * 405, 9), alongX;
    for (int x = 0; x < 9; ++x)
      alongX.push_back(b[0].getFlat(n * 405 + x * 9));
    // The values vary along one axis (x after a swap) and not the other.
    bool yVaries = alongY != std::vector<double>(9, alongY[0]);
    const auto &line = yVaries ? alongY : alongX;
    EXPECT_TRUE(windows.count(line)) << "example " << n;
    EXPECT_EQ(yVaries ? alongX : alongY,
              std::vector<double>(9, (yVaries ? alongX : alongY)[0]));
  }
  o.border_mode = "wrap";
  expectError<nm::ValueError>([&] { BatchCreatorImage(input, target, o); },
                              {"unknown border_mode 'wrap'"});
}

TEST_F(BatchCreator, ExplicitMeanAndStdReplaceTheDefaultScaling) {
  nodes({5, 9, 9}, {3, 5, 5}, {1, 2, 2});
  writeCoordImages(file("raw_0.h5"), {15, 21, 21});
  writeCodeLabels(file("lab_0.h5"), {9, 13, 13});
  auto o = opts();
  o.mean = std::vector<double>{0, 1, 2};
  o.std = std::vector<double>{1, 2, 4};
  BatchCreatorImage bc(input, target, o), plain(input, target, opts());
  auto x = bc.getbatch({.batch_size = 2}),
       y = plain.getbatch({.batch_size = 2});
  for (int64_t i = 0; i < x[0].size(); ++i) {
    int64_t c = (i / 405) % 3;
    ASSERT_EQ(x[0].getFlat(i),
              static_cast<float>((y[0].getFlat(i) - c) / double(1 << c)));
  }
  EXPECT_EQ(x[1], y[1]);
  // One value for every channel; the same through h5stream.
  o.mean = std::vector<double>{2};
  o.std = std::vector<double>{0.5};
  auto disk = o;
  disk.h5stream = true;
  BatchCreatorImage m(input, target, o), d(input, target, disk);
  x = m.getbatch({.batch_size = 2});
  EXPECT_EQ(x[0], d.getbatch({.batch_size = 2})[0]);
  for (int64_t i = 0; i < x[0].size(); ++i)
    ASSERT_EQ(x[0].getFlat(i), static_cast<float>((y[0].getFlat(i) - 2) / 0.5));
  o.std.reset();
  expectError<nm::ValueError>([&] { BatchCreatorImage(input, target, o); },
                              {"mean and std must be given together"});
  o.std = std::vector<double>{1, 2};
  expectError<nm::ValueError>(
      [&] { BatchCreatorImage(input, target, o); },
      {"option std has 2 values", "3 channel(s)", "raw_0.h5"});
  o.std = std::vector<double>{0};
  expectError<nm::ValueError>([&] { BatchCreatorImage(input, target, o); },
                              {"std must be > 0"});
}

//===----------------------------------------------------------------------===//
// Affinities, nhood targets, lazy-label masks
//===----------------------------------------------------------------------===//

TEST_F(BatchCreator, AffinitiesAreTheGraphOfTheStridedTarget) {
  nodes({5, 9, 9}, {3, 5, 5}, {1, 2, 2}, 3, "int16");
  writeCoordImages(file("raw_0.h5"), {15, 25, 25});
  writeStripeLabels(file("lab_0.h5"), {9, 17, 17});
  BatchCreatorImage plain(input, target, opts()), malis(input, target, opts()),
      aff(input, target, opts());
  GetBatchOptions g{.batch_size = 3};
  g.warp = 0.5;
  auto p = plain.getbatch(g);
  g.affinities = "malis";
  auto m = malis.getbatch(g);
  g.affinities = "affinity";
  g.ret_ll_mask = true;
  auto a = aff.getbatch(g);
  ASSERT_EQ(m.size(), 3u);
  ASSERT_EQ(a.size(), 4u); // images, aff, ll_mask1, ll_mask2
  EXPECT_EQ(m[0], p[0]);
  EXPECT_EQ(m[1], a[1]);
  const Sizes sh = {3, 3, 3}; // strided target
  EXPECT_EQ(m[1].shape(), (Sizes{3, 3, 3, 3, 3}));
  EXPECT_EQ(m[2].shape(), (Sizes{3, 1, 3, 3, 3}));
  EXPECT_EQ(m[1].dtype(), nm::DType::Int16);
  const Sizes step = {9, 3, 1};
  int ones = 0;
  for (int64_t n = 0; n < 3; ++n)
    for (int e = 0; e < 3; ++e)
      for (int64_t z = 0; z < 3; ++z)
        for (int64_t x = 0; x < 3; ++x)
          for (int64_t y = 0; y < 3; ++y) {
            int64_t v = (z * 3 + x) * 3 + y;
            int64_t q[3] = {z + (e == 0), x + (e == 1), y + (e == 2)};
            double t = p[1].getFlat(n * 27 + v), u = -1;
            if (q[0] < 3 && q[1] < 3 && q[2] < 3)
              u = p[1].getFlat(n * 27 + v + step[e]);
            int expect = t == u && t > 0;
            ASSERT_EQ(m[1].getFlat((n * 3 + e) * 27 + v), expect);
            ones += expect;
            // Connected voxels share one positive segment.
            if (expect) {
              ASSERT_GT(m[2].getFlat(n * 27 + v), 0);
              ASSERT_EQ(m[2].getFlat(n * 27 + v),
                        m[2].getFlat(n * 27 + v + step[e]));
            }
          }
  EXPECT_GT(ones, 0);
  for (int n = 0; n < 3; ++n) {
    EXPECT_EQ(a[2].getFlat(n), 1); // no ll_mask dataset: (1), (0)
    EXPECT_EQ(a[3].getFlat(n), 0);
  }
  g.affinities = "mst";
  expectError<nm::ValueError>([&] { aff.getbatch(g); },
                              {"unknown affinities 'mst'"});
}

TEST_F(BatchCreator, NhoodTargetsShiftTheDenseTarget) {
  nodes({5, 9, 9}, {3, 5, 5}, {1, 2, 2});
  writeCoordImages(file("raw_0.h5"), {15, 21, 21});
  writeCodeLabels(file("lab_0.h5"), {9, 13, 13});
  BatchCreatorImage a(input, target, opts()), b(input, target, opts());
  GetBatchOptions g{.batch_size = 2};
  g.force_dense = true;
  auto plain = a.getbatch(g);
  g.nhood_targets = true;
  auto nh = b.getbatch(g);
  EXPECT_EQ(nh[1].shape(), (Sizes{2, 7, 3, 5, 5}));
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t z = 0; z < 3; ++z)
      for (int64_t i = 0; i < 25; ++i) {
        double t = plain[1].getFlat(n * 75 + z * 25 + i);
        ASSERT_EQ(nh[1].getFlat(n * 525 + z * 25 + i), t); // offset 0
        // Offset (1,0,0): the value one section lower, -1 at z = 0.
        ASSERT_EQ(nh[1].getFlat(n * 525 + 75 + z * 25 + i),
                  z ? plain[1].getFlat(n * 75 + (z - 1) * 25 + i) : -1);
      }
  g.nhood = {{0, 0, 2}};
  EXPECT_EQ(b.getbatch(g)[1].shape(), (Sizes{2, 1, 3, 5, 5}));
}

TEST_F(BatchCreator, LazyLabelMasksComeFromTheLabelFiles) {
  nodes({3, 5, 5}, {1, 3, 3}, {1, 1, 1}, 1, "int16");
  for (int k = 0; k < 2; ++k) {
    writeH5<float>(file("raw_" + std::to_string(k) + ".h5"), "raw",
                   {12, 12, 12}, std::vector<float>(1728, 0.5f));
    writeH5<int16_t>(file("lab_" + std::to_string(k) + ".h5"), "lab",
                     {12, 12, 12}, std::vector<int16_t>(1728, -1));
  }
  // Cube 1 marks its targets as lazy (second row 1): ignore_thresh, which
  // would reject every example (all targets -1), does not apply to it.
  writeH5<int16_t>(file("lab_1.h5"), "ll_mask", {2, 1}, {1, 1}, false);
  auto o = opts(2);
  o.valid_cubes = {0};
  BatchCreatorImage bc(input, target, o);
  GetBatchOptions g{.batch_size = 3};
  g.ignore_thresh = 0.0;
  g.ret_ll_mask = true;
  auto b = bc.getbatch(g);
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(b[2].shape(), (Sizes{3, 1}));
  EXPECT_EQ(b[2].dtype(), nm::DType::Int16);
  for (int n = 0; n < 3; ++n) {
    EXPECT_EQ(b[2].getFlat(n), 1);
    EXPECT_EQ(b[3].getFlat(n), 1);
  }
  writeH5<int16_t>(file("lab_1.h5"), "lab", {12, 12, 12},
                   std::vector<int16_t>(1728, -1));
  writeH5<int16_t>(file("lab_1.h5"), "ll_mask", {3}, {1, 1, 1}, false);
  expectError<nm::ValueError>([&] { BatchCreatorImage(input, target, o); },
                              {"'ll_mask'", "lab_1.h5", "expected (2, 1)"});
}

//===----------------------------------------------------------------------===//
// EM defect augmentations
//===----------------------------------------------------------------------===//

namespace {
GetBatchOptions allDefects() {
  GetBatchOptions g{.batch_size = 3, .grey_augment_channels = {0}};
  g.warp = 0.5;
  g.warp_args.perspective = true;
  g.elastic_probability = 0.5;
  g.elastic_args.spacing = {2, 4, 4};
  g.misalignment_probability = 0.5;
  g.misalignment_args.max_shift = 2;
  g.missing_section_probability = 0.5;
  g.motion_blur_probability = 0.5;
  g.motion_blur_args.length_range = {3, 5};
  g.affinities = "malis";
  g.nhood_targets = true;
  g.ret_ll_mask = true;
  return g;
}
} // namespace

// Everything new at once (defects, nhood targets, affinities, ll-masks):
// the same batches from 0, 1 and 2 workers and from h5stream.
TEST_F(BatchCreator, EmDefectsAreReproducibleWhateverTheWorkersAndSource) {
  nodes({5, 9, 9}, {3, 5, 5}, {1, 2, 2});
  writeCoordImages(file("raw_0.h5"), {15, 21, 21});
  writeCodeLabels(file("lab_0.h5"), {9, 13, 13});
  const GetBatchOptions g = allDefects();
  auto disk = opts();
  disk.h5stream = true;
  BatchCreatorImage a(input, target, opts()), b(input, target, opts()),
      c(input, target, opts()), d(input, target, disk),
      plain(input, target, opts());
  b.set_background(1);
  c.set_background(2);
  d.set_background(2);
  bool changed = false;
  for (int i = 0; i < 4; ++i) {
    auto x = a.getbatch(g), y = b.getbatch(g), z = c.getbatch(g),
         w = d.getbatch(g), p = plain.getbatch({.batch_size = 3});
    ASSERT_EQ(x.size(), 5u); // images, aff, seg, ll_mask1, ll_mask2
    for (size_t k = 0; k < x.size(); ++k) {
      ASSERT_EQ(x[k], y[k]) << i << " " << k;
      ASSERT_EQ(x[k], z[k]) << i << " " << k;
      ASSERT_EQ(x[k], w[k]) << i << " " << k;
    }
    changed |= x[0] != p[0];
  }
  EXPECT_TRUE(changed);
  // Valid batches get none of them (as greyAugment): the same as without.
  GetBatchOptions gv = g, pv{.batch_size = 3};
  gv.affinities.clear();
  gv.source = pv.source = "valid";
  gv.grey_augment_channels.clear();
  pv.warp = gv.warp;
  pv.warp_args = gv.warp_args;
  writeCoordImages(file("raw_1.h5"), {15, 21, 21});
  writeCodeLabels(file("lab_1.h5"), {9, 13, 13});
  auto o = opts(2);
  o.valid_cubes = {1};
  BatchCreatorImage w1(input, target, o), w2(input, target, o);
  EXPECT_EQ(w1.getbatch(gv)[0], w2.getbatch(pv)[0]);
}

TEST_F(BatchCreator, MissingSectionsShowInTheBatchAndBadOptionsAreNamed) {
  nodes({5, 9, 9}, {3, 5, 5}, {1, 2, 2});
  writeCoordImages(file("raw_0.h5"), {15, 21, 21});
  writeCodeLabels(file("lab_0.h5"), {9, 13, 13});
  BatchCreatorImage bc(input, target, opts());
  GetBatchOptions g{.batch_size = 4};
  g.missing_section_probability = 1;
  g.missing_section_args.value = -5;
  auto b = bc.getbatch(g);
  for (int64_t n = 0; n < 4; ++n) {
    int missing = 0;
    for (int64_t z = 0; z < 5; ++z) {
      auto s = flat(b[0], (n * 3 * 5 + z) * 81, 81);
      missing += s == std::vector<double>(81, -5.0);
    }
    EXPECT_EQ(missing, 1) << "example " << n;
  }
  g.missing_section_probability = 0;
  g.elastic_probability = 1.5;
  expectError<nm::ValueError>([&] { bc.getbatch(g); },
                              {"elastic_probability", "1.5"});
  g.elastic_probability = 1;
  g.elastic_args.magnitude = {0, -2, 0};
  expectError<nm::ValueError>([&] { bc.getbatch(g); },
                              {"elastic_args.magnitude", "-2"});
  // Sections need a 3-D network.
  nm::model_manager.newmodel();
  nodes({9, 9}, {5, 5}, {2, 2});
  writeCoordImages(file("raw_0.h5"), {4, 15, 15});
  writeCodeLabels(file("lab_0.h5"), {4, 11, 11});
  BatchCreatorImage flat2d(input, target, opts());
  GetBatchOptions m{.batch_size = 1};
  m.misalignment_probability = 0.5;
  expectError<nm::ValueError>([&] { flat2d.getbatch(m); },
                              {"misalignment_args", "at least 2 sections"});
  m.misalignment_probability = 0;
  m.affinities = "malis";
  expectError<nm::NotImplementedError>([&] { flat2d.getbatch(m); },
                                       {"3-D network", "(9, 9)"});
  m.affinities.clear();
  m.elastic_probability = 1; // elastic and motion blur work in 2-D
  m.motion_blur_probability = 1;
  EXPECT_EQ(flat2d.getbatch(m)[0].shape(), (Sizes{1, 3, 9, 9}));
}
