//===- EmDefectsTest.cpp - EM defect augmentations ------------------------===//
//
// On coordinate patches: image channels hold the patch's own (z, x, y), the
// target the code z*10000 + x*100 + y of the target patch's coordinates, so
// after a geometric defect a target voxel must still name the place its
// image voxel was read from.
//
//===----------------------------------------------------------------------===//
#include "neuromancer/data/EmDefects.h"
#include "neuromancer/core/Error.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

using nm::data::ExamplePatch;
using nm::data::Index3;
using nm::data::Rng;

namespace {

struct CoordPatch {
  Index3 ps, tps, off;
  std::vector<float> img;
  std::vector<double> target;
  std::vector<bool> discrete = {true};
  CoordPatch(Index3 ps_, Index3 tps_) : ps(ps_), tps(tps_) {
    for (int a = 0; a < 3; ++a)
      off[a] = (ps[a] - tps[a]) / 2;
    for (int c = 0; c < 3; ++c)
      for (int64_t z = 0; z < ps[0]; ++z)
        for (int64_t x = 0; x < ps[1]; ++x)
          for (int64_t y = 0; y < ps[2]; ++y)
            img.push_back(static_cast<float>(c == 0 ? z : c == 1 ? x : y));
    for (int64_t z = 0; z < tps[0]; ++z)
      for (int64_t x = 0; x < tps[1]; ++x)
        for (int64_t y = 0; y < tps[2]; ++y)
          target.push_back(z * 10000 + x * 100 + y);
  }
  ExamplePatch patch() {
    return {img.data(), 3, ps, target.data(), 1, tps, &discrete};
  }
  int64_t vol() const { return ps[0] * ps[1] * ps[2]; }
  /// Image channel c at patch voxel (z, x, y).
  float at(int c, int64_t z, int64_t x, int64_t y) const {
    return img[c * vol() + (z * ps[1] + x) * ps[2] + y];
  }
  double code(int64_t z, int64_t x, int64_t y) const {
    return target[(z * tps[1] + x) * tps[2] + y];
  }
};

template <typename F>
void expectValueError(F &&f, const std::vector<std::string> &parts) {
  try {
    f();
    FAIL() << "no error";
  } catch (const nm::ValueError &e) {
    for (const auto &p : parts)
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos)
          << "'" << p << "' not in: " << e.what();
  }
}

} // namespace

TEST(EmDefects, ElasticWithZeroMagnitudeChangesNothing) {
  CoordPatch p({3, 17, 17}, {1, 9, 9});
  CoordPatch q = p;
  Rng rng(1);
  nm::data::elasticDeform(p.patch(), {.magnitude = {0, 0, 0}}, rng);
  EXPECT_EQ(p.img, q.img);
  EXPECT_EQ(p.target, q.target);
}

TEST(EmDefects, ElasticMovesImagesAndTargetsTogetherSmoothly) {
  CoordPatch p({5, 41, 41}, {3, 21, 21});
  nm::data::ElasticArgs a{.spacing = {2, 8, 8}, .magnitude = {0, 3, 3}};
  Rng rng(5);
  nm::data::elasticDeform(p.patch(), a, rng);
  double moved = 0;
  for (int64_t z = 0; z < 5; ++z)
    for (int64_t x = 0; x < 41; ++x)
      for (int64_t y = 0; y < 41; ++y) {
        ASSERT_EQ(p.at(0, z, x, y), z); // z magnitude 0
        double dx = p.at(1, z, x, y) - x, dy = p.at(2, z, x, y) - y;
        ASSERT_LE(std::fabs(dx), 3 + 1e-4);
        ASSERT_LE(std::fabs(dy), 3 + 1e-4);
        moved = std::max(moved, std::fabs(dx) + std::fabs(dy));
        // Smooth: smoothstep slopes are at most 1.5 * 6 / 8 per voxel.
        if (x > 0 && p.at(1, z, x - 1, y) > 0 && p.at(1, z, x, y) < 40)
          ASSERT_LE(std::fabs(p.at(1, z, x, y) - p.at(1, z, x - 1, y) - 1),
                    1.125 + 1e-4);
      }
  EXPECT_GT(moved, 0.5);
  // Every target voxel names (within nearest's 0.5) where its image voxel
  // was read, wherever the target read stayed inside the target patch.
  int checked = 0;
  for (int64_t z = 0; z < 3; ++z)
    for (int64_t x = 0; x < 21; ++x)
      for (int64_t y = 0; y < 21; ++y) {
        double qx = p.at(1, z + 1, x + 10, y + 10) - 10;
        double qy = p.at(2, z + 1, x + 10, y + 10) - 10;
        if (qx < 0 || qx > 20 || qy < 0 || qy > 20)
          continue;
        int64_t c = static_cast<int64_t>(p.code(z, x, y));
        ASSERT_EQ(c / 10000, z);
        ASSERT_LE(std::fabs((c / 100) % 100 - qx), 0.5 + 1e-4);
        ASSERT_LE(std::fabs(c % 100 - qy), 0.5 + 1e-4);
        ++checked;
      }
  EXPECT_GT(checked, 300);
}

