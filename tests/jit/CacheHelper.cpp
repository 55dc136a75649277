//===- CacheHelper.cpp - one process of the two-process cache test --------===//
//
// Compiles (or loads) the conv+bias+relu module through the process-wide
// cache ($NEUROMANCER_CACHE_DIR), checks the numerics and prints
//   compiles=<n> disk_hits=<n> memory_hits=<n> seconds=<s> ok=<0|1>
// Exit status 0 only when the result matches the reference.
//
//===----------------------------------------------------------------------===//
#include "tests/codegen/TestModules.h"

#include "neuromancer/compiler/jit/CompileCache.h"
#include "neuromancer/runtime/Array.h"

#include <cstdio>
#include <exception>

using namespace nm;
using namespace nm::testing;

int main() {
  try {
    jit::CompileCache &cache = jit::CompileCache::global();
    jit::CacheResult r = cache.getOrCompile(llvm::StringRef(kConvBiasRelu));
    auto xv = randomVector(1 * 5 * 7 * 7 * 3, 21);
    auto wv = randomVector(2 * 3 * 3 * 3 * 5, 22);
    auto bv = randomVector(5, 23);
    Array x = Array::fromVector({1, 5, 7, 7, 3}, xv);
    Array w = Array::fromVector({2, 3, 3, 3, 5}, wv);
    Array b = Array::fromVector({5}, bv);
    Array out({1, 4, 5, 5, 5});
    r.executable->call({&x}, {&w, &b}, {&out});
    auto want = referenceConv(xv, wv, {1, 5, 7, 7, 3}, {2, 3, 3, 3, 5});
    for (size_t i = 0; i < want.size(); ++i)
      want[i] = std::max(want[i] + bv[i % 5], 0.f);
    bool ok = maxRelError(out.data<float>(), want) <= 1e-5;
    jit::CompileCache::Stats s = cache.stats();
    std::printf("compiles=%llu disk_hits=%llu memory_hits=%llu seconds=%.6f "
                "ok=%d dir=%s\n",
                (unsigned long long)s.compiles, (unsigned long long)s.diskHits,
                (unsigned long long)s.memoryHits, r.seconds, ok ? 1 : 0,
                cache.directory().c_str());
    return ok ? 0 : 1;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "cache_helper: %s\n", e.what());
    return 2;
  }
}
