//===- MaskTest.cpp - neuromancer predict --mask
//---------------------------===//
//
// Blocks whose owned voxels hold no nonzero mask voxel are not predicted and
// read as 0; the others equal a run without the mask there; the skipped
// blocks survive a resume like any other; a resume with another mask (or
// none) is refused; bad masks are one-line errors naming file, dataset and
// axis.
//
//===----------------------------------------------------------------------===//
#include "tests/predict/StreamFixture.h"

#include "neuromancer/predict/Plan.h"

#include <chrono>

using namespace nm;
using nm::testing::readH5;
using nm::testing::stringAttribute;
using nm::testing::writeH5;

namespace {

// The volume (2, 9, 21, 23): the ROI is (7, 13, 15) at raw (1, 4, 4); with
// the tile (3, 5, 6) the blocks are 3 x 3 x 3.
const Sizes kRaw = {2, 9, 21, 23}, kTile = {3, 5, 6};
const Sizes kRoiLo = {1, 4, 4};

/// A (9, 21, 23) uint8 mask, 1 at the given raw voxels.
Array maskWith(const std::vector<Sizes> &voxels) {
  Array m({9, 21, 23}, DType::UInt8);
  for (int64_t i = 0; i < m.size(); ++i)
    m.setFlat(i, 0);
  for (const Sizes &v : voxels)
    m.setFlat((v[0] * 21 + v[1]) * 23 + v[2], 1);
  return m;
}

/// Raw voxel → the block (z-major index) owning it.
int64_t blockOf(const Sizes &rawVoxel) {
  int64_t k[3];
  for (int a = 0; a < 3; ++a)
    k[a] = (rawVoxel[a] - kRoiLo[a]) / kTile[a];
  return (k[0] * 3 + k[1]) * 3 + k[2];
}

class MaskTest : public StreamTest {
protected:
  /// Writes raw.h5 and predicts it without a mask into out.h5:full.
  Array fullRun() {
    saveNet();
    writeH5(path("raw.h5"), "raw", randomArray(kRaw, 21));
    predict::StreamOptions o = options();
    o.tile = kTile;
    o.outDataset = "full";
    predict::predictStream(o);
    return readH5(path("out.h5"), "full");
  }

  predict::StreamOptions masked(const std::string &file,
                                const std::string &ds = "mask") const {
    predict::StreamOptions o = options();
    o.tile = kTile;
    o.mask = path(file);
    o.maskDataset = ds;
    return o;
  }

  /// Every voxel of `got` is `full`'s where its block is in `predicted`,
  /// else 0; the number of voxels compared nonzero.
  static void expectOnly(const Array &got, const Array &full,
                         const std::vector<int64_t> &predicted) {
    ASSERT_EQ(got.shape(), full.shape());
    predict::BlockGrid grid({7, 13, 15}, kTile);
    int64_t checkedPredicted = 0;
    for (int64_t c = 0; c < 2; ++c)
      for (int64_t z = 0; z < 7; ++z)
        for (int64_t x = 0; x < 13; ++x)
          for (int64_t y = 0; y < 15; ++y) {
            int64_t i = ((c * 7 + z) * 13 + x) * 15 + y;
            int64_t b = blockOf({z + 1, x + 4, y + 4});
            bool on = std::find(predicted.begin(), predicted.end(), b) !=
                      predicted.end();
            ASSERT_EQ(got.getFlat(i), on ? full.getFlat(i) : 0.0)
                << "block " << b << " voxel " << i;
            checkedPredicted += on;
          }
    EXPECT_GT(checkedPredicted, 0);
  }
};

} // namespace

