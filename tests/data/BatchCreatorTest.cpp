//===- BatchCreatorTest.cpp - BatchCreatorImage on small HDF5 cubes -------===//
//
// The cubes are written by the tests: images whose three channels hold their
// own (z, x, y) coordinates (trilinear interpolation is exact on them, so a
// patch tells where every voxel was read) and labels holding the code
// z*10000 + x*100 + y of their label-space coordinates. A target voxel and
// the image voxel it belongs to must then name the same place.
//
//===----------------------------------------------------------------------===//
#include "BatchFixture.h"

#include "neuromancer/core/Error.h"
#include "neuromancer/data/BatchCreatorImage.h"
#include "neuromancer/frontend/Layers.h"
#include "neuromancer/frontend/Model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

using nm::BatchCreatorImage;
using nm::BatchCreatorOptions;
using nm::GetBatchOptions;
using nm::Sizes;
using nm::testing::BatchCreator;
using nm::testing::expectError;
using nm::testing::writeCodeLabels;
using nm::testing::writeCoordImages;
using nm::testing::writeH5;

namespace {

/// Every target voxel names (by its label code) the place its image voxel
/// was read from: exactly without warp, within 0.5 with nearest under warp.
void expectAligned(const std::vector<nm::Array> &b, const Sizes &lab,
                   const Sizes &off, const Sizes &ps, const Sizes &tps,
                   const Sizes &s, bool exact) {
  const nm::Array &img = b[0], &t = b[1];
  const int64_t bs = img.shape()[0];
  Sizes o = {t.shape()[2], t.shape()[3], t.shape()[4]};
  const int64_t pv = ps[0] * ps[1] * ps[2];
  for (int64_t n = 0; n < bs; ++n)
    for (int64_t i = 0; i < o[0]; ++i)
      for (int64_t j = 0; j < o[1]; ++j)
        for (int64_t k = 0; k < o[2]; ++k) {
          int64_t code = static_cast<int64_t>(
              t.getFlat(((n * o[0] + i) * o[1] + j) * o[2] + k));
          int64_t l[3] = {code / 10000, (code / 100) % 100, code % 100};
          for (int a = 0; a < 3; ++a) {
            ASSERT_GE(l[a], 0);
            ASSERT_LT(l[a], lab[a]) << "a target read outside the labels";
          }
          int64_t p[3] = {(ps[0] - tps[0]) / 2 + i * s[0],
                          (ps[1] - tps[1]) / 2 + j * s[1],
                          (ps[2] - tps[2]) / 2 + k * s[2]};
          int64_t flat = (p[0] * ps[1] + p[1]) * ps[2] + p[2];
          for (int a = 0; a < 3; ++a) {
            double c = img.getFlat((n * 3 + a) * pv + flat);
            if (exact)
              ASSERT_EQ(c, double(l[a] + off[a])) << "axis " << a;
            else
              ASSERT_LE(std::fabs(c - (l[a] + off[a])), 0.5 + 1e-3)
                  << "axis " << a;
          }
        }
}

} // namespace

// Hand-computed: patch (5,9,9), fov (3,5,5) -> offsets (1,2,2), target
// (3,5,5), strides (1,2,2) -> strided (3,3,3); images (15,21,21), labels
// (9,13,13) -> off (3,4,4); z centre in max(2.5,1.5+3)=4.5 ..
// min(12.5,10.5)=10.5 -> {4.5 .. 9.5}; x/y in 6.5 .. 14.5 -> {6.5 .. 13.5}.
TEST_F(BatchCreator, HandComputedGeometryAndAlignedTargets) {
  nodes({5, 9, 9}, {3, 5, 5}, {1, 2, 2});
  writeCoordImages(file("raw_0.h5"), {15, 21, 21});
  writeCodeLabels(file("lab_0.h5"), {9, 13, 13});
  BatchCreatorImage bc(input, target, opts());
  EXPECT_EQ(bc.mode(), "img-img");
  EXPECT_EQ(bc.patch_size(), (Sizes{5, 9, 9}));
  EXPECT_EQ(bc.target_ps(), (Sizes{3, 5, 5}));
  EXPECT_EQ(bc.offsets(), (Sizes{1, 2, 2}));
  EXPECT_EQ(bc.strides(), (Sizes{1, 2, 2}));
  EXPECT_EQ(bc.t_dtype(), nm::DType::Int32);
  auto r = bc.centre_ranges("train", 0);
  EXPECT_DOUBLE_EQ(r[0].first(), 4.5);
  EXPECT_DOUBLE_EQ(r[0].last(), 9.5);
  EXPECT_DOUBLE_EQ(r[1].first(), 6.5);
  EXPECT_DOUBLE_EQ(r[1].last(), 13.5);
  EXPECT_EQ(bc.repr(), "1-target Data Set with 3 input channel(s):\n"
                       "#train cubes: 1 and #valid cubes: 0, 1,521 labelled "
                       "pixels.");

  std::vector<nm::Array> b = bc.getbatch({.batch_size = 6});
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].shape(), (Sizes{6, 3, 5, 9, 9}));
  EXPECT_EQ(b[0].dtype(), nm::DType::Float32);
  EXPECT_EQ(b[1].shape(), (Sizes{6, 1, 3, 3, 3}));
  EXPECT_EQ(b[1].dtype(), nm::DType::Int32);
  expectAligned(b, {9, 13, 13}, {3, 4, 4}, {5, 9, 9}, {3, 5, 5}, {1, 2, 2},
                true);
  std::vector<nm::Array> d =
      bc.getbatch({.batch_size = 6, .force_dense = true});
  EXPECT_EQ(d[1].shape(), (Sizes{6, 1, 3, 5, 5}));
  expectAligned(d, {9, 13, 13}, {3, 4, 4}, {5, 9, 9}, {3, 5, 5}, {1, 1, 1},
                true);
}

