//===- NmToLinalgOpsTest.cpp - lowering of the remaining nm ops ----------===//
//
// UpConv, LRN, batch normalisation with batch statistics, every loss,
// MultinoulliNLL and Errors in their n_indep / dense-target variants, and
// the data-movement nodes (split, Reshape, OneHot, ValueNode,
// InitialState_like), 1-D and 2-D convs. Same harness and error metric as
// NmToLinalgTest.cpp (LoweringTestUtil.h): the compiled code against
// plain-loop references in double, bound 1e-5 unless stated. Each test
// prints its worst error.
//
//===----------------------------------------------------------------------===//
#include "LoweringTestUtil.h"

#include <numbers>

using namespace nm;
using namespace nm::lowering_test;

namespace {

using Shape = std::vector<int64_t>;

int64_t flatIndex(const Shape &s, const Shape &idx) {
  int64_t f = 0;
  for (size_t i = 0; i < s.size(); ++i)
    f = f * s[i] + idx[i];
  return f;
}

/// Calls fn(index) for every index of `s`, in row-major order.
void forEachIndex(const Shape &s,
                  const std::function<void(const Shape &)> &fn) {
  Shape idx(s.size(), 0);
  int64_t n = prod(s);
  for (int64_t k = 0; k < n; ++k) {
    fn(idx);
    for (int64_t d = static_cast<int64_t>(s.size()) - 1; d >= 0; --d) {
      if (++idx[d] < s[d])
        break;
      idx[d] = 0;
    }
  }
}

double at(const Array &a, const Shape &idx) {
  return a.getFlat(flatIndex(a.shape(), idx));
}

/// Records and prints a test's worst error.
void report(const char *test, double worst) {
  ::testing::Test::RecordProperty("max_rel_err", std::to_string(worst));
  std::printf("%s: max rel err %.3g\n", test, worst);
}

bool allFinite(const Array &a) {
  for (int64_t i = 0; i < a.size(); ++i)
    if (!std::isfinite(a.getFlat(i)))
      return false;
  return true;
}

double xlogy0(double x, double y) { return x == 0 ? 0.0 : x * std::log(y); }

/// Parameters of a node by name.
Array param(const Node &n, const std::string &name) {
  return n.get_param_values().at(name);
}

/// Numbers the axes of a 'b,f,spatial...' array as 5-D b,f,z,x,y (unit
/// spatial axes in front) so conv3d/pool3d serve 1-D and 2-D too.
Shape5 asShape5(const Shape &s) {
  Shape5 r{{s[0], s[1], 1, 1, 1}};
  for (size_t i = 2; i < s.size(); ++i)
    r.d[5 - (s.size() - i)] = s[i];
  return r;
}

/// Softmax over f of a [B, F, S...] array in n_indep blocks.
std::vector<double> softmaxRef(const Array &x, int64_t nIndep) {
  Shape s = x.shape();
  int64_t B = s[0], F = s[1], S = x.size() / (B * F), C = F / nIndep;
  std::vector<double> r(x.size());
  for (int64_t b = 0; b < B; ++b)
    for (int64_t blk = 0; blk < nIndep; ++blk)
      for (int64_t q = 0; q < S; ++q) {
        auto i = [&](int64_t c) { return (b * F + blk * C + c) * S + q; };
        double m = -INFINITY, sum = 0;
        for (int64_t c = 0; c < C; ++c)
          m = std::max(m, x.getFlat(i(c)));
        for (int64_t c = 0; c < C; ++c)
          sum += std::exp(x.getFlat(i(c)) - m);
        for (int64_t c = 0; c < C; ++c)
          r[i(c)] = std::exp(x.getFlat(i(c)) - m) / sum;
      }
  return r;
}

/// ELEKTRONN2's MultinoulliNLL of probabilities p [B, F, S...] (F = n_indep
/// blocks of C classes); `onehot(b, f, q)` is the target T.
std::vector<double>
nllRef(const Array &p, int64_t nIndep,
       const std::function<double(int64_t, int64_t, int64_t)> &onehot,
       const std::vector<double> &cw = {}) {
  Shape s = p.shape();
  int64_t B = s[0], F = s[1], S = p.size() / (B * F), C = F / nIndep;
  std::vector<double> v(B * S, 0.0);
  double nUp = 0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t f = 0; f < F; ++f)
      for (int64_t q = 0; q < S; ++q) {
        double t = onehot(b, f, q);
        nUp += t;
        double w = cw.empty() ? 1.0 : cw[f % C];
        v[b * S + q] -= xlogy0(t * w, p.getFlat((b * F + f) * S + q) + 1e-5);
      }
  for (double &x : v)
    x = x * static_cast<double>(p.size()) / (nUp + 1e-5) / nIndep / C;
  return v;
}

/// First argmax per block of C features of a [B, F, S...] array, as
/// [B, F / C, S...].
std::vector<int64_t> blockArgmax(const Array &a, int64_t C) {
  Shape s = a.shape();
  int64_t B = s[0], F = s[1], S = a.size() / (B * F), nb = F / C;
  std::vector<int64_t> r(B * nb * S);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t k = 0; k < nb; ++k)
      for (int64_t q = 0; q < S; ++q) {
        int64_t best = 0;
        for (int64_t c = 1; c < C; ++c)
          if (a.getFlat((b * F + k * C + c) * S + q) >
              a.getFlat((b * F + k * C + best) * S + q))
            best = c;
        r[(b * nb + k) * S + q] = best;
      }
  return r;
}

} // namespace

//===----------------------------------------------------------------------===//
// UpConv
//===----------------------------------------------------------------------===//

