//===- TtaTest.cpp - neuromancer predict --tta
//-----------------------------===//
//
// --tta must equal an independent reference: the volume flipped along each
// subset of the axes, predicted by a plain streamed run, the output flipped
// back, summed in the same order and divided by the count. The test net's
// fov is (3, 8, 8): x and y are even, so the flipped windows lie one voxel
// off the plain ones (BlockNet.h) and a box read without that shift would
// not match. The same bits for 1 and 2 threads; --as-uint8 quantises the
// mean; the option is part of the resume identity; the memory estimate
// counts the accumulator.
//
//===----------------------------------------------------------------------===//
#include "tests/predict/StreamFixture.h"

#include "neuromancer/predict/Plan.h"

using namespace nm;
using nm::testing::intsAttribute;
using nm::testing::readH5;
using nm::testing::writeH5;

namespace {

/// `a` (c, z, x, y) flipped along z (bit 2), x (bit 1), y (bit 0).
Array flipped(const Array &a, unsigned flip) {
  const Sizes &s = a.shape();
  Array out(s, a.dtype());
  for (int64_t c = 0; c < s[0]; ++c)
    for (int64_t z = 0; z < s[1]; ++z)
      for (int64_t x = 0; x < s[2]; ++x)
        for (int64_t y = 0; y < s[3]; ++y) {
          int64_t fz = flip & 4 ? s[1] - 1 - z : z;
          int64_t fx = flip & 2 ? s[2] - 1 - x : x;
          int64_t fy = flip & 1 ? s[3] - 1 - y : y;
          out.setFlat(((c * s[1] + z) * s[2] + x) * s[3] + y,
                      a.getFlat(((c * s[1] + fz) * s[2] + fx) * s[3] + fy));
        }
  return out;
}

double maxAbsDiff(const Array &a, const Array &b) {
  EXPECT_EQ(a.shape(), b.shape());
  double worst = 0;
  for (int64_t i = 0; i < std::min(a.size(), b.size()); ++i)
    worst = std::max(worst, std::abs(a.getFlat(i) - b.getFlat(i)));
  return worst;
}

class TtaTest : public StreamTest {
protected:
  /// The mean over `flips` of plain streamed predictions of the flipped
  /// volume (in raw.h5:raw, (c, z, x, y)), flipped back; `o` gives the
  /// other options.
  Array reference(const Array &raw, predict::StreamOptions o, unsigned flips) {
    Array sum;
    for (unsigned f = 0; f < flips; ++f) {
      std::string file = "flip" + std::to_string(f) + ".h5";
      writeH5(path(file), "raw", flipped(raw, f));
      o.raw = path(file);
      o.outDataset = "flip" + std::to_string(f);
      o.tta = false;
      predict::predictStream(o);
      Array back = flipped(readH5(path("out.h5"), o.outDataset), f);
      if (f == 0)
        sum = back;
      else
        for (int64_t i = 0; i < sum.size(); ++i)
          sum.setFlat(i, static_cast<float>(sum.getFlat(i)) +
                             static_cast<float>(back.getFlat(i)));
    }
    for (int64_t i = 0; i < sum.size(); ++i)
      sum.setFlat(i, static_cast<float>(sum.getFlat(i)) /
                         static_cast<float>(flips));
    return sum;
  }
};

} // namespace

TEST_F(TtaTest, EqualsTheMeanOfTheFlippedPredictions) {
  saveNet();
  Array raw = randomArray({2, 9, 21, 23}, 31);
  writeH5(path("raw.h5"), "raw", raw);
  predict::StreamOptions o = options();
  o.tile = {3, 5, 6};
  o.tta = true;
  std::vector<std::string> lines;
  o.say = [&](const std::string &line) { lines.push_back(line); };
  predict::predictStream(o);
  EXPECT_NE(lines.back().find(", averaged over 8 flips"), std::string::npos)
      << lines.back();
  Array got = readH5(path("out.h5"), "pred");
  o.say = nullptr;
  Array want = reference(raw, o, 8);
  EXPECT_LE(maxAbsDiff(got, want), 1e-6);
  // Not the plain prediction (the test would not see a flip gone wrong
  // otherwise), and still probabilities.
  EXPECT_GT(maxAbsDiff(got, readH5(path("out.h5"), "flip0")), 1e-3);
  int64_t n = got.size() / 2;
  for (int64_t i = 0; i < n; ++i)
    ASSERT_NEAR(got.getFlat(i) + got.getFlat(n + i), 1.0, 1e-5) << i;
  EXPECT_EQ(intsAttribute(path("out.h5"), "pred", "tta"), (Sizes{1}));
}

