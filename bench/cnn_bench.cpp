//===- cnn_bench.cpp - neuromancer vs oneDNN (vs PyTorch) on the seed's CNNs
//===//
//
// One process measures, for each workload and thread count, the forward pass
// of the same network three ways:
//
//  - neuromancer: the model built with the frontend API (examples/Models.h),
//    its prediction node called through the public API (`node(x)`); the
//    first call compiles and is timed separately.
//  - oneDNN (Debian libdnnl-dev), called directly with the SAME weights: conv
//    (bias, fused ReLU post-op except the linear last layer), max-pool,
//    softmax; format `any` (oneDNN picks its blocked layout), weights
//    reordered once, input/output reorders not timed.
//  - PyTorch (Debian python3-torch, when installed) as a subprocess
//    (bench/torch_bench.py), random weights of the same shapes.
//
// neuromancer and oneDNN alternate iteration by iteration so that noise from
// other processes hits both. Prints median/min/max, GFLOP/s (2 x conv MACs),
// % of a measured AVX-512 FMA peak, a per-layer table (each conv layer also
// compiled alone by neuromancer), the numerics check, and finally one line
// per workload and thread count:
//   RATIO <workload> threads=<n> neuromancer/onednn=<x.xx>
// where x.xx = neuromancer median time / oneDNN median time (< 1: faster).
//
// Usage: cnn_bench [--quick] [--reps N] [--threads 1,2]
//                  [--workloads seed,neuro3d,neuro3d_pred] [--no-layers]
//                  [--no-torch] [--torch-script PATH] [--keep-cache]
//
//===----------------------------------------------------------------------===//
#include "bench/CnnWorkloads.h"
#include "bench/ConvLayers.h"
#include "bench/FmaPeak.h"
#include "bench/MachineStats.h"
#include "bench/OnednnUtil.h"
#include "examples/Models.h"
#include "neuromancer/frontend/NodeImpl.h"
#include "neuromancer/neuromancer.h"
#include "neuromancer/runtime/ThreadPool.h"

#include <immintrin.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using nm::bench::ConvLayer;
using nm::bench::CpuSample;
using nm::bench::cpuSample;
using nm::bench::dims5;
using nm::bench::hasAvx512;
using nm::bench::implOf;
using nm::bench::loadAverage;
using nm::bench::machineLine;
using nm::bench::makeWorkload;
using nm::bench::onednnVersion;
using nm::bench::otherLoad;
using nm::bench::randomArray;
using nm::bench::relError;
using nm::bench::shapeText;
using nm::bench::Sizes3;
using nm::bench::spotCheck;
using nm::bench::Stats;
using nm::bench::statsOf;
using nm::bench::Workload;

double seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

std::string fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char *f, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, f);
  std::vsnprintf(buf, sizeof(buf), f, ap);
  va_end(ap);
  return buf;
}

//===-- FMA peak (bench/FmaPeak.h)
//-------------------------------------------------------===//

Stats fmaPeak(int threads) {
  return statsOf(nm::bench::fmaPeakRounds(threads));
}

//===-- oneDNN
//--------------------------------------------------------------===//

using dnnl::memory;
using Dt = memory::data_type;
using Tag = memory::format_tag;

/// One primitive of the network with its arguments.
struct Step {
  int layer = -1; // index into Workload::layers, -1 for net-level steps
  std::string kind, impl;
  dnnl::primitive prim;
  std::unordered_map<int, memory> args;
  bool timed = true; // counted in the net's time (not the I/O reorders)
};

/// The workload as a chain of oneDNN primitives.
struct OnednnNet {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm{eng};
  std::vector<Step> steps;
  std::vector<memory> layerSrc, layerOut; // per conv layer
  std::vector<memory> keep;               // packed weights and biases
  memory output;                          // softmax result, ncdhw