TEST_F(BatchCreator, WarpedTargetsStayInsideTheLabelsAndAligned) {
  nodes({5, 9, 9}, {3, 5, 5}, {1, 2, 2});
  writeCoordImages(file("raw_0.h5"), {21, 31, 31});
  writeCodeLabels(file("lab_0.h5"), {13, 21, 21});
  BatchCreatorImage bc(input, target, opts());
  GetBatchOptions g{.batch_size = 8, .force_dense = true};
  g.warp = 1;
  g.warp_args.lock_z = false;
  g.warp_args.perspective = true;
  for (int t = 0; t < 5; ++t)
    expectAligned(bc.getbatch(g), {13, 21, 21}, {4, 5, 5}, {5, 9, 9}, {3, 5, 5},
                  {1, 1, 1}, false);
  EXPECT_NE(bc.warp_stats().find("Warp stats: successful: 40"),
            std::string::npos)
      << bc.warp_stats();
}

// Reference §6.4: neuro3d on neuro_data_zxy-sized cubes.
TEST_F(BatchCreator, Neuro3dGeometryOnNeuroDataZxySizes) {
  nodes({23, 185, 185}, {15, 105, 105}, {2, 4, 4}, 1, "int16");
  std::vector<uint8_t> raw(250 * 350 * 350);
  for (size_t i = 0; i < raw.size(); ++i)
    raw[i] = static_cast<uint8_t>(i * 7 % 256);
  writeH5<uint8_t>(file("raw_0.h5"), "raw", {250, 350, 350}, raw);
  std::vector<int16_t> lab(150 * 150 * 150);
  for (size_t i = 0; i < lab.size(); ++i)
    lab[i] = static_cast<int16_t>(i % 3 == 0);
  writeH5<int16_t>(file("lab_0.h5"), "lab", {150, 150, 150}, lab);
  BatchCreatorImage bc(input, target, opts());
  EXPECT_EQ(bc.target_ps(), (Sizes{9, 81, 81}));
  auto r = bc.centre_ranges("train", 0);
  EXPECT_DOUBLE_EQ(r[0].first(), 54.5);
  EXPECT_DOUBLE_EQ(r[0].last(), 194.5);
  for (int a : {1, 2}) {
    EXPECT_DOUBLE_EQ(r[a].first(), 140.5);
    EXPECT_DOUBLE_EQ(r[a].last(), 208.5);
  }
  EXPECT_EQ(bc.repr(), "1-target Data Set with 1 input channel(s):\n"
                       "#train cubes: 1 and #valid cubes: 0, 3,375,000 "
                       "labelled pixels.");
  GetBatchOptions g{.batch_size = 2, .grey_augment_channels = {0}};
  g.warp = 0.5;
  g.warp_args.perspective = true;
  auto b = bc.getbatch(g);
  EXPECT_EQ(b[0].shape(), (Sizes{2, 1, 23, 185, 185}));
  EXPECT_EQ(b[1].shape(), (Sizes{2, 1, 5, 21, 21}));
  EXPECT_EQ(b[1].dtype(), nm::DType::Int16);
  for (int64_t i = 0; i < b[0].size(); ++i) {
    ASSERT_GE(b[0].getFlat(i), 0.0);
    ASSERT_LE(b[0].getFlat(i), 1.0);
  }
  for (int64_t i = 0; i < b[1].size(); ++i)
    ASSERT_TRUE(b[1].getFlat(i) == 0 || b[1].getFlat(i) == 1);
}

