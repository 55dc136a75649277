//===- CnnWorkloads.cpp - cnn_bench's workloads and instrument checks
//------===//
#include "bench/CnnWorkloads.h"

#include "examples/Models.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace nm::bench {

std::string shapeText(const std::vector<int64_t> &s) {
  std::string t;
  for (std::size_t i = 0; i < s.size(); ++i)
    t += (i ? "x" : "") + std::to_string(s[i]);
  return t;
}

/// Builds the workload's model in a model of its own and reads its conv
/// layers (geometry and parameters) off the nodes.
Workload makeWorkload(const std::string &name) {
  Workload wl;
  wl.name = name;
  nm::model_manager.newmodel("bench_" + name);
  if (name == "seed")
    nm::examples::cnn3d(10);
  else if (name == "neuro3d")
    nm::examples::neuro3d(23, 185);
  else if (name == "neuro3d_pred")
    nm::examples::neuro3d(47, 281);
  else
    throw nm::ValueError("unknown workload '" + name +
                         "' (seed, neuro3d, neuro3d_pred)");
  nm::Model *model = &nm::model_manager.current();
  if (model->batch_size() == nm::None)
    model = &nm::rebuild_model(
        *model, {.imposed_batch_size = 1, .name = "bench_" + name + "_b1"});
  wl.input = model->input_node();
  wl.prediction = model->prediction_node();
  wl.inShape = wl.input.shape().shape();
  wl.outShape = wl.prediction.shape().shape();
  wl.layers = nm::bench::readConvLayers(*model);
  for (const ConvLayer &L : wl.layers)
    wl.gflop += L.gflop();
  const char *titles[][2] = {{"seed", "seed 3-D CNN forward"},
                             {"neuro3d", "neuro3d forward"},
                             {"neuro3d_pred", "neuro3d at prediction size"}};
  for (auto &t : titles)
    if (name == t[0])
      wl.title = std::string(t[1]) + " (" + shapeText(wl.inShape) + " -> " +
                 shapeText(wl.outShape) + ")";
  return wl;
}

nm::Array randomArray(const std::vector<int64_t> &shape, unsigned seed) {
  nm::Array a(shape);
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  float *d = a.data<float>();
  for (int64_t i = 0; i < a.size(); ++i)
    d[i] = u(gen);
  return a;
}

/// max |a - b| / max |b|: the error relative to the reference's scale
/// (returned in `scaleOut` when given).
double relError(const nm::Array &a, const nm::Array &ref, double *scaleOut) {
  if (a.shape() != ref.shape())
    return INFINITY;
  const float *x = a.data<float>(), *y = ref.data<float>();
  double diff = 0, scale = 0;
  for (int64_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, static_cast<double>(std::fabs(x[i] - y[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(y[i])));
    if (std::isnan(x[i]) || std::isnan(y[i]))
      return NAN;
  }
  if (scaleOut)
    *scaleOut = scale;
  return scale > 0 ? diff / scale : diff;
}

/// Checks the instrument itself: layer `L`'s output `out` (NCDHW) against a
/// float64 cross-correlation + bias + activation + max-pool of `in` at 256
/// random output points; max |out - exact| / max |out| over those points.
double spotCheck(const ConvLayer &L, const nm::Array &in,
                 const nm::Array &out) {
  std::mt19937 gen(7);
  const float *x = in.data<float>(), *y = out.data<float>();
  const float *w = L.w.data<float>(), *b = L.b.data<float>();
  double diff = 0, scale = 0;
  auto at = [](const Sizes3 &s, int64_t n, int64_t c, int64_t C, int64_t z,
               int64_t u, int64_t v) {
    return (((n * C + c) * s[0] + z) * s[1] + u) * s[2] + v;
  };
  for (int p = 0; p < 256; ++p) {
    int64_t n = gen() % L.n, f = gen() % L.f, oz = gen() % L.out[0],
            ox = gen() % L.out[1], oy = gen() % L.out[2];
    double best = -INFINITY;
    for (int64_t pz = 0; pz < L.pool[0]; ++pz)
      for (int64_t px = 0; px < L.pool[1]; ++px)
        for (int64_t py = 0; py < L.pool[2]; ++py) {
          int64_t z = oz * L.pool[0] + pz, u = ox * L.pool[1] + px,
                  v = oy * L.pool[2] + py;
          double acc = b[f];
          for (int64_t c = 0; c < L.c; ++c)
            for (int64_t kz = 0; kz < L.k[0]; ++kz)
              for (int64_t kx = 0; kx < L.k[1]; ++kx)
                for (int64_t ky = 0; ky < L.k[2]; ++ky)
                  acc +=
                      static_cast<double>(w[at(L.k, f, c, L.c, kz, kx, ky)]) *
                      x[at(L.in, n, c, L.c, z + kz, u + kx, v + ky)];
          best = std::max(best, L.relu ? std::max(acc, 0.0) : acc);
        }
    double got = y[at(L.out, n, f, L.f, oz, ox, oy)];
    diff = std::max(diff, std::fabs(got - best));
    scale = std::max(scale, std::fabs(got));
  }
  return scale > 0 ? diff / scale : diff;
}

} // namespace nm::bench
