//===- ParallelTest.cpp - the thread pool and parallel generated code -----===//
#include "tests/codegen/TestModules.h"

#include "neuromancer/compiler/codegen/CodeGen.h"
#include "neuromancer/compiler/jit/JitLoader.h"
#include "neuromancer/runtime/Array.h"
#include "neuromancer/runtime/ThreadPool.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

using namespace nm;
using namespace nm::testing;

namespace {

/// Restores the thread count when a test ends.
struct ThreadCount {
  int saved = nm_runtime_get_num_threads();
  ~ThreadCount() { nm_runtime_set_num_threads(saved); }
};

struct Coverage {
  std::vector<std::atomic<int>> hits;
  std::atomic<int> calls{0};
  explicit Coverage(int64_t n) : hits(n) {}
};

void countRange(void *ctx, int64_t begin, int64_t end) {
  auto *c = static_cast<Coverage *>(ctx);
  c->calls.fetch_add(1);
  for (int64_t i = begin; i < end; ++i)
    c->hits[i].fetch_add(1);
}

void expectEachOnce(const Coverage &c) {
  int64_t bad = 0;
  for (const auto &h : c.hits)
    bad += h.load() != 1;
  EXPECT_EQ(bad, 0);
}

} // namespace

TEST(ThreadPool, CoversEveryIterationOnce) {
  ThreadCount restore;
  for (int threads : {1, 2, 3, 5})
    for (int64_t n : {0, 1, 2, 7, 1000, 100003}) {
      nm_runtime_set_num_threads(threads);
      EXPECT_EQ(nm_runtime_get_num_threads(), threads);
      Coverage c(n);
      nm_runtime_parallel_for(countRange, &c, n);
      expectEachOnce(c);
      if (threads > 1 && n >= 1000)
        EXPECT_GT(c.calls.load(), 1) << "the range was not split";
    }
}

// Guided chunks: a share of what is left, so the last ones are small and
// a thread slowed near the end holds the others up by little.
TEST(ThreadPool, ChunksShrinkTowardsTheEnd) {
  ThreadCount restore;
  nm_runtime_set_num_threads(2);
  struct Chunks {
    std::mutex m;
    std::vector<std::pair<int64_t, int64_t>> ranges;
  } chunks;
  const int64_t n = 10000;
  nm_runtime_parallel_for(
      [](void *ctx, int64_t b, int64_t e) {
        auto *c = static_cast<Chunks *>(ctx);
        std::lock_guard<std::mutex> lock(c->m);
        c->ranges.emplace_back(b, e);
      },
      &chunks, n);
  std::sort(chunks.ranges.begin(), chunks.ranges.end());
  ASSERT_FALSE(chunks.ranges.empty());
  EXPECT_EQ(chunks.ranges.front().first, 0);
  EXPECT_EQ(chunks.ranges.back().second, n);
  int64_t first = chunks.ranges.front().second - chunks.ranges.front().first;
  int64_t last = chunks.ranges.back().second - chunks.ranges.back().first;
  EXPECT_LE(first, n / 4) << "more than a 1/(2T) share in one chunk";
  EXPECT_GE(first, n / 8) << "the first chunk is needlessly small";
  EXPECT_LE(last, 2) << "the last chunk is not small";
  EXPECT_LT(chunks.ranges.size(), 64u) << "too many chunks (dispatch cost)";
  for (size_t i = 1; i < chunks.ranges.size(); ++i)
    EXPECT_EQ(chunks.ranges[i].first, chunks.ranges[i - 1].second);
}

TEST(ThreadPool, NestedAndConcurrentCallsRunSerially) {
  ThreadCount restore;
  nm_runtime_set_num_threads(2);
  struct Outer {
    std::vector<std::unique_ptr<Coverage>> inner;
  } outer;
  for (int i = 0; i < 16; ++i)
    outer.inner.push_back(std::make_unique<Coverage>(100));
  nm_runtime_parallel_for(
      [](void *ctx, int64_t b, int64_t e) {
        auto *o = static_cast<Outer *>(ctx);
        for (int64_t i = b; i < e; ++i)
          nm_runtime_parallel_for(countRange, o->inner[i].get(), 100);
      },
      &outer, 16);
  for (const auto &c : outer.inner)
    expectEachOnce(*c);

  Coverage a(50000), b(50000);
  std::thread other([&] { nm_runtime_parallel_for(countRange, &a, 50000); });
  nm_runtime_parallel_for(countRange, &b, 50000);
  other.join();
  expectEachOnce(a);
  expectEachOnce(b);
}