TEST_F(MaskTest, SkipsBlocksWithoutForeground) {
  Array full = fullRun();
  // Foreground in the middle block (at a voxel the last blocks, computed
  // shifted inward, compute but do not own), in the last (partial) block,
  // and at raw (0, 0, 0): in the field of view of block 0 but owned by no
  // block. Only what a block owns counts: blocks 13 and 26 are predicted.
  Sizes middle = {5, 12, 13}, last = {7, 16, 18};
  ASSERT_EQ(blockOf(middle), 13);
  ASSERT_EQ(blockOf(last), 26);
  writeH5(path("mask.h5"), "mask", maskWith({middle, last, {0, 0, 0}}));
  predict::StreamOptions o = masked("mask.h5");
  std::vector<std::string> lines;
  o.say = [&](const std::string &line) { lines.push_back(line); };
  predict::StreamReport r = predict::predictStream(o);
  EXPECT_EQ(r.blocks, 27);
  EXPECT_EQ(r.skipped, 25);
  ASSERT_FALSE(lines.empty());
  EXPECT_NE(lines.back().find("; 25 of 27 blocks skipped (no foreground in " +
                              path("mask.h5") + ":mask)"),
            std::string::npos)
      << lines.back();
  expectOnly(readH5(path("out.h5"), "pred"), full, {13, 26});
  EXPECT_EQ(
      stringAttribute(path("out.h5"), "pred", "mask_dataset").substr(0, 4),
      "mask");
  EXPECT_FALSE(std::filesystem::exists(path("out.h5.pred.partial")));

  // An all-foreground mask predicts everything: the run without a mask.
  Array all({1, 9, 21, 23}, DType::Float32); // (1, z, x, y), float
  for (int64_t i = 0; i < all.size(); ++i)
    all.setFlat(i, 0.5);
  writeH5(path("all.h5"), "m", all);
  o = masked("all.h5", "");
  o.outDataset = "all";
  EXPECT_EQ(predict::predictStream(o).skipped, 0);
  EXPECT_EQ(readH5(path("out.h5"), "all"), full);
}

TEST_F(MaskTest, FloatMaskNegativeZeroIsBackground) {
  Array full = fullRun();
  Array m({1, 9, 21, 23}, DType::Float32);
  for (int64_t i = 0; i < m.size(); ++i)
    m.setFlat(i, -0.0);
  m.setFlat((2 * 21 + 6) * 23 + 7, 0.25); // raw (2, 6, 7): block 0
  writeH5(path("mask.h5"), "mask", m);
  predict::StreamReport r = predict::predictStream(masked("mask.h5"));
  EXPECT_EQ(r.skipped, 26);
  expectOnly(readH5(path("out.h5"), "pred"), full, {blockOf({2, 6, 7})});
}

TEST_F(MaskTest, SkippedBlocksSurviveAResume) {
  Array full = fullRun();
  writeH5(path("mask.h5"), "mask", maskWith({{5, 10, 13}, {1, 4, 4}}));
  predict::StreamOptions o = masked("mask.h5");
  o.afterBlock = [](int64_t, int64_t done) {
    if (done == 20)
      throw std::runtime_error("interrupted");
  };
  EXPECT_THROW(predict::predictStream(o), std::runtime_error);
  // Skipped blocks have block files too (with no data).
  EXPECT_TRUE(std::filesystem::exists(path("out.h5.pred.partial/block-5.h5")));
  std::vector<int64_t> computed;
  o.afterBlock = [&](int64_t block, int64_t) { computed.push_back(block); };
  predict::StreamReport r = predict::predictStream(o);
  EXPECT_EQ(r.resumed, 20);
  EXPECT_EQ(r.skipped, 25); // the resumed ones counted too
  EXPECT_EQ(static_cast<int64_t>(computed.size()), 7);
  expectOnly(readH5(path("out.h5"), "pred"), full, {0, 13});
}