namespace {
/// out[n, o, s_i p_i + t_i] = sum_c w[o, c, t] x[n, c, s] + b[o], then BN
/// (predict, optional) and the activation.
std::vector<double> upconvRef(const Array &x, const Array &w, const Array &b,
                              const std::string &act, const Shape &outShape,
                              const Array *gamma = nullptr,
                              const Array *mean = nullptr,
                              const Array *sd = nullptr) {
  Shape ws = w.shape();
  int64_t nsp = static_cast<int64_t>(ws.size()) - 2, C = ws[1];
  std::vector<double> out(prod(outShape));
  forEachIndex(outShape, [&](const Shape &o) {
    Shape xi(o.size()), wi(ws.size());
    xi[0] = o[0];
    wi[0] = o[1];
    for (int64_t i = 0; i < nsp; ++i) {
      xi[2 + i] = o[2 + i] / ws[2 + i];
      wi[2 + i] = o[2 + i] % ws[2 + i];
    }
    double acc = 0;
    for (int64_t c = 0; c < C; ++c) {
      xi[1] = c;
      wi[1] = c;
      acc += at(x, xi) * at(w, wi);
    }
    double v = acc + b.getFlat(o[1]);
    if (gamma) {
      double g = gamma->getFlat(o[1]), m = mean->getFlat(o[1]),
             d = sd->getFlat(o[1]);
      v = g / d * acc + b.getFlat(o[1]) - g * m / d;
    }
    out[flatIndex(outShape, o)] = activate(act, v);
  });
  return out;
}
} // namespace

TEST_F(Lowering, UpConvStridesAndRanks) {
  struct Case {
    Shape in;
    std::string tags;
    int64_t nf;
    Shape pool;
    std::string act;
  };
  const std::vector<Case> cases = {
      {{1, 3, 3, 5, 4}, "b,f,z,x,y", 4, {2, 3, 1}, "tanh"},
      {{2, 2, 3, 2, 3}, "b,f,z,x,y", 3, {3, 2, 2}, "relu"},
      {{1, 3, 1, 3, 2}, "b,f,z,x,y", 5, {1, 1, 1}, "lin"},
      {{1, 2, 2, 3, 3}, "b,f,z,x,y", 3, {1, 3, 2}, "sig"},
      {{2, 3, 5, 3}, "b,f,x,y", 2, {3, 2}, "elu"},
      {{2, 2, 7}, "b,f,x", 3, {4}, "abs"},
  };
  double worst = 0;
  for (size_t k = 0; k < cases.size(); ++k) {
    const Case &c = cases[k];
    SCOPED_TRACE("case " + std::to_string(k));
    model_manager.newmodel(name_ + "." + std::to_string(k));
    Node inp = Input(c.in, c.tags, {.name = "image"});
    Shape ws{c.nf, c.in[1]};
    ws.insert(ws.end(), c.pool.begin(), c.pool.end());
    Node up = UpConv(inp, c.nf, c.pool,
                     {.activation_func = c.act,
                      .identity_init = false,
                      .w = randomArray(ws, 40 + k, -0.7f, 0.7f),
                      .b = randomArray({c.nf}, 50 + k, -0.5f, 0.5f)});
    Array x = randomArray(c.in, 60 + k);
    auto outs = run({up}, {{"image", x}});
    Shape os{c.in[0], c.nf};
    for (size_t i = 0; i < c.pool.size(); ++i)
      os.push_back(c.in[2 + i] * c.pool[i]);
    ASSERT_EQ(outs[0].shape(), os);
    auto ref =
        upconvRef(x, param(up, "w"), param(up, "b"), c.act, outs[0].shape());
    double e = maxRelErr(outs[0], ref);
    worst = std::max(worst, e);
    EXPECT_LE(e, kTol);
  }
  report("UpConvStridesAndRanks", worst);
}

TEST_F(Lowering, UpConvBatchNormPredict) {
  Node inp = Input({1, 3, 2, 3, 5}, "b,f,z,x,y", {.name = "image"});
  Array gamma = randomArray({4}, 3, 0.5f, 2.f), mean = randomArray({4}, 4),
        sd = randomArray({4}, 5, 0.5f, 2.f);
  Node up = UpConv(inp, 4, {2, 2, 3},
                   {.activation_func = "tanh",
                    .identity_init = false,
                    .batch_normalisation = "predict",
                    .w = randomArray({4, 3, 2, 2, 3}, 1),
                    .b = randomArray({4}, 2),
                    .gamma = gamma,
                    .mean = mean,
                    .std = sd});
  Array x = randomArray({1, 3, 2, 3, 5}, 6, -2.f, 2.f);
  auto outs = run({up}, {{"image", x}});
  ASSERT_EQ(outs[0].shape(), (Shape{1, 4, 4, 6, 15}));
  auto ref = upconvRef(x, param(up, "w"), param(up, "b"), "tanh",
                       outs[0].shape(), &gamma, &mean, &sd);
  double e = maxRelErr(outs[0], ref);
  EXPECT_LE(e, kTol);
  report("UpConvBatchNormPredict", e);
}

//===----------------------------------------------------------------------===//
// LRN
//===----------------------------------------------------------------------===//

TEST_F(Lowering, LrnSpatialAndChannel) {
  struct Case {
    Shape in;
    std::string tags;
    Shape filter;
    std::string mode;
    double alpha, k, beta;
  };
  const std::vector<Case> cases = {
      {{2, 3, 3, 5, 7}, "b,f,z,x,y", {1, 3, 5}, "spatial", 0.7, 1.5, 0.6},
      {{1, 2, 4, 3, 5}, "b,f,z,x,y", {3, 3, 3}, "spatial", 0.9, 1.0, 0.75},
      {{2, 3, 6, 5}, "b,f,x,y", {5, 1}, "spatial", 0.5, 2.0, 1.3},
      {{2, 7, 2, 3, 4}, "b,f,z,x,y", {5}, "channel", 0.9, 1.2, 0.75},
      {{1, 3, 2, 3, 2}, "b,f,z,x,y", {5}, "channel", 1.1, 1.0, 0.5},
  };
  double worst = 0;
  for (size_t n = 0; n < cases.size(); ++n) {
    const Case &c = cases[n];
    SCOPED_TRACE("case " + std::to_string(n));
    model_manager.newmodel(name_ + "." + std::to_string(n));
    Node inp = Input(c.in, c.tags, {.name = "image"});
    Node lrn =
        LRN(inp, c.filter,
            {.mode = c.mode, .alpha = c.alpha, .k = c.k, .beta = c.beta});
    Array x = randomArray(c.in, 70 + n, -2.f, 2.f);
    auto outs = run({lrn}, {{"image", x}});
    ASSERT_EQ(outs[0].shape(), c.in);
    std::vector<double> ref(x.size());
    double maxChange = 0;
    forEachIndex(c.in, [&](const Shape &idx) {
      double sum = 0;
      int64_t cnt = 1;
      if (c.mode == "spatial") {
        Shape win(c.filter);
        cnt = prod(win);
        forEachIndex(win, [&](const Shape &o) {
          Shape j(idx);
          for (size_t i = 0; i < win.size(); ++i) {
            j[2 + i] += o[i] - (win[i] - 1) / 2;
            if (j[2 + i] < 0 || j[2 + i] >= c.in[2 + i])
              return; // zero padding
          }
          sum += at(x, j) * at(x, j);
        });
      } else {
        int64_t win = c.filter[0], F = c.in[1];
        cnt = win;
        for (int64_t i = 0; i < win; ++i) {
          Shape j(idx);
          j[1] = std::clamp<int64_t>(idx[1] + i - win / 2, 0, F - 1);
          sum += at(x, j) * at(x, j);
        }
      }
      double xv = at(x, idx);
      double v = xv / std::pow(c.k + c.alpha * sum / cnt, c.beta);
      ref[flatIndex(c.in, idx)] = v;
      maxChange = std::max(maxChange, std::abs(v - xv));
    });
    EXPECT_GT(maxChange, 0.1) << "the normalisation must matter";
    double e = maxRelErr(outs[0], ref);
    worst = std::max(worst, e);
    EXPECT_LE(e, kTol);
  }
  report("LrnSpatialAndChannel", worst);
}

