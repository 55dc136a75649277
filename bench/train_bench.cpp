//===- train_bench.cpp - one training step: neuromancer vs its peers ------===//
//
// neuro3d (examples/Models.h, batch 1, 1x1x23x185x185, sparse
// MultinoulliNLL) trained with Adam through the public API
// (Model::trainingstep), at each thread count, in one process with its
// peers: PyTorch 1.13 (Debian python3-torch) runs the same network and
// step in a subprocess (bench/torch_train.py); oneDNN 2.6 called directly
// (bench/OnednnTrain.h: the sum of its primitives and plain loss and Adam
// loops, the library bar) runs it in this process from the same initial
// weights, after a check that its loss and gradients match neuromancer's:
//   CHECK onednn-vs-neuromancer loss rel=<e> grad rel=<e> PASS|FAIL
// (the exit status is 1 on FAIL). Prints compile time (cold and from the
// disk cache), median/min/max of the step, GFLOP/s (3 x forward conv
// FLOPs), % of the FMA peak (bench/FmaPeak.h), peak RSS, and per thread
// count:
//   RATIO train threads=<n> neuromancer/torch=<x.xx>
//   RATIO train threads=<n> neuromancer/onednn=<x.xx>
// --layers prints per-layer forward/backward tables instead (neuromancer's
// layers alone; oneDNN's primitives inside its full step).
//
// Usage: train_bench [--reps N] [--threads 1,2] [--no-torch] [--no-onednn]
//                    [--layers] [--torch-script PATH] [--z Z --xy XY]
//
//===----------------------------------------------------------------------===//
#include "bench/ConvLayers.h"
#include "bench/FmaPeak.h"
#include "bench/MachineStats.h"
#include "bench/OnednnTrain.h"
#include "bench/OnednnUtil.h"
#include "examples/Models.h"
#include "neuromancer/frontend/NodeImpl.h"
#include "neuromancer/neuromancer.h"
#include "neuromancer/runtime/ThreadPool.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

/// Lets each peer in this process report its own peak: the kernel's
/// high-water mark (VmHWM) restarts at the current RSS.
void resetPeakRss() { std::ofstream("/proc/self/clear_refs") << "5"; }

/// Peak RSS since the last resetPeakRss() (VmHWM), in MiB.
double peakRssMiB() {
  std::ifstream f("/proc/self/status");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("VmHWM:", 0) == 0)
      return std::stod(line.substr(6)) / 1024.0;
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

using nm::bench::Stats;
Stats stats(std::vector<double> v) { return nm::bench::statsOf(std::move(v)); }

/// Forward conv FLOPs of the model: 2 x MACs of every Conv node.
double forwardFlops(nm::Model &m) {
  double flops = 0;
  for (const nm::Node &n : m.nodes()) {
    if (n.cls() != "Conv")
      continue;
    const nm::Array &w = n.impl().params.at("w").value;
    double k = 1;
    for (std::size_t i = 1; i < w.shape().size(); ++i)
      k *= static_cast<double>(w.shape()[i]);
    // Output voxels before pooling: the conv output is pool x the node's.
    double out = static_cast<double>(w.shape()[0]);
    const nm::Sizes &s = n.shape().shape();
    for (std::size_t i = 2; i < s.size(); ++i)
      out *= static_cast<double>(s[i]);
    std::vector<int64_t> pool =
        n.impl().attrs.value("pool_shape", std::vector<int64_t>{});
    for (int64_t p : pool)
      out *= static_cast<double>(p);
    flops += 2 * k * out * static_cast<double>(s[0] > 0 ? s[0] : 1);
  }
  return flops;
}

std::string torchLine(const std::string &script, const std::string &variant,
                      int threads, int reps, int64_t z, int64_t xy) {
  std::ostringstream cmd;
  cmd << "/usr/bin/python3 " << script << " --variant " << variant
      << " --threads " << threads << " --reps " << reps << " --z " << z
      << " --xy " << xy << " 2>&1";
  FILE *p = popen(cmd.str().c_str(), "r");
  if (!p)
    return "TORCH_SKIP cannot start python3";
  std::string out, result = "TORCH_SKIP no result";
  char buf[4096];
  while (fgets(buf, sizeof(buf), p)) {
    out += buf;
    if (std::strncmp(buf, "TORCH_", 6) == 0)
      result = buf;
  }
  pclose(p);
  if (result.back() == '\n')
    result.pop_back();
  return result;
}

