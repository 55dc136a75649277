//===- ConvLayers.h - a model's conv layers for the oneDNN peers -*- C++
//-*-===//
//
// The benchmarks run the same network through oneDNN called directly; this
// reads the geometry and the parameters of every Conv node of a model
// (valid mode, relu or linear, an optional max-pool) so that both peers
// start from the same weights. Shared by cnn_bench and train_bench.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_BENCH_CONVLAYERS_H
#define NEUROMANCER_BENCH_CONVLAYERS_H

#include "neuromancer/neuromancer.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace nm::bench {

using Sizes3 = std::array<int64_t, 3>;

/// One Conv node: conv (valid) + bias + relu/linear + max-pool.
struct ConvLayer {
  std::string name;
  int64_t n = 0, c = 0, f = 0; // batch, input and output channels
  Sizes3 in{}, k{}, conv{}, pool{}, out{};
  bool relu = true;
  nm::Array w, b; // w: [f, c, kz, kx, ky] (oneDNN's oidhw), b: [f]

  /// 2 x MACs of the conv, in GFLOP.
  double gflop() const;
  bool pooled() const { return pool[0] * pool[1] * pool[2] > 1; }
  /// "n x c x z x x x y -> f x z x x x y".
  std::string shapeText() const;
};

/// The Conv nodes of `model` in node order, with copies of their current
/// parameters. A None batch size reads as `batch`. ValueError for a conv
/// this description cannot hold (another activation, mode or axis order).
std::vector<ConvLayer> readConvLayers(const nm::Model &model,
                                      int64_t batch = 1);

} // namespace nm::bench

#endif // NEUROMANCER_BENCH_CONVLAYERS_H
