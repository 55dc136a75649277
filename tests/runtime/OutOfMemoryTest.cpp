//===- OutOfMemoryTest.cpp - the runtime's side of out-of-memory safety ---===//
//
// What compiled code relies on (runtime/ThreadPool.h): the temporary limit
// (NEUROMANCER_MAX_TEMP_BYTES, validated, else the physical memory) refuses
// an estimate over it; a failed allocation is recorded in the call state,
// makes later allocations and parallel loops of the call fail fast, reaches
// the caller from a pool thread, and is taken (and cleared) once.
//
//===----------------------------------------------------------------------===//
#include "neuromancer/runtime/ThreadPool.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

int64_t physicalMemory() {
  return int64_t(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGE_SIZE);
}

/// Sets (or with null, unsets) NEUROMANCER_MAX_TEMP_BYTES for one scope.
struct TempLimit {
  explicit TempLimit(const char *value) {
    if (value)
      setenv("NEUROMANCER_MAX_TEMP_BYTES", value, 1);
    else
      unsetenv("NEUROMANCER_MAX_TEMP_BYTES");
  }
  ~TempLimit() { unsetenv("NEUROMANCER_MAX_TEMP_BYTES"); }
};

TEST(OutOfMemory, StatusHasAText) {
  EXPECT_STREQ(nm_status_string(NM_ERROR_OUT_OF_MEMORY), "out of memory");
  EXPECT_EQ(NM_ERROR_OUT_OF_MEMORY, 4);
}

TEST(OutOfMemory, LimitFromTheEnvironmentWithSuffixes) {
  {
    TempLimit unset(nullptr);
    EXPECT_EQ(nm_runtime_max_temp_bytes(), physicalMemory());
  }
  struct Case {
    const char *text;
    int64_t bytes;
  } cases[] = {{"4096", 4096},
               {"64K", int64_t(64) << 10},
               {"3m", int64_t(3) << 20},
               {"2G", int64_t(2) << 30},
               {"1T", int64_t(1) << 40}};
  for (const Case &c : cases) {
    TempLimit limit(c.text);
    EXPECT_EQ(nm_runtime_max_temp_bytes(), c.bytes) << c.text;
  }
}

TEST(OutOfMemory, BadLimitWarnsOnceAndFallsBack) {
  testing::internal::CaptureStderr();
  for (const char *bad : {"12X", "-5", "0", "G", "99999999999T", "1.5G"}) {
    TempLimit limit(bad);
    EXPECT_EQ(nm_runtime_max_temp_bytes(), physicalMemory()) << bad;
  }
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("NEUROMANCER_MAX_TEMP_BYTES='12X' is not a positive "
                     "number of bytes"),
            std::string::npos)
      << err;
  EXPECT_EQ(err.find("NEUROMANCER_MAX_TEMP_BYTES", err.find('\n')),
            std::string::npos)
      << "one warning only:\n"
      << err;
}

TEST(OutOfMemory, EstimateOverTheLimitIsRefused) {
  TempLimit limit("1M");
  nm_runtime_set_num_threads(4);
  EXPECT_EQ(nm_runtime_check_temp_bytes(int64_t(1) << 20, 0), NM_OK);
  EXPECT_EQ(nm_runtime_call_status(), NM_OK);
  // 512K + 3 further threads x 256K = 1.25M.
  EXPECT_EQ(nm_runtime_check_temp_bytes(512 << 10, 256 << 10),
            NM_ERROR_OUT_OF_MEMORY);
  EXPECT_TRUE(nm_runtime_call_failed());
  nm::CallFailure failure;
  ASSERT_TRUE(nm::takeCallFailure(failure));
  EXPECT_TRUE(failure.refused);
  EXPECT_EQ(failure.bytes, int64_t(1280) << 10);
  EXPECT_EQ(failure.limit, int64_t(1) << 20);
  EXPECT_FALSE(nm::takeCallFailure(failure)) << "taken once";
  EXPECT_FALSE(nm_runtime_call_failed());
  nm_runtime_set_num_threads(0);
}

TEST(OutOfMemory, FailedAllocationIsStickyUntilTaken) {
  void *kept = nm_runtime_alloc(1000);
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(nm_runtime_alloc(int64_t(1) << 62), nullptr);
  EXPECT_TRUE(nm_runtime_call_failed());
  EXPECT_EQ(nm_runtime_alloc(16), nullptr) << "the call is failing";
  nm::CallFailure failure;
  ASSERT_TRUE(nm::takeCallFailure(failure));
  EXPECT_FALSE(failure.refused);
  EXPECT_EQ(failure.bytes, int64_t(1) << 62);
  // `kept` was freed with the failed call; the state is clean again.
  void *p = nm_runtime_alloc(16);
  ASSERT_NE(p, nullptr);
  std::memset(p, 1, 16);
  nm_runtime_free(p);
  EXPECT_EQ(nm_runtime_call_status(), NM_OK);
}

TEST(OutOfMemory, BlocksOfAFailedCallAreReleased) {
  nm_runtime_release_memory(); // an empty block cache
  const int64_t size = int64_t(2) << 20;
  void *kept = nm_runtime_alloc(size);
  ASSERT_NE(kept, nullptr);
  std::memset(kept, 1, size);
  ASSERT_EQ(nm_runtime_alloc(int64_t(1) << 62), nullptr);
  // The call returns early without freeing `kept`; taking its status does.
  EXPECT_EQ(nm_runtime_call_status(), NM_ERROR_OUT_OF_MEMORY);
  // Blocks of 1 MiB and more go to the cache when released: the next
  // allocation of that size gets the same block back.
  void *again = nm_runtime_alloc(size);
  EXPECT_EQ(again, kept);
  nm_runtime_free(again);
  EXPECT_EQ(nm_runtime_call_status(), NM_OK);
  nm_runtime_release_memory();
}

struct Job {
  std::atomic<int64_t> chunks{0};
  std::atomic<int64_t> failedOn{-1};
};

/// Fails an allocation in the chunk holding iteration 100, on whichever
/// thread runs it.
void failInOneChunk(void *ctx, int64_t begin, int64_t end) {
  auto *job = static_cast<Job *>(ctx);
  ++job->chunks;
  void *buffer = nm_runtime_alloc(64);
  if (!buffer)
    return; // the call is failing: return early, as compiled code does
  if (begin <= 100 && 100 < end) {
    if (!nm_runtime_alloc(int64_t(1) << 62))
      job->failedOn = begin;
    return; // leaves `buffer` allocated, as an early return does
  }
  nm_runtime_free(buffer);
}

void countChunks(void *ctx, int64_t, int64_t) {
  ++static_cast<Job *>(ctx)->chunks;
}

TEST(OutOfMemory, FailureOnAPoolThreadReachesTheCaller) {
  nm_runtime_set_num_threads(4);
  for (int round = 0; round < 20; ++round) {
    Job job;
    nm_runtime_parallel_for(failInOneChunk, &job, 100000);
    ASSERT_GE(job.failedOn.load(), 0);
    EXPECT_TRUE(nm_runtime_call_failed()) << "round " << round;
    Job after;
    nm_runtime_parallel_for(countChunks, &after, 1000);
    EXPECT_EQ(after.chunks.load(), 0) << "a failing call runs no more loops";
    EXPECT_EQ(nm_runtime_call_status(), NM_ERROR_OUT_OF_MEMORY);
    EXPECT_EQ(nm_runtime_call_status(), NM_OK);
    nm_runtime_parallel_for(countChunks, &after, 1000);
    EXPECT_GT(after.chunks.load(), 0);
  }
  nm_runtime_set_num_threads(0);
}

} // namespace
