//===- PreviewTest.cpp - preview data, preview_slice, batch and filter images
//===//
//
// Small networks (fast to compile) predict small cubes; the PNGs written
// are read back and compared with predict_dense on the cut the z_thick rule
// names, and with the raw slices under them.
//
//===----------------------------------------------------------------------===//
#include "neuromancer/train/Preview.h"

#include "neuromancer/io/Png.h"
#include "tests/data/H5Cubes.h"
#include "tests/frontend/ModelFixture.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <set>

using namespace nm;
namespace fs = std::filesystem;

namespace {

class PreviewTest : public ModelTest {
protected:
  void SetUp() override {
    ModelTest::SetUp();
    const auto *info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = (fs::path(::testing::TempDir()) / "preview" / info->name()).string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  std::string path(const std::string &name) const { return dir_ + "/" + name; }
  std::set<std::string> filesInDir() const {
    std::set<std::string> names;
    for (const auto &e : fs::directory_iterator(dir_))
      names.insert(e.path().filename().string());
    return names;
  }

  /// (None,1,5,13,13) -> Conv 4 (2,2,2) pool (2,2,2) -> Conv n (1,3,3)
  /// lin -> Softmax: fov (3, 7, 7), strides (2, 2, 2), prediction z 2.
  void smallNet3d(int64_t classes = 2) {
    Node in = Input({None, 1, 5, 13, 13}, "b,f,z,x,y", {.name = "raw"});
    Node c = Conv(in, 4, {2, 2, 2}, {2, 2, 2});
    c = Conv(c, classes, {1, 3, 3}, {}, {.activation_func = "lin"});
    Node p = Softmax(c);
    model().designate_nodes({.input_node = in, .prediction_node = p});
  }

  std::string dir_;
};

/// A float cube with values in [0, 1).
Array randomCube(Sizes shape, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0, 1);
  Array a(shape, DType::Float32);
  for (int64_t i = 0; i < a.size(); ++i)
    a.data<float>()[i] = u(rng);
  return a;
}

uint8_t byteOf(float v) {
  return static_cast<uint8_t>(std::lround(std::clamp(v, 0.f, 1.f) * 255));
}

} // namespace

//===----------------------------------------------------------------------===//
// z_thick
//===----------------------------------------------------------------------===//

TEST(PreviewZThick, ElektronnRuleByHand) {
  // out_z = 5 * 2 = 10 > 5: min_z = 23 + 2 - 1.
  EXPECT_EQ(preview_z_thick(23, 2, 5, 5), 24);
  // out_z = 1 <= 5: min_z 9 + 1 * ceil(4 / 1).
  EXPECT_EQ(preview_z_thick(9, 1, 1, 5), 13);
  // out_z = 4 <= 5: min_z 6 + 2 * ceil(1 / 2).
  EXPECT_EQ(preview_z_thick(5, 2, 2, 5), 8);
  // out_z = 2 <= 7: 11 + 2 * ceil(5 / 2) = 17.
  EXPECT_EQ(preview_z_thick(10, 2, 1, 7), 17);
  // out_z == max_z_pred: no extra slices.
  EXPECT_EQ(preview_z_thick(5, 1, 5, 5), 5);
}

TEST_F(PreviewTest, Neuro3dGivesTheDocumented24) {
  examples::neuro3d();
  EXPECT_EQ(preview_z_thick(model(), 5), 24);
  // Eleven output slices wanted: out_z 10 < 11, one stride more.
  EXPECT_EQ(preview_z_thick(model(), 11), 26);
}

//===----------------------------------------------------------------------===//
// load_preview_data
//===----------------------------------------------------------------------===//

