//===- PlotsTest.cpp - the timeline and history plots ---------------------===//
//
// The plots are checked as files: valid PNGs of the documented size, with
// the series' colours on them, written atomically, silently (PLplot prints
// nothing) for empty, single-point, constant and non-finite series, and
// PLplot's fatal errors caught as nm::RuntimeError instead of exit().
//
//===----------------------------------------------------------------------===//
#include "neuromancer/train/Plots.h"
#include "neuromancer/train/PlotStream.h"

#include "neuromancer/core/Error.h"
#include "neuromancer/io/Png.h"

#include <gtest/gtest.h>
#include <plplot.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <thread>

extern "C" void plexit(const char *errormsg);

using namespace nm;
namespace fs = std::filesystem;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

/// A fresh, empty directory per test.
std::string freshDir() {
  const auto *info = ::testing::UnitTest::GetInstance()->current_test_info();
  fs::path dir = fs::path(::testing::TempDir()) / "plots" / info->name();
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

/// The 8 bytes every PNG file starts with.
bool hasPngSignature(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  char sig[8] = {};
  in.read(sig, 8);
  return in && std::string(sig, 8) == "\x89PNG\r\n\x1a\n";
}

/// Pixels within `tol` of (r, g, b).
int64_t countColour(const PngImage &im, int r, int g, int b, int tol = 12) {
  int64_t n = 0;
  for (int64_t row = 0; row < im.height; ++row)
    for (int64_t col = 0; col < im.width; ++col)
      if (std::abs(im.at(row, col, 0) - r) <= tol &&
          std::abs(im.at(row, col, 1) - g) <= tol &&
          std::abs(im.at(row, col, 2) - b) <= tol)
        ++n;
  return n;
}

std::vector<TimelinePoint> noisyTimeline(size_t n) {
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0, 0.05);
  std::vector<TimelinePoint> t;
  for (size_t i = 0; i < n; ++i)
    t.push_back({int64_t(i), 0.1 * double(i),
                 1.0 / (1 + 0.01 * double(i)) + noise(rng),
                 0.2 + 0.1 * std::sin(double(i))});
  return t;
}

std::vector<HistoryRow> history(size_t n) {
  std::vector<HistoryRow> h;
  for (size_t i = 0; i < n; ++i) {
    HistoryRow r;
    r.step = int64_t(i) * 100;
    r.time = double(i) * 10;
    r.train_loss = 1.0 / (1 + double(i));
    r.valid_loss = 1.2 / (1 + double(i));
    r.loss_gain = -0.01 * std::cos(double(i));
    r.train_err = 30.0 / (1 + double(i));
    r.valid_err = 35.0 / (1 + double(i));
    r.lr = 0.001 * std::pow(0.99, double(i));
    r.mom = 0.9;
    r.gradnet_rate = 0.5;
    r.valid_precision = 0.5 + 0.004 * double(i);
    r.valid_recall = 0.6 + 0.003 * double(i);
    r.valid_f1 = 0.55 + 0.0035 * double(i);
    h.push_back(r);
  }
  return h;
}

/// Runs `draw` with stderr captured; returns what was printed there.
template <typename F> std::string stderrOf(F draw) {
  ::testing::internal::CaptureStderr();
  try {
    draw();
  } catch (...) {
    ::testing::internal::GetCapturedStderr();
    throw;
  }
  return ::testing::internal::GetCapturedStderr();
}

} // namespace

