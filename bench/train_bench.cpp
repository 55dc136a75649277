//===- train_bench.cpp - one training step: neuromancer vs PyTorch --------===//
//
// neuro3d (examples/Models.h, batch 1, 1x1x23x185x185, sparse
// MultinoulliNLL) trained with Adam through the public API
// (Model::trainingstep), at each thread count; PyTorch 1.13 (Debian
// python3-torch) runs the same network and step in a subprocess
// (bench/torch_train.py). Prints compile time (cold and from the disk
// cache), median/min/max of the step, GFLOP/s (3 x forward conv FLOPs),
// % of the FMA peak, peak RSS, and one line per thread count:
//   RATIO train threads=<n> neuromancer/torch=<x.xx>
//
// Usage: train_bench [--reps N] [--threads 1,2] [--no-torch]
//                    [--torch-script PATH] [--z Z --xy XY]
//
//===----------------------------------------------------------------------===//
#include "examples/Models.h"
#include "neuromancer/frontend/NodeImpl.h"
#include "neuromancer/neuromancer.h"
#include "neuromancer/runtime/ThreadPool.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

double peakRssMiB() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

struct Stats {
  double median, min, max;
};

Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v.front(), v.back()};
}

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

} // namespace

int main(int argc, char **argv) {
  int reps = 5;
  std::vector<int> threads{1, 2};
  bool torch = true, layers = false;
  std::string script = "bench/torch_train.py";
  int64_t z = 23, xy = 185;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return std::string(i + 1 < argc ? argv[++i] : ""); };
    if (a == "--reps")
      reps = std::stoi(next());
    else if (a == "--threads") {
      threads.clear();
      std::stringstream ss(next());
      for (std::string t; std::getline(ss, t, ',');)
        threads.push_back(std::stoi(t));
    } else if (a == "--layers")
      layers = true;
    else if (a == "--no-torch")
      torch = false;
    else if (a == "--torch-script")
      script = next();
    else if (a == "--z")
      z = std::stoll(next());
    else if (a == "--xy")
      xy = std::stoll(next());
    else {
      std::fprintf(stderr, "train_bench: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  nm::set_log_level(std::getenv("NM_BENCH_VERBOSE") ? nm::LogLevel::Info
                                                    : nm::LogLevel::Warning);
  nm::set_seed(1);
  nm::examples::Classifier net = nm::examples::neuro3d(z, xy);
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
  std::printf("neuro3d training step: input %s, Adam, %.1f GFLOP per step "
              "(3 x forward conv)\n",
              nm::Array(inShape).shapeString().c_str(), flops / 1e9);
  if (layers) {
    for (int n : threads) {
      nm::set_num_threads(n);
      std::printf("per-layer forward / backward, threads=%d\n", n);
      layerTable(model, reps, std::getenv("NM_BENCH_NO_POOL") != nullptr);
    }
    return 0;
  }
  Clock::time_point c0 = Clock::now();
  model.trainingstep({x, t}, {.optimiser = "Adam"});
  std::printf("first step (compile or cache load + step): %.2f s\n", since(c0));
  for (int n : threads) {
    nm::set_num_threads(n);
    model.trainingstep({x, t}, {.optimiser = "Adam"}); // warm-up
    std::vector<double> times;
    for (int r = 0; r < reps; ++r)
      times.push_back(model.trainingstep({x, t}, {.optimiser = "Adam"}).time);
    Stats s = stats(times);
    std::printf("neuromancer threads=%d: median %.3f s (min %.3f, max %.3f), "
                "%.1f GFLOP/s, peak RSS %.0f MiB\n",
                n, s.median, s.min, s.max, flops / s.median / 1e9,
                peakRssMiB());
    if (torch) {
      // PyTorch's fastest training layout is the peer.
      double best = 0;
      for (const char *variant : {"ncdhw", "channels_last_3d"}) {
        std::string line = torchLine(script, variant, n, reps, z, xy);
        std::printf("%s\n", line.c_str());
        double tm = 0;
        if (std::sscanf(line.c_str(), "TORCH_RESULT %*s %*s %lf", &tm) == 1 &&
            tm > 0 && (best == 0 || tm < best))
          best = tm;
      }
      if (best > 0)
        std::printf("RATIO train threads=%d neuromancer/torch=%.2f\n", n,
                    s.median / best);
    }
    std::fflush(stdout);
  }
  nm::set_num_threads(0);
  return 0;
}
