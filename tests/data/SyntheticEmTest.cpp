//===- SyntheticEmTest.cpp - the synthetic EM data set --------------------===//
//
// `small` data sets written by makeSyntheticData, read back through
// libhdf5: the layout of neuro_data_zxy, statistics that make the data look
// like stained serial-section EM, determinism, and the refusals.
//
//===----------------------------------------------------------------------===//
#include "neuromancer/data/synthetic/SyntheticEm.h"

#include "neuromancer/core/Error.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

namespace {

namespace fs = std::filesystem;
using namespace nm::data;
using nm::Array;

fs::path scratch(const std::string &name) {
  const char *tmp = std::getenv("TEST_TMPDIR");
  fs::path p = fs::path(tmp ? tmp : "/tmp") / ("synthetic_em_" + name);
  fs::remove_all(p);
  return p;
}

std::string slurp(const fs::path &p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

MakeDataReport makeSmall(const fs::path &dir, uint64_t seed,
                         bool overwrite = false) {
  MakeDataOptions o;
  o.seed = seed;
  o.size = SyntheticSize::Small;
  o.overwrite = overwrite;
  return makeSyntheticData(dir.string(), o);
}

/// One small data set (seed 7) shared by the read-only tests.
class SmallSet : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(scratch("seed7"));
    report_ = new MakeDataReport(makeSmall(*dir_, 7));
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete report_;
  }
  static Array raw(int i) {
    return readHdf5Dataset(path("raw_" + std::to_string(i) + ".h5"), "raw");
  }
  static Array lab(int i) {
    return readHdf5Dataset(path("barrier_int16_" + std::to_string(i) + ".h5"),
                           "lab");
  }
  static std::string path(const std::string &name) {
    return (*dir_ / name).string();
  }
  static fs::path *dir_;
  static MakeDataReport *report_;
};
fs::path *SmallSet::dir_;
MakeDataReport *SmallSet::report_;

TEST_F(SmallSet, LayoutOfNeuroDataZxy) {
  std::vector<std::string> expected = syntheticFileNames(true);
  ASSERT_EQ(report_->files.size(), expected.size());
  for (const std::string &name : expected)
    EXPECT_TRUE(fs::is_regular_file(*dir_ / name)) << name;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(hdf5DatasetNames(path("raw_" + std::to_string(i) + ".h5")),
              std::vector<std::string>{"raw"});
    EXPECT_EQ(
        hdf5DatasetNames(path("barrier_int16_" + std::to_string(i) + ".h5")),
        std::vector<std::string>{"lab"});
    Array r = raw(i), l = lab(i);
    EXPECT_EQ(r.dtype(), nm::DType::UInt8);
    EXPECT_EQ(r.shape(), (std::vector<int64_t>{64, 256, 256}));
    EXPECT_EQ(l.dtype(), nm::DType::Int16);
    EXPECT_EQ(l.shape(), (std::vector<int64_t>{40, 200, 200}));
  }
  std::string previews = path("preview_cubes.h5");
  EXPECT_EQ(hdf5DatasetNames(previews),
            (std::vector<std::string>{"preview_0", "preview_1"}));
  for (const char *name : {"preview_0", "preview_1"}) {
    Array p = readHdf5Dataset(previews, name);
    EXPECT_EQ(p.dtype(), nm::DType::UInt8);
    EXPECT_EQ(p.shape(), (std::vector<int64_t>{16, 160, 160}));
  }
}

