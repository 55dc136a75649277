//===- TestModules.h - hand-written linalg modules and references -*- C++
//-*-===//
//
// Shared by the codegen and jit tests: modules in linalg-on-tensors, and the
// plain-loop C++ references that the compiled code is checked against.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_TESTS_CODEGEN_TESTMODULES_H
#define NEUROMANCER_TESTS_CODEGEN_TESTMODULES_H

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace nm::testing {

// conv_3d (N=1, D=5, H=W=7, C=3 -> F=5, kernel 2x3x3) + bias + relu.
inline constexpr const char *kConvBiasRelu = R"mlir(
func.func @conv_bias_relu(%x: tensor<1x5x7x7x3xf32> {nm.name = "image"},
                          %w: tensor<2x3x3x3x5xf32> {nm.name = "W", nm.parameter},
                          %b: tensor<5xf32> {nm.name = "b", nm.parameter})
    -> (tensor<1x4x5x5x5xf32> {nm.name = "out"}) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x4x5x5x5xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x4x5x5x5xf32>) -> tensor<1x4x5x5x5xf32>
  %c = linalg.conv_3d_ndhwc_dhwcf {dilations = dense<1> : tensor<3xi64>, strides = dense<1> : tensor<3xi64>}
     ins(%x, %w : tensor<1x5x7x7x3xf32>, tensor<2x3x3x3x5xf32>)
     outs(%f : tensor<1x4x5x5x5xf32>) -> tensor<1x4x5x5x5xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(n,d,h,w,f) -> (n,d,h,w,f)>,
                                        affine_map<(n,d,h,w,f) -> (f)>,
                                        affine_map<(n,d,h,w,f) -> (n,d,h,w,f)>],
      iterator_types = ["parallel","parallel","parallel","parallel","parallel"]}
      ins(%c, %b : tensor<1x4x5x5x5xf32>, tensor<5xf32>) outs(%e : tensor<1x4x5x5x5xf32>) {
    ^bb0(%a: f32, %bias: f32, %o: f32):
      %s = arith.addf %a, %bias : f32
      %m = arith.maximumf %s, %zero : f32
      linalg.yield %m : f32
  } -> tensor<1x4x5x5x5xf32>
  return %r : tensor<1x4x5x5x5xf32>
}
)mlir";

// A layer-sized conv_3d whose tiles are the full 8x32 register tile.
inline constexpr const char *kConvWide = R"mlir(
func.func @conv_wide(%x: tensor<1x4x6x18x16xf32>, %w: tensor<3x3x3x16x32xf32>)
    -> tensor<1x2x4x16x32xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x2x4x16x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x2x4x16x32xf32>) -> tensor<1x2x4x16x32xf32>
  %c = linalg.conv_3d_ndhwc_dhwcf {dilations = dense<1> : tensor<3xi64>, strides = dense<1> : tensor<3xi64>}
     ins(%x, %w : tensor<1x4x6x18x16xf32>, tensor<3x3x3x16x32xf32>)
     outs(%f : tensor<1x2x4x16x32xf32>) -> tensor<1x2x4x16x32xf32>
  return %c : tensor<1x2x4x16x32xf32>
}
)mlir";