/// Per conv layer of `m`: the layer alone (input of its parent's shape,
/// batch 1) under a squared loss; the forward (loss) and the gradients
/// (forward + backward) timed at the current thread count.
void layerTable(nm::Model &m, int reps, bool noPool) {
  std::vector<nm::Node> convs;
  for (const nm::Node &n : m.nodes())
    if (n.cls() == "Conv")
      convs.push_back(n);
  std::printf("%-8s %-22s %10s %10s %10s\n", "layer", "input", "fwd ms",
              "fwd+bwd ms", "bwd/fwd");
  std::mt19937 gen(5);
  std::uniform_real_distribution<float> u(0, 1);
  for (std::size_t i = 0; i < convs.size(); ++i) {
    const nm::Node &c = convs[i];
    nm::Sizes in = c.parents()[0].shape().shape();
    in[0] = 1;
    std::string name = "layer" + std::to_string(i);
    nm::model_manager.newmodel(name);
    nm::Node x = nm::Input(in, "b,f,z,x,y", {.name = "x"});
    const nm::Array &w = c.impl().params.at("w").value;
    nm::Sizes filter(w.shape().begin() + 2, w.shape().end());
    nm::Sizes pool = c.impl().attrs.value("pool_shape", nm::Sizes{1, 1, 1});
    if (noPool)
      pool = {1, 1, 1};
    std::string act = c.impl().attrs.value("activation_func", "relu");
    nm::Node y =
        nm::Conv(x, w.shape()[0], filter, pool, {.activation_func = act});
    nm::Node t = nm::Input_like(y, {.name = "t"});
    nm::Node loss = nm::AggregateLoss(nm::SquaredLoss(y, t), {.name = "loss"});
    nm::Model &lm = nm::model_manager.getmodel(name);
    lm.designate_nodes({.input_node = x, .target_node = t, .loss_node = loss});
    nm::Array xa(in), ta(t.shape().shape());
    for (int64_t k = 0; k < xa.size(); ++k)
      xa.setFlat(k, u(gen));
    std::vector<nm::Array> batch{xa, ta};
    lm.loss(batch);
    lm.gradients(batch);
    std::vector<double> f, g;
    for (int r = 0; r < reps; ++r) {
      Clock::time_point t0 = Clock::now();
      lm.loss(batch);
      f.push_back(since(t0));
      t0 = Clock::now();
      lm.gradients(batch);
      g.push_back(since(t0));
    }
    double fm = stats(f).median, gm = stats(g).median;
    std::printf("%-8s %-22s %10.1f %10.1f %10.2f\n", c.name().c_str(),
                nm::Array(in).shapeString().c_str(), fm * 1e3, gm * 1e3,
                (gm - fm) / fm);
    std::fflush(stdout);
    nm::model_manager.remove(name);
  }
}

struct Options {
  int reps = 5;
  std::vector<int> threads{1, 2};
  bool torch = true, onednn = true, layers = false;
  std::string script = "bench/torch_train.py";
  int64_t z = 23, xy = 185;
};

/// Exits with status 2 on an unknown option.
Options parse(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return std::string(i + 1 < argc ? argv[++i] : ""); };
    if (a == "--reps")
      o.reps = std::stoi(next());
    else if (a == "--threads") {
      o.threads.clear();
      std::stringstream ss(next());
      for (std::string t; std::getline(ss, t, ',');)
        o.threads.push_back(std::stoi(t));
    } else if (a == "--layers")
      o.layers = true;
    else if (a == "--no-torch")
      o.torch = false;
    else if (a == "--no-onednn")
      o.onednn = false;
    else if (a == "--torch-script")
      o.script = next();
    else if (a == "--z")
      o.z = std::stoll(next());
    else if (a == "--xy")
      o.xy = std::stoll(next());
    else {
      std::fprintf(stderr, "train_bench: unknown option %s\n", a.c_str());
      std::exit(2);
    }
  }
  return o;
}

/// The best of the FMA peak rounds at `threads`: noise only lowers a round.
double fmaPeak(int threads) {
  std::vector<double> r = nm::bench::fmaPeakRounds(threads);
  return *std::max_element(r.begin(), r.end());
}

/// `rss`: what the peak RSS covers ("" for the peer's own process).
void printResult(const std::string &who, int threads, const Stats &s,
                 double flops, double peak, double rssMiB,
                 const char *rss = "") {
  double g = flops / s.median / 1e9;
  std::printf("%s threads=%d: median %.3f s (min %.3f, max %.3f), %.1f "
              "GFLOP/s, %.0f%% of FMA peak, peak RSS %.0f MiB%s\n",
              who.c_str(), threads, s.median, s.min, s.max, g, 100 * g / peak,
              rssMiB, rss);
}

