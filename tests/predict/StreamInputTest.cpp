//===- StreamInputTest.cpp - neuromancer predict: bad input, the plan -----===//
//
// Each bad input is one nm::Error whose message names the file, dataset,
// axis or size; the block plan covers the ROI exactly once, within the
// budget, deterministically.
//
//===----------------------------------------------------------------------===//
#include "tests/predict/StreamFixture.h"

#include "neuromancer/core/Progress.h"
#include "neuromancer/core/Sha256.h"
#include "neuromancer/predict/Plan.h"
#include "neuromancer/predict/RawInput.h"

#include <sys/stat.h>

using namespace nm;
using nm::testing::writeH5;
using nm::testing::writeStringH5;

namespace {

void expectContains(const std::string &text, const std::string &part) {
  EXPECT_NE(text.find(part), std::string::npos)
      << "'" << part << "' not in '" << text << "'";
}

} // namespace

TEST_F(StreamTest, BadInputIsOneLineNamingWhatIsWrong) {
  saveNet();
  Array raw = randomArray({2, 9, 21, 23}, 1);
  writeH5(path("raw.h5"), "raw", raw);
  predict::StreamOptions o = options();
  auto errorWith = [&](auto change) {
    predict::StreamOptions c = options();
    change(c);
    std::string e = errorOf(c);
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
    return e;
  };
  // Wrong channel count: a (z, x, y) dataset is one channel.
  writeH5(path("one.h5"), "vol", randomArray({9, 21, 23}, 2));
  expectContains(errorWith([&](auto &c) {
                   c.raw = path("one.h5");
                   c.rawDataset = "";
                 }),
                 "one.h5:vol has shape (9, 21, 23), that is 1 channel(s)");
  // Fewer than 2 spatial axes.
  writeH5(path("flat.h5"), "raw", randomArray({50}, 2));
  expectContains(errorWith([&](auto &c) { c.raw = path("flat.h5"); }),
                 "flat.h5:raw has shape (50,), fewer than 2 spatial axes");
  // Smaller than the field of view without --pad-raw.
  writeH5(path("small.h5"), "raw", randomArray({2, 2, 21, 23}, 2));
  expectContains(errorWith([&](auto &c) { c.raw = path("small.h5"); }),
                 "small.h5:raw has 2 voxels along z, fewer than the model's "
                 "field of view of 3; pass --pad-raw");
  // Missing and unnamed datasets.
  expectContains(errorWith([&](auto &c) { c.rawDataset = "nope"; }),
                 "raw.h5' has no dataset 'nope' (it has: ['raw'])");
  writeH5(path("two.h5"), "a", raw);
  writeH5(path("two.h5"), "b", raw, true);
  expectContains(errorWith([&](auto &c) {
                   c.raw = path("two.h5");
                   c.rawDataset = "";
                 }),
                 "two.h5' has 2 datasets (['a', 'b']); name one as");
  expectContains(errorWith([&](auto &c) { c.raw = path("absent.h5"); }),
                 "raw file '" + path("absent.h5") + "' cannot be read");
  // Non-numeric elements.
  writeStringH5(path("text.h5"), "raw");
  expectContains(errorWith([&](auto &c) { c.raw = path("text.h5"); }),
                 "text.h5:raw has non-numeric elements (HDF5 class string)");
  // Output: an existing dataset, a file that is not HDF5, a directory that
  // cannot be written.
  writeH5(path("out.h5"), "pred", raw);
  expectContains(errorWith([](auto &) {}),
                 "out.h5' already has dataset 'pred'; pass --overwrite");
  std::FILE *f = std::fopen(path("notes.txt").c_str(), "w");
  std::fputs("my notes", f);
  std::fclose(f);
  expectContains(errorWith([&](auto &c) { c.out = path("notes.txt"); }),
                 "notes.txt' exists and is not an HDF5 file; it is left "
                 "untouched");
  EXPECT_EQ(ModelTest::readFile(path("notes.txt")), "my notes");
  std::filesystem::create_directories(path("ro"));
  ::chmod(path("ro").c_str(), 0500);
  if (::access(path("ro").c_str(), W_OK) != 0) // root may write anyway
    expectContains(errorWith([&](auto &c) { c.out = path("ro/out.h5"); }),
                   "cannot write into directory '" + path("ro") + "'");
  ::chmod(path("ro").c_str(), 0700);
  expectContains(errorWith([&](auto &c) { c.out = path("no/such/out.h5"); }),
                 "directory '" + path("no/such") + "' does not exist");
  // Options.
  expectContains(errorWith([](auto &c) {
                   c.outDataset = "fresh";
                   c.memory = 1 << 20;
                 }),
                 "--memory 1.0 MiB is too small: the process needs about "
                 "192 MiB besides the blocks");
  expectContains(errorWith([](auto &c) {
                   c.outDataset = "fresh";
                   c.classes = {2};
                 }),
                 "--classes: class 2 does not exist; the model predicts 2 "
                 "classes (0..1)");
  expectContains(errorWith([](auto &c) {
                   c.outDataset = "fresh";
                   c.roiLo = Sizes{0, 0, 0};
                   c.roiHi = Sizes{9, 30, 5};
                 }),
                 "--roi: the x range [0, 30) is empty or not inside");
  expectContains(errorWith([](auto &c) {
                   c.outDataset = "fresh";
                   c.mean = 0.5;
                 }),
                 "--mean and --std go together");
  EXPECT_FALSE(std::filesystem::exists(path("out.h5.fresh.partial")));
}

