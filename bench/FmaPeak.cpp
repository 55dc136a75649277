//===- FmaPeak.cpp - the machine's measured FMA peak ----------------------===//
#include "bench/FmaPeak.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

namespace nm::bench {
namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

/// 16 independent chains of 512-bit FMAs: 16 x 16 lanes x 2 flops per iter.
__attribute__((target("avx512f"), noinline)) float fmaKernel(int64_t iters) {
  __m512 a0 = _mm512_set1_ps(0.1f), a1 = _mm512_set1_ps(0.2f),
         a2 = _mm512_set1_ps(0.3f), a3 = _mm512_set1_ps(0.4f),
         a4 = _mm512_set1_ps(0.5f), a5 = _mm512_set1_ps(0.6f),
         a6 = _mm512_set1_ps(0.7f), a7 = _mm512_set1_ps(0.8f),
         a8 = _mm512_set1_ps(0.9f), a9 = _mm512_set1_ps(1.0f),
         a10 = _mm512_set1_ps(1.1f), a11 = _mm512_set1_ps(1.2f),
         a12 = _mm512_set1_ps(1.3f), a13 = _mm512_set1_ps(1.4f),
         a14 = _mm512_set1_ps(1.5f), a15 = _mm512_set1_ps(1.6f);
  // Read through volatiles so that the compiler cannot fold any chain.
  volatile float mv = 0.999999f, cv = 1e-7f;
  const __m512 m = _mm512_set1_ps(mv), c = _mm512_set1_ps(cv);
  for (int64_t i = 0; i < iters; ++i) {
    a0 = _mm512_fmadd_ps(a0, m, c);
    a1 = _mm512_fmadd_ps(a1, m, c);
    a2 = _mm512_fmadd_ps(a2, m, c);
    a3 = _mm512_fmadd_ps(a3, m, c);
    a4 = _mm512_fmadd_ps(a4, m, c);
    a5 = _mm512_fmadd_ps(a5, m, c);
    a6 = _mm512_fmadd_ps(a6, m, c);
    a7 = _mm512_fmadd_ps(a7, m, c);
    a8 = _mm512_fmadd_ps(a8, m, c);
    a9 = _mm512_fmadd_ps(a9, m, c);
    a10 = _mm512_fmadd_ps(a10, m, c);
    a11 = _mm512_fmadd_ps(a11, m, c);
    a12 = _mm512_fmadd_ps(a12, m, c);
    a13 = _mm512_fmadd_ps(a13, m, c);
    a14 = _mm512_fmadd_ps(a14, m, c);
    a15 = _mm512_fmadd_ps(a15, m, c);
  }
  __m512 s = _mm512_add_ps(
      _mm512_add_ps(
          _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
          _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7))),
      _mm512_add_ps(
          _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)),
          _mm512_add_ps(_mm512_add_ps(a12, a13), _mm512_add_ps(a14, a15))));
  return _mm512_reduce_add_ps(s);
}

constexpr double kFlopsPerFmaIter = 16.0 * 16.0 * 2.0;

/// GFLOP/s of `threads` threads each running fmaKernel(iters) at once.
} // namespace

double fmaRound(int threads, int64_t iters) {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  std::vector<float> sink(threads);
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      ready.fetch_add(1);
      while (!go.load())
        ;
      sink[t] = fmaKernel(iters);
    });
  while (ready.load() < threads)
    ;
  Clock::time_point start = Clock::now();
  go.store(true);
  for (std::thread &th : pool)
    th.join();
  double s = seconds(start, Clock::now());
  volatile float keep = sink[0];
  (void)keep;
  return threads * static_cast<double>(iters) * kFlopsPerFmaIter / s / 1e9;
}

std::vector<double> fmaPeakRounds(int threads) {
  fmaRound(1, 1 << 20); // wake the core up
  Clock::time_point a = Clock::now();
  volatile float keep = fmaKernel(1 << 22); // (a pure call would be dropped)
  (void)keep;
  double perIter = seconds(a, Clock::now()) / (1 << 22);
  int64_t iters = static_cast<int64_t>(0.25 / std::max(perIter, 1e-10));
  std::vector<double> g;
  for (int r = 0; r < 7; ++r)
    g.push_back(fmaRound(threads, iters));
  return g;
}

} // namespace nm::bench