TEST_F(BatchCreator, IntegerImagesAreScaled) {
  nodes({3, 3, 3}, {1, 1, 1}, {1, 1, 1}, 1);
  writeH5<uint8_t>(file("raw_0.h5"), "raw", {5, 5, 5},
                   std::vector<uint8_t>(125, 51));
  writeH5<uint16_t>(file("raw_1.h5"), "raw", {5, 5, 5},
                    std::vector<uint16_t>(125, 13107));
  for (int k = 0; k < 2; ++k)
    writeH5<int32_t>(file("lab_" + std::to_string(k) + ".h5"), "lab", {5, 5, 5},
                     std::vector<int32_t>(125, 1));
  auto o = opts(2);
  o.valid_cubes = {1};
  BatchCreatorImage bc(input, target, o);
  auto t = bc.getbatch({.batch_size = 2});
  auto v = bc.getbatch({.batch_size = 2, .source = "valid"});
  for (int64_t i = 0; i < t[0].size(); ++i) {
    ASSERT_FLOAT_EQ(static_cast<float>(t[0].getFlat(i)), 51.f / 255.f);
    ASSERT_FLOAT_EQ(static_cast<float>(v[0].getFlat(i)), 13107.f / 65535.f);
  }
}

TEST_F(BatchCreator, SamplingFollowsCubeSizesPriosAndValidCubes) {
  nodes({3, 3, 3}, {3, 3, 3}, {1, 1, 1}, 1);
  const Sizes labs[2] = {{4, 4, 4}, {8, 8, 8}};
  for (int k = 0; k < 2; ++k) {
    writeH5<float>(file("raw_" + std::to_string(k) + ".h5"), "raw",
                   {10, 10, 10}, std::vector<float>(1000, k ? 0.75f : 0.25f));
    const Sizes &l = labs[k];
    writeH5<int32_t>(file("lab_" + std::to_string(k) + ".h5"), "lab", l,
                     std::vector<int32_t>(l[0] * l[1] * l[2], 0));
  }
  auto fractionOfCube1 = [](BatchCreatorImage &bc, const std::string &src) {
    auto b = bc.getbatch({.batch_size = 600, .source = src});
    int n = 0;
    for (int64_t i = 0; i < 600; ++i)
      n += b[0].getFlat(i * 27) > 0.5;
    return n / 600.0;
  };
  {
    BatchCreatorImage bc(input, target, opts(2));
    double f = fractionOfCube1(bc, "train");
    EXPECT_NEAR(f, 512.0 / 576.0, 0.05); // proportional to label size
  }
  {
    auto o = opts(2);
    o.cube_prios = std::vector<double>{1, 0};
    BatchCreatorImage bc(input, target, o);
    EXPECT_EQ(fractionOfCube1(bc, "train"), 0.0);
  }
  {
    auto o = opts(2);
    o.valid_cubes = {0};
    BatchCreatorImage bc(input, target, o);
    EXPECT_EQ(bc.training_count(), 1);
    EXPECT_EQ(bc.valid_count(), 1);
    EXPECT_EQ(fractionOfCube1(bc, "train"), 1.0);
    EXPECT_EQ(fractionOfCube1(bc, "valid"), 0.0);
  }
}

namespace {
bool sameBatches(const std::vector<std::vector<nm::Array>> &a,
                 const std::vector<std::vector<nm::Array>> &b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].size() != b[i].size() || a[i][0] != b[i][0] || a[i][1] != b[i][1])
      return false;
  return true;
}
} // namespace

