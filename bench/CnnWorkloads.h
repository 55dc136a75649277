//===- CnnWorkloads.h - cnn_bench's workloads and instrument checks -*- C++
//-*-===//
//
// The forward workloads of cnn_bench (the seed's 3-D CNN, neuro3d at
// training and prediction size), read off the example models, and the
// checks that keep the instrument honest: random inputs, the relative
// error between outputs, and a float64 spot check of a conv layer.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_BENCH_CNNWORKLOADS_H
#define NEUROMANCER_BENCH_CNNWORKLOADS_H

#include "bench/ConvLayers.h"
#include "neuromancer/neuromancer.h"

#include <string>
#include <vector>

namespace nm::bench {

struct Workload {
  std::string name, title;
  nm::Node input, prediction;
  std::vector<int64_t> inShape, outShape;
  std::vector<ConvLayer> layers;
  double gflop = 0;
};

/// "1x1x23x185x185".
std::string shapeText(const std::vector<int64_t> &s);

/// "seed", "neuro3d" or "neuro3d_pred", built in a model of its own (batch
/// 1 where the model leaves it open), its conv layers read off the nodes.
Workload makeWorkload(const std::string &name);

/// Uniform [0, 1) float32 values from `seed`.
nm::Array randomArray(const std::vector<int64_t> &shape, unsigned seed);

/// max |a - b| / max |b|: the error relative to the reference's scale
/// (returned in `scaleOut` when given).
double relError(const nm::Array &a, const nm::Array &ref,
                double *scaleOut = nullptr);

/// Layer `L`'s output `out` (NCDHW) against a float64 cross-correlation +
/// bias + activation + max-pool of `in` at 256 random output points.
double spotCheck(const ConvLayer &L, const nm::Array &in, const nm::Array &out);

} // namespace nm::bench

#endif // NEUROMANCER_BENCH_CNNWORKLOADS_H