TEST_F(SmallSet, PreviewPngIsAGreyImageOfRawBesideLabels) {
  std::string png = slurp(*dir_ / "preview_0.png");
  ASSERT_GT(png.size(), 33u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  auto be32 = [&](std::size_t at) {
    return (uint32_t(uint8_t(png[at])) << 24) |
           (uint32_t(uint8_t(png[at + 1])) << 16) |
           (uint32_t(uint8_t(png[at + 2])) << 8) | uint8_t(png[at + 3]);
  };
  EXPECT_EQ(png.substr(12, 4), "IHDR");
  EXPECT_EQ(be32(16), 512u); // width: raw section and labels side by side
  EXPECT_EQ(be32(20), 256u);
  EXPECT_EQ(png[24], 8); // bit depth
  EXPECT_EQ(png[25], 0); // greyscale
}

TEST_F(SmallSet, LabelsAreBarrierAboutAQuarter) {
  ASSERT_EQ(report_->barrierFractions.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    Array l = lab(i);
    const int16_t *p = l.data<int16_t>();
    int64_t ones = 0;
    for (int64_t k = 0; k < l.size(); ++k) {
      ASSERT_TRUE(p[k] == 0 || p[k] == 1) << "value " << p[k] << " at " << k;
      ones += p[k];
    }
    double fraction = double(ones) / double(l.size());
    EXPECT_GT(fraction, 0.15) << "cube " << i;
    EXPECT_LT(fraction, 0.40) << "cube " << i;
    EXPECT_DOUBLE_EQ(fraction, report_->barrierFractions[i]);
  }
}

/// Labels are the central (40,200,200) region of the same cell volume: the
/// cube rendered with labels everywhere, cropped, gives the same labels.
TEST_F(SmallSet, LabelsAreCentredInRaw) {
  SyntheticCube whole =
      generateSyntheticCube({7, 0, {64, 256, 256}, {64, 256, 256}, 2});
  EXPECT_EQ(whole.raw, raw(0)); // the raw cube does not depend on labShape
  Array l = lab(0);
  const int16_t *all = whole.lab.data<int16_t>(), *c = l.data<int16_t>();
  int64_t mismatches = 0;
  for (int64_t z = 0; z < 40; ++z)
    for (int64_t x = 0; x < 200; ++x)
      for (int64_t y = 0; y < 200; ++y)
        mismatches += all[((z + 12) * 256 + x + 28) * 256 + y + 28] !=
                      c[(z * 200 + x) * 200 + y];
  EXPECT_EQ(mismatches, 0);
  // And not trivially so: shifted by one voxel the labels differ.
  int64_t shifted = 0;
  for (int64_t x = 0; x < 200; ++x)
    for (int64_t y = 0; y < 200; ++y)
      shifted += all[((20 + 12) * 256 + x + 29) * 256 + y + 28] !=
                 c[(20 * 200 + x) * 200 + y];
  EXPECT_GT(shifted, 1000);
}

TEST_F(SmallSet, MembranesAreDarkAsInStainedEm) {
  for (int i = 0; i < 3; ++i) {
    Array r = raw(i), l = lab(i);
    const uint8_t *rp = r.data<uint8_t>();
    const int16_t *lp = l.data<int16_t>();
    double sum[2] = {0, 0};
    int64_t n[2] = {0, 0};
    for (int64_t z = 0; z < 40; ++z)
      for (int64_t x = 0; x < 200; ++x)
        for (int64_t y = 0; y < 200; ++y) {
          int k = lp[(z * 200 + x) * 200 + y];
          sum[k] += rp[((z + 12) * 256 + x + 28) * 256 + y + 28];
          ++n[k];
        }
    double barrier = sum[1] / n[1], cell = sum[0] / n[0];
    EXPECT_LT(barrier, cell - 40) << "cube " << i;
    // Overall grey values like neuro_data_zxy's (mean 155, std 43).
    double s = 0, sq = 0;
    for (int64_t k = 0; k < r.size(); ++k)
      s += rp[k], sq += double(rp[k]) * rp[k];
    double mean = s / r.size(), sd = std::sqrt(sq / r.size() - mean * mean);
    EXPECT_NEAR(mean, 155, 20) << "cube " << i;
    EXPECT_NEAR(sd, 42, 12) << "cube " << i;
  }
}

double correlation(const Array &a, int64_t dz, int64_t dx) {
  const auto &s = a.shape();
  const uint8_t *p = a.data<uint8_t>();
  double su = 0, sv = 0, suv = 0, suu = 0, svv = 0;
  int64_t n = 0;
  for (int64_t z = 0; z + dz < s[0]; ++z)
    for (int64_t x = 0; x + dx < s[1]; ++x)
      for (int64_t y = 0; y < s[2]; ++y) {
        double u = p[(z * s[1] + x) * s[2] + y];
        double v = p[((z + dz) * s[1] + x + dx) * s[2] + y];
        su += u, sv += v, suv += u * v, suu += u * u, svv += v * v, ++n;
      }
  su /= n, sv /= n;
  return (suv / n - su * sv) /
         std::sqrt((suu / n - su * su) * (svv / n - sv * sv));
}

/// Sections are twice as thick as pixels are wide: neighbouring sections are
/// less alike than neighbouring pixels of a section.
TEST_F(SmallSet, AnisotropyTwo) {
  for (int i = 0; i < 3; ++i) {
    Array r = raw(i);
    double cz = correlation(r, 1, 0), cx = correlation(r, 0, 1);
    EXPECT_LT(cz, cx - 0.08) << "cube " << i;
    EXPECT_GT(cz, 0.3) << "cube " << i; // still one volume, not noise
  }
}

TEST_F(SmallSet, SameSeedSameBytes) {
  fs::path again = scratch("seed7_again");
  makeSmall(again, 7);
  for (const std::string &name : syntheticFileNames(true))
    EXPECT_TRUE(slurp(*dir_ / name) == slurp(again / name)) << name;
}

TEST_F(SmallSet, DifferentSeedDifferentData) {
  fs::path other = scratch("seed8");
  makeSmall(other, 8);
  for (int i = 0; i < 3; ++i) {
    std::string n = std::to_string(i);
    EXPECT_NE(readHdf5Dataset((other / ("raw_" + n + ".h5")).string(), "raw"),
              raw(i));
    EXPECT_NE(readHdf5Dataset((other / ("barrier_int16_" + n + ".h5")).string(),
                              "lab"),
              lab(i));
  }
  // The three cubes of one seed differ from each other too.
  EXPECT_NE(raw(0), raw(1));
  EXPECT_NE(raw(1), raw(2));
}

TEST(SyntheticEm, ThreadCountDoesNotMatter) {
  SyntheticCubeSpec spec{3, 1, {12, 70, 90}, {6, 40, 50}, 1};
  SyntheticCube one = generateSyntheticCube(spec);
  spec.threads = 3;
  SyntheticCube three = generateSyntheticCube(spec);
  EXPECT_EQ(one.raw, three.raw);
  EXPECT_EQ(one.lab, three.lab);
  EXPECT_EQ(one.lab.shape(), (std::vector<int64_t>{6, 40, 50}));
}

TEST(SyntheticEm, RefusesToOverwrite) {
  fs::path dir = scratch("refuse");
  fs::create_directories(dir);
  { std::ofstream(dir / "barrier_int16_1.h5") << "mine"; }
  try {
    makeSmall(dir, 1);
    FAIL() << "expected nm::ValueError";
  } catch (const nm::ValueError &e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(dir.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("barrier_int16_1.h5"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--overwrite"), std::string::npos) << msg;
  }
  // Nothing was written, the user's file is untouched.
  EXPECT_EQ(slurp(dir / "barrier_int16_1.h5"), "mine");
  EXPECT_FALSE(fs::exists(dir / "raw_0.h5"));
  // With overwrite, the data set replaces it.
  makeSmall(dir, 1, /*overwrite=*/true);
  EXPECT_EQ(
      readHdf5Dataset((dir / "barrier_int16_1.h5").string(), "lab").shape(),
      (std::vector<int64_t>{40, 200, 200}));
  // A second run without overwrite names every file it would replace.
  try {
    makeSmall(dir, 1);
    FAIL() << "expected nm::ValueError";
  } catch (const nm::ValueError &e) {
    std::string msg = e.what();
    for (const std::string &name : syntheticFileNames(true))
      EXPECT_NE(msg.find(name), std::string::npos) << msg;
  }
}

TEST(SyntheticEm, DirectoryThatIsAFile) {
  fs::path file = scratch("a_file");
  { std::ofstream(file) << "x"; }
  try {
    makeSmall(file, 0);
    FAIL() << "expected nm::IOError";
  } catch (const nm::IOError &e) {
    EXPECT_NE(std::string(e.what()).find("not a directory"), std::string::npos)
        << e.what();
  }
}

TEST(SyntheticEm, BadShapesAreValueErrors) {
  EXPECT_THROW(generateSyntheticCube({0, 0, {10, 50, 50}, {12, 40, 40}, 1}),
               nm::ValueError); // labels larger than raw
  EXPECT_THROW(generateSyntheticCube({0, 0, {10, 50, 50}, {5, 40, 40}, 1}),
               nm::ValueError); // cannot be centred
  EXPECT_THROW(generateSyntheticCube({0, 0, {0, 50, 50}, {0, 0, 0}, 1}),
               nm::ValueError);
  EXPECT_EQ(parseSyntheticSize("small"), SyntheticSize::Small);
  EXPECT_EQ(parseSyntheticSize("full"), SyntheticSize::Full);
  EXPECT_THROW(parseSyntheticSize("medium"), nm::ValueError);
}

TEST_F(SmallSet, ReadingMissingFileOrDataset) {
  try {
    readHdf5Dataset(path("nope.h5"), "raw");
    FAIL();
  } catch (const nm::IOError &e) {
    EXPECT_NE(std::string(e.what()).find("nope.h5"), std::string::npos);
  }
  try {
    readHdf5Dataset(path("raw_0.h5"), "lab");
    FAIL();
  } catch (const nm::IOError &e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("raw_0.h5"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'lab'"), std::string::npos) << msg;
  }
}

} // namespace