/// max |a - ref| / max |ref|: the error relative to the reference's scale.
double relError(const nm::Array &a, const nm::Array &ref) {
  if (a.shape() != ref.shape())
    return INFINITY;
  double diff = 0, scale = 0;
  for (int64_t i = 0; i < a.size(); ++i) {
    double x = a.getFlat(i), y = ref.getFlat(i);
    if (std::isnan(x) || std::isnan(y))
      return NAN;
    diff = std::max(diff, std::fabs(x - y));
    scale = std::max(scale, std::fabs(y));
  }
  return scale > 0 ? diff / scale : diff;
}

/// oneDNN's first step from the initial weights against neuromancer's
/// loss of its first step (`loss0`, the loss before the update) and its
/// gradients (`model` is at those weights again). Float32 sums in other
/// orders differ by far less than the bound.
bool checkOnednn(nm::Model &model, const std::vector<nm::bench::ConvLayer> &L,
                 const nm::Array &x, const nm::Array &t, double loss0) {
  const double bound = 1e-3;
  nm::ModelParamValues g = model.gradients({x, t});
  nm::bench::OnednnTrain net(L, x, t);
  net.step();
  double lossRel = std::fabs(net.loss() - loss0) / std::fabs(loss0);
  double worst = 0;
  std::string where = "-";
  for (std::size_t i = 0; i < L.size(); ++i) {
    const nm::ParamValues &p = g.at(L[i].name);
    for (auto [name, grad] : {std::pair{"w", net.weightGradient(i)},
                              std::pair{"b", net.biasGradient(i)}}) {
      double e = relError(grad, p.at(name));
      if (!(e <= worst)) {
        worst = e;
        where = L[i].name + "." + name;
      }
    }
  }
  bool ok = lossRel <= bound && worst <= bound;
  std::printf("CHECK onednn-vs-neuromancer loss rel=%.1e grad rel=%.1e "
              "(loss %.6f vs %.6f; worst of all %zu layers' w and b: %s; "
              "bound %.0e) %s\n",
              lossRel, worst, net.loss(), loss0, L.size(), where.c_str(), bound,
              ok ? "PASS" : "FAIL");
  return ok;
}

/// oneDNN's step: built at the current thread count from the initial
/// weights, one warm-up, `reps` timed; with `table` its per-layer times.
Stats runOnednn(const std::vector<nm::bench::ConvLayer> &L, const nm::Array &x,
                const nm::Array &t, int reps, bool table) {
  nm::bench::OnednnTrain net(L, x, t);
  net.step();
  net.clearTimes();
  std::vector<double> times;
  for (int r = 0; r < reps; ++r)
    times.push_back(net.step());
  std::printf("%s buffers: %.0f MiB\n", nm::bench::onednnVersion().c_str(),
              net.bufferMiB());
  if (!table)
    return stats(times);
  std::printf("%s per layer inside the step (ms, medians of %d; forward: "
              "reorder + conv + fused ReLU + pool; backward: reorders + pool "
              "+ ReLU + backward_weights + backward_data)\n",
              nm::bench::onednnVersion().c_str(), reps);
  std::printf("%-12s %-30s %-26s %8s %8s %8s\n", "layer", "shape", "impl",
              "fwd ms", "bwd ms", "bwd/fwd");
  std::vector<nm::bench::OnednnPhaseTime> rows = net.phaseTimes();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const nm::bench::OnednnPhaseTime &r = rows[i];
    std::string shape = i < L.size() ? L[i].shapeText() : "";
    char ratio[32] = "-";
    if (r.fwdMs > 0 && r.bwdMs > 0)
      std::snprintf(ratio, sizeof(ratio), "%.2f", r.bwdMs / r.fwdMs);
    std::printf("%-12s %-30s %-26s %8.1f %8.1f %8s\n", r.name.c_str(),
                shape.c_str(), r.impl.c_str(), r.fwdMs, r.bwdMs, ratio);
  }
  return stats(times);
}

/// PyTorch in both layouts; the faster one's median (0 if none ran).
double runTorch(const Options &o, int threads, double flops, double peak) {
  double best = 0;
  for (const char *variant : {"ncdhw", "channels_last_3d"}) {
    std::string line = torchLine(o.script, variant, threads, o.reps, o.z, o.xy);
    std::printf("%s\n", line.c_str());
    Stats s{};
    double rss = 0;
    if (std::sscanf(line.c_str(), "TORCH_RESULT %*s %*s %lf %lf %lf %lf",
                    &s.median, &s.min, &s.max, &rss) == 4 &&
        s.median > 0) {
      printResult(std::string("PyTorch ") + variant, threads, s, flops, peak,
                  rss);
      if (best == 0 || s.median < best)
        best = s.median;
    }
  }
  return best;
}