TEST_F(BatchCreator, SameSeedSameBatchesWhateverTheWorkers) {
  nodes({5, 9, 9}, {3, 5, 5}, {1, 2, 2});
  writeCoordImages(file("raw_0.h5"), {21, 31, 31});
  writeCodeLabels(file("lab_0.h5"), {13, 21, 21});
  GetBatchOptions g{.batch_size = 3, .grey_augment_channels = {0, 2}};
  g.warp = 0.5;
  g.warp_args.perspective = true;
  GetBatchOptions other = g;
  other.warp = 0;
  // train, train, valid-less switch of options, train ...
  auto run = [&](int workers, uint64_t seed) {
    auto o = opts();
    o.seed = seed;
    BatchCreatorImage bc(input, target, o);
    if (workers)
      bc.set_background(workers, workers == 2 ? 3 : 0);
    std::vector<std::vector<nm::Array>> out;
    for (int i = 0; i < 4; ++i)
      out.push_back(bc.getbatch(g));
    out.push_back(bc.getbatch(other));
    for (int i = 0; i < 3; ++i)
      out.push_back(bc.getbatch(g));
    return out;
  };
  auto sync = run(0, 42);
  EXPECT_TRUE(sameBatches(sync, run(0, 42)));
  EXPECT_TRUE(sameBatches(sync, run(1, 42)));
  EXPECT_TRUE(sameBatches(sync, run(2, 42)));
  EXPECT_FALSE(sameBatches(sync, run(0, 43)));
  // Consecutive batches differ.
  EXPECT_NE(sync[0][0], sync[1][0]);
}

TEST_F(BatchCreator, DefaultSeedComesFromSetSeed) {
  nodes({3, 3, 3}, {1, 1, 1}, {1, 1, 1}, 3);
  writeCoordImages(file("raw_0.h5"), {9, 9, 9});
  writeCodeLabels(file("lab_0.h5"), {9, 9, 9});
  auto o = opts();
  o.seed.reset();
  nm::set_seed(5);
  uint64_t s1 = BatchCreatorImage(input, target, o).seed();
  uint64_t s2 = BatchCreatorImage(input, target, o).seed();
  nm::set_seed(5);
  EXPECT_EQ(BatchCreatorImage(input, target, o).seed(), s1);
  EXPECT_NE(s1, s2);
}

TEST_F(BatchCreator, AWorkerErrorReachesTheCallerAndTheCreatorRecovers) {
  nodes({3, 3, 3}, {1, 1, 1}, {1, 1, 1}, 1, "int16");
  writeH5<float>(file("raw_0.h5"), "raw", {6, 6, 6},
                 std::vector<float>(216, 0.5f));
  writeH5<int16_t>(file("lab_0.h5"), "lab", {6, 6, 6},
                   std::vector<int16_t>(216, -1));
  BatchCreatorImage bc(input, target, opts());
  bc.set_background(2);
  GetBatchOptions g;
  g.ignore_thresh = 0.0; // every example is all-negative: all rejected
  try {
    bc.getbatch(g);
    FAIL() << "no error";
  } catch (const nm::RuntimeError &e) {
    EXPECT_NE(std::string(e.what()).find("rejected"), std::string::npos)
        << e.what();
  }
  auto b = bc.getbatch({.batch_size = 2});
  EXPECT_EQ(b[1].getFlat(0), -1);
  // The destructor stops running workers.
}

TEST_F(BatchCreator, ZxyFalseReadsXyzCubes) {
  nodes({5, 9, 9}, {3, 5, 5}, {1, 2, 2});
  const Sizes img = {15, 21, 23}, lab = {9, 13, 15};
  writeCoordImages(file("raw_0.h5"), img);
  writeCodeLabels(file("lab_0.h5"), lab);
  // The same cubes in (ch, x, y, z) / (x, y, z) order.
  std::vector<float> v(3 * img[0] * img[1] * img[2]);
  size_t i = 0;
  for (int a = 0; a < 3; ++a)
    for (int64_t x = 0; x < img[1]; ++x)
      for (int64_t y = 0; y < img[2]; ++y)
        for (int64_t z = 0; z < img[0]; ++z)
          v[i++] = static_cast<float>(a == 0 ? z : a == 1 ? x : y);
  writeH5<float>(file("raw_1.h5"), "raw", {3, img[1], img[2], img[0]}, v);
  std::vector<int32_t> l;
  for (int64_t x = 0; x < lab[1]; ++x)
    for (int64_t y = 0; y < lab[2]; ++y)
      for (int64_t z = 0; z < lab[0]; ++z)
        l.push_back(static_cast<int32_t>(z * 10000 + x * 100 + y));
  writeH5<int32_t>(file("lab_1.h5"), "lab", {lab[1], lab[2], lab[0]}, l);
  auto a = opts();
  auto b = opts();
  b.d_files = {{"raw_1.h5", "raw"}};
  b.l_files = {{"lab_1.h5", "lab"}};
  b.zxy = false;
  BatchCreatorImage ca(input, target, a), cb(input, target, b);
  GetBatchOptions g{.batch_size = 4};
  g.warp = 1;
  auto ba = ca.getbatch(g), bb = cb.getbatch(g);
  EXPECT_EQ(ba[0], bb[0]);
  EXPECT_EQ(ba[1], bb[1]);
}

