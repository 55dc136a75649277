//===- dense_bench.cpp - dense prediction: densify vs MFP vs stitching ----===//
//
// Issue 18's speed benchmark, one process: neuro3d with fixed random weights
// (nm::set_seed(0)) predicts a random volume densely with predict_dense
// (pad_raw, ELEKTRONN2's tiling at the model's patch) by each strategy
// (densify, mfp, stitch), at each thread count, and PyTorch (Debian
// python3-torch, when installed; bench/torch_dense.py as a subprocess) runs
// the hand-written dilated equivalent and ELEKTRONN2-style stitching with
// the same tiling and layer shapes. Per run it prints seconds, voxels/s of
// dense output, useful GFLOP/s (dense FLOPs per output voxel x voxels: each
// conv once per output voxel, no halo), its % of the measured FMA peak, the
// executed GFLOP (halo of every layer included; densify and stitch) and the
// peak RSS so far; finally, per thread count and peer,
//   RATIO dense threads=<n> neuromancer/<peer>=<densify time / peer time>
//
// A first engine, densify_stream, is `neuromancer predict`'s way without
// the HDF5 files: blocks of the tile predict::chooseTile picks for the
// default budget or --memory (or --stream-tile), each one call of the densified
// network; PyTorch's dilated_stream runs its dilated network on the same
// blocks. The headline RATIO lines are densify_stream against every other
// engine (issue 18's goals: >= 2.5x faster than PyTorch's dilated network,
// >= 2x faster than neuromancer's stitching at the training patch).
//
// Usage: dense_bench [--shape 1,48,300,300] [--patch 23,185] [--threads 1,2]
//                    [--strategies densify,mfp,stitch] [--stream-tile z,x,y]
//                    [--memory 1G]
//                    [--no-torch] [--torch-variants
//                    dilated_stream,dilated,stitch]
//                    [--torch-script bench/torch_dense.py]
//
//===----------------------------------------------------------------------===//
#include "bench/FmaPeak.h"
#include "examples/Models.h"
#include "neuromancer/core/DenseTiling.h"
#include "neuromancer/core/Format.h"
#include "neuromancer/frontend/NodeImpl.h"
#include "neuromancer/neuromancer.h"
#include "neuromancer/predict/BlockNet.h"
#include "neuromancer/predict/Plan.h"
#include "neuromancer/predict/RawInput.h"
#include "neuromancer/runtime/ThreadPool.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using nm::Sizes;

Sizes parseList(const std::string &text) {
  Sizes v;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    v.push_back(std::stoll(text.substr(pos, comma - pos)));
    if (comma == std::string::npos)
      break;
    pos = comma + 1;
  }
  return v;
}

std::vector<std::string> parseNames(const std::string &text) {
  std::vector<std::string> v;
  size_t pos = 0;
  while (true) {
    size_t comma = text.find(',', pos);
    if (std::string name = text.substr(pos, comma - pos); !name.empty())
      v.push_back(name); // "" lists nothing: densify_stream alone
    if (comma == std::string::npos)
      return v;
    pos = comma + 1;
  }
}

double peakRssMiB() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;
}

int64_t product(const Sizes &s) {
  int64_t p = 1;
  for (int64_t v : s)
    p *= v;
  return p;
}

std::string twoDecimals(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", v);
  return text;
}

/// One conv layer as both engines need it.
struct Layer {
  int64_t c = 0, f = 0;
  Sizes k, pool, inSize, dilation; // dilation: the strides before the layer
  int64_t inFov[3] = {1, 1, 1};    // fov of the layer's input
  bool relu = true;
};

std::vector<Layer> convLayers(const nm::Model &model) {
  std::vector<Layer> layers;
  for (const nm::Node &node : model.nodes()) {
    if (node.cls() != "Conv")
      continue;
    const nm::TaggedShape &in = node.parents().at(0).shape();
    const nm::TaggedShape &out = node.shape();
    nm::ParamValues p = node.get_param_values();
    const nm::Array &w = p["w"];
    Layer L;
    L.c = in['f'];
    L.f = out['f'];
    L.k = Sizes(w.shape().begin() + 2, w.shape().end());
    L.inSize = in.spatialShape();
    L.dilation = in.strides();
    for (int a = 0; a < 3; ++a) {
      int64_t conv = L.inSize[a] - L.k[a] + 1;
      L.pool.push_back(conv / out.spatialShape()[a]);
      L.inFov[a] = in.fov()[a];
    }
    std::string act = node.impl().attr<std::string>("activation_func", "relu");
    L.relu = act == "relu";
    layers.push_back(L);
  }
  return layers;
}

/// FLOPs of one dense output voxel: every conv once at full resolution.
double denseFlopsPerVoxel(const std::vector<Layer> &layers) {
  double f = 0;
  for (const Layer &L : layers)
    f += 2.0 * L.c * L.f * product(L.k);
  return f;
}

