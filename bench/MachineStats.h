//===- MachineStats.h - timing statistics and the machine's state -*- C++
//-*-===//
//
// What every side-by-side benchmark reports besides its own times: median,
// min and max of repeated timings, how busy the rest of the machine was
// while it ran, the load average, and one line describing the CPU.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_BENCH_MACHINESTATS_H
#define NEUROMANCER_BENCH_MACHINESTATS_H

#include <chrono>
#include <cmath>
#include <string>
#include <vector>

namespace nm::bench {

struct Stats {
  double median = NAN, min = NAN, max = NAN;
};

/// Median (the mean of the middle two for an even count), min and max; NaN
/// for no values.
Stats statsOf(std::vector<double> v);

/// CPU time of the whole machine (busy) and of this process (all threads),
/// in seconds, at one instant.
struct CpuSample {
  std::chrono::steady_clock::time_point wall;
  double busy = 0, self = 0;
};
CpuSample cpuSample();
/// Mean number of cores used by other processes between two samples.
double otherLoad(const CpuSample &a, const CpuSample &b);

/// "/proc/loadavg"'s three averages.
std::string loadAverage();
/// "<model>, <n> logical CPUs, avx512f, Linux <release>".
std::string machineLine();
bool hasAvx512();

} // namespace nm::bench

#endif // NEUROMANCER_BENCH_MACHINESTATS_H
