//===- ScheduleTest.cpp - schedules against reference §6.7 ----------------===//
#include "neuromancer/train/Schedule.h"
#include "neuromancer/core/Error.h"

#include <gtest/gtest.h>

using namespace nm;

namespace {

/// A variable, and the trainer's loop calling update() when due.
struct Driven {
  std::vector<double> value{1.0};
  std::vector<int64_t> updatedAt;
  Schedule schedule;
  Driven(const ScheduleSpec &spec, std::vector<double> init)
      : value(std::move(init)),
        schedule("lr", spec,
                 {[this] { return value; },
                  [this](const std::vector<double> &v) { value = v; }}) {}
  void runTo(int64_t last) {
    for (int64_t i = 0; i <= last; ++i)
      if (i == schedule.next_update()) {
        updatedAt.push_back(i);
        schedule.update(i);
      }
  }
};

} // namespace

TEST(ScheduleTest, DecMultipliesAfterEveryThousandthStep) {
  Driven d({.kind = "dec", .factor = 0.5}, {0.8});
  EXPECT_EQ(d.schedule.next_update(), 1000);
  d.runTo(999);
  EXPECT_EQ(d.value[0], 0.8) << "nothing before step 1000";
  d.runTo(3500);
  EXPECT_EQ(d.updatedAt, (std::vector<int64_t>{1000, 2000, 3000}));
  EXPECT_DOUBLE_EQ(d.value[0], 0.1);
  EXPECT_EQ(d.schedule.next_update(), 4000);
}

TEST(ScheduleTest, LindecReachesZeroAtN) {
  // wd from 0.001 to 0 over 4000 steps: delta = 0.001 * 1000 / 4000.
  Driven d({.kind = "lindec", .n_steps = 4000, .init_val = 0.001}, {0.001});
  d.runTo(3999);
  EXPECT_EQ(d.updatedAt, (std::vector<int64_t>{1000, 2000, 3000}));
  EXPECT_NEAR(d.value[0], 0.001 - 3 * 0.00025, 1e-15);
  d.runTo(10000);
  EXPECT_EQ(d.updatedAt.back(), 4000);
  EXPECT_EQ(d.value[0], 0.0);
  EXPECT_EQ(d.schedule.next_update(), -1) << "stops after reaching 0";
}

TEST(ScheduleTest, UpdatesSetValuesAtTheirSteps) {
  Driven d({.kind = "updates",
            .updates = {{500, {0.8}}, {1000, {0.7}}, {1500, {0.9}}}},
           {0.95});
  EXPECT_EQ(d.schedule.next_update(), 500) << "min(1000, first step)";
  d.runTo(1200);
  EXPECT_EQ(d.value[0], 0.7);
  d.runTo(5000);
  EXPECT_EQ(d.updatedAt, (std::vector<int64_t>{500, 1000, 1500}));
  EXPECT_EQ(d.value[0], 0.9);
  EXPECT_EQ(d.schedule.next_update(), -1);
}

TEST(ScheduleTest, LateFirstUpdateVisitsStep1000WithoutChange) {
  Driven d({.kind = "updates", .updates = {{2500, {0.2, 0.3}}}}, {0.5, 0.5});
  EXPECT_EQ(d.schedule.next_update(), 1000);
  d.runTo(2499);
  EXPECT_EQ(d.updatedAt, (std::vector<int64_t>{1000}));
  EXPECT_EQ(d.value, (std::vector<double>{0.5, 0.5})) << "factor 1: no-op";
  d.runTo(3000);
  EXPECT_EQ(d.value, (std::vector<double>{0.2, 0.3})) << "per-layer values";
}

TEST(ScheduleTest, ReprIsElektronn2s) {
  Driven dec({.kind = "dec", .factor = 0.995}, {1});
  EXPECT_EQ(dec.schedule.repr(),
            "Schedule for lr:  mode=mult, decay-factor=0.995000, next "
            "update=1000\n");
  Driven lin({.kind = "lindec", .n_steps = 4000, .init_val = 0.001}, {1});
  EXPECT_EQ(lin.schedule.repr(),
            "Schedule for lr:  mode=lin, decay-factor=1.000000, next "
            "update=1000\n  delta=0.000250\n");
  Driven up({.kind = "updates", .updates = {{500, {0.8}}, {1000, {0.7}}}}, {1});
  EXPECT_EQ(up.schedule.repr(),
            "Schedule for lr:  mode=set, decay-factor=1.000000, next "
            "update=500\n  update_steps=[500, 1000], update_vals=[0.8, "
            "0.7]\n");
}

TEST(ScheduleTest, StateRoundTripContinuesExactly) {
  ScheduleSpec spec{.kind = "updates",
                    .updates = {{500, {0.8}}, {1000, {0.7}}, {1500, {0.9}}}};
  Driven a(spec, {1.0});
  a.runTo(700);
  std::string saved = a.schedule.state();
  Driven b(spec, a.value);
  b.schedule.set_state(saved);
  for (int64_t i = 701; i <= 2000; ++i) {
    if (i == a.schedule.next_update())
      a.schedule.update(i);
    if (i == b.schedule.next_update())
      b.schedule.update(i);
  }
  EXPECT_EQ(a.value, b.value);
  EXPECT_EQ(b.schedule.repr(), a.schedule.repr());
  ScheduleTarget t{[] { return std::vector<double>{1}; },
                   [](const std::vector<double> &) {}};
  Schedule wd("wd", {.kind = "dec", .factor = 0.5}, t);
  EXPECT_THROW(wd.set_state(saved), ValueError) << "state of another variable";
}

TEST(ScheduleTest, BadSchedulesAreClearErrors) {
  ScheduleTarget t{[] { return std::vector<double>{1}; },
                   [](const std::vector<double> &) {}};
  EXPECT_THROW(Schedule("lr", {.kind = "permut"}, t), ValueError);
  EXPECT_THROW(Schedule("lr", {.kind = "updates"}, t), ValueError);
  EXPECT_THROW(Schedule("lr", {.kind = "lindec", .n_steps = 0}, t), ValueError);
  EXPECT_THROW(
      Schedule("lr",
               {.kind = "updates", .updates = {{1000, {0.1}}, {500, {0.2}}}},
               t),
      ValueError);
  try {
    Schedule("lr", {.kind = "decay"}, t);
  } catch (const ValueError &e) {
    EXPECT_NE(std::string(e.what()).find("unknown kind 'decay'"),
              std::string::npos);
  }
}