/// Executed FLOPs of the densified network on one tile of `tile` voxels.
double densifiedTileFlops(const std::vector<Layer> &layers, const Sizes &tile) {
  double f = 0;
  for (const Layer &L : layers) {
    double voxels = 1;
    for (int a = 0; a < 3; ++a)
      voxels *= static_cast<double>(tile[a] - L.inFov[a] + 1 -
                                    (L.k[a] - 1) * L.dilation[a]);
    f += 2.0 * L.c * L.f * product(L.k) * voxels;
  }
  return f;
}

/// Executed FLOPs of one forward pass at the model's patch.
double forwardFlops(const std::vector<Layer> &layers) {
  double f = 0;
  for (const Layer &L : layers) {
    double voxels = 1;
    for (int a = 0; a < 3; ++a)
      voxels *= static_cast<double>(L.inSize[a] - L.k[a] + 1);
    f += 2.0 * L.c * L.f * product(L.k) * voxels;
  }
  return f;
}

std::string torchLayers(const std::vector<Layer> &layers) {
  std::string s;
  for (const Layer &L : layers) {
    char part[128];
    std::snprintf(part, sizeof part, "%s%lld:%lld,%lld,%lld:%lld,%lld,%lld:%s",
                  s.empty() ? "" : ";", (long long)L.f, (long long)L.k[0],
                  (long long)L.k[1], (long long)L.k[2], (long long)L.pool[0],
                  (long long)L.pool[1], (long long)L.pool[2],
                  L.relu ? "relu" : "lin");
    s += part;
  }
  return s;
}

/// Executed FLOPs of the streamed prediction: every block computes a whole
/// tile of output voxels.
double streamedFlops(const std::vector<Layer> &layers, const Sizes &tile,
                     const Sizes &fov, int64_t blocks) {
  Sizes box = {tile[0] + fov[0] - 1, tile[1] + fov[1] - 1,
               tile[2] + fov[2] - 1};
  return densifiedTileFlops(layers, box) * static_cast<double>(blocks);
}

/// `neuromancer predict`'s way without the HDF5 files: its blocks of `tile`
/// dense output voxels (predict::BlockGrid: the last one of an axis
/// shifted inward) through its predict::BlockNet (one call of the
/// densified network each), the boxes cut from the volume mirrored as
/// pad_raw does; returns (z, x, y) of class 0 as a check value.
nm::Array predictStreamed(const nm::Node &pred, const nm::Array &raw,
                          const nm::predict::NetGeometry &geometry,
                          const Sizes &tile) {
  Sizes vol(raw.shape().begin() + 1, raw.shape().end());
  nm::predict::BlockGrid grid(vol, tile);
  nm::predict::BlockNet net(pred, geometry, tile, /*tta=*/false, {});
  const Sizes &box = net.boxShape();
  std::vector<float> values(geometry.channels * product(box));
  nm::Array out({vol[0], vol[1], vol[2]});
  const float *src = raw.data<float>();
  for (int64_t i = 0; i < grid.size(); ++i) {
    nm::predict::Block b = grid.block(i);
    Sizes lo = net.boxLo(b.computeLo);
    float *dst = values.data();
    for (int64_t c = 0; c < geometry.channels; ++c)
      for (int64_t z = 0; z < box[0]; ++z)
        for (int64_t x = 0; x < box[1]; ++x)
          for (int64_t y = 0; y < box[2]; ++y) {
            int64_t sz = nm::predict::mirrored(lo[0] + z, vol[0]),
                    sx = nm::predict::mirrored(lo[1] + x, vol[1]),
                    sy = nm::predict::mirrored(lo[2] + y, vol[2]);
            *dst++ = src[((c * vol[0] + sz) * vol[1] + sx) * vol[2] + sy];
          }
    nm::Array p = net.predict(values);
    const float *q = p.data<float>();
    for (int64_t z = 0; z < b.writeSize[0]; ++z)
      for (int64_t x = 0; x < b.writeSize[1]; ++x)
        for (int64_t y = 0; y < b.writeSize[2]; ++y) {
          int64_t tz = b.writeLo[0] - b.computeLo[0] + z,
                  tx = b.writeLo[1] - b.computeLo[1] + x,
                  ty = b.writeLo[2] - b.computeLo[2] + y;
          out.data<float>()[((b.writeLo[0] + z) * vol[1] + b.writeLo[1] + x) *
                                vol[2] +
                            b.writeLo[2] + y] =
              q[(tz * tile[1] + tx) * tile[2] + ty];
        }
  }
  return out;
}