// NEUROMANCER_PROFILE=1 is read once per process: the test runs itself
// again as a child process with the variable set and reads what the child
// prints on stderr at exit.
TEST(ThreadPool, ProfilePrintsEveryLoopAtExit) {
  if (std::getenv("NM_TEST_PROFILE_CHILD")) {
    nm_runtime_set_num_threads(2);
    Coverage a(1000), b(77);
    for (int i = 0; i < 3; ++i)
      nm_runtime_parallel_for(countRange, &a, 1000);
    // Rows are per loop body, as each compiled loop has its own.
    nm_runtime_parallel_for([](void *ctx, int64_t begin,
                               int64_t end) { countRange(ctx, begin, end); },
                            &b, 77);
    return;
  }
  std::string command =
      "env -u TEST_PREMATURE_EXIT_FILE -u XML_OUTPUT_FILE -u GTEST_OUTPUT "
      "NM_TEST_PROFILE_CHILD=1 NEUROMANCER_PROFILE=1 /proc/" +
      std::to_string(getpid()) +
      "/exe --gtest_filter=ThreadPool.ProfilePrintsEveryLoopAtExit 2>&1";
  FILE *child = popen(command.c_str(), "r");
  ASSERT_NE(child, nullptr);
  std::string output;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof(buffer), child))
    output.append(buffer, n);
  ASSERT_EQ(pclose(child), 0) << output;
  EXPECT_NE(output.find("neuromancer profile: parallel loops"),
            std::string::npos)
      << output;
  // Rows: loop, body, calls, n, ...: both loops, in order of first use.
  std::istringstream lines(output.substr(output.find("fastest ms")));
  std::string header, row;
  std::getline(lines, header);
  std::vector<std::pair<long, long>> rows; // (calls, n)
  while (std::getline(lines, row) && row.rfind("total", 0) != 0) {
    std::istringstream fields(row);
    std::string loop, body;
    long calls = 0, n = 0;
    fields >> loop >> body >> calls >> n;
    rows.push_back({calls, n});
  }
  EXPECT_EQ(rows, (std::vector<std::pair<long, long>>{{3, 1000}, {1, 77}}))
      << output;
}

namespace {

/// The VmFlags line of the mapping in /proc/self/smaps that contains `p`
/// (empty if none does).
std::string vmFlagsOf(const void *p) {
  FILE *f = std::fopen("/proc/self/smaps", "r");
  if (!f)
    return "";
  auto addr = reinterpret_cast<unsigned long>(p);
  bool inside = false;
  std::string flags;
  char line[512];
  while (std::fgets(line, sizeof(line), f)) {
    unsigned long lo, hi;
    if (std::sscanf(line, "%lx-%lx ", &lo, &hi) == 2 &&
        std::strchr(line, '-') < std::strchr(line, ' ')) {
      inside = lo <= addr && addr < hi;
      continue;
    }
    if (inside && std::strncmp(line, "VmFlags:", 8) == 0) {
      flags = line + 8;
      break;
    }
  }
  std::fclose(f);
  return flags;
}

/// Whether the kernel offers transparent huge pages on request.
bool hugePagesOnRequest() {
  FILE *f = std::fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
  if (!f)
    return false;
  char mode[128] = {};
  bool ok = std::fgets(mode, sizeof(mode), f) && !std::strstr(mode, "[never]");
  std::fclose(f);
  return ok;
}

} // namespace

TEST(RuntimeAlloc, BlocksAre64ByteAlignedAndLargeOnesAreReused) {
  void *small = nm_runtime_alloc(1000);
  ASSERT_NE(small, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(small) % 64, 0u);
  std::memset(small, 1, 1000);
  nm_runtime_free(small);

  const int64_t big = int64_t(3) << 20;
  void *first = nm_runtime_alloc(big);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(first) % 64, 0u);
  nm_runtime_free(first);
  void *again = nm_runtime_alloc(big - 4096); // fits the cached block
  EXPECT_EQ(again, first);
  nm_runtime_free(again);
  nm_runtime_release_memory();
}

TEST(RuntimeAlloc, LargeBlocksStartOnAHugePageAndAskForHugePages) {
  const int64_t big = int64_t(24) << 20;
  auto *p = static_cast<char *>(nm_runtime_alloc(big));
  ASSERT_NE(p, nullptr);
  // The block (its 64-byte header, then the payload) starts on a 2 MiB
  // boundary, so the payload's pages can be huge ones.
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p - 64) % (uintptr_t(2) << 20), 0u);
  std::memset(p, 0, big);
  if (hugePagesOnRequest()) {
    std::string flags = vmFlagsOf(p + big / 2);
    EXPECT_NE(flags.find(" hg"), std::string::npos)
        << "no MADV_HUGEPAGE on the block: VmFlags:" << flags;
  }
  nm_runtime_free(p);
  nm_runtime_release_memory();
}

TEST(ThreadPool, EnvironmentVariableSetsTheDefault) {
  ThreadCount restore;
  const char *old = std::getenv("NEUROMANCER_NUM_THREADS");
  std::string saved = old ? old : "";
  setenv("NEUROMANCER_NUM_THREADS", "3", 1);
  EXPECT_EQ(default_num_threads(), 3);
  nm_runtime_set_num_threads(0); // back to the default
  EXPECT_EQ(nm_runtime_get_num_threads(), 3);
  setenv("NEUROMANCER_NUM_THREADS", "junk", 1);
  EXPECT_GE(default_num_threads(), 1);
  if (old)
    setenv("NEUROMANCER_NUM_THREADS", saved.c_str(), 1);
  else
    unsetenv("NEUROMANCER_NUM_THREADS");
  nm::set_num_threads(2);
  EXPECT_EQ(nm::get_num_threads(), 2);
}