  /// Runs every step once; adds each step's seconds to `perStep`.
  double run(std::vector<double> *perStep = nullptr) {
    double timed = 0;
    for (std::size_t i = 0; i < steps.size(); ++i) {
      Clock::time_point a = Clock::now();
      steps[i].prim.execute(strm, steps[i].args);
      strm.wait();
      double s = seconds(a, Clock::now());
      if (steps[i].timed)
        timed += s;
      if (perStep)
        perStep[i].push_back(s);
    }
    return timed;
  }

  /// A C-order copy of `m` (logical dims `d`) as an nm::Array.
  nm::Array toPlain(const memory &m, const memory::dims &d) {
    nm::Array a(std::vector<int64_t>(d.begin(), d.end()));
    memory plain({d, Dt::f32, Tag::ncdhw}, eng, a.raw());
    dnnl::reorder(m, plain).execute(strm, const_cast<memory &>(m), plain);
    strm.wait();
    return a;
  }
};

OnednnNet buildOnednn(const Workload &wl, const nm::Array &input) {
  OnednnNet net;
  const ConvLayer &first = wl.layers.front();
  memory cur({dims5(first.n, first.c, first.in), Dt::f32, Tag::ncdhw}, net.eng,
             const_cast<void *>(input.raw()));
  memory::dims unit{1, 1, 1}, zero{0, 0, 0};
  for (std::size_t i = 0; i < wl.layers.size(); ++i) {
    const ConvLayer &L = wl.layers[i];
    memory::desc src(dims5(L.n, L.c, L.in), Dt::f32, Tag::any);
    memory::desc wei({L.f, L.c, L.k[0], L.k[1], L.k[2]}, Dt::f32, Tag::any);
    memory::desc bia({L.f}, Dt::f32, Tag::x);
    memory::desc dst(dims5(L.n, L.f, L.conv), Dt::f32, Tag::any);
    dnnl::convolution_forward::desc cd(dnnl::prop_kind::forward_inference,
                                       dnnl::algorithm::convolution_direct, src,
                                       wei, bia, dst, unit, zero, zero);
    dnnl::primitive_attr attr;
    if (L.relu) {
      dnnl::post_ops ops;
      ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
      attr.set_post_ops(ops);
    }
    dnnl::convolution_forward::primitive_desc pd(cd, attr, net.eng);
    if (pd.src_desc() != cur.get_desc()) {
      memory m(pd.src_desc(), net.eng);
      dnnl::reorder::primitive_desc rpd(cur, m);
      Step s;
      s.layer = static_cast<int>(i);
      s.kind = i == 0 ? "reorder_in" : "reorder";
      s.impl = implOf(rpd);
      s.prim = dnnl::reorder(rpd);
      s.args = {{DNNL_ARG_FROM, cur}, {DNNL_ARG_TO, m}};
      s.timed = i != 0; // the input reorder is not timed
      net.steps.push_back(std::move(s));
      cur = m;
    }
    // Weights: the node's [f, c, kz, kx, ky] is oneDNN's oidhw; packed once.
    memory wUser({{L.f, L.c, L.k[0], L.k[1], L.k[2]}, Dt::f32, Tag::oidhw},
                 net.eng, const_cast<void *>(L.w.raw()));
    memory wPacked = wUser;
    if (pd.weights_desc() != wUser.get_desc()) {
      wPacked = memory(pd.weights_desc(), net.eng);
      dnnl::reorder(wUser, wPacked).execute(net.strm, wUser, wPacked);
      net.strm.wait();
    }
    memory bias({{L.f}, Dt::f32, Tag::x}, net.eng,
                const_cast<void *>(L.b.raw()));
    net.keep.push_back(wPacked);
    net.keep.push_back(bias);
    memory convDst(pd.dst_desc(), net.eng);
    Step s;
    s.layer = static_cast<int>(i);
    s.kind = "conv";
    s.impl = implOf(pd);
    s.prim = dnnl::convolution_forward(pd);
    s.args = {{DNNL_ARG_SRC, cur},
              {DNNL_ARG_WEIGHTS, wPacked},
              {DNNL_ARG_BIAS, bias},
              {DNNL_ARG_DST, convDst}};
    net.steps.push_back(std::move(s));
    net.layerSrc.push_back(cur);
    cur = convDst;
    if (L.pooled()) {
      memory::dims p{L.pool[0], L.pool[1], L.pool[2]};
      memory::desc pdst(dims5(L.n, L.f, L.out), Dt::f32, Tag::any);
      dnnl::pooling_forward::desc pooling(
          dnnl::prop_kind::forward_inference, dnnl::algorithm::pooling_max,
          cur.get_desc(), pdst, p, p, zero, zero);
      dnnl::pooling_forward::primitive_desc ppd(pooling, net.eng);
      memory poolDst(ppd.dst_desc(), net.eng);
      Step ps;
      ps.layer = static_cast<int>(i);
      ps.kind = "pool";
      ps.impl = implOf(ppd);
      ps.prim = dnnl::pooling_forward(ppd);
      ps.args = {{DNNL_ARG_SRC, cur}, {DNNL_ARG_DST, poolDst}};
      net.steps.push_back(std::move(ps));
      cur = poolDst;
    }
    net.layerOut.push_back(cur);
  }
  const ConvLayer &last = wl.layers.back();
  memory::desc plain(dims5(last.n, last.f, last.out), Dt::f32, Tag::ncdhw);
  if (cur.get_desc() != plain) {
    memory m(plain, net.eng);
    dnnl::reorder::primitive_desc rpd(cur, m);
    Step s;
    s.kind = "reorder_out";
    s.impl = implOf(rpd);
    s.prim = dnnl::reorder(rpd);
    s.args = {{DNNL_ARG_FROM, cur}, {DNNL_ARG_TO, m}};
    s.timed = false;
    net.steps.push_back(std::move(s));
    cur = m;
  }
  dnnl::softmax_forward::desc sd(dnnl::prop_kind::forward_inference, plain, 1);
  dnnl::softmax_forward::primitive_desc spd(sd, net.eng);
  net.output = memory(spd.dst_desc(), net.eng);
  Step s;
  s.kind = "softmax";
  s.impl = implOf(spd);
  s.prim = dnnl::softmax_forward(spd);
  s.args = {{DNNL_ARG_SRC, cur}, {DNNL_ARG_DST, net.output}};
  net.steps.push_back(std::move(s));
  return net;
}