TEST_F(BatchCreator, TwoDimensionalNetworksCutSingleSections) {
  nodes({9, 9}, {5, 5}, {2, 2});
  writeCoordImages(file("raw_0.h5"), {4, 15, 15});
  writeCodeLabels(file("lab_0.h5"), {4, 11, 11});
  BatchCreatorImage bc(input, target, opts());
  auto b = bc.getbatch({.batch_size = 3});
  EXPECT_EQ(b[0].shape(), (Sizes{3, 3, 9, 9}));
  EXPECT_EQ(b[1].shape(), (Sizes{3, 1, 3, 3}));
  for (int64_t n = 0; n < 3; ++n) {
    double z = b[0].getFlat(n * 3 * 81);
    for (int64_t i = 0; i < 81; ++i)
      ASSERT_EQ(b[0].getFlat(n * 3 * 81 + i), z); // one section
    // Target (0,0) sits at patch (2,2); labels are offset by (0,2,2).
    int64_t code = static_cast<int64_t>(b[1].getFlat(n * 9));
    EXPECT_EQ(code / 10000, z);
    EXPECT_EQ((code / 100) % 100 + 2, b[0].getFlat((n * 3 + 1) * 81 + 20));
  }
}

TEST_F(BatchCreator, ImgScalarModeCropsAndReturnsTheCubeTargets) {
  nm::model_manager.newmodel();
  input = nm::Input({1, 3, 5, 9, 9}, "b,f,z,x,y", {.name = "raw"});
  target = nm::Input({1, 2}, "b,f", {.name = "cls", .dtype = "int16"});
  writeCoordImages(file("raw_0.h5"), {9, 15, 15});
  writeH5<int32_t>(file("lab_0.h5"), "lab", {2}, {3, 7});
  BatchCreatorImage bc(input, target, opts());
  EXPECT_EQ(bc.mode(), "img-scalar");
  EXPECT_EQ(bc.t_n_f(), 2);
  auto b = bc.getbatch({.batch_size = 2});
  EXPECT_EQ(b[1].shape(), (Sizes{2, 2}));
  EXPECT_EQ(b[1].getFlat(0), 3);
  EXPECT_EQ(b[1].getFlat(1), 7);
  // 'crop' keeps the central (6,10,10) part, z 1..6, x/y 2..11 (one
  // voxel more than the patch, for the interpolation).
  for (int64_t i = 0; i < 5 * 81; ++i) {
    ASSERT_GE(b[0].getFlat(i), 1);
    ASSERT_LE(b[0].getFlat(i), 6);
    ASSERT_GE(b[0].getFlat(5 * 81 + i), 2);
    ASSERT_LE(b[0].getFlat(5 * 81 + i), 11);
  }
}

//===----------------------------------------------------------------------===//
// Bad input
//===----------------------------------------------------------------------===//

TEST_F(BatchCreator, MissingFileOrDatasetIsNamed) {
  nodes({5, 9, 9}, {3, 5, 5}, {1, 2, 2});
  expectError<nm::IOError>(
      [&] { BatchCreatorImage(input, target, opts()); },
      {file("raw_0.h5"), "No such file or directory", "d_files[0]"});
  writeCoordImages(file("raw_0.h5"), {15, 21, 21});
  writeCodeLabels(file("lab_0.h5"), {9, 13, 13});
  auto o = opts();
  o.l_files[0].second = "nope";
  expectError<nm::KeyError>([&] { BatchCreatorImage(input, target, o); },
                            {"'nope'", file("lab_0.h5"), "lab"});
  std::ofstream(file("junk.h5")) << "not hdf5";
  o = opts();
  o.d_files[0].first = "junk.h5";
  expectError<nm::IOError>([&] { BatchCreatorImage(input, target, o); },
                           {file("junk.h5"), "HDF5"});
}

