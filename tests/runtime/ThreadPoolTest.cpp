//===- ThreadPoolTest.cpp - the thread count from the environment and API -===//
//
// NEUROMANCER_NUM_THREADS and nm_runtime_set_num_threads take any value a
// user may give without aborting: a malformed or out-of-range environment
// value falls back to the CPU count, a huge thread count is capped.
//
//===----------------------------------------------------------------------===//
#include "neuromancer/runtime/ThreadPool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <string>

namespace {

int defaultWith(const char *value) {
  if (value)
    setenv("NEUROMANCER_NUM_THREADS", value, 1);
  else
    unsetenv("NEUROMANCER_NUM_THREADS");
  int n = nm::default_num_threads();
  unsetenv("NEUROMANCER_NUM_THREADS");
  return n;
}

TEST(ThreadPool, EnvironmentThreadCountIsValidated) {
  int cpus = defaultWith(nullptr);
  ASSERT_GE(cpus, 1);
  EXPECT_EQ(defaultWith("3"), 3);
  EXPECT_EQ(defaultWith("1024"), 1024);
  for (const char *bad : {"99999999999", "1025", "0", "-2", "two", "2x", ""})
    EXPECT_EQ(defaultWith(bad), cpus) << "NEUROMANCER_NUM_THREADS=" << bad;
}

void addRange(void *ctx, int64_t begin, int64_t end) {
  auto *sum = static_cast<std::atomic<int64_t> *>(ctx);
  for (int64_t i = begin; i < end; ++i)
    *sum += i;
}

TEST(ThreadPool, HugeThreadCountsAreCapped) {
  nm::set_num_threads(1 << 30);
  EXPECT_LE(nm::get_num_threads(), 1024);
  EXPECT_GE(nm::get_num_threads(), 1);
  std::atomic<int64_t> sum{0};
  nm_runtime_parallel_for(addRange, &sum, 100000);
  EXPECT_EQ(sum.load(), int64_t(100000) * 99999 / 2);
  nm::set_num_threads(0);
  EXPECT_EQ(nm::get_num_threads(), nm::default_num_threads());
}

} // namespace