TEST_F(Lowering, LrnEvenSpatialFilterIsAnError) {
  // The frontend rejects it too; the lowering repeats ELEKTRONN2's message
  // for nm IR from elsewhere.
  std::string err = lowerTextError(R"mlir(
!x = tensor<1x2x3x6x6xf32, #nm.tagged<b,f,z,x,y>>
func.func @f(%x: !x {nm.input = "x"}) -> !x {
  %0 = nm.lrn %x {filter_shape = array<i64: 1, 2, 3>} : (!x) -> !x
  return %0 : !x
}
)mlir");
  EXPECT_NE(err.find("filter shapes must be odd in all dimensions"),
            std::string::npos)
      << err;
}

//===----------------------------------------------------------------------===//
// Batch normalisation with batch statistics ('train')
//===----------------------------------------------------------------------===//

namespace {
/// (g/std)·lin + b − g·mean/std with the batch mean and std (+1e-6) of lin
/// [B, F, S] over every axis but f, then the activation.
std::vector<double> batchNormRef(const std::vector<double> &lin, int64_t B,
                                 int64_t F, int64_t S, const Array &gamma,
                                 const Array &b, const std::string &act) {
  std::vector<double> out(lin.size());
  for (int64_t f = 0; f < F; ++f) {
    double m = 0, var = 0;
    for (int64_t n = 0; n < B; ++n)
      for (int64_t q = 0; q < S; ++q)
        m += lin[(n * F + f) * S + q];
    m /= static_cast<double>(B * S);
    for (int64_t n = 0; n < B; ++n)
      for (int64_t q = 0; q < S; ++q) {
        double d = lin[(n * F + f) * S + q] - m;
        var += d * d;
      }
    double sd = std::sqrt(var / static_cast<double>(B * S)) + 1e-6;
    double g = gamma.getFlat(f);
    for (int64_t n = 0; n < B; ++n)
      for (int64_t q = 0; q < S; ++q) {
        int64_t i = (n * F + f) * S + q;
        out[i] = activate(act, g / sd * lin[i] + b.getFlat(f) - g * m / sd);
      }
  }
  return out;
}
} // namespace

TEST_F(Lowering, BatchNormTrainConvPerceptronUpConv) {
  Node inp = Input({2, 2, 3, 5, 5}, "b,f,z,x,y", {.name = "image"});
  Array gamma = randomArray({3}, 1, 0.5f, 2.f);
  Node c = Conv(inp, 3, {1, 2, 2}, {1, 2, 1},
                {.activation_func = "relu",
                 .batch_normalisation = "train",
                 .w = randomArray({3, 2, 1, 2, 2}, 2),
                 .b = randomArray({3}, 3),
                 .gamma = gamma});
  Node d = Perceptron(inp, 4,
                      {.activation_func = "tanh",
                       .batch_normalisation = "train",
                       .name = "dot",
                       .w = randomArray({2, 4}, 4),
                       .b = randomArray({4}, 5),
                       .gamma = randomArray({4}, 6, 0.5f, 2.f)});
  Node u = UpConv(inp, 2, {1, 2, 1},
                  {.activation_func = "lin",
                   .identity_init = false,
                   .batch_normalisation = "train",
                   .w = randomArray({2, 2, 1, 2, 1}, 7),
                   .b = randomArray({2}, 8),
                   .gamma = randomArray({2}, 9, 0.5f, 2.f)});
  Array x = randomArray({2, 2, 3, 5, 5}, 10, -2.f, 2.f);
  auto outs = run({c, d, u}, {{"image", x}});
  double worst = 0;
  // conv -> pool -> BN(batch) -> relu
  {
    Shape5 cs, ps;
    const int64_t zero[3] = {0, 0, 0}, p[3] = {1, 2, 1};
    auto conv = conv3d(toDouble(x), shape5(x.shape()), toDouble(param(c, "w")),
                       shape5(param(c, "w").shape()), zero, cs);
    auto pooled = pool3d(conv, cs, p, p, "max", ps);
    ASSERT_EQ(outs[0].shape(), (Shape{2, 3, 3, 2, 4}));
    auto ref = batchNormRef(pooled, 2, 3, 3 * 2 * 4, param(c, "gamma"),
                            param(c, "b"), "relu");
    worst = std::max(worst, maxRelErr(outs[0], ref));
  }
  // perceptron over f
  {
    Array w = param(d, "w");
    int64_t S = 3 * 5 * 5;
    std::vector<double> lin(2 * 4 * S);
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t j = 0; j < 4; ++j)
        for (int64_t q = 0; q < S; ++q) {
          double acc = 0;
          for (int64_t i = 0; i < 2; ++i)
            acc += x.getFlat((n * 2 + i) * S + q) * w.getFlat(i * 4 + j);
          lin[(n * 4 + j) * S + q] = acc;
        }
    ASSERT_EQ(outs[1].shape(), (Shape{2, 4, 3, 5, 5}));
    auto ref =
        batchNormRef(lin, 2, 4, S, param(d, "gamma"), param(d, "b"), "tanh");
    worst = std::max(worst, maxRelErr(outs[1], ref));
  }
  // upconv
  {
    Array zb = Array::full({2}, 0.0);
    ASSERT_EQ(outs[2].shape(), (Shape{2, 2, 3, 10, 5}));
    auto lin =
        upconvRef(x, param(u, "w"), zb, "lin", outs[2].shape()); // no bias
    auto ref = batchNormRef(lin, 2, 2, 3 * 10 * 5, param(u, "gamma"),
                            param(u, "b"), "lin");
    worst = std::max(worst, maxRelErr(outs[2], ref));
  }
  EXPECT_LE(worst, kTol);
  report("BatchNormTrainConvPerceptronUpConv", worst);
}