TEST_F(BatchCreator, LabelsNotCentredAndCubesTooSmall) {
  nodes({5, 9, 9}, {3, 5, 5}, {1, 2, 2});
  writeCoordImages(file("raw_0.h5"), {15, 21, 21});
  writeCodeLabels(file("lab_0.h5"), {8, 13, 13});
  expectError<nm::ValueError>([&] { BatchCreatorImage(input, target, opts()); },
                              {"targets must be centered w.r.t. images",
                               "(8, 13, 13)", "(15, 21, 21)"});
  writeCoordImages(file("raw_0.h5"), {4, 21, 21});
  writeCodeLabels(file("lab_0.h5"), {2, 13, 13});
  expectError<nm::ValueError>(
      [&] { BatchCreatorImage(input, target, opts()); },
      {"patch (5, 9, 9) is larger than the images (4, 21, 21)", "raw_0.h5"});
  writeCoordImages(file("raw_0.h5"), {15, 21, 21});
  writeCodeLabels(file("lab_0.h5"), {1, 13, 13});
  expectError<nm::ValueError>(
      [&] { BatchCreatorImage(input, target, opts()); },
      {"target patch (3, 5, 5)", "(1, 13, 13)", "axis z", "no labelled voxel"});
}

TEST_F(BatchCreator, BadOptionsAndDtypes) {
  nodes({5, 9, 9}, {3, 5, 5}, {1, 2, 2}, 3, "int16");
  writeCoordImages(file("raw_0.h5"), {15, 21, 21});
  writeCodeLabels(file("lab_0.h5"), {9, 13, 13}); // codes up to 81212
  expectError<nm::ValueError>([&] { BatchCreatorImage(input, target, opts()); },
                              {"targets must be cast to int16",
                               "cannot store value 81212",
                               "maximum allowed value: 32767", "lab_0.h5"});
  writeH5<float>(file("lab_0.h5"), "lab", {9, 13, 13},
                 std::vector<float>(9 * 13 * 13, 0.5f));
  expectError<nm::ValueError>([&] { BatchCreatorImage(input, target, opts()); },
                              {"not an integer", "float32"});
  writeH5<int16_t>(file("lab_0.h5"), "lab", {9, 13, 13},
                   std::vector<int16_t>(9 * 13 * 13, 1));
  auto o = opts();
  o.valid_cubes = {3};
  expectError<nm::ValueError>([&] { BatchCreatorImage(input, target, o); },
                              {"valid_cubes", "3", "1 cubes"});
  o = opts();
  o.h5stream = true;
  o.zxy = false;
  expectError<nm::NotImplementedError>(
      [&] { BatchCreatorImage(input, target, o); }, {"h5stream"});
  writeCodeLabels(file("lab_2.h5"), {9, 13, 13}); // int32 for an int16 target
  o = opts();
  o.h5stream = true;
  o.l_files[0].first = "lab_2.h5";
  expectError<nm::ValueError>([&] { BatchCreatorImage(input, target, o); },
                              {"h5stream", "int32", "int16", "lab_2.h5"});
  o = opts();
  o.l_files.clear();
  expectError<nm::ValueError>([&] { BatchCreatorImage(input, target, o); },
                              {"same length"});
  nm::testing::writeH5Strings(file("raw_1.h5"), "raw", 10);
  o = opts();
  o.d_files[0].first = "raw_1.h5";
  expectError<nm::ValueError>([&] { BatchCreatorImage(input, target, o); },
                              {"element type string", "raw_1.h5"});
  BatchCreatorImage bc(input, target, opts());
  expectError<nm::ValueError>([&] { bc.getbatch({.source = "test"}); },
                              {"Unknown data source 'test'"});
  expectError<nm::ValueError>([&] { bc.getbatch({.source = "valid"}); },
                              {"No validation set"});
  GetBatchOptions g;
  g.warp = 2;
  expectError<nm::ValueError>([&] { bc.getbatch(g); }, {"warp", "2"});
  expectError<nm::ValueError>(
      [&] { bc.getbatch({.grey_augment_channels = {3}}); },
      {"grey_augment_channels", "3"});
  // Input channels must match the data's.
  nodes({5, 9, 9}, {3, 5, 5}, {1, 2, 2}, 2, "int16");
  expectError<nm::ValueError>([&] { BatchCreatorImage(input, target, opts()); },
                              {"2 channel(s)", "the data 3"});
}