TEST_F(StreamTest, MeanAndStdNormalise) {
  Node p = saveNet();
  Array raw = randomArray({2, 9, 21, 23}, 4, DType::UInt8);
  writeH5(path("raw.h5"), "raw", raw);
  predict::StreamOptions o = options();
  o.mean = 100;
  o.std = 50;
  predict::predictStream(o);
  Array normalised(raw.shape());
  for (int64_t i = 0; i < raw.size(); ++i)
    normalised.setFlat(i, (raw.getFlat(i) - 100) / 50);
  EXPECT_LE(maxRelError(nm::testing::readH5(path("out.h5"), "pred"),
                        p.predict_dense(normalised)),
            1e-5);
}

TEST(StreamPlan, BlocksOwnEveryVoxelOnceAndShareOneShape) {
  predict::BlockGrid grid({7, 13, 15}, {3, 5, 6});
  EXPECT_EQ(grid.counts, (Sizes{3, 3, 3}));
  std::vector<int> owner(7 * 13 * 15, 0);
  for (int64_t i = 0; i < grid.size(); ++i) {
    predict::Block b = grid.block(i);
    for (int a = 0; a < 3; ++a) {
      EXPECT_GE(b.computeLo[a], 0);
      EXPECT_LE(b.computeLo[a] + grid.tile[a], grid.roi[a]);
      EXPECT_LE(b.computeLo[a], b.writeLo[a]);
      EXPECT_EQ(b.writeLo[a] % grid.tile[a], 0); // chunk-aligned
    }
    for (int64_t z = 0; z < b.writeSize[0]; ++z)
      for (int64_t x = 0; x < b.writeSize[1]; ++x)
        for (int64_t y = 0; y < b.writeSize[2]; ++y)
          ++owner[((b.writeLo[0] + z) * 13 + b.writeLo[1] + x) * 15 +
                  b.writeLo[2] + y];
  }
  EXPECT_TRUE(
      std::all_of(owner.begin(), owner.end(), [](int n) { return n == 1; }));
  // A tile larger than the ROI is clamped to it.
  EXPECT_EQ(predict::BlockGrid({2, 40, 40}, {8, 64, 64}).tile,
            (Sizes{2, 40, 40}));
}

TEST(StreamPlan, TileFromTheBudgetIsDeterministicAndFits) {
  predict::NetGeometry g;
  g.fov = {9, 27, 27};
  g.offsets = {4, 13, 13};
  g.channels = 1;
  g.labels = 2;
  g.nodeFeatures = {16, 32, 2};
  g.nodeFov = {{2, 5, 5}, {5, 13, 13}, {9, 27, 27}};
  predict::BlockCost cost{1, 2, false};
  Sizes roi = {200, 2000, 2000};
  Sizes big = predict::chooseTile(g, roi, int64_t(1) << 30, cost);
  Sizes small = predict::chooseTile(g, roi, int64_t(256) << 20, cost);
  EXPECT_EQ(big, predict::chooseTile(g, roi, int64_t(1) << 30, cost));
  int64_t process = predict::processBytes(g);
  EXPECT_LE(process + predict::blockBytes(g, big, cost), int64_t(1) << 30);
  EXPECT_LE(process + predict::blockBytes(g, small, cost), int64_t(256) << 20);
  EXPECT_GT(big[0] * big[1] * big[2], small[0] * small[1] * small[2]);
  for (const Sizes &t : {big, small})
    for (int a = 0; a < 3; ++a) {
      Sizes chunk = predict::chunkFor(t);
      EXPECT_EQ(t[a] % chunk[a], 0);
      // At most 64 voxels, unless the tile has no divisor from 16 to 64.
      if (chunk[a] != t[a])
        EXPECT_LE(chunk[a], 64);
    }
  EXPECT_TRUE(predict::fitsBudget(g, big, int64_t(1) << 30, cost));
  EXPECT_TRUE(predict::fitsBudget(g, small, int64_t(256) << 20, cost));
  EXPECT_THROW(predict::chooseTile(g, roi, 1 << 20, cost), ValueError);
  EXPECT_EQ(predict::chunkFor({20, 256, 97}), (Sizes{20, 64, 97}));
}

