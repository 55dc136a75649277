//===- ConvChainTest.cpp - conv chains in the internal layout -------------===//
//
// Consecutive convs and pools exchange channels-last values with channels
// padded to a multiple of 16 (NmToLinalgOptions, compiler/conversion/
// LoweringContext.h): no transposes between layers, zero weights for the
// padded channels. Checked end to end (frontend -> nm -> linalg -> code)
// against plain loops in NCDHW, for channel counts that need padding, 1x1x1
// convs (matmuls), 'same' padding, batch norm, prelu, maxout and both thread
// counts.
//
//===----------------------------------------------------------------------===//
#include "neuromancer/compiler/Importer.h"
#include "neuromancer/compiler/conversion/NmToLinalg.h"
#include "neuromancer/neuromancer.h"
#include "neuromancer/runtime/ThreadPool.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <cmath>
#include <random>

using namespace nm;

namespace {

Array randomArray(std::vector<int64_t> shape, unsigned seed, float lo = -1.f,
                  float hi = 1.f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  Array a(shape);
  for (int64_t i = 0; i < a.size(); ++i)
    a.setFlat(i, d(gen));
  return a;
}

/// A tensor [C, D, H, W] (batch 1) in double.
struct Vol {
  int64_t c, d, h, w;
  std::vector<double> v;
  double &at(int64_t ci, int64_t z, int64_t y, int64_t x) {
    return v[((ci * d + z) * h + y) * w + x];
  }
  double at(int64_t ci, int64_t z, int64_t y, int64_t x) const {
    return v[((ci * d + z) * h + y) * w + x];
  }
};

Vol fromArray(const Array &a) {
  Vol r{a.shape()[1], a.shape()[2], a.shape()[3], a.shape()[4], {}};
  for (int64_t i = 0; i < a.size(); ++i)
    r.v.push_back(a.getFlat(i));
  return r;
}

/// Valid conv (after zero padding (k - 1) / 2 per side where `same`),
/// w [F, C, kd, kh, kw].
Vol conv(Vol x, const Array &w, bool same = false) {
  if (same) {
    int64_t pd = (w.shape()[2] - 1) / 2, ph = (w.shape()[3] - 1) / 2,
            pw = (w.shape()[4] - 1) / 2;
    Vol p{x.c, x.d + 2 * pd, x.h + 2 * ph, x.w + 2 * pw, {}};
    p.v.assign(p.c * p.d * p.h * p.w, 0.0);
    for (int64_t c = 0; c < x.c; ++c)
      for (int64_t z = 0; z < x.d; ++z)
        for (int64_t y = 0; y < x.h; ++y)
          for (int64_t i = 0; i < x.w; ++i)
            p.at(c, z + pd, y + ph, i + pw) = x.at(c, z, y, i);
    x = p;
  }
  const auto &s = w.shape();
  int64_t f = s[0], kd = s[2], kh = s[3], kw = s[4];
  Vol r{f, x.d - kd + 1, x.h - kh + 1, x.w - kw + 1, {}};
  r.v.assign(r.c * r.d * r.h * r.w, 0.0);
  for (int64_t o = 0; o < f; ++o)
    for (int64_t z = 0; z < r.d; ++z)
      for (int64_t y = 0; y < r.h; ++y)
        for (int64_t i = 0; i < r.w; ++i) {
          double acc = 0;
          for (int64_t c = 0; c < x.c; ++c)
            for (int64_t a = 0; a < kd; ++a)
              for (int64_t b = 0; b < kh; ++b)
                for (int64_t e = 0; e < kw; ++e)
                  acc +=
                      x.at(c, z + a, y + b, i + e) *
                      w.getFlat(((((o * x.c + c) * kd + a) * kh + b) * kw) + e);
          r.at(o, z, y, i) = acc;
        }
  return r;
}

Vol maxPool(const Vol &x, int64_t pd, int64_t ph, int64_t pw) {
  Vol r{x.c, x.d / pd, x.h / ph, x.w / pw, {}};
  r.v.assign(r.c * r.d * r.h * r.w, -INFINITY);
  for (int64_t c = 0; c < r.c; ++c)
    for (int64_t z = 0; z < r.d * pd; ++z)
      for (int64_t y = 0; y < r.h * ph; ++y)
        for (int64_t i = 0; i < r.w * pw; ++i)
          r.at(c, z / pd, y / ph, i / pw) =
              std::max(r.at(c, z / pd, y / ph, i / pw), x.at(c, z, y, i));
  return r;
}

/// Bias (+ predict-mode batch norm) and an activation, per channel.
Vol epilogue(Vol x, const Array &b, const std::string &act,
             const Array *gamma = nullptr, const Array *mean = nullptr,
             const Array *sd = nullptr) {
  int64_t n = x.d * x.h * x.w;
  for (int64_t c = 0; c < x.c; ++c)
    for (int64_t i = 0; i < n; ++i) {
      double &v = x.v[c * n + i];
      double bias = act == "prelu" ? b.getFlat(2 * c) : b.getFlat(c);
      if (gamma)
        v = gamma->getFlat(c) / sd->getFlat(c) * v + bias -
            gamma->getFlat(c) * mean->getFlat(c) / sd->getFlat(c);
      else
        v += bias;
      if (act == "relu")
        v = std::max(v, 0.0);
      else if (act == "tanh")
        v = std::tanh(v);
      else if (act == "sig")
        v = 1 / (1 + std::exp(-v));
      else if (act == "prelu")
        v = v > 0 ? v : b.getFlat(2 * c + 1) * v;
    }
  return x;
}

Vol maxout(const Vol &x, int64_t r) {
  Vol o{x.c / r, x.d, x.h, x.w, {}};
  int64_t n = x.d * x.h * x.w;
  o.v.assign(o.c * n, -INFINITY);
  for (int64_t c = 0; c < x.c; ++c)
    for (int64_t i = 0; i < n; ++i)
      o.v[(c / r) * n + i] = std::max(o.v[(c / r) * n + i], x.v[c * n + i]);
  return o;
}

double maxRelErr(const Array &got, const Vol &want) {
  double scale = 0, err = 0;
  for (double v : want.v)
    scale = std::max(scale, std::fabs(v));
  if (got.size() != static_cast<int64_t>(want.v.size()))
    return INFINITY;
  for (int64_t i = 0; i < got.size(); ++i)
    err = std::max(err, std::fabs(got.getFlat(i) - want.v[i]));
  return err / std::max(scale, 1e-30);
}

class ConvChain : public ::testing::Test {
protected:
  void SetUp() override {
    name_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    model_manager.newmodel(name_);
  }
  void TearDown() override {
    for (const std::string &n : model_manager.names())
      model_manager.remove(n);
    nm_runtime_set_num_threads(saved_);
  }
  std::string name_;
  int saved_ = nm_runtime_get_num_threads();
};

/// The node's function lowered to linalg, as text.
std::string lowered(const Node &node) {
  mlir::DialectRegistry registry;
  mlir::MLIRContext context(registry);
  compiler::loadImporterDialects(context);
  compiler::registerNmToLinalgDialects(registry);
  context.appendDialectRegistry(registry);
  auto module = compiler::importModel(context, {node}, "f");
  if (!module || mlir::failed(compiler::lowerNmToLinalg(*module)))
    return "";
  std::string text;
  llvm::raw_string_ostream os(text);
  module->print(os);
  return text;
}

int count(const std::string &text, const std::string &needle) {
  int n = 0;
  for (size_t p = text.find(needle); p != std::string::npos;
       p = text.find(needle, p + 1))
    ++n;
  return n;
}

} // namespace