TEST_F(BatchCreator, NonGeometricAugmentationsOnTrainOnly) {
  nodes({5, 9, 9}, {3, 5, 5}, {1, 2, 2});
  writeCoordImages(file("raw_0.h5"), {15, 21, 21});
  writeCodeLabels(file("lab_0.h5"), {9, 13, 13});
  writeCoordImages(file("raw_1.h5"), {15, 21, 21});
  writeCodeLabels(file("lab_1.h5"), {9, 13, 13});
  auto o = opts(2);
  o.valid_cubes = {1};
  // One example per batch: augmentation draws shift the generator, so a
  // second example would be placed elsewhere.
  GetBatchOptions plain{.batch_size = 1};
  GetBatchOptions aug = plain;
  aug.uniform_random_erasing_probability = 1;
  aug.uniform_random_erasing_args.num_blob_range = {1, 2};
  aug.uniform_random_erasing_args.blob_size_range = {4, 5};
  aug.uniform_random_erasing_args.value = -3;
  GetBatchOptions zero = plain;
  zero.blurry_blobs_probability = 0;
  zero.nga_blur_noise_probability = 0;
  BatchCreatorImage a(input, target, o), b(input, target, o),
      c(input, target, o);
  auto pa = a.getbatch(plain), pb = b.getbatch(aug), pc = c.getbatch(zero);
  EXPECT_EQ(pa[0], pc[0]); // probability 0 draws nothing
  EXPECT_NE(pa[0], pb[0]); // erased
  EXPECT_EQ(pa[1], pb[1]); // targets untouched
  int64_t erased = 0;
  for (int64_t i = 0; i < pb[0].size(); ++i)
    erased += pb[0].getFlat(i) == -3;
  EXPECT_EQ(erased, 3 * 4 * 4 * 4); // one 4^3 blob per channel
  aug.source = plain.source = "valid";
  EXPECT_EQ(a.getbatch(plain)[0], b.getbatch(aug)[0]);
  GetBatchOptions bad = plain;
  bad.noisy_random_erasing_probability = 1.5;
  EXPECT_THROW(a.getbatch(bad), nm::ValueError);
  GetBatchOptions noise{.batch_size = 1};
  noise.nga_blur_noise_probability = 1;
  auto n = a.getbatch(noise);
  EXPECT_EQ(n[0].shape(), (Sizes{1, 3, 5, 9, 9}));
}

TEST_F(BatchCreator, H5streamGivesTheSameBatchesAsCubesInMemory) {
  nodes({5, 9, 9}, {3, 5, 5}, {1, 2, 2});
  writeCoordImages(file("raw_0.h5"), {21, 31, 31});
  writeCodeLabels(file("lab_0.h5"), {13, 21, 21});
  std::vector<uint8_t> raw(19 * 25 * 27);
  for (size_t i = 0; i < raw.size(); ++i)
    raw[i] = static_cast<uint8_t>(i * 13 % 251);
  writeH5<uint8_t>(file("raw_1.h5"), "raw", {19, 25, 27}, raw);
  writeCodeLabels(file("lab_1.h5"), {11, 15, 17});
  GetBatchOptions g{.batch_size = 4, .grey_augment_channels = {1}};
  g.warp = 0.7;
  g.warp_args.perspective = true;
  g.warp_args.lock_z = false;
  // Cube 0: three coordinate channels; cube 1: one uint8 channel (its own
  // creator, since the channel counts differ).
  for (int cube : {0, 1}) {
    nm::model_manager.newmodel();
    nodes({5, 9, 9}, {3, 5, 5}, {1, 2, 2}, cube ? 1 : 3);
    auto mem = opts();
    mem.d_files = {{"raw_" + std::to_string(cube) + ".h5", "raw"}};
    mem.l_files = {{"lab_" + std::to_string(cube) + ".h5", "lab"}};
    auto disk = mem;
    disk.h5stream = true;
    if (cube)
      g.grey_augment_channels = {0};
    BatchCreatorImage a(input, target, mem), b(input, target, disk);
    EXPECT_EQ(a.repr(), b.repr());
    b.set_background(2);
    for (int i = 0; i < 4; ++i) {
      auto x = a.getbatch(g), y = b.getbatch(g);
      ASSERT_EQ(x[0], y[0]) << "cube " << cube << " batch " << i;
      for (int64_t j = 0; j < x[1].size(); ++j)
        if (x[1].getFlat(j) != y[1].getFlat(j)) {
          ADD_FAILURE() << j << ": " << x[1].getFlat(j) << " vs "
                        << y[1].getFlat(j);
          break;
        }
      ASSERT_EQ(x[1], y[1]) << "cube " << cube << " batch " << i;
    }
  }
}