namespace {

// Big enough to be distributed: conv (+bias, relu) and a transpose.
constexpr const char *kParallelModule = R"mlir(
func.func @layer(%x: tensor<1x6x20x21x16xf32>, %w: tensor<2x3x3x16x32xf32>,
                 %b: tensor<32xf32>) -> tensor<1x32x5x18x19xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x5x18x19x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x5x18x19x32xf32>) -> tensor<1x5x18x19x32xf32>
  %c = linalg.conv_3d_ndhwc_dhwcf {dilations = dense<1> : tensor<3xi64>, strides = dense<1> : tensor<3xi64>}
     ins(%x, %w : tensor<1x6x20x21x16xf32>, tensor<2x3x3x16x32xf32>)
     outs(%f : tensor<1x5x18x19x32xf32>) -> tensor<1x5x18x19x32xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(n,d,h,w,f) -> (n,d,h,w,f)>,
                                        affine_map<(n,d,h,w,f) -> (f)>,
                                        affine_map<(n,d,h,w,f) -> (n,d,h,w,f)>],
      iterator_types = ["parallel","parallel","parallel","parallel","parallel"]}
      ins(%c, %b : tensor<1x5x18x19x32xf32>, tensor<32xf32>) outs(%e : tensor<1x5x18x19x32xf32>) {
    ^bb0(%a: f32, %bias: f32, %o: f32):
      %s = arith.addf %a, %bias : f32
      %m = arith.maximumf %s, %zero : f32
      linalg.yield %m : f32
  } -> tensor<1x5x18x19x32xf32>
  %te = tensor.empty() : tensor<1x32x5x18x19xf32>
  %t = linalg.transpose ins(%r : tensor<1x5x18x19x32xf32>)
       outs(%te : tensor<1x32x5x18x19xf32>) permutation = [0, 4, 1, 2, 3]
  return %t : tensor<1x32x5x18x19xf32>
}
)mlir";

codegen::CompiledObject compileWith(bool parallel) {
  codegen::CompileOptions options;
  options.parallel = parallel;
  options.keepIntermediates = true;
  auto object =
      codegen::compileToObject(llvm::StringRef(kParallelModule), options);
  if (!object)
    throw std::runtime_error(llvm::toString(object.takeError()));
  return std::move(*object);
}

Array runLayer(const codegen::CompiledObject &object, const Array &x,
               const Array &w, const Array &b) {
  auto exes = jit::loadObject(object.object, object.functions);
  if (!exes)
    throw std::runtime_error(llvm::toString(exes.takeError()));
  Array out = Array::full({1, 32, 5, 18, 19}, 7.0);
  (*exes)[0]->call({&x, &w, &b}, {&out});
  return out;
}

} // namespace

TEST(Parallel, GeneratedCodeCallsThePoolAndMatchesSerial) {
  ThreadCount restore;
  codegen::CompiledObject serial = compileWith(false);
  codegen::CompiledObject parallel = compileWith(true);
  EXPECT_EQ(serial.llvmIR.find("nm_runtime_parallel_for"), std::string::npos);
  EXPECT_NE(parallel.llvmIR.find("call void @nm_runtime_parallel_for"),
            std::string::npos)
      << parallel.llvmIR;
  EXPECT_NE(parallel.loweredIR.find("call @nm_dispatch."), std::string::npos);

  auto xv = randomVector(6 * 20 * 21 * 16, 31);
  auto wv = randomVector(2 * 3 * 3 * 16 * 32, 32);
  auto bv = randomVector(32, 33, -0.3f, 0.3f);
  Array x = Array::fromVector({1, 6, 20, 21, 16}, xv);
  Array w = Array::fromVector({2, 3, 3, 16, 32}, wv);
  Array b = Array::fromVector({32}, bv);
  nm_runtime_set_num_threads(1);
  Array want = runLayer(serial, x, w, b);
  // The plain-loop reference, to be sure the serial code is right too.
  std::vector<float> ref =
      referenceConv(xv, wv, {1, 6, 20, 21, 16}, {2, 3, 3, 16, 32});
  int64_t bad = 0;
  for (int64_t i = 0; i < 5 * 18 * 19; ++i)
    for (int64_t f = 0; f < 32; ++f) {
      float r = std::max(ref[i * 32 + f] + bv[f], 0.f);
      bad += std::fabs(want.data<float>()[f * 5 * 18 * 19 + i] - r) >
             1e-4f * std::max(1.f, std::fabs(r));
    }
  EXPECT_EQ(bad, 0);
  for (int threads : {1, 2, 3}) {
    nm_runtime_set_num_threads(threads);
    Array got = runLayer(parallel, x, w, b);
    EXPECT_EQ(std::memcmp(got.raw(), want.raw(), want.nbytes()), 0)
        << threads << " threads";
  }
}