TEST_F(ConvChain, PaddedChannelsLastChainMatchesReference) {
  Node inp = Input({1, 3, 6, 22, 20}, "b,f,z,x,y", {.name = "image"});
  Array w1 = randomArray({20, 3, 1, 3, 3}, 1, -0.4f, 0.4f),
        b1 = randomArray({20}, 2, -0.2f, 0.2f);
  Array w2 = randomArray({30, 20, 2, 3, 3}, 3, -0.2f, 0.2f),
        b2 = randomArray({30}, 4, -0.2f, 0.2f);
  Array w3 = randomArray({17, 30, 1, 1, 1}, 5, -0.3f, 0.3f),
        b3 = randomArray({17}, 6, -0.2f, 0.2f);
  Array w4 = randomArray({40, 17, 1, 3, 3}, 7, -0.3f, 0.3f),
        b4 = randomArray({40, 2}, 8, 0.1f, 0.5f);
  Array w5 = randomArray({20, 40, 3, 3, 3}, 9, -0.1f, 0.1f),
        b5 = randomArray({20}, 10, -0.2f, 0.2f);
  Array g5 = randomArray({20}, 11, 0.5f, 1.5f), m5 = randomArray({20}, 12),
        s5 = randomArray({20}, 13, 0.5f, 2.0f);
  Node c1 = Conv(inp, 20, {1, 3, 3}, {1, 2, 2},
                 {.activation_func = "tanh", .w = w1, .b = b1});
  Node c2 =
      Conv(c1, 30, {2, 3, 3}, {}, {.activation_func = "sig", .w = w2, .b = b2});
  Node c3 = Conv(c2, 17, {1, 1, 1}, {},
                 {.activation_func = "relu", .w = w3, .b = b3});
  Node p3 = Pool(c3, {1, 2, 1});
  Node c4 =
      Conv(p3, 40, {1, 3, 3}, {},
           {.conv_mode = "same", .activation_func = "prelu", .w = w4, .b = b4});
  Node c5 = Conv(c4, 20, {3, 3, 3}, {},
                 {.activation_func = "maxout 2",
                  .batch_normalisation = "predict",
                  .w = w5,
                  .b = b5,
                  .gamma = g5,
                  .mean = m5,
                  .std = s5});

  // Internal layout: one transpose in (C = 3), one out, one per weight.
  std::string ir = lowered(c5);
  ASSERT_FALSE(ir.empty());
  EXPECT_EQ(count(ir, "linalg.transpose"), 2 + 5) << ir;
  EXPECT_EQ(count(ir, "linalg.conv_3d_ndhwc_dhwcf"), 5);

  Array x = randomArray({1, 3, 6, 22, 20}, 14);
  Vol r = fromArray(x);
  r = maxPool(conv(r, w1), 1, 2, 2);
  r = epilogue(r, b1, "tanh");
  r = epilogue(conv(r, w2), b2, "sig");
  r = epilogue(conv(r, w3), b3, "relu");
  r = maxPool(r, 1, 2, 1);
  r = epilogue(conv(r, w4, /*same=*/true), b4, "prelu");
  r = maxout(epilogue(conv(r, w5), b5, "lin", &g5, &m5, &s5), 2);
  for (int threads : {1, 2}) {
    nm_runtime_set_num_threads(threads);
    Array out = c5(x);
    ASSERT_EQ(out.shape(), (std::vector<int64_t>{1, r.c, r.d, r.h, r.w}));
    EXPECT_LE(maxRelErr(out, r), 1e-5) << threads << " threads";
  }
  // An intermediate node: its output sliced back to 17 channels.
  Array mid = p3(x);
  Vol m = fromArray(x);
  m = epilogue(maxPool(conv(m, w1), 1, 2, 2), b1, "tanh");
  m = epilogue(conv(m, w2), b2, "sig");
  m = maxPool(epilogue(conv(m, w3), b3, "relu"), 1, 2, 1);
  EXPECT_LE(maxRelErr(mid, m), 1e-5);
}

