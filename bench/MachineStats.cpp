//===- MachineStats.cpp - timing statistics and the machine's state -------===//
#include "bench/MachineStats.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace nm::bench {

Stats statsOf(std::vector<double> v) {
  Stats s;
  if (v.empty())
    return s;
  std::sort(v.begin(), v.end());
  std::size_t n = v.size();
  s.median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  s.min = v.front();
  s.max = v.back();
  return s;
}

CpuSample cpuSample() {
  CpuSample s;
  s.wall = std::chrono::steady_clock::now();
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  std::ifstream st("/proc/stat");
  std::string cpu;
  long long v[8] = {0};
  st >> cpu;
  for (long long &x : v)
    st >> x;
  // user nice system idle iowait irq softirq steal
  s.busy = static_cast<double>(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / tick;
  std::ifstream self("/proc/self/stat");
  std::string line;
  std::getline(self, line);
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  std::vector<std::string> f;
  std::string tok;
  while (rest >> tok)
    f.push_back(tok);
  // After "pid (comm) ": state is field 3, utime 14, stime 15.
  if (f.size() > 12)
    s.self = static_cast<double>(std::stoll(f[11]) + std::stoll(f[12])) / tick;
  return s;
}

/// Mean number of cores used by other processes between two samples.
double otherLoad(const CpuSample &a, const CpuSample &b) {
  double wall = std::chrono::duration<double>(b.wall - a.wall).count();
  if (wall <= 0)
    return 0;
  return std::max(0.0, ((b.busy - a.busy) - (b.self - a.self)) / wall);
}

std::string loadAverage() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

std::string machineLine() {
  std::ifstream f("/proc/cpuinfo");
  std::string line, model;
  int logical = 0;
  bool avx512 = false;
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0) {
      ++logical;
      if (model.empty())
        model = line.substr(line.find(':') + 2);
    }
    if (line.rfind("flags", 0) == 0 &&
        line.find(" avx512f") != std::string::npos)
      avx512 = true;
  }
  struct utsname u;
  uname(&u);
  char buf[512];
  std::snprintf(buf, sizeof buf, "%s, %d logical CPUs, %s, %s %s",
                model.c_str(), logical, avx512 ? "avx512f" : "no avx512f",
                u.sysname, u.release);
  return buf;
}

bool hasAvx512() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("flags", 0) == 0)
      return line.find(" avx512f") != std::string::npos;
  return false;
}

} // namespace nm::bench