TEST_F(Lowering, BatchNormTrainFlatPerceptronWithMaxout) {
  Node inp = Input({5, 2, 3}, "b,f,x", {.name = "image"});
  Node d = Perceptron(inp, 6,
                      {.activation_func = "maxout 2",
                       .flatten = true,
                       .batch_normalisation = "train",
                       .w = randomArray({6, 6}, 1),
                       .b = randomArray({6}, 2),
                       .gamma = randomArray({6}, 3, 0.5f, 2.f)});
  Array x = randomArray({5, 2, 3}, 4, -2.f, 2.f);
  auto outs = run({d}, {{"image", x}});
  Array w = param(d, "w");
  std::vector<double> lin(5 * 6);
  for (int64_t n = 0; n < 5; ++n)
    for (int64_t j = 0; j < 6; ++j) {
      double acc = 0;
      for (int64_t i = 0; i < 6; ++i)
        acc += x.getFlat(n * 6 + i) * w.getFlat(i * 6 + j);
      lin[n * 6 + j] = acc;
    }
  auto bn = batchNormRef(lin, 5, 6, 1, param(d, "gamma"), param(d, "b"), "lin");
  // maxout 2: out[j] = max(bn[j], bn[j + 3])
  std::vector<double> ref(5 * 3);
  for (int64_t n = 0; n < 5; ++n)
    for (int64_t j = 0; j < 3; ++j)
      ref[n * 3 + j] = std::max(bn[n * 6 + 2 * j], bn[n * 6 + 2 * j + 1]);
  ASSERT_EQ(outs[0].shape(), (Shape{5, 3}));
  double e = maxRelErr(outs[0], ref);
  EXPECT_LE(e, kTol);
  report("BatchNormTrainFlatPerceptronWithMaxout", e);
}

//===----------------------------------------------------------------------===//
// Regression, binary, Gaussian and Beta losses
//===----------------------------------------------------------------------===//

namespace {
/// A target in [lo, hi] with every 7th element the unlabelled marker -666.
Array maskedTarget(const Shape &s, unsigned seed, float lo = -1.f,
                   float hi = 1.f) {
  Array t = randomArray(s, seed, lo, hi);
  for (int64_t i = 3; i < t.size(); i += 7)
    t.setFlat(i, -666.0);
  return t;
}

int64_t labelled(const Array &t) {
  int64_t n = 0;
  for (int64_t i = 0; i < t.size(); ++i)
    n += std::abs(t.getFlat(i) + 666.0) > 1e-8 + 1e-5 * 666.0;
  return n;
}

/// mean over f (axis 1) of term(i) over a [B, F, S...] shape; f kept as 1.
std::vector<double> meanOverF(const Shape &s,
                              const std::function<double(int64_t)> &term) {
  int64_t B = s[0], F = s[1], S = prod(s) / (B * F);
  std::vector<double> r(B * S, 0.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t f = 0; f < F; ++f)
      for (int64_t q = 0; q < S; ++q)
        r[b * S + q] += term((b * F + f) * S + q) / F;
  return r;
}
} // namespace

TEST_F(Lowering, SquaredAndAbsLossVariants) {
  const Shape s{2, 3, 2, 3, 5};
  struct Case {
    bool squared;
    std::optional<double> margin, sc;
  };
  const std::vector<Case> cases = {
      {true, {}, {}},     {true, 0.3, {}},  {true, {}, 0.5},  {true, 0.2, 0.7},
      {true, 0.0, 0.0},   {false, {}, {}},  {false, 0.3, {}}, {false, {}, 0.5},
      {false, 0.25, 1.5}, {false, 0.0, {}},
  };
  double worst = 0;
  for (size_t k = 0; k < cases.size(); ++k) {
    const Case &c = cases[k];
    SCOPED_TRACE("case " + std::to_string(k));
    model_manager.newmodel(name_ + "." + std::to_string(k));
    Node p = Input(s, "b,f,z,x,y", {.name = "pred"});
    Node t = Input_like(p, {.name = "target"});
    RegressionLossOptions o{.margin = c.margin, .scale_correction = c.sc};
    Node loss = c.squared ? SquaredLoss(p, t, o) : AbsLoss(p, t, o);
    Array pv = randomArray(s, 80 + k), tv = maskedTarget(s, 90 + k);
    auto outs = run({loss}, {{"pred", pv}, {"target", tv}});
    ASSERT_EQ(outs[0].shape(), (Shape{2, 1, 2, 3, 5}));
    double scale = static_cast<double>(pv.size()) / (labelled(tv) + 1);
    // ELEKTRONN2 tests `if margin:`, so a margin of 0 is no margin.
    bool useMargin = c.margin && *c.margin != 0;
    bool useSc = c.sc && *c.sc != 0;
    auto ref = meanOverF(s, [&](int64_t i) {
      double tt = tv.getFlat(i), diff = tt - pv.getFlat(i);
      double v = c.squared ? scale * 0.5 * diff * diff : scale * std::abs(diff);
      if (useMargin)
        v = (std::abs(diff) >= *c.margin ? v : 0.0) - *c.margin;
      if (useSc)
        v *= c.squared ? *c.sc / (std::abs(tt) + *c.sc)
                       : *c.sc * std::abs(tt) + 1.0;
      return tt == -666.0 ? 0.0 : v;
    });
    double e = maxRelErr(outs[0], ref);
    worst = std::max(worst, e);
    EXPECT_LE(e, kTol);
  }
  report("SquaredAndAbsLossVariants", worst);
}