// Output channels whose padded count is an odd number of vectors: 80 (5
// vectors: channel tiles of 3 + a peeled 2), 100 -> 112 (7: tiles of 4,
// register columns 2 + 2, + 3), 200 -> 208 (13: tiles of 5, register
// columns 3 + a peeled 2, + 3), in fused conv -> pool -> epilogue groups
// and, for the last conv (too small for threads), in a conv of its own.
TEST_F(ConvChain, ChannelTilesOfTwoAndThreeVectorsMatchReference) {
  Node inp = Input({1, 24, 4, 14, 14}, "b,f,z,x,y", {.name = "image"});
  Array w1 = randomArray({80, 24, 2, 3, 3}, 21, -0.2f, 0.2f),
        b1 = randomArray({80}, 22, -0.2f, 0.2f);
  Array w2 = randomArray({100, 80, 1, 3, 3}, 23, -0.1f, 0.1f),
        b2 = randomArray({100}, 24, -0.2f, 0.2f);
  Array w3 = randomArray({200, 100, 1, 1, 1}, 25, -0.2f, 0.2f),
        b3 = randomArray({200}, 26, -0.2f, 0.2f);
  Array w4 = randomArray({200, 200, 3, 4, 4}, 27, -0.05f, 0.05f),
        b4 = randomArray({200}, 28, -0.2f, 0.2f);
  Node c1 = Conv(inp, 80, {2, 3, 3}, {1, 2, 2},
                 {.activation_func = "relu", .w = w1, .b = b1});
  Node c2 = Conv(c1, 100, {1, 3, 3}, {},
                 {.activation_func = "tanh", .w = w2, .b = b2});
  Node c3 = Conv(c2, 200, {1, 1, 1}, {},
                 {.activation_func = "relu", .w = w3, .b = b3});
  Node c4 = Conv(c3, 200, {3, 4, 4}, {},
                 {.activation_func = "lin", .w = w4, .b = b4});

  Array x = randomArray({1, 24, 4, 14, 14}, 29);
  Vol r = fromArray(x);
  r = epilogue(maxPool(conv(r, w1), 1, 2, 2), b1, "relu");
  r = epilogue(conv(r, w2), b2, "tanh");
  r = epilogue(conv(r, w3), b3, "relu");
  r = epilogue(conv(r, w4), b4, "lin");
  for (int threads : {1, 2}) {
    nm_runtime_set_num_threads(threads);
    Array out = c4(x);
    ASSERT_EQ(out.shape(), (std::vector<int64_t>{1, r.c, r.d, r.h, r.w}));
    EXPECT_LE(maxRelErr(out, r), 1e-5) << threads << " threads";
  }
}