TEST_F(PreviewTest, LoadsOneKeyOrAllDatasetsSortedAndScaled) {
  std::string file = path("prev.h5");
  std::vector<float> f(2 * 3 * 4);
  for (size_t i = 0; i < f.size(); ++i)
    f[i] = 0.01f * float(i);
  std::vector<uint8_t> u8 = {0, 51, 255, 102, 1, 2};
  nm::testing::writeH5<uint8_t>(file, "b_uint8", {1, 2, 3}, u8);
  nm::testing::writeH5<float>(file, "a_float", {2, 3, 4}, f, false);
  nm::testing::writeH5<uint16_t>(file, "c_uint16", {1, 1, 2}, {65535, 0},
                                 false);
  nm::testing::writeH5<int16_t>(file, "d_int16", {1, 1, 2}, {255, 51}, false);

  std::vector<Array> all = load_preview_data(file);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].shape(), (Sizes{2, 3, 4}));
  EXPECT_EQ(all[1].shape(), (Sizes{1, 2, 3}));
  EXPECT_FLOAT_EQ(all[0].getFlat(7), 0.07f);
  EXPECT_FLOAT_EQ(all[1].getFlat(1), 0.2f);
  EXPECT_FLOAT_EQ(all[1].getFlat(2), 1.f);
  EXPECT_FLOAT_EQ(all[2].getFlat(0), 1.f);
  EXPECT_FLOAT_EQ(all[3].getFlat(0), 1.f);
  EXPECT_FLOAT_EQ(all[3].getFlat(1), 0.2f);
  for (const Array &a : all)
    EXPECT_EQ(a.dtype(), DType::Float32);

  std::vector<Array> one = load_preview_data(file, "b_uint8");
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0], all[1]);
}

TEST_F(PreviewTest, XyzCubeIsTransposedWithAWarning) {
  std::string file = path("xyz.h5");
  std::vector<float> v(6 * 4 * 2);
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = float(i);
  nm::testing::writeH5<float>(file, "raw", {6, 4, 2}, v);
  LogCapture log(LogLevel::Warning);
  std::vector<Array> cubes = load_preview_data(file, "raw");
  ASSERT_EQ(cubes.size(), 1u);
  EXPECT_EQ(cubes[0].shape(), (Sizes{2, 6, 4}));
  // out[i, j, k] = in[j, k, i]
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 6; ++j)
      for (int64_t k = 0; k < 4; ++k)
        ASSERT_EQ(cubes[0].getFlat((i * 6 + j) * 4 + k),
                  v[(j * 4 + k) * 2 + i]);
  EXPECT_NE(log.text().find("transposing (2, 0, 1)"), std::string::npos)
      << log.text();
  EXPECT_NE(log.text().find("'raw'"), std::string::npos);
}

TEST_F(PreviewTest, BadFilesAndDatasetsNameThemselves) {
  std::string missing = path("nope.h5");
  try {
    load_preview_data(missing);
    ADD_FAILURE() << "no error";
  } catch (const IOError &e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos);
  }
  std::string text = path("text.h5");
  std::ofstream(text) << "not hdf5";
  EXPECT_THROW(load_preview_data(text), IOError);
  std::string file = path("prev.h5");
  nm::testing::writeH5<float>(file, "raw", {1, 2, 2}, {0, 1, 2, 3});
  try {
    load_preview_data(file, "label");
    ADD_FAILURE() << "no error";
  } catch (const KeyError &e) {
    std::string m = e.what();
    EXPECT_NE(m.find("'label'"), std::string::npos) << m;
    EXPECT_NE(m.find(file), std::string::npos) << m;
    EXPECT_NE(m.find("raw"), std::string::npos) << m; // what it has
    EXPECT_EQ(m.rfind("load_preview_data", 0), 0u) << m;
  }
  std::string strings = path("strings.h5");
  nm::testing::writeH5Strings(strings, "names", 3);
  EXPECT_THROW(load_preview_data(strings), ValueError);
}

//===----------------------------------------------------------------------===//
// preview_slice
//===----------------------------------------------------------------------===//