/// Runs the PyTorch script; seconds per variant ("dilated", "stitch").
std::map<std::string, double>
runTorch(const std::string &script, int threads, const Sizes &shape,
         const Sizes &patch, const Sizes &strides, const Sizes &offsets,
         const Sizes &streamTile, const std::string &variants,
         const std::vector<Layer> &layers) {
  auto join = [](const Sizes &v) {
    std::string s;
    for (int64_t x : v)
      s += (s.empty() ? "" : ",") + std::to_string(x);
    return s;
  };
  std::string cmd = "/usr/bin/python3 " + script + " --threads " +
                    std::to_string(threads) + " --shape " + join(shape) +
                    " --patch " + join(patch) + " --strides " + join(strides) +
                    " --offsets " + join(offsets) + " --stream-tile " +
                    join(streamTile) + " --variants " + variants +
                    " --layers '" + torchLayers(layers) + "' 2>&1";
  std::map<std::string, double> out;
  std::FILE *p = popen(cmd.c_str(), "r");
  if (!p)
    return out;
  char line[512];
  while (std::fgets(line, sizeof line, p)) {
    std::fputs(line, stdout);
    char variant[32];
    double s = 0;
    if (std::sscanf(line, "TORCH_DENSE %31s %lf", variant, &s) == 2)
      out[variant] = s;
  }
  pclose(p);
  return out;
}

} // namespace