TEST(EmDefects, SameGeneratorStateSameDeformation) {
  CoordPatch p({3, 17, 17}, {1, 9, 9}), q = p;
  Rng r1(9), r2(9);
  nm::data::elasticDeform(p.patch(), {}, r1);
  nm::data::elasticDeform(q.patch(), {}, r2);
  EXPECT_EQ(p.img, q.img);
  EXPECT_EQ(p.target, q.target);
  EXPECT_EQ(r1.rand(), r2.rand());
}

TEST(EmDefects, SlipShiftsOneSectionTranslationAllFromSomeZ) {
  for (double ratio : {1.0, 0.0})
    for (uint64_t seed = 0; seed < 20; ++seed) {
      CoordPatch p({7, 15, 15}, {5, 7, 7});
      Rng rng(seed);
      nm::data::misalign(p.patch(), {.max_shift = 2, .slip_ratio = ratio}, rng);
      std::vector<int64_t> shifted;
      for (int64_t z = 0; z < 7; ++z) {
        double dx = 7 - p.at(1, z, 7, 7), dy = 7 - p.at(2, z, 7, 7);
        if (dx != 0 || dy != 0)
          shifted.push_back(z);
        // Targets in section z (patch z) moved by the same shift.
        if (z >= 1 && z <= 5) {
          int64_t c = static_cast<int64_t>(p.code(z - 1, 3, 3));
          ASSERT_EQ((c / 100) % 100, 3 - dx) << "z " << z;
          ASSERT_EQ(c % 100, 3 - dy) << "z " << z;
        }
      }
      if (ratio == 1.0) {
        EXPECT_LE(shifted.size(), 1u);
      } else if (!shifted.empty()) {
        EXPECT_GE(shifted.front(), 1);
        EXPECT_EQ(shifted.back(), 6);
        EXPECT_EQ(shifted.size(), size_t(7 - shifted.front()));
      }
    }
}

TEST(EmDefects, MissingSectionsAreFilledImagesOnly) {
  for (uint64_t seed = 0; seed < 10; ++seed) {
    CoordPatch p({6, 9, 9}, {4, 5, 5});
    const auto t0 = p.target;
    Rng rng(seed);
    nm::data::missingSection(p.patch(), {.max_sections = 2, .value = 0.25},
                             rng);
    int missing = 0;
    for (int64_t z = 0; z < 6; ++z) {
      bool filled = true, intact = true;
      for (int c = 0; c < 3; ++c)
        for (int64_t x = 0; x < 9; ++x)
          for (int64_t y = 0; y < 9; ++y) {
            float v = p.at(c, z, x, y);
            filled &= v == 0.25f;
            intact &= v == (c == 0 ? z : c == 1 ? x : y);
          }
      ASSERT_TRUE(filled || intact) << "section " << z;
      missing += filled;
    }
    EXPECT_GE(missing, 1);
    EXPECT_LE(missing, 2);
    EXPECT_EQ(p.target, t0);
  }
}

TEST(EmDefects, MotionBlurAveragesAlongALine) {
  // A linear function is its own line average away from the borders; a
  // checkerboard is not.
  CoordPatch p({4, 21, 21}, {2, 11, 11});
  Rng rng(3);
  nm::data::motionBlur(p.patch(), {.max_sections = 4}, rng);
  for (int64_t z = 0; z < 4; ++z)
    for (int64_t x = 6; x < 15; ++x)
      for (int64_t y = 6; y < 15; ++y) {
        ASSERT_NEAR(p.at(1, z, x, y), x, 1e-4);
        ASSERT_NEAR(p.at(2, z, x, y), y, 1e-4);
      }
  std::vector<float> board(21 * 21 * 4);
  for (size_t i = 0; i < board.size(); ++i)
    board[i] = static_cast<float>((i / 21 + i % 21) % 2);
  const auto before = board;
  ExamplePatch e{board.data(), 1, {4, 21, 21}};
  Rng r2(4);
  nm::data::motionBlur(e, {.max_sections = 2, .length_range = {3, 3}}, r2);
  int blurred = 0;
  for (int z = 0; z < 4; ++z)
    blurred +=
        !std::equal(board.begin() + z * 441, board.begin() + (z + 1) * 441,
                    before.begin() + z * 441);
  EXPECT_GE(blurred, 1);
  EXPECT_LE(blurred, 2);
}

TEST(EmDefects, BadArgumentsNameTheOption) {
  expectValueError(
      [] {
        nm::data::checkArgs(nm::data::ElasticArgs{.spacing = {0, 8, 8}},
                            "elastic_args");
      },
      {"elastic_args.spacing", "(0, 8, 8)"});
  expectValueError(
      [] {
        nm::data::checkArgs(nm::data::ElasticArgs{.magnitude = {0, -1, 1}},
                            "elastic_args");
      },
      {"elastic_args.magnitude", "-1"});
  expectValueError(
      [] {
        nm::data::checkArgs(nm::data::MisalignArgs{.slip_ratio = 2},
                            "misalignment_args", {5, 9, 9});
      },
      {"misalignment_args.slip_ratio", "2"});
  expectValueError(
      [] {
        nm::data::checkArgs(nm::data::MissingSectionArgs{},
                            "missing_section_args", {1, 9, 9});
      },
      {"missing_section_args", "at least 2 sections", "(1, 9, 9)"});
  expectValueError(
      [] {
        nm::data::checkArgs(nm::data::MotionBlurArgs{.length_range = {4, 2}},
                            "motion_blur_args");
      },
      {"motion_blur_args.length_range", "(4, 2)"});
}