TEST(Plots, TimelineIsAPngOfTheDocumentedSize) {
  std::string dir = freshDir(), path = dir + "/0-run.timeline.png";
  std::string printed =
      stderrOf([&] { plot_timeline(noisyTimeline(5000), path, "run #1"); });
  EXPECT_EQ(printed, "");
  ASSERT_TRUE(hasPngSignature(path));
  PngImage im = readPng(path);
  EXPECT_EQ(im.width, 1400);
  EXPECT_EQ(im.height, 560);
  // The loss in blue, its moving average in orange, mean lines in red.
  EXPECT_GT(countColour(im, 31, 119, 180), 200);
  EXPECT_GT(countColour(im, 255, 127, 14), 200);
  EXPECT_GT(countColour(im, 214, 39, 40), 100);
  // Atomic: only the target is left in the directory.
  EXPECT_EQ(
      std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
}

TEST(Plots, HistoryIsAPngWithEveryPanel) {
  std::string dir = freshDir(), path = dir + "/0-run.history.png";
  std::string printed =
      stderrOf([&] { plot_history(history(300), true, path, "run"); });
  EXPECT_EQ(printed, "");
  ASSERT_TRUE(hasPngSignature(path));
  PngImage im = readPng(path);
  EXPECT_EQ(im.width, 1400);
  EXPECT_EQ(im.height, 1000);
  // Loss gain green, LR red, mom purple, gradnet rate brown.
  for (auto [r, g, b] : {std::array<int, 3>{44, 160, 44},
                         {214, 39, 40},
                         {148, 103, 189},
                         {140, 86, 75}})
    EXPECT_GT(countColour(im, r, g, b), 100) << r << "," << g << "," << b;
  // Panel (d) only where precision is known: all NaN leaves no green F1
  // there; the plot is still written.
  std::vector<HistoryRow> h = history(300);
  for (HistoryRow &r : h)
    r.valid_precision = r.valid_recall = r.valid_f1 = kNaN;
  plot_history(h, false, path, "regression");
  EXPECT_TRUE(hasPngSignature(path));
}

TEST(Plots, EmptySingleConstantAndNonFiniteSeriesDrawSilently) {
  std::string dir = freshDir();
  std::vector<TimelinePoint> constant(50, TimelinePoint{0, 1, 0.5, 0.5});
  for (size_t i = 0; i < constant.size(); ++i)
    constant[i].step = int64_t(i);
  std::vector<TimelinePoint> nonFinite = noisyTimeline(100);
  nonFinite[3].loss = kNaN;
  nonFinite[4].loss = kInf;
  nonFinite[5].batch_char = -kInf;
  nonFinite[6].time = kNaN;
  std::vector<TimelinePoint> allNaN(10, TimelinePoint{0, 0, kNaN, kNaN});
  std::vector<HistoryRow> hNaN = history(20);
  for (HistoryRow &r : hNaN)
    r.train_loss = r.lr = kNaN;
  hNaN[7].valid_loss = kInf;
  std::vector<HistoryRow> hConst(5);
  int k = 0;
  auto png = [&] { return dir + "/p" + std::to_string(k++) + ".png"; };
  std::string printed = stderrOf([&] {
    plot_timeline({}, png(), "empty");
    plot_timeline(noisyTimeline(1), png(), "one");
    plot_timeline(constant, png(), "constant");
    plot_timeline(nonFinite, png(), "non-finite");
    plot_timeline(allNaN, png(), "all NaN");
    plot_history({}, true, png(), "empty");
    plot_history(history(1), true, png(), "one");
    plot_history(hNaN, true, png(), "NaN");
    plot_history(hConst, true, png(), "zeros");
  });
  EXPECT_EQ(printed, "");
  for (int i = 0; i < k; ++i)
    EXPECT_TRUE(hasPngSignature(dir + "/p" + std::to_string(i) + ".png")) << i;
}

TEST(Plots, RepeatedAndConcurrentPlotsEachGetAFreshStream) {
  std::string dir = freshDir();
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2; ++i)
        plot_history(history(40), true,
                     dir + "/h" + std::to_string(t) + std::to_string(i) +
                         ".png",
                     "thread");
    });
  for (std::thread &t : threads)
    t.join();
  for (int t = 0; t < 3; ++t)
    for (int i = 0; i < 2; ++i) {
      PngImage im =
          readPng(dir + "/h" + std::to_string(t) + std::to_string(i) + ".png");
      EXPECT_EQ(im.width, 1400);
      EXPECT_EQ(im.height, 1000);
    }
  // The caller's stream is left as it was.
  PLINT current = -1;
  plgstrm(&current);
  EXPECT_EQ(current, 0);
}