TEST_F(MaskTest, AResumeWithAnotherMaskIsRefused) {
  fullRun();
  writeH5(path("mask.h5"), "mask", maskWith({{5, 10, 13}}));
  writeH5(path("other.h5"), "mask", maskWith({{5, 10, 13}}));
  predict::StreamOptions o = masked("mask.h5");
  o.afterBlock = [](int64_t, int64_t done) {
    if (done == 3)
      throw std::runtime_error("interrupted");
  };
  EXPECT_THROW(predict::predictStream(o), std::runtime_error);
  o.afterBlock = nullptr;

  predict::StreamOptions other = masked("other.h5");
  std::string e = errorOf(other);
  EXPECT_NE(e.find("has an unfinished run"), std::string::npos) << e;
  EXPECT_NE(e.find("mask_file was"), std::string::npos) << e;
  // No mask at all: the keys missing now are named too.
  other = options();
  other.tile = kTile;
  e = errorOf(other);
  EXPECT_NE(e.find("mask_dataset was \"mask\", now (none)"), std::string::npos)
      << e;
  // The same file, rewritten since: its time differs.
  auto t = std::filesystem::last_write_time(path("mask.h5"));
  std::filesystem::last_write_time(path("mask.h5"),
                                   t + std::chrono::seconds(10));
  e = errorOf(o);
  EXPECT_NE(e.find("mask_file_mtime_ns was"), std::string::npos) << e;
  std::filesystem::last_write_time(path("mask.h5"), t);
  // Back as it was: resumes.
  EXPECT_EQ(predict::predictStream(o).resumed, 3);
}

TEST_F(MaskTest, BadMasksAreOneLineErrors) {
  saveNet();
  writeH5(path("raw.h5"), "raw", randomArray(kRaw, 22));
  writeH5(path("two.h5"), "a", maskWith({}));
  writeH5(path("two.h5"), "b", maskWith({}), true);
  writeH5(path("short.h5"), "m", Array({9, 21, 22}, DType::UInt8));
  writeH5(path("rank.h5"), "m", Array({2, 9, 21, 23}, DType::UInt8));
  nm::testing::writeStringH5(path("text.h5"), "m");
  auto error = [&](const std::string &file, const std::string &ds) {
    return errorOf(masked(file, ds));
  };
  std::string e = error("none.h5", "");
  EXPECT_NE(e.find("mask file '" + path("none.h5") +
                   "' cannot be read: No such file or directory"),
            std::string::npos)
      << e;
  e = error("two.h5", "");
  EXPECT_NE(e.find("mask file '" + path("two.h5") +
                   "' has 2 datasets (['a', 'b']); name one as"),
            std::string::npos)
      << e;
  e = error("two.h5", "c");
  EXPECT_NE(e.find("has no dataset 'c' (it has: ['a', 'b'])"),
            std::string::npos)
      << e;
  e = error("short.h5", "");
  EXPECT_NE(e.find("mask " + path("short.h5") +
                   ":m has 22 voxels along y, but the raw volume " +
                   path("raw.h5") + ":raw has 23"),
            std::string::npos)
      << e;
  e = error("rank.h5", "m");
  EXPECT_NE(e.find("has shape (2, 9, 21, 23); a mask is (z, x, y) or (1, z, "
                   "x, y)"),
            std::string::npos)
      << e;
  e = error("text.h5", "m");
  EXPECT_NE(e.find("mask " + path("text.h5") +
                   ":m has non-numeric elements (HDF5 class string)"),
            std::string::npos)
      << e;
  EXPECT_EQ(e.find('\n'), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(path("out.h5")));
}

TEST_F(MaskTest, TheMemoryEstimateCountsTheMaskBox) {
  predict::NetGeometry g;
  g.fov = {3, 8, 8};
  g.offsets = {1, 4, 4};
  g.channels = 1;
  g.labels = 2;
  Sizes tile = {4, 16, 16};
  predict::BlockCost plain, withMask;
  withMask.maskElemSize = 8;
  EXPECT_EQ(predict::blockBytes(g, tile, withMask) -
                predict::blockBytes(g, tile, plain),
            4 * 16 * 16 * 8);
}
