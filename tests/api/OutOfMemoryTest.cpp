//===- OutOfMemoryTest.cpp - node calls when memory runs out --------------===//
//
// A compiled function whose intermediate buffers exceed the limit
// (NEUROMANCER_MAX_TEMP_BYTES, default the physical memory) is refused
// before it runs, with the size it needs; an allocation that fails under
// the limit becomes nm::RuntimeError, never a crash.
//
//===----------------------------------------------------------------------===//
#include "tests/frontend/ModelFixture.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

using namespace nm;

namespace {

/// Small input -> UpConv by `factor` per axis (n_f channels) -> Pool by
/// the same factor: a small output, an intermediate of
/// input voxels x factor^3 x n_f floats.
Node upAndDown(int64_t side, int64_t factor, int64_t nf) {
  Node in = Input({1, 1, side, side, side}, "b,f,z,x,y", {.name = "image"});
  Node up = UpConv(in, nf, {factor, factor, factor},
                   {.activation_func = "lin", .name = "upconv"});
  return Pool(up, {factor, factor, factor}, {.name = "down"});
}

std::string messageOf(const Node &node, const Array &input) {
  try {
    node(input);
  } catch (const RuntimeError &e) {
    return e.what();
  }
  return "(no error)";
}

struct TempLimit {
  explicit TempLimit(const char *value) {
    setenv("NEUROMANCER_MAX_TEMP_BYTES", value, 1);
  }
  ~TempLimit() { unsetenv("NEUROMANCER_MAX_TEMP_BYTES"); }
};

} // namespace

TEST_F(ModelTest, IntermediateLargerThanMemoryIsRefusedWithItsSize) {
  unsetenv("NEUROMANCER_MAX_TEMP_BYTES");
  // 32^3 voxels x 32^3 x 256 channels x 4 bytes = 1 TB (per buffer)
  // between a 128 KB input and a 32 MB output.
  Node down = upAndDown(32, 32, 256);
  Array x = Array::full({1, 1, 32, 32, 32}, 1.0);
  std::string message = messageOf(down, x);
  // 2.0 TB today: the UpConv's result and its bias-added form are both
  // alive; the unit is what matters here.
  EXPECT_NE(message.find("'down' needs "), std::string::npos) << message;
  EXPECT_NE(message.find(" TB of intermediate buffers, more than the limit "
                         "of "),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("(NEUROMANCER_MAX_TEMP_BYTES"), std::string::npos)
      << message;
}

TEST_F(ModelTest, SmallTempLimitRefusesAModelUntilLifted) {
  Node down = upAndDown(4, 2, 16);
  Array x = Array::full({1, 1, 4, 4, 4}, 1.0);
  {
    TempLimit limit("1K");
    std::string message = messageOf(down, x);
    EXPECT_NE(message.find("'down' needs "), std::string::npos) << message;
    EXPECT_NE(message.find("more than the limit of 1.0 KB"), std::string::npos)
        << message;
  }
  // The same executable runs once the limit allows it: 16 channels of the
  // identity-initialised UpConv, max-pooled, give the input back.
  Array out = down(x);
  ASSERT_EQ(out.shape(), (Sizes{1, 16, 4, 4, 4}));
  for (int64_t i = 0; i < out.size(); ++i)
    ASSERT_TRUE(std::isfinite(out.getFlat(i))) << i;
}

namespace {

/// Virtual memory of this process in bytes.
int64_t virtualSize() {
  std::ifstream statm("/proc/self/statm");
  int64_t pages = 0;
  statm >> pages;
  return pages * sysconf(_SC_PAGE_SIZE);
}

/// In a child process: compile (refused under a tiny limit), then run with
/// the address space capped a little above what is mapped, so the 4 GB
/// intermediate (allowed: the limit is 1 TB) cannot be allocated. Prints
/// the error and exits 0 when it is the expected RuntimeError.
[[noreturn]] void runUnderAddressSpaceLimit(const Node &down, const Array &x) {
  {
    TempLimit tiny("1K");
    std::string refused = messageOf(down, x); // compiles, runs nothing
    if (refused.find("needs") == std::string::npos) {
      std::fprintf(stderr, "not refused: %s\n", refused.c_str());
      std::_Exit(2);
    }
  }
  TempLimit large("1T");
  rlimit limit{};
  limit.rlim_cur = limit.rlim_max = virtualSize() + (int64_t(256) << 20);
  setrlimit(RLIMIT_AS, &limit);
  std::string message = messageOf(down, x);
  std::fprintf(stderr, "%s\n", message.c_str());
  std::_Exit(message.find("out of memory allocating") == std::string::npos ? 3
                                                                           : 0);
}

} // namespace

TEST_F(ModelTest, FailedAllocationIsARuntimeErrorNotACrash) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // 16^3 voxels x 16^3 x 64 channels x 4 bytes = 4 GB.
  Node down = upAndDown(16, 16, 64);
  Array x = Array::full({1, 1, 16, 16, 16}, 1.0);
  EXPECT_EXIT(runUnderAddressSpaceLimit(down, x), testing::ExitedWithCode(0),
              "out of memory allocating [0-9.]+ [KMGT]B for 'down'");
}