//===-- neuromancer
//---------------------------------------------------------===//

/// neuromancer's thread count: the runtime thread pool that compiled code
/// runs its parallel loops on (runtime/ThreadPool.h).
void setNmThreads(int n) { nm::set_num_threads(n); }

/// Compiles `node` (node() compiles only); returns the seconds and whether
/// the object came from the disk cache (the "Compiling done" log line).
std::pair<double, bool> compileNode(const nm::Node &node) {
  bool fromDisk = false;
  nm::LogLevel level = nm::log_level();
  nm::set_log_level(nm::LogLevel::Info);
  nm::LogSink old = nm::set_log_sink([&](nm::LogLevel l, const std::string &m) {
    if (m.find("loaded from the compile cache") != std::string::npos)
      fromDisk = true;
    if (l >= nm::LogLevel::Warning)
      std::fprintf(stderr, "%s\n", m.c_str());
  });
  Clock::time_point a = Clock::now();
  node();
  double s = seconds(a, Clock::now());
  nm::set_log_sink(old);
  nm::set_log_level(level);
  return {s, fromDisk};
}

/// One conv layer as a model of its own, with the workload's weights.
nm::Node singleLayer(const std::string &wl, std::size_t i, const ConvLayer &L) {
  nm::model_manager.newmodel(fmt("bench_%s_layer%zu", wl.c_str(), i + 1));
  nm::Node x = nm::Input({L.n, L.c, L.in[0], L.in[1], L.in[2]}, "b,f,z,x,y",
                         {.name = "x"});
  return nm::Conv(x, L.f, {L.k[0], L.k[1], L.k[2]},
                  {L.pool[0], L.pool[1], L.pool[2]},
                  {.activation_func = L.relu ? "relu" : "lin",
                   .name = "layer",
                   .w = L.w,
                   .b = L.b});
}