TEST_F(TtaTest, PadRawAndAnRoiAtTheEdge) {
  saveNet();
  Array raw = randomArray({2, 7, 19, 18}, 32);
  writeH5(path("raw.h5"), "raw", raw);
  // The plain windows of x in [4, 16) reach up to raw x 18, the flipped
  // ones 19: one voxel more than the volume has.
  predict::StreamOptions o = options();
  o.roiLo = Sizes{1, 4, 4};
  o.roiHi = Sizes{6, 16, 14};
  o.tile = {5, 12, 10};
  predict::StreamReport plain = predict::predictStream(o);
  EXPECT_EQ(plain.blocks, 1);
  o.tta = true;
  o.outDataset = "tta";
  std::string e = errorOf(o);
  EXPECT_NE(e.find("--roi: the x range [4, 16) needs raw voxels [0, 20) with "
                   "the model's field of view (and --tta's flipped windows)"),
            std::string::npos)
      << e;
  // The whole volume mirrored: equal to the flipped volumes' padded
  // predictions (mirroring commutes with flipping).
  o = options();
  o.outDataset = "padded";
  o.padRaw = true;
  o.tile = {3, 8, 7};
  o.tta = true;
  predict::predictStream(o);
  Array got = readH5(path("out.h5"), "padded");
  EXPECT_EQ(got.shape(), (Sizes{2, 7, 19, 18}));
  EXPECT_LE(maxAbsDiff(got, reference(raw, o, 8)), 1e-6);
}

TEST_F(TtaTest, SameBitsForOneAndTwoThreadsAndUint8QuantisesTheMean) {
  saveNet();
  writeH5(path("raw.h5"), "raw", randomArray({2, 9, 21, 23}, 33));
  predict::StreamOptions o = options();
  o.tile = {4, 7, 9};
  o.tta = true;
  o.threads = 1;
  predict::predictStream(o);
  Array one = readH5(path("out.h5"), "pred");
  o.threads = 2;
  o.outDataset = "two";
  predict::predictStream(o);
  EXPECT_EQ(readH5(path("out.h5"), "two"), one);
  o.asUint8 = true;
  o.outDataset = "bytes";
  predict::predictStream(o);
  Array bytes = readH5(path("out.h5"), "bytes", true);
  ASSERT_EQ(bytes.shape(), one.shape());
  for (int64_t i = 0; i < one.size(); ++i)
    ASSERT_EQ(bytes.getFlat(i),
              static_cast<uint8_t>(static_cast<float>(one.getFlat(i)) * 255.0f))
        << i;
}

TEST_F(TtaTest, TwoDimensionalNetAveragesFourFlips) {
  Node input = Input({1, 1, 10, 10}, "b,f,x,y", {.name = "raw"});
  Node c1 = Conv(input, 3, {3, 3}, {2, 2}, {.name = "c1"});
  Node c2 = Conv(c1, 2, {2, 2}, {}, {.activation_func = "lin", .name = "c2"});
  Node p = Softmax(c2);
  model().designate_nodes({.input_node = input, .prediction_node = p});
  model().save(path("model.h5"));
  Array stack = randomArray({1, 3, 15, 16}, 34); // one channel
  writeH5(path("raw.h5"), "raw", stack);
  predict::StreamOptions o = options();
  o.tile = {4, 5, 7};
  o.tta = true;
  std::vector<std::string> lines;
  o.say = [&](const std::string &line) { lines.push_back(line); };
  predict::predictStream(o);
  EXPECT_NE(lines.back().find(", averaged over 4 flips"), std::string::npos)
      << lines.back();
  o.say = nullptr;
  // The flips of x and y only: bits 0 and 1.
  EXPECT_LE(maxAbsDiff(readH5(path("out.h5"), "pred"), reference(stack, o, 4)),
            1e-6);
}

TEST_F(TtaTest, IsPartOfTheIdentity) {
  saveNet();
  writeH5(path("raw.h5"), "raw", randomArray({2, 9, 21, 23}, 35));
  predict::StreamOptions o = options();
  o.tile = {3, 5, 6};
  o.tta = true;
  o.afterBlock = [](int64_t, int64_t done) {
    if (done == 2)
      throw std::runtime_error("interrupted");
  };
  EXPECT_THROW(predict::predictStream(o), std::runtime_error);
  predict::StreamOptions plain = options();
  plain.tile = {3, 5, 6};
  std::string e = errorOf(plain);
  EXPECT_NE(e.find("tta was true, now (none)"), std::string::npos) << e;
  o.afterBlock = nullptr;
  EXPECT_EQ(predict::predictStream(o).resumed, 2);
}

TEST_F(TtaTest, TheMemoryEstimateCountsTheSumTheLongerBoxAndEveryClass) {
  predict::NetGeometry g;
  g.fov = {3, 8, 8};
  g.offsets = {1, 4, 4};
  g.channels = 1;
  g.labels = 2;
  EXPECT_EQ(predict::ttaShift(g, true), (Sizes{0, 1, 1}));
  EXPECT_EQ(predict::ttaShift(g, false), (Sizes{0, 0, 0}));
  Sizes tile = {4, 16, 16};
  predict::BlockCost plain, tta;
  tta.tta = true;
  int64_t sum = 2 * 4 * 16 * 16 * 4;
  // The raw box in the file's float32 and as floats: (6, 23, 23) grows to
  // (6, 24, 24), one voxel longer on x and y.
  int64_t box = (6 * 24 * 24 - 6 * 23 * 23) * (4 + 4);
  // Each pass returns every class as float; a plain pass only the one class
  // written (the output epilogue selects it in the last kernel).
  int64_t output = (g.labels - plain.outChannels) * 4 * 16 * 16 * 4;
  EXPECT_EQ(predict::blockBytes(g, tile, tta) -
                predict::blockBytes(g, tile, plain),
            sum + box + output);
}