TEST(Plots, PlplotExitBecomesARuntimeErrorAndWritesNothing) {
  std::string dir = freshDir(), path = dir + "/failed.png";
  {
    PlotStream stream(path, 300, 200);
    pladv(0);
    EXPECT_THROW(plexit("a fatal PLplot error"), RuntimeError);
  }
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(
      std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 0);
  // PLplot is still usable afterwards.
  plot_timeline(noisyTimeline(10), dir + "/after.png", "after");
  EXPECT_TRUE(hasPngSignature(dir + "/after.png"));
}

TEST(Plots, AbortedOperationIsReportedByCheck) {
  std::string dir = freshDir(), path = dir + "/aborted.png";
  std::string printed = stderrOf([&] {
    PlotStream stream(path, 300, 200);
    plenv(1, 1, 0, 1, 0, 0); // empty x range: PLplot aborts the operation
    try {
      stream.check("the test panel");
      ADD_FAILURE() << "no error";
    } catch (const RuntimeError &e) {
      EXPECT_NE(std::string(e.what()).find("plenv"), std::string::npos)
          << e.what();
      EXPECT_NE(std::string(e.what()).find("aborted.png"), std::string::npos);
    }
  });
  EXPECT_EQ(printed, "");
  EXPECT_FALSE(fs::exists(path));
}

TEST(Plots, MissingDirectoryIsAnIOError) {
  std::string dir = freshDir();
  EXPECT_THROW(plot_timeline(noisyTimeline(5), dir + "/no/such/t.png", "x"),
               IOError);
  EXPECT_THROW(plot_history(history(5), true, dir + "/no/h.png", "x"), IOError);
}

TEST(Plots, MovingAverageIsTrailingAndSkipsNonFinite) {
  std::vector<double> ma = moving_average({1, 2, 3, 4}, 2);
  EXPECT_EQ(ma, (std::vector<double>{1, 1.5, 2.5, 3.5}));
  ma = moving_average({1, kNaN, 3, kInf, 5}, 2);
  EXPECT_DOUBLE_EQ(ma[0], 1);
  EXPECT_DOUBLE_EQ(ma[1], 1);
  EXPECT_DOUBLE_EQ(ma[2], 3);
  EXPECT_DOUBLE_EQ(ma[3], 3);
  EXPECT_DOUBLE_EQ(ma[4], 5);
  ma = moving_average({kNaN, kNaN, 2}, 2);
  EXPECT_TRUE(std::isnan(ma[0]) && std::isnan(ma[1]));
  EXPECT_DOUBLE_EQ(ma[2], 2);
  EXPECT_TRUE(moving_average({}, 200).empty());
}

TEST(Plots, SubsamplingKeepsAtMost2000PointsAndTheEnds) {
  for (size_t n : {0, 1, 2000, 2001, 5000, 123457}) {
    std::vector<size_t> idx = subsample_indices(n, kMaxPlotPoints);
    EXPECT_LE(idx.size(), kMaxPlotPoints) << n;
    if (n == 0) {
      EXPECT_TRUE(idx.empty());
      continue;
    }
    EXPECT_EQ(idx.front(), 0u);
    EXPECT_EQ(idx.back(), n - 1);
    EXPECT_TRUE(std::is_sorted(idx.begin(), idx.end()));
    if (n <= kMaxPlotPoints)
      EXPECT_EQ(idx.size(), n);
    else
      EXPECT_GE(idx.size(), kMaxPlotPoints / 2);
  }
  EXPECT_EQ(subsample_indices(5000, 2000)[1], 3u);
}