//===-- PyTorch (subprocess)
//-------------------------------------------------===//

struct TorchResult {
  bool ok = false;
  std::string variant, version, note;
  Stats s;
  double load = NAN;
};

std::string runCommand(const std::string &cmd, int *status = nullptr) {
  std::string out;
  FILE *p = popen(cmd.c_str(), "r");
  if (!p)
    return out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof(buf), p))
    out.append(buf, n);
  int st = pclose(p);
  if (status)
    *status = st;
  return out;
}

TorchResult runTorch(const std::string &script, const Workload &wl, int threads,
                     int reps) {
  TorchResult r;
  std::string layers;
  for (const ConvLayer &L : wl.layers)
    layers += fmt("%s%ld:%ld,%ld,%ld:%ld,%ld,%ld:%s", layers.empty() ? "" : ";",
                  (long)L.f, (long)L.k[0], (long)L.k[1], (long)L.k[2],
                  (long)L.pool[0], (long)L.pool[1], (long)L.pool[2],
                  L.relu ? "relu" : "lin");
  std::string cmd =
      fmt("/usr/bin/python3 '%s' --threads %d --reps %d --input %s "
          "--layers '%s' 2>&1",
          script.c_str(), threads, reps, shapeText(wl.inShape).c_str(),
          layers.c_str());
  int status = 0;
  std::string out = runCommand(cmd, &status);
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream ls(line);
    std::string tag;
    ls >> tag;
    if (tag == "TORCH_RESULT") {
      ls >> r.variant >> r.version >> r.s.median >> r.s.min >> r.s.max >>
          r.load;
      r.ok = true;
    } else if (tag == "TORCH_SKIP") {
      std::getline(ls, r.note);
    }
  }
  if (!r.ok && r.note.empty())
    r.note = " failed (exit " + std::to_string(status) +
             "): " + out.substr(out.size() > 300 ? out.size() - 300 : 0);
  return r;
}

//===-- the report
//----------------------------------------------------------===//

struct Options {
  bool quick = false, layers = true, torch = true, keepCache = false;
  int reps = 5;
  std::vector<int> threads{1, 2};
  std::vector<std::string> workloads{"seed", "neuro3d", "neuro3d_pred"};
  std::string torchScript = "bench/torch_bench.py";
  std::string compileOnly; // child mode: compile one workload, report
};

std::vector<std::string> splitList(const std::string &s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty())
      out.push_back(item);
  return out;
}

Options parse(int argc, char **argv) {
  Options o;
  bool repsGiven = false, workloadsGiven = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc)
        throw nm::ValueError("missing value after " + a);
      return argv[++i];
    };
    if (a == "--quick")
      o.quick = true;
    else if (a == "--reps") {
      o.reps = std::stoi(next());
      repsGiven = true;
    } else if (a == "--threads") {
      o.threads.clear();
      for (const std::string &t : splitList(next()))
        o.threads.push_back(std::stoi(t));
    } else if (a == "--workloads") {
      o.workloads = splitList(next());
      workloadsGiven = true;
    } else if (a == "--no-layers")
      o.layers = false;
    else if (a == "--no-torch")
      o.torch = false;
    else if (a == "--torch-script")
      o.torchScript = next();
    else if (a == "--keep-cache")
      o.keepCache = true;
    else if (a == "--compile-only")
      o.compileOnly = next();
    else
      throw nm::ValueError("unknown argument '" + a +
                           "' (--quick --reps N --threads 1,2 --workloads "
                           "seed,neuro3d,neuro3d_pred --no-layers --no-torch "
                           "--torch-script PATH --keep-cache)");
  }
  if (o.quick) {
    if (!repsGiven)
      o.reps = 3;
    if (!workloadsGiven)
      o.workloads = {"neuro3d"};
  }
  return o;
}