TEST_F(Lowering, BinaryNll) {
  const Shape s{2, 3, 3, 2, 3};
  double worst = 0;
  for (bool entropy : {false, true}) {
    SCOPED_TRACE(entropy ? "subtract_label_entropy" : "plain");
    model_manager.newmodel(name_ + (entropy ? ".e" : ".p"));
    Node p = Input(s, "b,f,z,x,y", {.name = "pred"});
    Node t = Input_like(p, {.name = "target"});
    Node loss = BinaryNLL(p, t, {.subtract_label_entropy = entropy});
    Array pv = randomArray(s, 11, 0.02f, 0.98f);
    Array tv = maskedTarget(s, 12, 0.f, 1.f);
    for (int64_t i = 0; i < tv.size(); i += 5) // exact labels too
      if (tv.getFlat(i) != -666.0)
        tv.setFlat(i, (i / 5) % 2);
    auto outs = run({loss}, {{"pred", pv}, {"target", tv}});
    ASSERT_EQ(outs[0].shape(), s);
    double scale = static_cast<double>(pv.size()) / (labelled(tv) + 1);
    std::vector<double> ref(pv.size());
    for (int64_t i = 0; i < pv.size(); ++i) {
      double tt = tv.getFlat(i), pp = pv.getFlat(i);
      double v = -xlogy0(tt, pp + 1e-5) - xlogy0(1 - tt, 1 - pp + 1e-5);
      if (entropy)
        v += -xlogy0(tt, tt + 1e-5) - xlogy0(1 - tt, 1 - tt + 1e-5);
      ref[i] = tt == -666.0 ? 0.0 : v * scale;
    }
    EXPECT_TRUE(allFinite(outs[0]));
    double e = maxRelErr(outs[0], ref);
    worst = std::max(worst, e);
    EXPECT_LE(e, kTol);
  }
  report("BinaryNll", worst);
}

TEST_F(Lowering, GaussianNll) {
  const Shape s{2, 3, 2, 3, 3};
  double worst = 0;
  for (bool isLog : {false, true}) {
    SCOPED_TRACE(isLog ? "sig_is_log" : "sig");
    model_manager.newmodel(name_ + (isLog ? ".l" : ".s"));
    Node mu = Input(s, "b,f,z,x,y", {.name = "mu"});
    Node sig = Input_like(mu, {.name = "sig"});
    Node t = Input_like(mu, {.name = "target"});
    Node loss = GaussianNLL(mu, sig, t, {.sig_is_log = isLog});
    Array mv = randomArray(s, 21), tv = randomArray(s, 22, -2.f, 2.f);
    Array sv =
        isLog ? randomArray(s, 23, -1.f, 1.f) : randomArray(s, 23, 0.3f, 2.f);
    auto outs = run({loss}, {{"mu", mv}, {"sig", sv}, {"target", tv}});
    ASSERT_EQ(outs[0].shape(), s);
    std::vector<double> ref(mv.size());
    for (int64_t i = 0; i < mv.size(); ++i) {
      double sg = sv.getFlat(i), ls = isLog ? sg : std::log(sg);
      if (isLog)
        sg = std::exp(sg);
      double z = (tv.getFlat(i) - mv.getFlat(i)) / sg;
      ref[i] = 0.5 * std::log(2 * std::numbers::pi) + ls + 0.5 * z * z;
    }
    double e = maxRelErr(outs[0], ref);
    worst = std::max(worst, e);
    EXPECT_LE(e, kTol);
  }
  report("GaussianNll", worst);
}

TEST_F(Lowering, BetaNll) {
  const Shape s{2, 3, 3, 2, 5};
  Node mode = Input(s, "b,f,z,x,y", {.name = "mode"});
  Node conc = Input_like(mode, {.name = "conc"});
  Node t = Input_like(mode, {.name = "target"});
  Node loss = BetaNLL(mode, conc, t);
  Array mv = randomArray(s, 31, 0.05f, 0.95f),
        cv = randomArray(s, 32, 1.2f, 12.f),
        tv = randomArray(s, 33, 0.01f, 0.99f);
  auto outs = run({loss}, {{"mode", mv}, {"conc", cv}, {"target", tv}});
  ASSERT_EQ(outs[0].shape(), s);
  std::vector<double> ref(mv.size());
  for (int64_t i = 0; i < mv.size(); ++i) {
    double m = mv.getFlat(i), c = cv.getFlat(i), x = tv.getFlat(i);
    double a = m * (c - 2) + 1, b = (1 - m) * (c - 2) + 1;
    double logp = std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) +
                  (a - 1) * std::log(x + 1e-5) +
                  (b - 1) * std::log(1 - x + 1e-5);
    ref[i] = -logp + softplusD(-c);
  }
  double e = maxRelErr(outs[0], ref);
  EXPECT_LE(e, kTol);
  report("BetaNll", e);
}

TEST_F(Lowering, RampLossAndEuclideanDistanceWithNaN) {
  const Shape s{2, 3, 2, 3, 3};
  Node lo = Input(s, "b,f,z,x,y", {.name = "lo"});
  Node hi = Input_like(lo, {.name = "hi"});
  Node ramp = RampLoss(lo, hi, {.margin = 0.2, .name = "ramp"});
  Node ramp0 = RampLoss(lo, hi, {.name = "ramp0"});
  Node dist = EuclideanDistance(lo, hi, {.name = "dist"});
  Array lv = randomArray(s, 41), hv = randomArray(s, 42);
  lv.setFlat(5, NAN); // b 0, f 0, voxel 5
  auto outs = run({ramp, ramp0, dist}, {{"lo", lv}, {"hi", hv}});
  double worst = 0;
  for (double margin : {0.2, 0.0}) {
    auto ref = meanOverF(s, [&](int64_t i) {
      double d = lv.getFlat(i) - hv.getFlat(i) + margin;
      return d > 0 ? d : 0.0; // NaN -> 0
    });
    const Array &got = outs[margin == 0 ? 1 : 0];
    ASSERT_EQ(got.shape(), (Shape{2, 1, 2, 3, 3}));
    EXPECT_TRUE(allFinite(got));
    worst = std::max(worst, maxRelErr(got, ref));
  }
  int64_t S = 18;
  std::vector<double> dref(2 * S);
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t q = 0; q < S; ++q) {
      double sum = 0;
      for (int64_t f = 0; f < 3; ++f) {
        double d =
            hv.getFlat((b * 3 + f) * S + q) - lv.getFlat((b * 3 + f) * S + q);
        sum += d * d;
      }
      dref[b * S + q] = std::isnan(sum) ? 0.0 : std::sqrt(sum);
    }
  ASSERT_EQ(outs[2].shape(), (Shape{2, 1, 2, 3, 3}));
  EXPECT_TRUE(allFinite(outs[2]));
  EXPECT_EQ(outs[2].getFlat(5), 0.0);
  worst = std::max(worst, maxRelErr(outs[2], dref));
  EXPECT_LE(worst, kTol);
  report("RampLossAndEuclideanDistanceWithNaN", worst);
}