// A conv -> bias + relu group with 112 output channels (7 vectors) and a
// 3x4x4 window over 100 input channels: a 64-channel tile's weights
// (48 x 100 x 64 x 4 B = 1.2 MB) exceed CompileOptions::weightTileBytes.
inline constexpr const char *kConvWideWeights = R"mlir(
#id = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#ch = affine_map<(d0, d1, d2, d3, d4) -> (d4)>
func.func @conv_wide_weights(%x: tensor<1x5x11x20x100xf32>, %w: tensor<3x4x4x100x112xf32>,
                             %b: tensor<112xf32>) -> tensor<1x3x8x17x112xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x3x8x17x112xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x3x8x17x112xf32>) -> tensor<1x3x8x17x112xf32>
  %c = linalg.conv_3d_ndhwc_dhwcf {dilations = dense<1> : tensor<3xi64>, strides = dense<1> : tensor<3xi64>}
     ins(%x, %w : tensor<1x5x11x20x100xf32>, tensor<3x4x4x100x112xf32>)
     outs(%f : tensor<1x3x8x17x112xf32>) -> tensor<1x3x8x17x112xf32>
  %e2 = tensor.empty() : tensor<1x3x8x17x112xf32>
  %r = linalg.generic {indexing_maps = [#id, #ch, #id],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]}
     ins(%c, %b : tensor<1x3x8x17x112xf32>, tensor<112xf32>) outs(%e2 : tensor<1x3x8x17x112xf32>) {
  ^bb0(%v: f32, %bias: f32, %o: f32):
    %s = arith.addf %v, %bias : f32
    %m = arith.maximumf %s, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x3x8x17x112xf32>
  return %r : tensor<1x3x8x17x112xf32>
}
)mlir";

// conv_2d (stride 2) and conv_1d through the same schedule.
inline constexpr const char *kConv2D1D = R"mlir(
func.func @conv2d(%x: tensor<2x9x11x4xf32>, %w: tensor<3x2x4x6xf32>) -> tensor<2x4x5x6xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4x5x6xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4x5x6xf32>) -> tensor<2x4x5x6xf32>
  %c = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
     ins(%x, %w : tensor<2x9x11x4xf32>, tensor<3x2x4x6xf32>)
     outs(%f : tensor<2x4x5x6xf32>) -> tensor<2x4x5x6xf32>
  return %c : tensor<2x4x5x6xf32>
}
func.func @conv1d(%x: tensor<1x13x3xf32>, %w: tensor<4x3x7xf32>) -> tensor<1x10x7xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x10x7xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x10x7xf32>) -> tensor<1x10x7xf32>
  %c = linalg.conv_1d_nwc_wcf {dilations = dense<1> : tensor<1xi64>, strides = dense<1> : tensor<1xi64>}
     ins(%x, %w : tensor<1x13x3xf32>, tensor<4x3x7xf32>)
     outs(%f : tensor<1x10x7xf32>) -> tensor<1x10x7xf32>
  return %c : tensor<1x10x7xf32>
}
)mlir";

inline constexpr const char *kMatmul = R"mlir(
func.func @matmul(%a: tensor<13x24xf32>, %b: tensor<24x40xf32>) -> tensor<13x40xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<13x40xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<13x40xf32>) -> tensor<13x40xf32>
  %c = linalg.matmul ins(%a, %b : tensor<13x24xf32>, tensor<24x40xf32>)
                     outs(%f : tensor<13x40xf32>) -> tensor<13x40xf32>
  return %c : tensor<13x40xf32>
}
)mlir";

// Softmax over the last axis: max-reduce, exp(x - max), sum-reduce, divide.
inline constexpr const char *kSoftmax = R"mlir(
#id = affine_map<(i, j) -> (i, j)>
#row = affine_map<(i, j) -> (i)>
func.func @softmax(%x: tensor<6x37xf32>) -> tensor<6x37xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<6xf32>
  %m0 = linalg.fill ins(%ninf : f32) outs(%e1 : tensor<6xf32>) -> tensor<6xf32>
  %m = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<6x37xf32>) outs(%m0 : tensor<6xf32>) {
    ^bb0(%a: f32, %acc: f32):
      %r = arith.maximumf %a, %acc : f32
      linalg.yield %r : f32
  } -> tensor<6xf32>
  %e2 = tensor.empty() : tensor<6x37xf32>
  %ex = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %m : tensor<6x37xf32>, tensor<6xf32>) outs(%e2 : tensor<6x37xf32>) {
    ^bb0(%a: f32, %mx: f32, %o: f32):
      %d = arith.subf %a, %mx : f32
      %r = math.exp %d : f32
      linalg.yield %r : f32
  } -> tensor<6x37xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<6xf32>) -> tensor<6xf32>
  %s = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%ex : tensor<6x37xf32>) outs(%s0 : tensor<6xf32>) {
    ^bb0(%a: f32, %acc: f32):
      %r = arith.addf %a, %acc : f32
      linalg.yield %r : f32
  } -> tensor<6xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%ex, %s : tensor<6x37xf32>, tensor<6xf32>) outs(%e2 : tensor<6x37xf32>) {
    ^bb0(%a: f32, %sum: f32, %o: f32):
      %r = arith.divf %a, %sum : f32
      linalg.yield %r : f32
  } -> tensor<6x37xf32>
  return %y : tensor<6x37xf32>
}
)mlir";