struct Ratio {
  std::string workload;
  int threads;
  double ratio;
};

std::string cell(double v, const char *f = "%.3f") {
  return std::isnan(v) ? "-" : fmt(f, v);
}

int childCompileOnly(const Options &o) {
  Workload wl = makeWorkload(o.compileOnly);
  auto [s, disk] = compileNode(wl.prediction);
  std::printf("COMPILE_ONLY %.3f %s\n", s, disk ? "disk" : "compiled");
  return 0;
}

void benchWorkload(const Options &o, const std::string &name,
                   std::map<int, double> &peaks, std::vector<Ratio> &ratios) {
  std::printf("\n## %s\n\n", name.c_str());
  Workload wl = makeWorkload(name);
  std::printf("%s: %zu conv layers, %.2f GFLOP per forward (2 x conv MACs)\n",
              wl.title.c_str(), wl.layers.size(), wl.gflop);
  nm::Array input = randomArray(wl.inShape, 42);

  // neuromancer: compile (first call), then a second process on the cache.
  auto [compileS, compileDisk] = compileNode(wl.prediction);
  std::printf("neuromancer compile (first call, %s): %.2f s\n",
              compileDisk ? "from the disk cache" : "fresh", compileS);
  {
    std::string out = runCommand(fmt("'/proc/%d/exe' --compile-only %s 2>&1",
                                     (int)getpid(), name.c_str()));
    std::size_t at = out.find("COMPILE_ONLY ");
    if (at != std::string::npos) {
      double s = 0;
      char src[32] = {0};
      std::sscanf(out.c_str() + at, "COMPILE_ONLY %lf %31s", &s, src);
      std::printf("neuromancer compile in a second process: %.2f s (%s)\n", s,
                  std::strcmp(src, "disk") ? "compiled again"
                                           : "loaded from the disk cache");
    } else {
      std::printf("neuromancer second process failed: %s\n", out.c_str());
    }
  }
  std::vector<nm::Node> layerNodes;
  if (o.layers) {
    double total = 0;
    for (std::size_t i = 0; i < wl.layers.size(); ++i) {
      layerNodes.push_back(singleLayer(name, i, wl.layers[i]));
      total += compileNode(layerNodes.back()).first;
    }
    std::printf("neuromancer single-layer models: %zu compiled in %.2f s\n",
                layerNodes.size(), total);
  }

  for (int threads : o.threads) {
    omp_set_num_threads(threads);
    setNmThreads(threads);
    std::printf("\n### %s, threads=%d\n\n", wl.title.c_str(), threads);
    // The peak is the best FMA round seen at this thread count (at the start
    // and here, just before this section): noise only lowers a round.
    peaks[threads] = std::max(peaks[threads], fmaPeak(threads).max);
    double peak = peaks[threads];
    OnednnNet net = buildOnednn(wl, input);
    std::vector<std::vector<double>> perStep(net.steps.size());
    std::vector<double> tOne, tNm;
    double loadOne = 0, loadNm = 0;
    // A run is clean when other processes left this run's threads their
    // cores: at most the cores it does not use (+0.1) were busy elsewhere.
    const double cleanBound =
        std::max(0, static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)) - threads) +
        0.1;
    int cleanOne = 0, cleanNm = 0;
    nm::Array nmOut;
    // Warm-up: one call each, then reps alternating oneDNN and neuromancer.
    net.run();
    nmOut = wl.prediction(input);
    for (int r = 0; r < o.reps; ++r) {
      CpuSample a = cpuSample();
      tOne.push_back(net.run(perStep.data()));
      CpuSample b = cpuSample();
      Clock::time_point s = Clock::now();
      nmOut = wl.prediction(input);
      tNm.push_back(seconds(s, Clock::now()));
      CpuSample c = cpuSample();
      loadOne += otherLoad(a, b) / o.reps;
      loadNm += otherLoad(b, c) / o.reps;
      cleanOne += otherLoad(a, b) <= cleanBound;
      cleanNm += otherLoad(b, c) <= cleanBound;
    }
    std::vector<int64_t> outDims = wl.outShape;
    nm::Array ref =
        net.toPlain(net.output, memory::dims(outDims.begin(), outDims.end()));
    double err = relError(nmOut, ref);

    TorchResult torch;
    if (o.torch)
      torch = runTorch(o.torchScript, wl, threads, o.reps);

    Stats sn = statsOf(tNm), so = statsOf(tOne);
    auto row = [&](const std::string &engine, const Stats &s, double load,
                   int clean) {
      double g = wl.gflop / s.median;
      std::printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
                  engine.c_str(), cell(s.median).c_str(), cell(s.min).c_str(),
                  cell(s.max).c_str(), cell(g, "%.1f").c_str(),
                  cell(100 * g / peak, "%.0f%%").c_str(),
                  cell(s.median / so.median, "%.2f").c_str(),
                  cell(load, "%.2f").c_str(),
                  clean < 0 ? "-" : fmt("%d/%d", clean, o.reps).c_str());
    };
    std::printf("%d timed runs after 1 warm-up, neuromancer and oneDNN "
                "alternating; threads: neuromancer pool %d, oneDNN OpenMP %d; "
                "FMA peak (best round) %.0f GFLOP/s\n\n",
                o.reps, nm::get_num_threads(), omp_get_max_threads(), peak);
    std::printf("| engine | median s | min s | max s | GFLOP/s | %% of peak | "
                "time / oneDNN | others' load | clean runs |\n|---|---|---|---|"
                "---|---|---|---|---|\n");
    row("neuromancer", sn, loadNm, cleanNm);
    row(onednnVersion() + ", fmt any, reorders of in/out not timed", so,
        loadOne, cleanOne);
    if (torch.ok)
      row("PyTorch " + torch.version + " " + torch.variant + ", random weights",
          torch.s, torch.load, -1);
    else if (o.torch)
      std::printf("| PyTorch:%s | | | | | | | | |\n", torch.note.c_str());
    // Run r of neuromancer follows run r of oneDNN: their ratio cancels the
    // host's slow phases (other tenants of the VM's host, invisible in
    // "others' load"), which last longer than a pair of runs.
    std::vector<double> paired;
    for (std::size_t r = 0; r < tNm.size() && r < tOne.size(); ++r)
      paired.push_back(tNm[r] / tOne[r]);
    Stats sp = statsOf(paired);
    std::printf("\nneuromancer / oneDNN run by run (each after the oneDNN run "
                "before it): median %.2f, min %.2f, max %.2f; min / min %.2f\n",
                sp.median, sp.min, sp.max, sn.min / so.min);
    std::printf("\n(others' load: mean cores used by other processes during "
                "the runs; clean: runs during which they left this run's %d "
                "core(s) free)\n",
                threads);
    std::printf("\nnumerics: neuromancer vs oneDNN output, max|diff| / "
                "max|ref| = %.2e (bound 1e-05): %s\n",
                err, err <= 1e-5 ? "PASS" : "FAIL");

    // Per-layer: oneDNN's steps from the timed runs; neuromancer's layer
    // alone, fed oneDNN's input to that layer and checked against its
    // output.
    std::printf(
        "\nper layer (ms, medians of %d, oneDNN's layer and neuromancer's "
        "alternating; neuromancer layer = the layer alone "
        "as one call: conv + bias + activation + pool, NCDHW in and out, fed "
        "oneDNN's input to that layer; errors = max abs diff / max abs of the "
        "oneDNN output; fp64 = exact conv at 256 random points)\n\n",
        o.reps);
    std::printf("| layer | shape | GFLOP | oneDNN impl | oneDNN conv ms | "
                "oneDNN pool ms | oneDNN GFLOP/s | neuromancer ms | "
                "neuromancer GFLOP/s | time / oneDNN | err vs oneDNN (of "
                "scale) | oneDNN err vs fp64 |\n"
                "|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (std::size_t i = 0; i < net.steps.size(); ++i) {
      const Step &st = net.steps[i];
      if (st.kind != "conv" && st.kind != "pool")
        std::printf("| %s | | | %s | %.2f%s | | | | | | | |\n", st.kind.c_str(),
                    st.impl.c_str(), 1e3 * statsOf(perStep[i]).median,
                    st.timed ? "" : " (not timed)");
    }
    for (std::size_t li = 0; li < wl.layers.size(); ++li) {
      const ConvLayer &L = wl.layers[li];
      // This layer's oneDNN steps (conv, pool); their times from the net
      // runs, or, with --layers, from runs alternating with neuromancer's
      // single-layer call (so that drifting noise hits both alike).
      std::vector<std::size_t> own;
      std::string impl;
      for (std::size_t i = 0; i < net.steps.size(); ++i)
        if (net.steps[i].layer == static_cast<int>(li) &&
            (net.steps[i].kind == "conv" || net.steps[i].kind == "pool")) {
          own.push_back(i);
          if (net.steps[i].kind == "conv")
            impl = net.steps[i].impl;
        }
      auto stepMs = [&](const std::vector<std::vector<double>> &t,
                        const char *kind) {
        for (std::size_t k = 0; k < own.size(); ++k)
          if (net.steps[own[k]].kind == kind)
            return 1e3 * statsOf(t[k]).median;
        return 0.0;
      };
      std::vector<std::vector<double>> ownT;
      for (std::size_t i : own)
        ownT.push_back(perStep[i]);
      double nmMs = NAN, lerr = NAN, lscale = NAN, spot = NAN;
      if (o.layers) {
        nm::Array in =
            li == 0 ? input
                    : net.toPlain(net.layerSrc[li], dims5(L.n, L.c, L.in));
        nm::Array lref = net.toPlain(net.layerOut[li], dims5(L.n, L.f, L.out));
        auto runOwn = [&](bool record) {
          for (std::size_t k = 0; k < own.size(); ++k) {
            Step &st = net.steps[own[k]];
            Clock::time_point a = Clock::now();
            st.prim.execute(net.strm, st.args);
            net.strm.wait();
            if (record)
              ownT[k].push_back(seconds(a, Clock::now()));
          }
        };
        for (std::vector<double> &v : ownT)
          v.clear();
        runOwn(false); // warm-up
        nm::Array lout = layerNodes[li](in);
        std::vector<double> t;
        for (int r = 0; r < o.reps; ++r) {
          runOwn(true);
          Clock::time_point s = Clock::now();
          lout = layerNodes[li](in);
          t.push_back(seconds(s, Clock::now()));
        }
        nmMs = 1e3 * statsOf(t).median;
        lerr = relError(lout, lref, &lscale);
        spot = spotCheck(L, in, lref);
      }
      double convMs = stepMs(ownT, "conv"), poolMs = stepMs(ownT, "pool");
      double oneMs = convMs + poolMs;
      std::printf(
          "| %zu %s | %s | %.2f | %s | %.2f | %s | %.1f | %s | %s | %s "
          "| %s | %s |\n",
          li + 1, L.relu ? "" : "(lin)", L.shapeText().c_str(), L.gflop(),
          impl.c_str(), convMs, L.pooled() ? fmt("%.2f", poolMs).c_str() : "-",
          L.gflop() / oneMs * 1e3, cell(nmMs, "%.2f").c_str(),
          cell(L.gflop() / nmMs * 1e3, "%.1f").c_str(),
          cell(nmMs / oneMs, "%.2f").c_str(),
          (cell(lerr, "%.1e") + " (of " + cell(lscale, "%.3g") + ")").c_str(),
          cell(spot, "%.1e").c_str());
    }
    double r = sn.median / so.median;
    ratios.push_back({name, threads, r});
    std::printf("\nneuromancer / oneDNN time (%s, %d thread(s)): %.2f\n",
                name.c_str(), threads, r);
    std::fflush(stdout);
  }
}

} // namespace

