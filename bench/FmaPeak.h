//===- FmaPeak.h - the machine's measured FMA peak --------------*- C++ -*-===//
//
// The benchmarks report "% of the FMA peak": 16 independent chains of
// 512-bit FMAs per thread, all threads at once (AVX-512; the benchmarks run
// on AVX-512 machines). Shared by cnn_bench and dense_bench.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_BENCH_FMAPEAK_H
#define NEUROMANCER_BENCH_FMAPEAK_H

#include <cstdint>
#include <vector>

namespace nm::bench {

/// GFLOP/s of `threads` threads each running `iters` FMA iterations at once.
double fmaRound(int threads, int64_t iters);

/// 7 rounds of about 0.25 s each at `threads` threads, in GFLOP/s.
std::vector<double> fmaPeakRounds(int threads);

} // namespace nm::bench

#endif // NEUROMANCER_BENCH_FMAPEAK_H