TEST_F(Lowering, AggregateLossMixingWeights) {
  const Shape s{2, 3, 3, 2, 3};
  Node p = Input(s, "b,f,z,x,y", {.name = "pred"});
  Node t = Input_like(p, {.name = "target"});
  Node se = SquaredLoss(p, t);
  Node ab = AbsLoss(p, t);
  Node total = AggregateLoss({se, ab}, {.mixing_weights = {0.3, 2.5}});
  Array pv = randomArray(s, 51), tv = randomArray(s, 52);
  auto outs = run({se, ab, total}, {{"pred", pv}, {"target", tv}});
  double mse = 0, mab = 0;
  for (int64_t i = 0; i < outs[0].size(); ++i) {
    mse += outs[0].getFlat(i) / outs[0].size();
    mab += outs[1].getFlat(i) / outs[1].size();
  }
  ASSERT_EQ(outs[2].shape(), (Shape{1}));
  double ref = (0.3 * mse + 2.5 * mab) / 2;
  double e = std::abs(outs[2].getFlat(0) - ref) / std::abs(ref);
  EXPECT_LE(e, kTol);
  EXPECT_GT(std::abs(ref - (mse + mab) / 2), 0.1) << "weights must matter";
  report("AggregateLossMixingWeights", e);
}

//===----------------------------------------------------------------------===//
// MultinoulliNLL and Errors: dense targets, class weights, n_indep > 1
//===----------------------------------------------------------------------===//

TEST_F(Lowering, NllDenseTargetClassWeightsAndIndependentBlocks) {
  double worst = 0;
  struct Case {
    int64_t F, nIndep;
    std::vector<double> cw;
  };
  for (const Case &c : {Case{3, 1, {}}, Case{3, 1, {0.5, 2.0, 1.25}},
                        Case{6, 2, {}}, Case{6, 3, {}}}) {
    SCOPED_TRACE("F=" + std::to_string(c.F) + " n_indep=" +
                 std::to_string(c.nIndep) + (c.cw.empty() ? "" : " weighted"));
    model_manager.newmodel(name_ + std::to_string(c.F) +
                           std::to_string(c.nIndep) +
                           std::to_string(c.cw.size()));
    Shape s{2, c.F, 2, 3, 3};
    Node x = Input(s, "b,f,z,x,y", {.name = "x"});
    Node pred = Softmax(x, {.n_indep = c.nIndep});
    Node t = Input_like(pred, {.name = "target"});
    Node nll = MultinoulliNLL(pred, t, {.class_weights = c.cw});
    Node err = Errors(pred, t);
    Array xv = randomArray(s, 61, -2.f, 2.f);
    // Soft targets, every 4th entry 0.
    Array tv = randomArray(s, 62, 0.f, 1.f);
    for (int64_t i = 0; i < tv.size(); i += 4)
      tv.setFlat(i, 0.0);
    auto outs = run({pred, nll, err}, {{"x", xv}, {"target", tv}});
    auto pref = softmaxRef(xv, c.nIndep);
    worst = std::max(worst, maxRelErr(outs[0], pref));
    int64_t S = 18;
    auto ref = nllRef(
        outs[0], c.nIndep,
        [&](int64_t b, int64_t f, int64_t q) {
          return tv.getFlat((b * c.F + f) * S + q);
        },
        c.cw);
    ASSERT_EQ(outs[1].shape(), (Shape{2, 1, 2, 3, 3}));
    worst = std::max(worst, maxRelErr(outs[1], ref));
    // Errors: first argmax of each target block against the classification.
    int64_t C = c.F / c.nIndep;
    auto gt = blockArgmax(tv, C), cls = blockArgmax(outs[0], C);
    double wrong = 0;
    for (size_t i = 0; i < gt.size(); ++i)
      wrong += gt[i] != cls[i];
    ASSERT_EQ(outs[2].shape(), (Shape{1}));
    EXPECT_GT(wrong, 0);
    EXPECT_LT(wrong, gt.size());
    EXPECT_NEAR(outs[2].getFlat(0), wrong / gt.size(), 1e-7);
  }
  EXPECT_LE(worst, kTol);
  report("NllDenseTargetClassWeightsAndIndependentBlocks", worst);
}

TEST_F(Lowering, NllSparseTargetClassWeights) {
  Shape s{2, 4, 3, 2, 3};
  Node x = Input(s, "b,f,z,x,y", {.name = "x"});
  Node pred = Softmax(x);
  Node t =
      Input_like(pred, {.override_f = 1, .name = "target", .dtype = "int32"});
  std::vector<double> cw{0.25, 1.0, 3.0, 0.0};
  Node nll =
      MultinoulliNLL(pred, t, {.target_is_sparse = true, .class_weights = cw});
  Array xv = randomArray(s, 71, -2.f, 2.f);
  Array tv(Shape{2, 1, 3, 2, 3}, DType::Int32);
  std::mt19937 gen(5);
  for (int64_t i = 0; i < tv.size(); ++i)
    tv.setFlat(i, static_cast<int>(gen() % 6) - 1); // -1..4
  auto outs = run({pred, nll}, {{"x", xv}, {"target", tv}});
  int64_t S = 18;
  auto ref = nllRef(
      outs[0], 1,
      [&](int64_t b, int64_t f, int64_t q) {
        return tv.getFlat(b * S + q) == f ? 1.0 : 0.0;
      },
      cw);
  double e = maxRelErr(outs[1], ref);
  EXPECT_LE(e, kTol);
  report("NllSparseTargetClassWeights", e);
}