int main(int argc, char **argv) {
  try {
    Options o = parse(argc, argv);
    nm::set_log_level(nm::LogLevel::Warning);
    if (!o.compileOnly.empty())
      return childCompileOnly(o);
    if (!hasAvx512()) {
      std::fprintf(stderr, "cnn_bench: this CPU has no AVX-512\n");
      return 1;
    }
    // A fresh compile cache, so that the first call's compile time is real
    // (the second process then shows the disk cache).
    std::string cacheDir;
    if (!o.keepCache) {
      char tmpl[] = "/tmp/nm-bench-cache-XXXXXX";
      if (!mkdtemp(tmpl))
        throw nm::IOError("cannot create a temporary cache directory");
      cacheDir = tmpl;
      setenv("NEUROMANCER_CACHE_DIR", cacheDir.c_str(), 1);
    }
    std::time_t now = std::time(nullptr);
    char date[64];
    std::strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S %Z",
                  std::localtime(&now));
    std::printf("# neuromancer CPU benchmark\n\n");
    std::printf("date: %s\nmachine: %s\n", date, machineLine().c_str());
    std::printf("load average at start: %s\n", loadAverage().c_str());
    std::printf("peers: %s (OpenMP, max threads %d); PyTorch via "
                "/usr/bin/python3 %s\n",
                onednnVersion().c_str(), omp_get_max_threads(),
                o.torch ? o.torchScript.c_str() : "(disabled)");
    std::printf("neuromancer threads: runtime thread pool "
                "(nm::set_num_threads), default %d\n",
                nm::default_num_threads());
    std::printf("settings: reps=%d threads=", o.reps);
    for (std::size_t i = 0; i < o.threads.size(); ++i)
      std::printf("%s%d", i ? "," : "", o.threads[i]);
    std::printf(" workloads=");
    for (std::size_t i = 0; i < o.workloads.size(); ++i)
      std::printf("%s%s", i ? "," : "", o.workloads[i].c_str());
    std::printf("%s\n", o.quick ? " (quick)" : "");

    std::map<int, double> peaks;
    std::printf("\n## FMA peak (AVX-512, 16 independent accumulators, 7 "
                "rounds of 0.25 s; %% of peak below = median GFLOP/s / best "
                "round, re-measured before each section)\n\n| threads | "
                "median GFLOP/s | min | max |\n|---|---|---|---|\n");
    for (int t : o.threads) {
      Stats p = fmaPeak(t);
      peaks[t] = p.max;
      std::printf("| %d | %.1f | %.1f | %.1f |\n", t, p.median, p.min, p.max);
    }
    std::fflush(stdout);

    std::vector<Ratio> ratios;
    int failures = 0;
    for (const std::string &w : o.workloads) {
      // A workload that fails (e.g. neuromancer cannot compile it) is
      // reported and the others still run.
      try {
        benchWorkload(o, w, peaks, ratios);
      } catch (const std::exception &e) {
        ++failures;
        std::printf("\n%s FAILED: %s\n", w.c_str(), e.what());
        for (int t : o.threads)
          if (std::none_of(ratios.begin(), ratios.end(), [&](const Ratio &r) {
                return r.workload == w && r.threads == t;
              }))
            ratios.push_back({w, t, NAN});
      }
      std::fflush(stdout);
    }

    std::printf("\nload average at end: %s\n\n", loadAverage().c_str());
    for (const Ratio &r : ratios)
      std::printf("RATIO %s threads=%d neuromancer/onednn=%s\n",
                  r.workload.c_str(), r.threads,
                  std::isnan(r.ratio) ? "n/a (failed)"
                                      : fmt("%.2f", r.ratio).c_str());
    if (!cacheDir.empty())
      std::filesystem::remove_all(cacheDir);
    return failures ? 1 : 0;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "cnn_bench: %s\n", e.what());
    return 1;
  }
}