// Within the budget the tile executes the least work over the ROI (blocks ×
// blockMacs, the halo included): no tile of any size that fits does less.
TEST(StreamPlan, TileFromTheBudgetDoesTheLeastWork) {
  predict::NetGeometry g;
  g.fov = {5, 21, 21};
  g.offsets = {2, 10, 10};
  g.channels = 1;
  g.labels = 2;
  g.nodeFeatures = {8, 8, 16, 2};
  g.nodeFov = {{2, 4, 4}, {2, 5, 5}, {4, 13, 13}, {5, 21, 21}};
  g.nodeMacs = {64, 8, 2048, 32};
  predict::BlockCost cost{1, 2, false};
  Sizes roi = {11, 37, 30};
  auto work = [&](const Sizes &t) {
    int64_t blocks = 1;
    for (int a = 0; a < 3; ++a)
      blocks *= (roi[a] + t[a] - 1) / t[a];
    return blocks * predict::blockMacs(g, t);
  };
  int64_t process = predict::processBytes(g);
  for (int64_t budget : {process + (int64_t(9) << 20),
                         process + (int64_t(12) << 20), int64_t(1) << 30}) {
    Sizes tile = predict::chooseTile(g, roi, budget, cost);
    ASSERT_TRUE(predict::fitsBudget(g, tile, budget, cost));
    ASSERT_LE(process + predict::blockBytes(g, tile, cost), budget);
    for (int64_t z = 1; z <= roi[0]; ++z)
      for (int64_t x = 1; x <= roi[1]; ++x)
        for (int64_t y = 1; y <= roi[2]; ++y)
          if (predict::fitsBudget(g, {z, x, y}, budget, cost))
            ASSERT_GE(work({z, x, y}), work(tile))
                << formatTuple({z, x, y}) << " beats " << formatTuple(tile)
                << " within " << budget;
  }
  // The whole ROI when it fits; the halo of a 1-voxel-thick tile is
  // computed again for every block.
  EXPECT_EQ(predict::chooseTile(g, roi, int64_t(1) << 30, cost), roi);
  EXPECT_GT(predict::blockMacs(g, {1, 37, 30}) * 11 * 2,
            predict::blockMacs(g, roi) * 3);
}

TEST(StreamPlan, ParsesOptions) {
  EXPECT_EQ(predict::parseMemory("4G"), int64_t(4) << 30);
  EXPECT_EQ(predict::parseMemory("512M"), int64_t(512) << 20);
  EXPECT_EQ(predict::parseMemory("1.5GiB"), int64_t(3) << 29);
  EXPECT_EQ(predict::parseMemory("100k"), 102400);
  EXPECT_EQ(predict::parseMemory("4096"), 4096);
  for (const char *bad : {"", "G", "4X", "-1G", "1.2.3M", "0"})
    EXPECT_THROW(predict::parseMemory(bad), ValueError) << bad;
  EXPECT_EQ(predict::parseRoi("0,1,2:3,4,5"),
            std::make_pair(Sizes{0, 1, 2}, Sizes{3, 4, 5}));
  EXPECT_THROW(predict::parseRoi("0,1:3,4"), ValueError);
  EXPECT_THROW(predict::parseTriple("--tile", "1,-2,3"), ValueError);
  EXPECT_EQ(predict::parseClasses("2,0"), (std::vector<int64_t>{2, 0}));
  EXPECT_THROW(predict::parseClasses("a"), ValueError);
  EXPECT_EQ(
      predict::splitDatasetPath("no/such/file.h5:grp/ds"),
      std::make_pair(std::string("no/such/file.h5"), std::string("grp/ds")));
  EXPECT_EQ(predict::splitDatasetPath("out.h5").second, "");
}

TEST(StreamPlan, MirrorIsNumpySymmetric) {
  // numpy.pad(arange(4), 5, 'symmetric')
  std::vector<int64_t> want = {3, 3, 2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0, 0};
  for (int64_t i = -5; i < 9; ++i)
    EXPECT_EQ(predict::mirrored(i, 4), want[i + 5]) << i;
}

TEST(StreamPlan, Sha256AndProgress) {
  EXPECT_EQ(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a"
                              "9cb410ff61f20015ad");
  EXPECT_EQ(sha256Hex(std::string(1000, 'a')).substr(0, 16),
            "41edece42d63e8d9");
  std::string text;
  {
    char *buf = nullptr;
    size_t size = 0;
    std::FILE *out = open_memstream(&buf, &size);
    Progress p(out, 4, 4000, 1, 1000, {"blocks", "voxels", 0, 0});
    p.step(1000);
    p.step(1000);
    p.step(1000);
    p.finish();
    std::fclose(out);
    text = std::string(buf, size);
    std::free(buf);
  }
  EXPECT_NE(text.find("progress: 2/4 blocks (50.0 %)"), std::string::npos)
      << text;
  EXPECT_NE(text.find("progress: 4/4 blocks (100.0 %)"), std::string::npos)
      << text;
  EXPECT_EQ(text.find('\r'), std::string::npos);
  EXPECT_EQ(Progress::duration(3725), "1h02m");
  EXPECT_EQ(Progress::duration(65), "1m05s");
}