TEST_F(PreviewTest, WritesElektronnNamesAndTheCentralPrediction) {
  smallNet3d();
  const TaggedShape &out = model().prediction_node().shape();
  ASSERT_EQ(out.fov(), (Sizes{3, 7, 7}));
  ASSERT_EQ(out.strides(), (Sizes{2, 2, 2}));
  ASSERT_EQ(out.spatialShape()[0], 2);
  const int64_t zThick = preview_z_thick(model(), 5);
  ASSERT_EQ(zThick, 8); // patch 5, stride 2, out_z 2 * 2 <= 5

  Array cube = randomCube({12, 20, 20}, 3);
  std::vector<std::string> written =
      preview_slice(model(), {cube}, {}, dir_, "run", "1.5", true);
  std::set<std::string> want;
  for (int z = 0; z < 5; ++z) {
    for (int c = 0; c < 2; ++c)
      want.insert("run-pred-0-z" + std::to_string(z) + "-c" +
                  std::to_string(c) + "-1.5hrs.png");
    want.insert("run-raw-0-z" + std::to_string(z) + ".png");
  }
  EXPECT_EQ(filesInDir(), want);
  std::set<std::string> returned;
  for (const std::string &p : written)
    returned.insert(fs::path(p).filename().string());
  EXPECT_EQ(returned, want);

  // The cut: central 8 of 12 slices (2 .. 9); its prediction has 8 - 3 + 1
  // = 6 slices, of which the central 5 (0 .. 4) are written; x and y
  // lose the offsets 2 * 3.
  Array cut({1, 8, 20, 20}, DType::Float32);
  std::copy_n(cube.data<float>() + 2 * 400, 8 * 400, cut.data<float>());
  Array pred = model().predict_dense(cut);
  ASSERT_EQ(pred.shape(), (Sizes{2, 6, 14, 14}));
  for (int z = 0; z < 5; ++z)
    for (int c = 0; c < 2; ++c) {
      PngImage im = readPng(path("run-pred-0-z" + std::to_string(z) + "-c" +
                                 std::to_string(c) + "-1.5hrs.png"));
      ASSERT_EQ(im.width, 14);
      ASSERT_EQ(im.height, 14);
      ASSERT_EQ(im.channels, 1);
      for (int64_t x = 0; x < 14; ++x)
        for (int64_t y = 0; y < 14; ++y)
          ASSERT_NEAR(im.at(x, y),
                      byteOf(pred.getFlat(((c * 6 + z) * 14 + x) * 14 + y)), 1)
              << "z" << z << " c" << c << " at " << x << "," << y;
    }
  // Raw slice z lies under prediction slice z: cube z = 2 + 0 + z + 1.
  for (int z = 0; z < 5; ++z) {
    PngImage raw = readPng(path("run-raw-0-z" + std::to_string(z) + ".png"));
    ASSERT_EQ(raw.width, 20);
    ASSERT_EQ(raw.height, 20);
    for (int64_t x = 0; x < 20; ++x)
      for (int64_t y = 0; y < 20; ++y)
        ASSERT_EQ(raw.at(x, y),
                  byteOf(cube.getFlat(((3 + z) * 20 + x) * 20 + y)));
  }
}

TEST_F(PreviewTest, ExportClassSelectsClassesOrAffinity) {
  smallNet3d(6);
  Array cube = randomCube({1, 9, 16, 16}, 5);
  PreviewOptions one{.number = 2, .export_class = "1", .max_z_pred = 2};
  std::vector<std::string> w =
      preview_slice(model(), {cube}, one, dir_, "s", "", false);
  EXPECT_EQ(filesInDir(), (std::set<std::string>{"s-pred-0-z0-c1-2hrs.png",
                                                 "s-pred-0-z1-c1-2hrs.png"}));
  EXPECT_EQ(w.size(), 2u);

  PreviewOptions list{.export_class = "3,5", .max_z_pred = 1};
  w = preview_slice(model(), {cube, cube}, list, dir_, "l", "7", false);
  EXPECT_EQ(w.size(), 4u);
  EXPECT_TRUE(fs::exists(path("l-pred-1-z0-c5-7hrs.png")));

  PreviewOptions aff{.export_class = "affinity", .max_z_pred = 1};
  w = preview_slice(model(), {cube}, aff, dir_, "a", "0.5", true);
  ASSERT_EQ(w.size(), 2u);
  PngImage rgb = readPng(path("a-pred-0-aff-z0-0.5hrs.png"));
  EXPECT_EQ(rgb.channels, 3);
  EXPECT_TRUE(fs::exists(path("a-raw-0-z0.png")));

  for (std::string bad : {"6", "-1", "two", "1,x", ""}) {
    PreviewOptions o{.export_class = bad};
    EXPECT_THROW(preview_slice(model(), {cube}, o, dir_, "b", "1", false),
                 ValueError)
        << bad;
  }
}

