//===- GeometryTest.cpp - conv/pool/upconv/MFP rules, cnncalculator -------===//
#include "neuromancer/core/Geometry.h"
#include "neuromancer/core/Format.h"

#include <gtest/gtest.h>

using namespace nm;

namespace {
ConvGeometry conv(int64_t nf, Sizes filter, Sizes pool = {},
                  ConvMode mode = ConvMode::Valid, bool mfp = false) {
  return {nf, std::move(filter), std::move(pool), mode, mfp, false};
}
} // namespace

TEST(Geometry, SeedFirstConv) { // vector 1
  TaggedShape in({10, 3, 23, 183, 183}, "b,f,z,x,y");
  ConvGeometry g = conv(32, {1, 6, 6}, {1, 2, 2});
  TaggedShape out = *convOutputShape(in, g);
  EXPECT_EQ(out.shape(), (Sizes{10, 32, 23, 89, 89}));
  EXPECT_EQ(out.fov(), (Sizes{1, 7, 7}));
  EXPECT_EQ(out.strides(), (Sizes{1, 2, 2}));
  EXPECT_EQ(convCost(in, g), 25184977920);
  EXPECT_EQ(convWeightShape(in, g), (Sizes{32, 3, 1, 6, 6}));
}

TEST(Geometry, ConvModes) { // vector 21
  TaggedShape in({1, 1, 10, 10}, "b,f,x,y");
  for (auto [mode, size, cost] : {std::tuple{ConvMode::Valid, 8, 2304},
                                  std::tuple{ConvMode::Same, 10, 5184},
                                  std::tuple{ConvMode::Full, 12, 5184}}) {
    ConvGeometry g = conv(4, {3, 3}, {}, mode);
    TaggedShape out = *convOutputShape(in, g);
    EXPECT_EQ(out.spatialShape(), (Sizes{size, size})) << convModeName(mode);
    EXPECT_EQ(out.fov(), (Sizes{3, 3}));
    EXPECT_EQ(convCost(in, g), cost) << convModeName(mode);
  }
  auto even = convOutputShape(in, conv(4, {2, 2}, {}, ConvMode::Same));
  ASSERT_FALSE(even);
  EXPECT_NE(even.message().find("odd"), std::string::npos);
}

TEST(Geometry, OneDimensionalConv) { // vector 26
  TaggedShape in({1, 2, 20}, "b,f,x");
  ConvGeometry g = conv(3, {5}, {2});
  TaggedShape out = *convOutputShape(in, g);
  EXPECT_EQ(out.shape(), (Sizes{1, 3, 8}));
  EXPECT_EQ(out.fov(), (Sizes{6}));
  EXPECT_EQ(out.strides(), (Sizes{2}));
  EXPECT_EQ(convCost(in, g), 480);
  EXPECT_EQ(pretty_string_ops(480), "0.5 kilo Ops");
}

TEST(Geometry, PoolThatDoesNotDivide) {
  TaggedShape in({10, 3, 23, 184, 183}, "b,f,z,x,y");
  auto r = convOutputShape(in, conv(32, {1, 6, 6}, {1, 2, 2}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.message(), "Cannot pool spatial axis 'x' of length 184 by "
                         "factor 2 after convolving with kernel of size 6.");
}

TEST(Geometry, MfpRuleAndMessage) {
  TaggedShape in({1, 3, 23, 183, 183}, "b,f,z,x,y");
  auto r = convOutputShape(
      in, conv(32, {1, 6, 6}, {1, 2, 2}, ConvMode::Valid, true));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.message(), "Cannot pool spatial axis 'x' of length 183 by "
                         "factor 2 after convolving with kernel of size 6 "
                         "and using MFP.");
  TaggedShape ok({1, 3, 22, 182, 182}, "b,f,z,x,y");
  TaggedShape out = *convOutputShape(
      ok, conv(32, {1, 6, 6}, {1, 2, 2}, ConvMode::Valid, true));
  EXPECT_EQ(out.shape(), (Sizes{4, 32, 22, 88, 88}));
  EXPECT_EQ(out.mfpOffsets(),
            (MfpOffsets{{0, 0, 0}, {0, 0, 1}, {0, 1, 0}, {0, 1, 1}}));
}