// target_vec_ix: vector targets are re-rotated by M[:3,:3]. Without warp M
// is a signed permutation: the x unit vector must point along the patch
// axis in which the images' x coordinate grows (or shrinks, for -1).
TEST_F(BatchCreator, VectorTargetsFollowTheTransform) {
  nodes({5, 9, 9}, {3, 5, 5}, {1, 1, 1}, 3, "float32");
  writeCoordImages(file("raw_0.h5"), {15, 21, 21});
  std::vector<float> vec(3 * 9 * 13 * 13, 0.f);
  std::fill(vec.begin() + 9 * 13 * 13, vec.begin() + 2 * 9 * 13 * 13, 1.f);
  writeH5<float>(file("lab_0.h5"), "lab", {3, 9, 13, 13}, vec);
  auto o = opts();
  o.target_vec_ix = {{0, 1, 2}};
  o.target_discrete_ix = std::vector<int64_t>{}; // all linear
  BatchCreatorImage bc(input, target, o);
  auto b = bc.getbatch({.batch_size = 8});
  const int64_t tv = 3 * 5 * 5, pv = 5 * 9 * 9;
  int swapped = 0;
  for (int64_t n = 0; n < 8; ++n) {
    double v[3];
    for (int a = 0; a < 3; ++a)
      v[a] = b[1].getFlat((n * 3 + a) * tv); // constant over the patch
    EXPECT_EQ(v[0], 0.0);
    ASSERT_EQ(std::fabs(v[1]) + std::fabs(v[2]), 1.0);
    // Images' x coordinate (channel 1) along patch x and patch y.
    const int64_t base = (n * 3 + 1) * pv + (2 * 9 + 4) * 9 + 4;
    double dx = b[0].getFlat(base + 9) - b[0].getFlat(base);
    double dy = b[0].getFlat(base + 1) - b[0].getFlat(base);
    EXPECT_EQ(v[1], dx);
    EXPECT_EQ(v[2], dy);
    swapped += v[2] != 0;
  }
  EXPECT_GT(swapped, 0);
  EXPECT_LT(swapped, 8);
}

TEST_F(BatchCreator, IgnoreThreshRejectsMostlyUnlabelledExamples) {
  nodes({3, 5, 5}, {1, 3, 3}, {1, 1, 1}, 1, "int16");
  writeH5<float>(file("raw_0.h5"), "raw", {12, 12, 12},
                 std::vector<float>(1728, 0.5f));
  std::vector<int16_t> lab(12 * 12 * 12, 1);
  for (int64_t z = 0; z < 6; ++z) // half of the cube is unlabelled (-1)
    for (int64_t i = 0; i < 144; ++i)
      lab[z * 144 + i] = -1;
  writeH5<int16_t>(file("lab_0.h5"), "lab", {12, 12, 12}, lab);
  BatchCreatorImage bc(input, target, opts());
  auto count = [](const nm::Array &t) {
    int64_t neg = 0;
    for (int64_t i = 0; i < t.size(); ++i)
      neg += t.getFlat(i) < 0;
    return neg;
  };
  EXPECT_GT(count(bc.getbatch({.batch_size = 50})[1]), 0);
  GetBatchOptions g{.batch_size = 50};
  g.ignore_thresh = 0.0;
  EXPECT_EQ(count(bc.getbatch(g)[1]), 0);
  g.ignore_thresh = 0.5; // examples at most half unlabelled
  auto t = bc.getbatch(g)[1];
  for (int64_t n = 0; n < 50; ++n) {
    int64_t neg = 0;
    for (int64_t i = 0; i < 27; ++i)
      neg += t.getFlat(n * 27 + i) < 0;
    EXPECT_LE(neg, 13);
  }
}

TEST_F(BatchCreator, CubePriosMustMatchTheTrainingCubes) {
  nodes({3, 3, 3}, {1, 1, 1}, {1, 1, 1}, 1);
  for (int k = 0; k < 2; ++k) {
    writeH5<float>(file("raw_" + std::to_string(k) + ".h5"), "raw", {5, 5, 5},
                   std::vector<float>(125, 0.f));
    writeH5<int32_t>(file("lab_" + std::to_string(k) + ".h5"), "lab", {5, 5, 5},
                     std::vector<int32_t>(125, 0));
  }
  auto o = opts(2);
  o.cube_prios = std::vector<double>{1};
  expectError<nm::ValueError>([&] { BatchCreatorImage(input, target, o); },
                              {"cube_prios has 1 entries for 2 training"});
  o.valid_cubes = {1}; // now one training cube: fine
  EXPECT_EQ(BatchCreatorImage(input, target, o).training_count(), 1);
}