TEST_F(PreviewTest, MalisNeedsFiveChannels) {
  smallNet3d(2);
  PreviewOptions o{.export_class = "malis"};
  EXPECT_THROW(preview_slice(model(), {randomCube({10, 13, 13}, 1)}, o, dir_,
                             "m", "1", false),
               ValueError);
}

TEST_F(PreviewTest, TooSmallCubesNameIndexAndShapes) {
  smallNet3d();
  Array good = randomCube({8, 13, 13}, 1);
  for (Sizes small : {Sizes{7, 13, 13}, Sizes{8, 12, 13}, Sizes{5, 5}}) {
    try {
      preview_slice(model(), {good, randomCube(small, 2)}, {}, dir_, "t", "1",
                    false);
      ADD_FAILURE() << formatTuple(small);
    } catch (const ValueError &e) {
      std::string m = e.what();
      EXPECT_NE(m.find("preview cube 1"), std::string::npos) << m;
      EXPECT_NE(m.find(formatTuple(small)), std::string::npos) << m;
    }
  }
}

TEST_F(PreviewTest, TwoDimensionalNetPredictsEachCentralSlice) {
  Node in = Input({None, 1, 12, 12}, "b,f,x,y", {.name = "raw"});
  Node p = Softmax(Conv(in, 2, {3, 3}, {}, {.activation_func = "lin"}));
  model().designate_nodes({.input_node = in, .prediction_node = p});
  Array cube = randomCube({7, 14, 14}, 9);
  PreviewOptions o{.export_class = "0", .max_z_pred = 3};
  std::vector<std::string> w =
      preview_slice(model(), {cube}, o, dir_, "r", "1", true);
  EXPECT_EQ(w.size(), 6u);
  // Central 3 of 7 slices: cube z 2, 3, 4.
  for (int z = 0; z < 3; ++z) {
    Array slice = Array::fromVector(
        {1, 14, 14}, std::vector<float>(cube.data<float>() + (2 + z) * 196,
                                        cube.data<float>() + (3 + z) * 196));
    Array pred = model().predict_dense(slice);
    PngImage im =
        readPng(path("r-pred-0-z" + std::to_string(z) + "-c0-1hrs.png"));
    ASSERT_EQ(im.width, 12);
    EXPECT_NEAR(im.at(4, 7), byteOf(pred.getFlat(4 * 12 + 7)), 1);
    PngImage raw = readPng(path("r-raw-0-z" + std::to_string(z) + ".png"));
    EXPECT_EQ(raw.at(5, 6), byteOf(cube.getFlat(((2 + z) * 14 + 5) * 14 + 6)));
  }
}

//===----------------------------------------------------------------------===//
// Batch test image and filters
//===----------------------------------------------------------------------===//