int main(int argc, char **argv) {
  Sizes shape = {1, 48, 300, 300}, patch = {23, 185}, threadList = {1, 2};
  std::vector<std::string> strategies = {"densify", "mfp", "stitch"};
  std::string torchScript = "bench/torch_dense.py";
  bool torch = true;
  Sizes streamTile; // empty: predict::chooseTile's for the budget
  int64_t memory = nm::predict::kDefaultMemory;
  std::string torchVariants = "dilated_stream,dilated,stitch";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "dense_bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--shape")
      shape = parseList(next());
    else if (a == "--patch")
      patch = parseList(next());
    else if (a == "--threads")
      threadList = parseList(next());
    else if (a == "--strategies")
      strategies = parseNames(next());
    else if (a == "--torch-script")
      torchScript = next();
    else if (a == "--no-torch")
      torch = false;
    else if (a == "--torch-variants")
      torchVariants = next();
    else if (a == "--stream-tile")
      streamTile = parseList(next());
    else if (a == "--memory")
      memory = nm::predict::parseMemory(next());
    else {
      std::fprintf(stderr, "dense_bench: unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  nm::set_log_level(nm::LogLevel::Warning);
  nm::set_seed(0);
  nm::model_manager.newmodel("dense_bench");
  nm::examples::neuro3d(patch[0], patch[1]);
  nm::Model &model = nm::model_manager.current();
  nm::Node pred = model.prediction_node();
  std::vector<Layer> layers = convLayers(model);
  const nm::TaggedShape &out = pred.shape();
  Sizes strides = out.strides(), offsets = out.offsets();
  Sizes patch3 = {patch[0], patch[1], patch[1]};

  std::mt19937 gen(1);
  std::uniform_real_distribution<float> u(0, 1);
  nm::Array raw(shape);
  for (int64_t i = 0; i < raw.size(); ++i)
    raw.data<float>()[i] = u(gen);
  nm::DenseTiling t =
      nm::denseTiling(shape, patch3, out.spatialShape(), strides, offsets, true)
          .take();
  double voxels = static_cast<double>(product(t.predShape));
  double usefulFlops = denseFlopsPerVoxel(layers) * voxels;
  Sizes tileShape = t.tileShape;
  std::printf("neuro3d (patch %lld,%lld,%lld, fov %s) on %s, pad_raw: %s\n",
              (long long)patch3[0], (long long)patch3[1], (long long)patch3[2],
              nm::formatTuple(out.fov()).c_str(),
              nm::formatTuple(shape).c_str(), t.logLine().c_str());
  std::printf("dense FLOPs per output voxel: %.1f MFLOP; useful work %.1f "
              "GFLOP\n",
              denseFlopsPerVoxel(layers) / 1e6, usefulFlops / 1e9);
  std::map<std::string, double> executed = {
      {"densify", densifiedTileFlops(layers, tileShape) * t.totalTiles()},
      {"stitch", forwardFlops(layers) * t.callsPerTile * t.totalTiles()}};

  Sizes vol(shape.begin() + 1, shape.end());
  nm::predict::NetGeometry geometry = nm::predict::netGeometry(pred);
  bool chosen = streamTile.empty();
  if (chosen)
    streamTile = nm::predict::chooseTile(geometry, vol, memory,
                                         {.outChannels = geometry.labels});
  nm::predict::BlockGrid grid(vol, streamTile);
  executed["densify_stream"] =
      streamedFlops(layers, streamTile, out.fov(), grid.size());
  std::printf("densify_stream: `neuromancer predict`'s blocks without the "
              "files: tile %s (%s), %lld blocks, executed %.1f GFLOP (%.2fx "
              "the useful work)\n",
              nm::formatTuple(streamTile).c_str(),
              (chosen ? "chosen for " + nm::predict::formatBytes(memory)
                      : std::string("--stream-tile"))
                  .c_str(),
              (long long)grid.size(), executed["densify_stream"] / 1e9,
              executed["densify_stream"] / usefulFlops);

  // A raw of one tile compiles each strategy's function before timing.
  nm::Array warm({1, tileShape[0], tileShape[1], tileShape[2]});
  std::vector<std::string> ratios;
  for (int64_t threads : threadList) {
    nm::set_num_threads(static_cast<int>(threads));
    std::vector<double> rounds = nm::bench::fmaPeakRounds(threads);
    double peak = *std::max_element(rounds.begin(), rounds.end());
    std::printf("\n## threads=%lld, FMA peak %.0f GFLOP/s\n",
                (long long)threads, peak);
    std::printf("| engine | s | Mvoxels/s | useful GFLOP/s | %% of peak | "
                "executed GFLOP | executed %% of peak | peak RSS MiB |\n");
    std::map<std::string, double> time;
    nm::Array streamed;
    auto row = [&](const std::string &engine, double sec) {
      time[engine] = sec;
      double g = usefulFlops / sec / 1e9;
      auto ex = executed.find(engine);
      char exec[64] = "n/a | n/a";
      if (ex != executed.end())
        std::snprintf(exec, sizeof exec, "%.1f | %.0f%%", ex->second / 1e9,
                      100 * ex->second / sec / 1e9 / peak);
      std::printf("| neuromancer %s | %.2f | %.4f | %.1f | %.0f%% | %s | %.0f "
                  "|\n",
                  engine.c_str(), sec, voxels / sec / 1e6, g, 100 * g / peak,
                  exec, peakRssMiB());
      std::fflush(stdout);
    };
    {
      // Compiles the block's function before timing.
      nm::call_densified(
          pred, {nm::Array({1, shape[0], streamTile[0] + out.fov()[0] - 1,
                            streamTile[1] + out.fov()[1] - 1,
                            streamTile[2] + out.fov()[2] - 1})});
      Clock::time_point a = Clock::now();
      streamed = predictStreamed(pred, raw, geometry, streamTile);
      row("densify_stream",
          std::chrono::duration<double>(Clock::now() - a).count());
    }
    for (const std::string &s : strategies) {
      pred.predict_dense(warm, {.strategy = s});
      Clock::time_point a = Clock::now();
      nm::Array r = pred.predict_dense(raw, {.pad_raw = true, .strategy = s});
      double sec = std::chrono::duration<double>(Clock::now() - a).count();
      row(s, sec);
      // The engines compute the same map: class 0 of every strategy
      // against the streamed one.
      double worst = 0, sum = 0;
      for (int64_t i = 0; i < streamed.size(); ++i) {
        worst = std::max(worst, std::abs(double(r.data<float>()[i]) -
                                         streamed.data<float>()[i]));
        sum += streamed.data<float>()[i];
      }
      std::printf("CHECK %s-vs-densify_stream max |difference| of class 0: "
                  "%.2g (its mean %.4f)\n",
                  s.c_str(), worst, sum / double(streamed.size()));
    }
    if (torch) {
      std::map<std::string, double> tt =
          runTorch(torchScript, static_cast<int>(threads), shape, patch3,
                   strides, offsets, streamTile, torchVariants, layers);
      for (auto &[variant, sec] : tt) {
        double g = usefulFlops / sec / 1e9;
        std::printf("| pytorch %s | %.2f | %.4f | %.1f | %.0f%% | | | |\n",
                    variant.c_str(), sec, voxels / sec / 1e6, g,
                    100 * g / peak);
        time["pytorch_" + variant] = sec;
      }
    }
    // The headline is `neuromancer predict`'s way (densify_stream) against
    // every other engine; densify at ELEKTRONN2's tiles against PyTorch's
    // dilated network at the same tiles.
    auto ratio = [&](const std::string &ours, const std::string &peer) {
      if (time.count(ours) && time.count(peer))
        ratios.push_back("RATIO dense threads=" + std::to_string(threads) +
                         " neuromancer_" + ours + "/" + peer + "=" +
                         twoDecimals(time[ours] / time[peer]));
    };
    for (auto &[peer, sec] : time)
      if (peer != "densify_stream")
        ratio("densify_stream", peer);
    ratio("densify", "pytorch_dilated");
  }
  std::printf("\n");
  for (const std::string &r : ratios)
    std::printf("%s\n", r.c_str());
  return 0;
}