TEST_F(Lowering, NllAndErrorsSparseIndependentBlocksFromIR) {
  // The frontend only builds f = 1 sparse targets; the dialect takes one
  // label per softmax block (f = n_indep), as ELEKTRONN2 does.
  const std::string ir = R"mlir(
!p = tensor<2x6x2x3x3xf32, #nm.tagged<b,f,z,x,y>>
!t = tensor<2x2x2x3x3xi16, #nm.tagged<b,f,z,x,y>>
!l = tensor<2x1x2x3x3xf32, #nm.tagged<b,f,z,x,y>>
!c = tensor<2x2x2x3x3xi64, #nm.tagged<b,f,z,x,y>>
!e = tensor<1xf32, #nm.tagged<f>>
func.func @f(%x: !p {nm.input = "x"}, %t: !t {nm.input = "t"})
    -> (!p, !l, !e) {
  %0 = nm.softmax %x {n_indep = 2} : (!p) -> !p
  %1 = nm.multinoulli_nll %0, %t {target_is_sparse,
      class_weights = array<f64: 0.5, 2.0, 1.5>} : (!p, !t) -> !l
  %2 = nm.classification %0 {n_indep = 2} : (!p) -> !c
  %3 = nm.errors %2, %t {target_is_sparse} : (!c, !t) -> !e
  return %0, %1, %3 : !p, !l, !e
}
)mlir";
  Shape s{2, 6, 2, 3, 3};
  Array xv = randomArray(s, 81, -2.f, 2.f);
  Array tv(Shape{2, 2, 2, 3, 3}, DType::Int16);
  std::mt19937 gen(9);
  for (int64_t i = 0; i < tv.size(); ++i)
    tv.setFlat(i, static_cast<int>(gen() % 5) - 1); // -1..3: -1, 3 unlabelled
  auto outs = runText(ir, {{"x", xv}, {"t", tv}});
  double worst = maxRelErr(outs[0], softmaxRef(xv, 2));
  int64_t S = 18;
  auto ref =
      nllRef(outs[0], 2,
             [&](int64_t b, int64_t f, int64_t q) {
               return tv.getFlat((b * 2 + f / 3) * S + q) == f % 3 ? 1.0 : 0.0;
             },
             {0.5, 2.0, 1.5});
  worst = std::max(worst, maxRelErr(outs[1], ref));
  EXPECT_LE(worst, kTol);
  auto cls = blockArgmax(outs[0], 3);
  double wrong = 0;
  for (int64_t i = 0; i < tv.size(); ++i)
    wrong += tv.getFlat(i) != cls[i]; // -1 and 3 always count as errors
  EXPECT_NEAR(outs[2].getFlat(0), wrong / tv.size(), 1e-7);
  EXPECT_GT(wrong, 0);
  report("NllAndErrorsSparseIndependentBlocksFromIR", worst);
}

//===----------------------------------------------------------------------===//
// split, Reshape, OneHot, ValueNode, InitialState_like
//===----------------------------------------------------------------------===//

TEST_F(Lowering, SplitAlongFAndStrippedZ) {
  Shape s{2, 5, 3, 2, 3};
  Node inp = Input(s, "b,f,z,x,y", {.name = "image"});
  auto pieces = split(inp, {.axis = "f", .index = {1, 3}});
  auto zs = split(inp, {.axis = "z",
                        .n_out = 3,
                        .strip_singleton_dims = true,
                        .name = "zsplit"});
  ASSERT_EQ(pieces.size(), 3u);
  ASSERT_EQ(zs.size(), 3u);
  Array x = randomArray(s, 91);
  auto outs = run({pieces[0], pieces[1], pieces[2], zs[2]}, {{"image", x}});
  const int64_t lo[3] = {0, 1, 3}, hi[3] = {1, 3, 5};
  for (int k = 0; k < 3; ++k) {
    Shape ps{2, hi[k] - lo[k], 3, 2, 3};
    ASSERT_EQ(outs[k].shape(), ps);
    std::vector<double> ref;
    forEachIndex(ps, [&](const Shape &i) {
      Shape j(i);
      j[1] += lo[k];
      ref.push_back(at(x, j));
    });
    EXPECT_EQ(toDouble(outs[k]), ref) << "piece " << k;
  }
  ASSERT_EQ(outs[3].shape(), (Shape{2, 5, 2, 3}));
  std::vector<double> zref;
  forEachIndex(outs[3].shape(), [&](const Shape &i) {
    zref.push_back(at(x, {i[0], i[1], 2, i[2], i[3]}));
  });
  EXPECT_EQ(toDouble(outs[3]), zref);
  report("SplitAlongFAndStrippedZ", 0.0);
}

TEST_F(Lowering, ReshapeThenSoftmaxOverTheNewF) {
  Node inp = Input({2, 3, 4, 5}, "b,f,x,y", {.name = "image"});
  Node r = Reshape(inp, {2, 4, 3, 5}, "b,x,f,y");
  Node sm = Softmax(r);
  Array x = randomArray({2, 3, 4, 5}, 101, -2.f, 2.f);
  auto outs = run({r, sm}, {{"image", x}});
  ASSERT_EQ(outs[0].shape(), (Shape{2, 4, 3, 5}));
  EXPECT_EQ(toDouble(outs[0]), toDouble(x)); // C order: same data
  // softmax over axis 2 of the data viewed as [2, 4, 3, 5]
  std::vector<double> ref(x.size());
  for (int64_t a = 0; a < 8; ++a)
    for (int64_t y = 0; y < 5; ++y) {
      double m = -INFINITY, sum = 0;
      for (int64_t f = 0; f < 3; ++f)
        m = std::max(m, x.getFlat((a * 3 + f) * 5 + y));
      for (int64_t f = 0; f < 3; ++f)
        sum += std::exp(x.getFlat((a * 3 + f) * 5 + y) - m);
      for (int64_t f = 0; f < 3; ++f)
        ref[(a * 3 + f) * 5 + y] =
            std::exp(x.getFlat((a * 3 + f) * 5 + y) - m) / sum;
    }
  double e = maxRelErr(outs[1], ref);
  EXPECT_LE(e, kTol);
  report("ReshapeThenSoftmaxOverTheNewF", e);
}