inline std::vector<float> randomVector(int64_t n, unsigned seed,
                                       float lo = -1.f, float hi = 1.f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float &x : v)
    x = dist(gen);
  return v;
}

/// Direct N-d convolution, channels last: x[N, S..., C], w[K..., C, F],
/// out[N, O..., F], O_i = (S_i - K_i) / stride + 1. Accumulates in double.
inline std::vector<float> referenceConv(const std::vector<float> &x,
                                        const std::vector<float> &w,
                                        const std::vector<int64_t> &xShape,
                                        const std::vector<int64_t> &wShape,
                                        int64_t stride = 1) {
  size_t nd = xShape.size() - 2;
  int64_t n = xShape[0], c = xShape.back(), f = wShape.back();
  std::vector<int64_t> in(xShape.begin() + 1, xShape.end() - 1);
  std::vector<int64_t> k(wShape.begin(), wShape.begin() + nd);
  std::vector<int64_t> out(nd);
  int64_t outCount = 1, winCount = 1;
  for (size_t i = 0; i < nd; ++i) {
    out[i] = (in[i] - k[i]) / stride + 1;
    outCount *= out[i];
    winCount *= k[i];
  }
  std::vector<float> y(n * outCount * f);
  std::vector<int64_t> o(nd), kk(nd);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oi = 0; oi < outCount; ++oi) {
      for (int64_t r = oi, i = nd - 1; i >= 0; --i) {
        o[i] = r % out[i];
        r /= out[i];
      }
      for (int64_t fo = 0; fo < f; ++fo) {
        double acc = 0;
        for (int64_t ki = 0; ki < winCount; ++ki) {
          for (int64_t r = ki, i = nd - 1; i >= 0; --i) {
            kk[i] = r % k[i];
            r /= k[i];
          }
          int64_t xi = b;
          for (size_t i = 0; i < nd; ++i)
            xi = xi * in[i] + o[i] * stride + kk[i];
          for (int64_t ci = 0; ci < c; ++ci)
            acc += double(x[xi * c + ci]) * w[(ki * c + ci) * f + fo];
        }
        y[(b * outCount + oi) * f + fo] = float(acc);
      }
    }
  return y;
}

inline std::vector<float> referenceMatmul(const std::vector<float> &a,
                                          const std::vector<float> &b,
                                          int64_t m, int64_t k, int64_t n) {
  std::vector<float> c(m * n);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (int64_t l = 0; l < k; ++l)
        acc += double(a[i * k + l]) * b[l * n + j];
      c[i * n + j] = float(acc);
    }
  return c;
}

inline std::vector<float> referenceSoftmax(const std::vector<float> &x,
                                           int64_t rows, int64_t cols) {
  std::vector<float> y(x.size());
  for (int64_t i = 0; i < rows; ++i) {
    double mx = -INFINITY, sum = 0;
    for (int64_t j = 0; j < cols; ++j)
      mx = std::max<double>(mx, x[i * cols + j]);
    for (int64_t j = 0; j < cols; ++j)
      sum += std::exp(double(x[i * cols + j]) - mx);
    for (int64_t j = 0; j < cols; ++j)
      y[i * cols + j] = float(std::exp(double(x[i * cols + j]) - mx) / sum);
  }
  return y;
}

/// max |got - want| / max(|want|, floor): relative error with a floor so
/// that values near zero compare absolutely.
inline double maxRelError(const float *got, const std::vector<float> &want,
                          double floor = 1.0) {
  double worst = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    double denom = std::max<double>(std::fabs(want[i]), floor);
    worst = std::max(worst, std::fabs(double(got[i]) - want[i]) / denom);
  }
  return worst;
}

} // namespace nm::testing

#endif // NEUROMANCER_TESTS_CODEGEN_TESTMODULES_H