void layersMode(const Options &o, nm::Model &model,
                const std::vector<nm::bench::ConvLayer> &L, const nm::Array &x,
                const nm::Array &t) {
  for (int n : o.threads) {
    nm::set_num_threads(n);
    omp_set_num_threads(n);
    std::printf("per-layer forward / backward, threads=%d\n", n);
    layerTable(model, o.reps, std::getenv("NM_BENCH_NO_POOL") != nullptr);
    if (o.onednn)
      runOnednn(L, x, t, o.reps, true);
  }
}

} // namespace

int main(int argc, char **argv) {
  Options o = parse(argc, argv);
  nm::set_log_level(std::getenv("NM_BENCH_VERBOSE") ? nm::LogLevel::Info
                                                    : nm::LogLevel::Warning);
  nm::set_seed(1);
  nm::examples::Classifier net = nm::examples::neuro3d(o.z, o.xy);
  nm::Model &model = nm::model_manager.getmodel();
  nm::Sizes inShape = net.input.shape().shape();
  inShape[0] = 1;
  nm::Sizes tShape = net.target.shape().shape();
  tShape[0] = 1;
  std::mt19937 gen(3);
  std::uniform_real_distribution<float> u(0, 1);
  nm::Array x(inShape), t(tShape, net.target.dtype());
  for (int64_t i = 0; i < x.size(); ++i)
    x.setFlat(i, u(gen));
  for (int64_t i = 0; i < t.size(); ++i)
    t.setFlat(i, static_cast<double>(gen() % 2));
  model.set_opt_meta_params("Adam", {{"lr", 5e-4}, {"mom", 0.9}});
  double flops = 3 * forwardFlops(model);
  // oneDNN starts from these weights at every thread count.
  std::vector<nm::bench::ConvLayer> layers = nm::bench::readConvLayers(model);
  std::printf("neuro3d training step: input %s, Adam, %.1f GFLOP per step "
              "(3 x forward conv); peers: PyTorch %s, %s %s\n",
              nm::Array(inShape).shapeString().c_str(), flops / 1e9,
              o.torch ? "(subprocess)" : "(disabled)",
              nm::bench::onednnVersion().c_str(),
              o.onednn ? "(OpenMP, this process)" : "(disabled)");
  if (o.layers) {
    layersMode(o, model, layers, x, t);
    return 0;
  }
  nm::ModelParamValues initial = model.get_param_values();
  nm::OptimiserState state0 = model.optimiser_state();
  Clock::time_point c0 = Clock::now();
  double loss0 = model.trainingstep({x, t}, {.optimiser = "Adam"}).loss;
  std::printf("first step (compile or cache load + step): %.2f s\n", since(c0));
  // Back to the initial weights: the check's gradients are taken there,
  // and every peer starts from them.
  model.set_param_values(initial);
  model.set_optimiser_state(state0);
  bool ok = true;
  if (o.onednn) {
    omp_set_num_threads(o.threads.front());
    ok = checkOnednn(model, layers, x, t, loss0);
  }
  for (int n : o.threads) {
    nm::set_num_threads(n);
    omp_set_num_threads(n);
    double peak = fmaPeak(n);
    std::printf("threads=%d: FMA peak (best of 7 rounds) %.0f GFLOP/s\n", n,
                peak);
    resetPeakRss();
    model.trainingstep({x, t}, {.optimiser = "Adam"}); // warm-up
    std::vector<double> times;
    for (int r = 0; r < o.reps; ++r)
      times.push_back(model.trainingstep({x, t}, {.optimiser = "Adam"}).time);
    Stats s = stats(times);
    printResult("neuromancer", n, s, flops, peak, peakRssMiB());
    double torch = o.torch ? runTorch(o, n, flops, peak) : 0;
    Stats d{};
    if (o.onednn) {
      resetPeakRss();
      d = runOnednn(layers, x, t, o.reps, false);
      printResult(nm::bench::onednnVersion() + " direct", n, d, flops, peak,
                  peakRssMiB(), " (this process, neuromancer's model in it)");
    }
    if (torch > 0)
      std::printf("RATIO train threads=%d neuromancer/torch=%.2f\n", n,
                  s.median / torch);
    if (o.onednn)
      std::printf("RATIO train threads=%d neuromancer/onednn=%.2f\n", n,
                  s.median / d.median);
    std::fflush(stdout);
  }
  nm::set_num_threads(0);
  return ok ? 0 : 1;
}