TEST(Geometry, MfpNeedsBatchOne) {
  TaggedShape in({2, 3, 22, 182, 182}, "b,f,z,x,y");
  auto r = convOutputShape(
      in, conv(32, {1, 6, 6}, {1, 2, 2}, ConvMode::Valid, true));
  ASSERT_FALSE(r);
  EXPECT_NE(r.message().find("MFP needs the raw batch size to be 1"),
            std::string::npos);
}

TEST(Geometry, Pool) { // vector 22
  TaggedShape in({1, 2, 9, 9}, "b,f,x,y");
  TaggedShape out = *poolOutputShape(in, {3, 3}, {2, 2});
  EXPECT_EQ(out.spatialShape(), (Sizes{4, 4}));
  EXPECT_EQ(out.fov(), (Sizes{3, 3}));
  EXPECT_EQ(out.strides(), (Sizes{2, 2}));
  TaggedShape in8({1, 2, 8, 8}, "b,f,x,y");
  TaggedShape out8 = *poolOutputShape(in8, {2, 2});
  EXPECT_EQ(out8.spatialShape(), (Sizes{4, 4}));
  EXPECT_EQ(out8.fov(), (Sizes{2, 2}));
  auto bad = poolOutputShape(TaggedShape({1, 2, 9, 9}, "b,f,x,y"), {2, 2});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.message().find("Cannot downsample spatial axis 'x'"),
            std::string::npos);
}

TEST(Geometry, UpConv) { // vector 23
  TaggedShape in({1, 1, 12, 12}, "b,f,x,y");
  ConvGeometry g = conv(8, {3, 3}, {2, 2});
  TaggedShape c = *convOutputShape(in, g);
  EXPECT_EQ(c.spatialShape(), (Sizes{5, 5}));
  EXPECT_EQ(c.fov(), (Sizes{4, 4}));
  EXPECT_EQ(convCost(in, g), 7200);
  TaggedShape up = *upconvOutputShape(c, 4, {2, 2});
  EXPECT_EQ(up.shape(), (Sizes{1, 4, 10, 10}));
  EXPECT_EQ(up.fov(), (Sizes{-1, -1}));
  EXPECT_EQ(up.offsets(), (Sizes{-1, -1}));
  EXPECT_EQ(up.strides(), (Sizes{1, 1}));
  EXPECT_TRUE(up.floatStrides());
  EXPECT_NE(up.extRepr().find("strides=[1. 1.]"), std::string::npos);
  EXPECT_EQ(upconvCost(c, 4, {2, 2}), 10368);
}

TEST(Geometry, CropPadConcat) {
  TaggedShape in({1, 2, 10, 12}, "b,f,x,y", {1, 1}, {5, 5});
  EXPECT_EQ(cropOutputShape(in, {1, 2})->spatialShape(), (Sizes{8, 8}));
  EXPECT_EQ(padOutputShape(in, {1, 2})->spatialShape(), (Sizes{12, 16}));
  EXPECT_FALSE(cropOutputShape(in, {5, 0}));
  TaggedShape other({1, 3, 10, 12}, "b,f,x,y");
  EXPECT_EQ((*concatOutputShape({in, other}, 'f'))['f'], 5);
  EXPECT_FALSE(
      concatOutputShape({in, TaggedShape({1, 3, 9, 12}, "b,f,x,y")}, 'f'));
}