TEST(BatchTestImage, TargetIsOverlaidAtOffsetsScaledByStrides) {
  std::string file = ::testing::TempDir() + "/Batch_test_image.png";
  // Images (1, 1, 5, 10, 10): value x * 10 + y (z-independent), so the
  // grey of (x, y) is (x * 10 + y) / 99 * 255.
  Array img({1, 1, 5, 10, 10}, DType::Float32);
  for (int64_t z = 0; z < 5; ++z)
    for (int64_t x = 0; x < 10; ++x)
      for (int64_t y = 0; y < 10; ++y)
        img.setFlat((z * 10 + x) * 10 + y, double(x * 10 + y));
  // Target (1, 1, 1, 4, 4), strides (1, 2, 2): centred at z 2, x/y 1;
  // class 1 at target (0, 0) covers image (1..2, 1..2).
  Array tgt({1, 1, 1, 4, 4}, DType::Int16);
  tgt.setFlat(0, 1);
  write_batch_test_image({img, tgt}, file, {1, 2, 2});
  PngImage im = readPng(file);
  ASSERT_EQ(im.width, 20);
  ASSERT_EQ(im.height, 10);
  ASSERT_EQ(im.channels, 3);
  auto grey = [](int64_t x, int64_t y) {
    return int(std::lround(255.0 * double(x * 10 + y) / 99));
  };
  EXPECT_EQ(im.at(3, 4, 0), grey(3, 4));
  EXPECT_EQ(im.at(3, 4, 1), grey(3, 4));
  // Right half: class 1 in colour over (1..2, 1..2).
  for (int64_t x : {1, 2})
    for (int64_t y : {1, 2})
      EXPECT_GT(im.at(x, 10 + y, 0), im.at(x, 10 + y, 1) + 20) << x << y;
  // Class 0 inside the target area stays grey; outside it is darkened.
  EXPECT_EQ(im.at(5, 10 + 5, 0), grey(5, 5));
  EXPECT_EQ(im.at(5, 10 + 5, 1), grey(5, 5));
  EXPECT_EQ(im.at(9, 10 + 9, 0), grey(9, 9) / 2);
  EXPECT_EQ(im.at(0, 10 + 4, 2), grey(0, 4) / 2);

  // Offsets given: the class-1 block moves to (3..4, 3..4).
  write_batch_test_image({img, tgt}, file, {1, 2, 2}, {2, 3, 3});
  im = readPng(file);
  EXPECT_GT(im.at(3, 13, 0), im.at(3, 13, 1) + 20);
  EXPECT_GT(im.at(4, 14, 0), im.at(4, 14, 1) + 20);
  EXPECT_EQ(im.at(1, 11, 0), grey(1, 1) / 2);

  // A target that does not fit, a missing target.
  EXPECT_THROW(write_batch_test_image({img, tgt}, file, {1, 4, 4}), ValueError);
  EXPECT_THROW(write_batch_test_image({img}, file), ValueError);
  // 2-D batches (b, ch, x, y) with a same-size target.
  Array img2({2, 1, 6, 6}, DType::Float32), tgt2({2, 1, 6, 6}, DType::Int16);
  tgt2.setFlat(7, 2);
  write_batch_test_image({img2, tgt2}, file);
  im = readPng(file);
  EXPECT_EQ(im.width, 12);
  EXPECT_NE(im.at(1, 6 + 1, 1), im.at(1, 6 + 1, 0)); // class 2 coloured
}

TEST_F(PreviewTest, FilterImageShowsEachFilterNormalised) {
  Node in = Input({None, 2, 3, 10, 10}, "b,f,z,x,y", {.name = "raw"});
  Node conv = Conv(in, 3, {1, 3, 3});
  save_filter_image(conv, path("filters_conv.png"));
  PngImage im = readPng(path("filters_conv.png"));
  // Tiles of 3 x 3 weights magnified 8 times plus 1-pixel gaps: 2 input
  // channels across, 3 filters down.
  ASSERT_EQ(im.width, 2 * 25 + 1);
  ASSERT_EQ(im.height, 3 * 25 + 1);
  ParamValues params = conv.get_param_values();
  const Array &w = params.at("w"); // (3, 2, 1, 3, 3)
  for (int64_t f = 0; f < 3; ++f) {
    int64_t lo = 0, hi = 0;
    for (int64_t i = 0; i < 18; ++i) {
      if (w.getFlat(f * 18 + i) < w.getFlat(f * 18 + lo))
        lo = i;
      if (w.getFlat(f * 18 + i) > w.getFlat(f * 18 + hi))
        hi = i;
    }
    auto pixel = [&](int64_t i) { // centre of weight i's 8 x 8 block
      int64_t t = i / 9, x = i % 9 / 3, y = i % 3;
      return im.at(f * 25 + 1 + x * 8 + 4, t * 25 + 1 + y * 8 + 4);
    };
    EXPECT_EQ(pixel(lo), 0) << f;
    EXPECT_EQ(pixel(hi), 255) << f;
  }
  // The input has no weights.
  EXPECT_THROW(save_filter_image(in, path("filters_raw.png")), ValueError);
  EXPECT_FALSE(fs::exists(path("filters_raw.png")));
}