TEST_F(Lowering, OneHotOfIntAndFloatLabels) {
  Node li = Input({2, 1, 3, 4}, "b,f,x,y", {.name = "li", .dtype = "int16"});
  Node lf = Input({2, 3, 1}, "b,x,f", {.name = "lf"});
  Node oi = OneHot(li, 4, {.name = "oi"});
  Node of = OneHot(lf, 3, {.name = "of"});
  Array iv(Shape{2, 1, 3, 4}, DType::Int16), fv(Shape{2, 3, 1});
  std::mt19937 gen(3);
  for (int64_t i = 0; i < iv.size(); ++i)
    iv.setFlat(i, static_cast<int>(gen() % 6) - 1);
  for (int64_t i = 0; i < fv.size(); ++i)
    fv.setFlat(i, static_cast<int>(gen() % 4));
  auto outs = run({oi, of}, {{"li", iv}, {"lf", fv}});
  ASSERT_EQ(outs[0].shape(), (Shape{2, 4, 3, 4}));
  ASSERT_EQ(outs[0].dtype(), DType::Float32);
  std::vector<double> r0, r1;
  forEachIndex({2, 4, 3, 4}, [&](const Shape &i) {
    r0.push_back(at(iv, {i[0], 0, i[2], i[3]}) == i[1] ? 1.0 : 0.0);
  });
  forEachIndex({2, 3, 3}, [&](const Shape &i) {
    r1.push_back(at(fv, {i[0], i[1], 0}) == i[2] ? 1.0 : 0.0);
  });
  EXPECT_EQ(toDouble(outs[0]), r0);
  ASSERT_EQ(outs[1].shape(), (Shape{2, 3, 3}));
  EXPECT_EQ(toDouble(outs[1]), r1);
  report("OneHotOfIntAndFloatLabels", 0.0);
}

TEST_F(Lowering, ValueNodeAndInitialStateLike) {
  Shape s{2, 3, 4, 5};
  Node inp = Input(s, "b,f,x,y", {.name = "image"});
  Array vv = randomArray(s, 111);
  Node val = ValueNode(s, "b,f,x,y", {.value = vv, .name = "val"});
  Node sum = Add(inp, val);
  Node init = InitialState_like(inp, 4, {.name = "init"});
  Array iv = randomArray({4}, 112);
  ParamValues pv;
  pv.set("value", iv);
  init.set_param_values(pv);
  Array x = randomArray(s, 113);
  auto outs = run({val, sum, init}, {{"image", x}});
  EXPECT_EQ(toDouble(outs[0]), toDouble(vv));
  std::vector<double> r1(x.size());
  for (int64_t i = 0; i < x.size(); ++i)
    r1[i] = x.getFlat(i) + vv.getFlat(i);
  double e = maxRelErr(outs[1], r1);
  EXPECT_LE(e, kTol);
  ASSERT_EQ(outs[2].shape(), (Shape{2, 4, 4, 5}));
  std::vector<double> r2;
  forEachIndex({2, 4, 4, 5},
               [&](const Shape &i) { r2.push_back(iv.getFlat(i[1])); });
  EXPECT_EQ(toDouble(outs[2]), r2);
  report("ValueNodeAndInitialStateLike", e);
}

//===----------------------------------------------------------------------===//
// 1-D and 2-D convolution
//===----------------------------------------------------------------------===//

TEST_F(Lowering, Conv1DAnd2D) {
  struct Case {
    Shape in;
    std::string tags;
    int64_t nf;
    Shape filter, pool;
    std::string mode, act;
  };
  const std::vector<Case> cases = {
      {{2, 3, 11}, "b,f,x", 4, {3}, {3}, "valid", "tanh"},
      {{1, 2, 9}, "b,f,x", 3, {5}, {}, "same", "relu"},
      {{1, 2, 7, 8}, "b,f,x,y", 3, {2, 3}, {2, 3}, "valid", "abs"},
      {{2, 3, 5, 4}, "b,f,x,y", 2, {3, 1}, {}, "full", "lin"},
      {{1, 2, 5, 7}, "b,f,x,y", 5, {3, 3}, {1, 1}, "same", "maxout 5"},
  };
  double worst = 0;
  for (size_t k = 0; k < cases.size(); ++k) {
    const Case &c = cases[k];
    SCOPED_TRACE("case " + std::to_string(k));
    model_manager.newmodel(name_ + "." + std::to_string(k));
    Node inp = Input(c.in, c.tags, {.name = "image"});
    Shape ws{c.nf, c.in[1]};
    ws.insert(ws.end(), c.filter.begin(), c.filter.end());
    Node conv = Conv(inp, c.nf, c.filter, c.pool,
                     {.conv_mode = c.mode,
                      .activation_func = c.act,
                      .w = randomArray(ws, 120 + k, -0.6f, 0.6f),
                      .b = randomArray({c.nf}, 130 + k)});
    Array x = randomArray(c.in, 140 + k);
    auto outs = run({conv}, {{"image", x}});
    // As 5-D with unit leading spatial axes.
    Shape5 xs = asShape5(c.in), wsh = asShape5(ws), cs, ps, es;
    int64_t pad[3] = {0, 0, 0}, p[3] = {1, 1, 1};
    for (size_t i = 0; i < c.filter.size(); ++i) {
      int64_t a = 3 - c.filter.size() + i, f = c.filter[i];
      pad[a] = c.mode == "valid" ? 0 : c.mode == "same" ? (f - 1) / 2 : f - 1;
      if (!c.pool.empty())
        p[a] = c.pool[i];
    }
    auto cv = conv3d(toDouble(x), xs, toDouble(param(conv, "w")), wsh, pad, cs);
    auto pooled = pool3d(cv, cs, p, p, "max", ps);
    auto ref = epilogue(pooled, ps, param(conv, "b"), c.act, es);
    Shape want{c.in[0], es.d[1]};
    for (size_t i = 0; i < c.filter.size(); ++i)
      want.push_back(es.d[5 - c.filter.size() + i]);
    ASSERT_EQ(outs[0].shape(), want);
    double e = maxRelErr(outs[0], ref);
    worst = std::max(worst, e);
    EXPECT_LE(e, kTol);
  }
  report("Conv1DAnd2D", worst);
}