TEST(Geometry, Cnncalculator) { // vector 14
  std::vector<CnnLayer> layers = {{{1, 6, 6}, {1, 2, 2}, true},
                                  {{4, 4, 4}, {2, 2, 2}, true},
                                  {{2, 2, 2}, {2, 2, 2}, false},
                                  {{1, 1, 1}, {1, 1, 1}, false}};
  CnnCalculation c = *cnncalculator(layers, {8, 211, 211});
  EXPECT_EQ(c.patch, (Sizes{10, 210, 210}));
  EXPECT_EQ(c.fov, (std::vector<Sizes>{
                       {9, 23, 23}, {9, 23, 23}, {5, 15, 15}, {1, 7, 7}}));
  EXPECT_EQ(c.strides,
            (std::vector<Sizes>{{4, 8, 8}, {4, 8, 8}, {2, 4, 4}, {1, 2, 2}}));
  EXPECT_EQ(c.notes.front(), "patch_size (8) changed to (10) (size too small)");
  EXPECT_EQ(c.notes.back(),
            "patch_size (211) changed to (210) (size not possible)");
}

TEST(Geometry, CnncalculatorHasNoUpperLimit) {
  // The seed model's layers; patch sizes of 5000 and more were "not found".
  std::vector<CnnLayer> layers = {{{1, 6, 6}, {1, 2, 2}, false},
                                  {{4, 6, 6}, {2, 2, 2}, false},
                                  {{3, 3, 3}, {1, 1, 1}, false}};
  CnnCalculation c = *cnncalculator(layers, {23, 5003, 100001});
  EXPECT_EQ(c.patch, (Sizes{23, 5003, 99999}));
  for (int64_t a : {0, 1, 2}) {
    CnnValidSizes v = cnnValidSizes(layers, a);
    // The closed form agrees with the layer-by-layer rule on every size.
    for (int64_t s = 1; s < 400; ++s)
      EXPECT_EQ(cnnSizeValid(layers, a, s),
                s >= v.first && (s - v.first) % v.step == 0)
          << "axis " << a << " size " << s;
  }
  std::vector<CnnLayer> mfp = layers;
  for (CnnLayer &l : mfp)
    l.mfp = true;
  for (int64_t s = 1; s < 400; ++s) {
    CnnValidSizes v = cnnValidSizes(mfp, 1);
    EXPECT_EQ(cnnSizeValid(mfp, 1, s),
              s >= v.first && (s - v.first) % v.step == 0)
        << s;
  }
}

TEST(Geometry, ValidSizesOfSeedModel) { // vector 15
  std::vector<CnnLayer> plain = {{{1, 6, 6}, {1, 2, 2}, false},
                                 {{4, 6, 6}, {2, 2, 2}, false},
                                 {{3, 3, 3}, {1, 1, 1}, false}};
  for (int64_t z : {21, 23, 25})
    EXPECT_TRUE(cnnSizeValid(plain, 0, z)) << z;
  for (int64_t z : {22, 24})
    EXPECT_FALSE(cnnSizeValid(plain, 0, z)) << z;
  for (int64_t x : {179, 183, 187})
    EXPECT_TRUE(cnnSizeValid(plain, 1, x)) << x;
  for (int64_t x : {180, 181, 182, 184})
    EXPECT_FALSE(cnnSizeValid(plain, 1, x)) << x;
  std::vector<CnnLayer> mfp = plain;
  for (CnnLayer &l : mfp)
    l.mfp = true;
  EXPECT_TRUE(cnnSizeValid(mfp, 0, 22));
  EXPECT_TRUE(cnnSizeValid(mfp, 0, 10));
  EXPECT_FALSE(cnnSizeValid(mfp, 0, 8));
  EXPECT_FALSE(cnnSizeValid(mfp, 0, 23));
  EXPECT_TRUE(cnnSizeValid(mfp, 1, 182));
  EXPECT_TRUE(cnnSizeValid(mfp, 1, 30));
  EXPECT_FALSE(cnnSizeValid(mfp, 1, 26));
  EXPECT_FALSE(cnnSizeValid(mfp, 1, 183));
}

TEST(Geometry, UpconvFovFix) {
  auto ok = upconvFovFix({12, 12}, {10, 10}, {1, 1});
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, (Sizes{2, 2}));
  auto odd = upconvFovFix({12, 12}, {9, 9}, {1, 1});
  ASSERT_FALSE(odd);
  EXPECT_NE(odd.message().find("FOV is not centered"), std::string::npos);
}
