//===- NmToLinalgTest.cpp - nm -> linalg lowering, end to end -------------===//
//
// Each test builds a small model with the frontend API, imports it
// (importModel), lowers it (lowerNmToLinalg), compiles it with the CPU back
// end, runs it on random inputs with the nodes' parameters and compares with
// plain-loop references written here (computed in double).
//
// Error metric: max_i |got_i - ref_i| / max_i |ref_i| (the error relative to
// the tensor's scale; a pointwise relative error is meaningless for conv
// outputs that cancel to ~0). Bound: 1e-5 unless stated.
//
//===----------------------------------------------------------------------===//
#include "neuromancer/compiler/conversion/NmToLinalg.h"
#include "neuromancer/compiler/Importer.h"
#include "neuromancer/compiler/codegen/CodeGen.h"
#include "neuromancer/compiler/jit/JitLoader.h"
#include "neuromancer/neuromancer.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <random>

using namespace nm;

namespace {

constexpr double kTol = 1e-5;

class Lowering : public ::testing::Test {
protected:
  void SetUp() override {
    const auto *info = ::testing::UnitTest::GetInstance()->current_test_info();
    name_ = std::string(info->test_suite_name()) + "." + info->name();
    model_manager.newmodel(name_);
  }
  void TearDown() override {
    for (const std::string &n : model_manager.names())
      model_manager.remove(n);
  }
  std::string name_;
};

std::vector<float> randomVector(int64_t n, unsigned seed, float lo = -1.f,
                                float hi = 1.f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float &x : v)
    x = d(gen);
  return v;
}

int64_t prod(const std::vector<int64_t> &s) {
  int64_t p = 1;
  for (int64_t v : s)
    p *= v;
  return p;
}

Array randomArray(std::vector<int64_t> shape, unsigned seed, float lo = -1.f,
                  float hi = 1.f) {
  int64_t n = prod(shape);
  return Array::fromVector(std::move(shape), randomVector(n, seed, lo, hi));
}

std::vector<double> toDouble(const Array &a) {
  std::vector<double> v(a.size());
  for (int64_t i = 0; i < a.size(); ++i)
    v[i] = a.getFlat(i);
  return v;
}

double maxRelErr(const Array &got, const std::vector<double> &ref) {
  EXPECT_EQ(got.size(), static_cast<int64_t>(ref.size()));
  double scale = 0, err = 0;
  for (size_t i = 0; i < ref.size(); ++i)
    scale = std::max(scale, std::abs(ref[i]));
  for (size_t i = 0; i < ref.size() && static_cast<int64_t>(i) < got.size();
       ++i)
    err = std::max(err, std::abs(got.getFlat(i) - ref[i]));
  return scale > 0 ? err / scale : err;
}

/// Imports, lowers, compiles and runs `outputs`. Inputs by node name;
/// parameters come from the current model.
std::vector<Array> run(const std::vector<Node> &outputs,
                       const std::map<std::string, Array> &inputs,
                       std::string *loweredIR = nullptr) {
  mlir::MLIRContext ctx;
  compiler::loadImporterDialects(ctx);
  auto module = compiler::importModel(ctx, outputs, "f");
  if (!module)
    throw std::runtime_error("import failed");
  std::string diag;
  {
    mlir::ScopedDiagnosticHandler h(&ctx, [&](mlir::Diagnostic &d) {
      diag += d.str() + "\n";
      return mlir::success();
    });
    if (mlir::failed(compiler::lowerNmToLinalg(*module)))
      throw std::runtime_error("lowering failed: " + diag);
  }
  if (mlir::failed(mlir::verify(*module)))
    throw std::runtime_error("lowered module does not verify");
  if (loweredIR) {
    llvm::raw_string_ostream os(*loweredIR);
    module->print(os);
  }
  if (std::getenv("NM_DUMP_LOWERED"))
    module->print(llvm::errs());
  codegen::CompileOptions options;
  auto object = codegen::compileToObject(*module, options);
  if (!object)
    throw std::runtime_error(llvm::toString(object.takeError()));
  auto exes = jit::loadObject(object->object, object->functions);
  if (!exes)
    throw std::runtime_error(llvm::toString(exes.takeError()));
  const Executable &exe = *(*exes)[0];
  const FunctionSignature &sig = exe.signature();
  std::map<std::string, Array> params;
  for (auto &[node, values] : model_manager.getmodel().get_param_values())
    for (auto &[pname, arr] : values)
      params.emplace(node + "_" + pname, arr);
  std::vector<const Array *> ins, ps;
  for (const ArgSpec &a : sig.inputs)
    ins.push_back(&inputs.at(a.name));
  for (const ArgSpec &a : sig.parameters)
    ps.push_back(&params.at(a.name));
  std::vector<Array> outs;
  for (const ArgSpec &a : sig.outputs)
    outs.emplace_back(a.shape, a.dtype);
  std::vector<Array *> op;
  for (Array &a : outs)
    op.push_back(&a);
  exe.call(ins, ps, op);
  return outs;
}

/// Diagnostics of lowering `outputs` (expects failure).
std::string lowerError(const std::vector<Node> &outputs) {
  mlir::MLIRContext ctx;
  compiler::loadImporterDialects(ctx);
  auto module = compiler::importModel(ctx, outputs, "f");
  if (!module)
    return "import failed";
  std::string diag;
  mlir::ScopedDiagnosticHandler h(&ctx, [&](mlir::Diagnostic &d) {
    diag += d.str() + "\n";
    return mlir::success();
  });
  if (mlir::succeeded(compiler::lowerNmToLinalg(*module)))
    return "";
  return diag;
}

// 5-D b,f,z,x,y index helpers.
struct Shape5 {
  int64_t d[5];
  int64_t size() const { return d[0] * d[1] * d[2] * d[3] * d[4]; }
  int64_t at(int64_t b, int64_t f, int64_t z, int64_t x, int64_t y) const {
    return (((b * d[1] + f) * d[2] + z) * d[3] + x) * d[4] + y;
  }
};

/// Valid cross-correlation of x [B,C,Z,X,Y] (padded by `pad` zeros) with
/// w [F,C,kz,kx,ky].
std::vector<double> conv3d(const std::vector<double> &x, Shape5 xs,
                           const std::vector<double> &w, Shape5 ws,
                           const int64_t pad[3], Shape5 &os) {
  os = {{xs.d[0], ws.d[0], xs.d[2] + 2 * pad[0] - ws.d[2] + 1,
         xs.d[3] + 2 * pad[1] - ws.d[3] + 1,
         xs.d[4] + 2 * pad[2] - ws.d[4] + 1}};
  std::vector<double> o(os.size(), 0.0);
  for (int64_t b = 0; b < os.d[0]; ++b)
    for (int64_t f = 0; f < os.d[1]; ++f)
      for (int64_t z = 0; z < os.d[2]; ++z)
        for (int64_t i = 0; i < os.d[3]; ++i)
          for (int64_t j = 0; j < os.d[4]; ++j) {
            double acc = 0;
            for (int64_t c = 0; c < xs.d[1]; ++c)
              for (int64_t a = 0; a < ws.d[2]; ++a)
                for (int64_t p = 0; p < ws.d[3]; ++p)
                  for (int64_t q = 0; q < ws.d[4]; ++q) {
                    int64_t zz = z + a - pad[0], xx = i + p - pad[1],
                            yy = j + q - pad[2];
                    if (zz < 0 || xx < 0 || yy < 0 || zz >= xs.d[2] ||
                        xx >= xs.d[3] || yy >= xs.d[4])
                      continue;
                    acc += x[xs.at(b, c, zz, xx, yy)] * w[ws.at(f, c, a, p, q)];
                  }
            o[os.at(b, f, z, i, j)] = acc;
          }
  return o;
}

/// Pooling with window p, stride s, offsets o (MFP slices), mode.
std::vector<double> pool3d(const std::vector<double> &x, Shape5 xs,
                           const int64_t p[3], const int64_t s[3],
                           const std::string &mode, Shape5 &os,
                           const int64_t off[3] = nullptr,
                           const int64_t len[3] = nullptr) {
  int64_t L[3], O[3] = {0, 0, 0};
  for (int k = 0; k < 3; ++k) {
    L[k] = len ? len[k] : xs.d[k + 2];
    if (off)
      O[k] = off[k];
  }
  os = {{xs.d[0], xs.d[1], (L[0] - p[0]) / s[0] + 1, (L[1] - p[1]) / s[1] + 1,
         (L[2] - p[2]) / s[2] + 1}};
  std::vector<double> o(os.size());
  for (int64_t b = 0; b < os.d[0]; ++b)
    for (int64_t f = 0; f < os.d[1]; ++f)
      for (int64_t z = 0; z < os.d[2]; ++z)
        for (int64_t i = 0; i < os.d[3]; ++i)
          for (int64_t j = 0; j < os.d[4]; ++j) {
            double acc = mode == "max" ? -INFINITY : 0.0;
            for (int64_t a = 0; a < p[0]; ++a)
              for (int64_t c = 0; c < p[1]; ++c)
                for (int64_t e = 0; e < p[2]; ++e) {
                  double v = x[xs.at(b, f, O[0] + z * s[0] + a,
                                     O[1] + i * s[1] + c, O[2] + j * s[2] + e)];
                  acc = mode == "max" ? std::max(acc, v) : acc + v;
                }
            if (mode == "average")
              acc /= static_cast<double>(p[0] * p[1] * p[2]);
            o[os.at(b, f, z, i, j)] = acc;
          }
  return o;
}

double softplusD(double x) { return std::log1p(std::exp(x)); }
double eluD(double x, double a) { return x > 0 ? x : a * (std::exp(x) - 1); }

double activate(const std::string &a, double x, double slope = 0) {
  if (a == "tanh")
    return std::tanh(x);
  if (a == "relu")
    return std::max(x, 0.0);
  if (a == "prelu")
    return x > 0 ? x : slope * x;
  if (a == "elu")
    return eluD(x, 1.0);
  if (a == "selu")
    return 1.0507009873554805 * eluD(x, 1.6732632423543772);
  if (a == "abs")
    return std::abs(x);
  if (a == "sig" || a == "logistic" || a == "sigmoid")
    return 1.0 / (1.0 + std::exp(-x));
  if (a == "soft+")
    return softplusD(x);
  if (a == "lin" || a == "linear")
    return x;
  if (a == "concentration")
    return 7 * softplusD(x) + 2;
  if (a == "radius")
    return 3 + 15 * std::exp(0.15 * x);
  if (a == "exp")
    return std::exp(x);
  if (a == "log")
    return std::log(x);
  if (a == "sqrt")
    return std::sqrt(x);
  if (a == "square")
    return x * x;
  if (a == "neg")
    return -x;
  throw std::runtime_error("no reference for " + a);
}

/// bias (+prelu slope) + activation over f of a [B,F,...] tensor; maxout r.
std::vector<double> epilogue(const std::vector<double> &y, Shape5 ys,
                             const Array &b, const std::string &act,
                             Shape5 &os) {
  int64_t r = 0;
  if (act.rfind("maxout", 0) == 0)
    r = std::stoll(act.substr(6));
  bool prelu = act == "prelu";
  std::vector<double> t(y.size());
  for (int64_t n = 0; n < ys.d[0]; ++n)
    for (int64_t f = 0; f < ys.d[1]; ++f)
      for (int64_t s = 0; s < ys.d[2] * ys.d[3] * ys.d[4]; ++s) {
        int64_t i = (n * ys.d[1] + f) * ys.d[2] * ys.d[3] * ys.d[4] + s;
        double bias = prelu ? b.getFlat(2 * f) : b.getFlat(f);
        double slope = prelu ? b.getFlat(2 * f + 1) : 0;
        t[i] = r ? y[i] + bias : activate(act, y[i] + bias, slope);
      }
  os = ys;
  if (!r)
    return t;
  os.d[1] = ys.d[1] / r;
  int64_t S = ys.d[2] * ys.d[3] * ys.d[4];
  std::vector<double> o(os.size(), -INFINITY);
  for (int64_t n = 0; n < os.d[0]; ++n)
    for (int64_t j = 0; j < os.d[1]; ++j)
      for (int64_t i = 0; i < r; ++i)
        for (int64_t s = 0; s < S; ++s)
          o[(n * os.d[1] + j) * S + s] =
              std::max(o[(n * os.d[1] + j) * S + s],
                       t[(n * ys.d[1] + i + r * j) * S + s]);
  return o;
}

Shape5 shape5(const std::vector<int64_t> &s) {
  return {{s[0], s[1], s[2], s[3], s[4]}};
}

} // namespace

//===----------------------------------------------------------------------===//
// Conv + pool + every activation
//===----------------------------------------------------------------------===//

TEST_F(Lowering, ConvPoolAllActivations) {
  const std::vector<std::string> acts = {
      "tanh",     "relu",    "prelu",         "elu",    "selu",
      "abs",      "sig",     "soft+",         "lin",    "linear",
      "logistic", "sigmoid", "concentration", "radius", "maxout 2"};
  double worst = 0;
  for (size_t k = 0; k < acts.size(); ++k) {
    SCOPED_TRACE(acts[k]);
    model_manager.newmodel(name_ + "." + std::to_string(k));
    Node inp = Input({1, 3, 5, 9, 8}, "b,f,z,x,y", {.name = "image"});
    bool prelu = acts[k] == "prelu";
    Array w = randomArray({4, 3, 2, 2, 3}, 10 + k, -0.5f, 0.5f);
    Array b = prelu ? randomArray({4, 2}, 20 + k, 0.1f, 0.9f)
                    : randomArray({4}, 20 + k, -0.5f, 0.5f);
    Node c = Conv(inp, 4, {2, 2, 3}, {1, 2, 2},
                  {.activation_func = acts[k], .w = w, .b = b});
    Array x = randomArray({1, 3, 5, 9, 8}, 30 + k);
    auto outs = run({c}, {{"image", x}});
    // reference: conv -> pool -> bias -> activation
    Shape5 cs, ps, es;
    const int64_t zero[3] = {0, 0, 0}, p[3] = {1, 2, 2};
    auto conv = conv3d(toDouble(x), shape5(x.shape()), toDouble(w),
                       shape5(w.shape()), zero, cs);
    auto pooled = pool3d(conv, cs, p, p, "max", ps);
    auto ref = epilogue(pooled, ps, b, acts[k], es);
    ASSERT_EQ(outs[0].shape(), (std::vector<int64_t>{1, es.d[1], 4, 4, 3}));
    double e = maxRelErr(outs[0], ref);
    worst = std::max(worst, e);
    EXPECT_LE(e, kTol);
  }
  RecordProperty("max_rel_err", std::to_string(worst));
  std::printf("ConvPoolAllActivations: max rel err %.3g\n", worst);
}

TEST_F(Lowering, ConvModesValidSameFull) {
  for (std::string mode : {"valid", "same", "full"}) {
    SCOPED_TRACE(mode);
    model_manager.newmodel(name_ + "." + mode);
    Node inp = Input({2, 2, 5, 7, 6}, "b,f,z,x,y", {.name = "image"});
    Array w = randomArray({3, 2, 3, 3, 1}, 1, -0.5f, 0.5f);
    Array b = randomArray({3}, 2);
    Node c =
        Conv(inp, 3, {3, 3, 1}, {},
             {.conv_mode = mode, .activation_func = "tanh", .w = w, .b = b});
    Array x = randomArray({2, 2, 5, 7, 6}, 3);
    auto outs = run({c}, {{"image", x}});
    int64_t pad[3];
    int64_t k[3] = {3, 3, 1};
    for (int i = 0; i < 3; ++i)
      pad[i] = mode == "valid" ? 0 : mode == "same" ? (k[i] - 1) / 2 : k[i] - 1;
    Shape5 cs, es;
    auto conv = conv3d(toDouble(x), shape5(x.shape()), toDouble(w),
                       shape5(w.shape()), pad, cs);
    auto ref = epilogue(conv, cs, b, "tanh", es);
    ASSERT_EQ(outs[0].shape(),
              (std::vector<int64_t>{2, 3, cs.d[2], cs.d[3], cs.d[4]}));
    EXPECT_LE(maxRelErr(outs[0], ref), kTol);
  }
}

TEST_F(Lowering, ConvBatchNormPredict) {
  Node inp = Input({1, 2, 4, 5, 5}, "b,f,z,x,y", {.name = "image"});
  Array w = randomArray({3, 2, 1, 2, 2}, 1), b = randomArray({3}, 2);
  Array gamma = randomArray({3}, 3, 0.5f, 2.f), mean = randomArray({3}, 4),
        sd = randomArray({3}, 5, 0.5f, 2.f);
  Node c = Conv(inp, 3, {1, 2, 2}, {},
                {.activation_func = "abs",
                 .batch_normalisation = "predict",
                 .w = w,
                 .b = b,
                 .gamma = gamma,
                 .mean = mean,
                 .std = sd});
  Array x = randomArray({1, 2, 4, 5, 5}, 6);
  auto outs = run({c}, {{"image", x}});
  Shape5 cs;
  const int64_t zero[3] = {0, 0, 0};
  auto conv = conv3d(toDouble(x), shape5(x.shape()), toDouble(w),
                     shape5(w.shape()), zero, cs);
  int64_t S = cs.d[2] * cs.d[3] * cs.d[4];
  std::vector<double> ref(conv.size());
  for (int64_t f = 0; f < 3; ++f)
    for (int64_t s = 0; s < S; ++s) {
      double g = gamma.getFlat(f), m = mean.getFlat(f), d = sd.getFlat(f);
      double lin = conv[f * S + s];
      ref[f * S + s] = std::abs(g / d * lin + b.getFlat(f) - g * m / d);
    }
  EXPECT_LE(maxRelErr(outs[0], ref), kTol);
}

//===----------------------------------------------------------------------===//
// MFP and FragmentsToDense
//===----------------------------------------------------------------------===//

TEST_F(Lowering, MfpConvAndFragmentsToDense) {
  Node inp = Input({1, 2, 5, 9, 8}, "b,f,z,x,y", {.name = "image"});
  Array w = randomArray({3, 2, 2, 3, 2}, 1, -0.5f, 0.5f),
        b = randomArray({3}, 2);
  Node c = Conv(inp, 3, {2, 3, 2}, {1, 2, 2},
                {.activation_func = "relu", .mfp = true, .w = w, .b = b});
  Node d = FragmentsToDense(c);
  Array x = randomArray({1, 2, 5, 9, 8}, 3);
  auto outs = run({c, d}, {{"image", x}});
  Shape5 cs;
  const int64_t zero[3] = {0, 0, 0}, p[3] = {1, 2, 2};
  auto conv = conv3d(toDouble(x), shape5(x.shape()), toDouble(w),
                     shape5(w.shape()), zero, cs); // L = (4, 7, 7)
  // Fragments in itertools.product order, stacked fragment-major on b.
  std::vector<double> ref;
  Shape5 fs{};
  for (int64_t a = 0; a < 1; ++a)
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t j = 0; j < 2; ++j) {
        const int64_t off[3] = {a, i, j};
        const int64_t len[3] = {cs.d[2] - p[0] + 1, cs.d[3] - p[1] + 1,
                                cs.d[4] - p[2] + 1};
        Shape5 ps, es;
        auto pooled = pool3d(conv, cs, p, p, "max", ps, off, len);
        auto e = epilogue(pooled, ps, b, "relu", es);
        fs = es;
        ref.insert(ref.end(), e.begin(), e.end());
      }
  ASSERT_EQ(outs[0].shape(), (std::vector<int64_t>{4, 3, 4, 3, 3}));
  EXPECT_LE(maxRelErr(outs[0], ref), kTol);
  // Dense: fragment (i, j) -> out[..., i::2, j::2] (offsets of MFP).
  ASSERT_EQ(outs[1].shape(), (std::vector<int64_t>{1, 3, 4, 6, 6}));
  Shape5 ds{{1, 3, 4, 6, 6}};
  std::vector<double> dense(ds.size());
  for (int64_t fr = 0; fr < 4; ++fr)
    for (int64_t f = 0; f < 3; ++f)
      for (int64_t z = 0; z < 4; ++z)
        for (int64_t i = 0; i < 3; ++i)
          for (int64_t j = 0; j < 3; ++j)
            dense[ds.at(0, f, z, 2 * i + fr / 2, 2 * j + fr % 2)] =
                ref[fs.at(fr, f, z, i, j)];
  EXPECT_LE(maxRelErr(outs[1], dense), kTol);
}

//===----------------------------------------------------------------------===//
// Softmax, NLL, AggregateLoss, Classification, Errors
//===----------------------------------------------------------------------===//

TEST_F(Lowering, SoftmaxSparseNllAggregateErrors) {
  Node inp = Input({2, 3, 3, 5, 4}, "b,f,z,x,y", {.name = "image"});
  Node logits = Conv(inp, 4, {1, 2, 1}, {},
                     {.activation_func = "lin",
                      .w = randomArray({4, 3, 1, 2, 1}, 1, -1.f, 1.f),
                      .b = randomArray({4}, 2)});
  Node pred = Softmax(logits);
  Node target =
      Input_like(pred, {.override_f = 1, .name = "target", .dtype = "int16"});
  Node nll = MultinoulliNLL(pred, target, {.target_is_sparse = true});
  Node loss = AggregateLoss(nll, {.name = "loss"});
  Node errors = Errors(pred, target, {.target_is_sparse = true});
  Array x = randomArray({2, 3, 3, 5, 4}, 3, -2.f, 2.f);
  Array t(std::vector<int64_t>{2, 1, 3, 4, 4}, DType::Int16);
  std::mt19937 gen(7);
  for (int64_t i = 0; i < t.size(); ++i)
    t.setFlat(i, static_cast<int>(gen() % 6) - 1); // -1..4: -1 and 4 unlabelled
  auto outs = run({pred, nll, loss, errors}, {{"image", x}, {"target", t}});
  // Reference.
  auto params = model_manager.getmodel().get_param_values();
  const Array &w = params.at(logits.name()).at("w");
  const Array &b = params.at(logits.name()).at("b");
  Shape5 cs, es;
  const int64_t zero[3] = {0, 0, 0};
  auto conv = conv3d(toDouble(x), shape5(x.shape()), toDouble(w),
                     shape5(w.shape()), zero, cs);
  auto lin = epilogue(conv, cs, b, "lin", es);
  int64_t C = 4, S = 3 * 4 * 4;
  std::vector<double> p(lin.size());
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t s = 0; s < S; ++s) {
      double m = -INFINITY, sum = 0;
      for (int64_t c = 0; c < C; ++c)
        m = std::max(m, lin[(n * C + c) * S + s]);
      for (int64_t c = 0; c < C; ++c)
        sum += std::exp(lin[(n * C + c) * S + s] - m);
      for (int64_t c = 0; c < C; ++c)
        p[(n * C + c) * S + s] = std::exp(lin[(n * C + c) * S + s] - m) / sum;
    }
  EXPECT_LE(maxRelErr(outs[0], p), kTol);
  // NLL per voxel and the aggregate: sum -log p_label / (n_labelled + eps).
  double nUp = 0, total = 0, wrong = 0;
  std::vector<double> nllRef(2 * S);
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t s = 0; s < S; ++s) {
      int lbl = static_cast<int>(t.getFlat(n * S + s));
      double v = 0;
      if (lbl >= 0 && lbl < C) {
        nUp += 1;
        v = -std::log(
            static_cast<double>(static_cast<float>(p[(n * C + lbl) * S + s])) +
            1e-5);
      }
      nllRef[n * S + s] = v;
      total += v;
      int64_t best = 0;
      for (int64_t c = 1; c < C; ++c)
        if (p[(n * C + c) * S + s] > p[(n * C + best) * S + s])
          best = c;
      wrong += best != lbl;
    }
  double size = 2.0 * C * S;
  for (double &v : nllRef)
    v = v * size / (nUp + 1e-5) / C;
  EXPECT_LE(maxRelErr(outs[1], nllRef), kTol);
  ASSERT_EQ(outs[2].shape(), (std::vector<int64_t>{1}));
  EXPECT_NEAR(outs[2].getFlat(0), total / (nUp + 1e-5),
              kTol * std::abs(total / nUp));
  ASSERT_EQ(outs[3].shape(), (std::vector<int64_t>{1}));
  EXPECT_NEAR(outs[3].getFlat(0), wrong / (2.0 * S), 1e-7);
  EXPECT_GT(wrong, 0);
}

TEST_F(Lowering, SoftmaxIndependentBlocksAndClassification) {
  Node inp = Input({1, 6, 2, 3, 3}, "b,f,z,x,y", {.name = "image"});
  Node pred = Softmax(inp, {.n_indep = 2});
  Node cls = Classification(pred);
  Array x = randomArray({1, 6, 2, 3, 3}, 1, -3.f, 3.f);
  auto outs = run({pred, cls}, {{"image", x}});
  int64_t S = 18;
  std::vector<double> ref(6 * S), cref(2 * S);
  for (int64_t blk = 0; blk < 2; ++blk)
    for (int64_t s = 0; s < S; ++s) {
      double m = -INFINITY, sum = 0;
      int64_t best = 0;
      for (int64_t c = 0; c < 3; ++c) {
        double v = x.getFlat((blk * 3 + c) * S + s);
        if (v > m) {
          m = v;
          best = c;
        }
      }
      for (int64_t c = 0; c < 3; ++c)
        sum += std::exp(x.getFlat((blk * 3 + c) * S + s) - m);
      for (int64_t c = 0; c < 3; ++c)
        ref[(blk * 3 + c) * S + s] =
            std::exp(x.getFlat((blk * 3 + c) * S + s) - m) / sum;
      cref[blk * S + s] = best;
    }
  EXPECT_LE(maxRelErr(outs[0], ref), kTol);
  ASSERT_EQ(outs[1].dtype(), DType::Int64);
  EXPECT_EQ(toDouble(outs[1]), cref);
}

//===----------------------------------------------------------------------===//
// Pool modes, crop/pad/concat/add/mult/apply, perceptron
//===----------------------------------------------------------------------===//

TEST_F(Lowering, PoolModes) {
  for (std::string mode : {"max", "average", "sum"}) {
    SCOPED_TRACE(mode);
    model_manager.newmodel(name_ + "." + mode);
    Node inp = Input({1, 3, 5, 9, 8}, "b,f,z,x,y", {.name = "image"});
    Node p = Pool(inp, {1, 3, 2}, {.stride = {1, 2, 2}, .mode = mode});
    Array x = randomArray({1, 3, 5, 9, 8}, 4);
    auto outs = run({p}, {{"image", x}});
    Shape5 os;
    const int64_t w[3] = {1, 3, 2}, s[3] = {1, 2, 2};
    auto ref = pool3d(toDouble(x), shape5(x.shape()), w, s, mode, os);
    ASSERT_EQ(outs[0].shape(), (std::vector<int64_t>{1, 3, 5, 4, 4}));
    EXPECT_LE(maxRelErr(outs[0], ref), kTol);
  }
}

TEST_F(Lowering, CropPadConcatAddMultApply) {
  Node a = Input({1, 2, 5, 7, 6}, "b,f,z,x,y", {.name = "a"});
  Node bb = Input({1, 3, 3, 5, 4}, "b,f,z,x,y", {.name = "bb"});
  Node cropped = Crop(a, {1, 1, 1});                  // (1,2,3,5,4)
  Node cat = Concat({cropped, bb});                   // (1,5,3,5,4)
  Node padded = Pad(cat, {0, 1, 2}, {.value = 0.25}); // (1,5,3,7,8)
  Node sq = ApplyFunc(bb, "square");
  Node sum = Add(bb, sq);
  Node prodn = MultMerge(sum, bb);
  Node ex = ApplyFunc(prodn, "exp");
  Array xa = randomArray({1, 2, 5, 7, 6}, 1),
        xb = randomArray({1, 3, 3, 5, 4}, 2);
  auto outs = run({padded, ex}, {{"a", xa}, {"bb", xb}});
  Shape5 as = shape5(xa.shape()), bs = shape5(xb.shape());
  Shape5 ps{{1, 5, 3, 7, 8}};
  std::vector<double> ref(ps.size(), 0.25);
  for (int64_t f = 0; f < 5; ++f)
    for (int64_t z = 0; z < 3; ++z)
      for (int64_t i = 0; i < 5; ++i)
        for (int64_t j = 0; j < 4; ++j) {
          double v = f < 2 ? xa.getFlat(as.at(0, f, z + 1, i + 1, j + 1))
                           : xb.getFlat(bs.at(0, f - 2, z, i, j));
          ref[ps.at(0, f, z, i + 1, j + 2)] = v;
        }
  ASSERT_EQ(outs[0].shape(), (std::vector<int64_t>{1, 5, 3, 7, 8}));
  EXPECT_LE(maxRelErr(outs[0], ref), kTol);
  std::vector<double> r2(xb.size());
  for (int64_t i = 0; i < xb.size(); ++i) {
    double v = xb.getFlat(i);
    r2[i] = std::exp((v + v * v) * v);
  }
  EXPECT_LE(maxRelErr(outs[1], r2), kTol);
}

TEST_F(Lowering, ApplyFunctions) {
  double worst = 0;
  for (std::string fn : {"log", "sqrt", "neg", "tanh", "elu", "soft+", "radius",
                         "selu", "sig"}) {
    SCOPED_TRACE(fn);
    model_manager.newmodel(name_ + "." + fn);
    Node a = Input({2, 3, 4}, "b,f,x", {.name = "a"});
    Node y = ApplyFunc(a, fn);
    bool positive = fn == "log" || fn == "sqrt";
    Array x = randomArray({2, 3, 4}, 5, positive ? 0.1f : -3.f, 3.f);
    auto outs = run({y}, {{"a", x}});
    std::vector<double> ref(x.size());
    for (int64_t i = 0; i < x.size(); ++i)
      ref[i] = activate(fn, x.getFlat(i));
    double e = maxRelErr(outs[0], ref);
    worst = std::max(worst, e);
    EXPECT_LE(e, kTol);
  }
  std::printf("ApplyFunctions: max rel err %.3g\n", worst);
}

TEST_F(Lowering, PerceptronOverFAndFlattened) {
  Node inp = Input({2, 3, 2, 3, 2}, "b,f,z,x,y", {.name = "image"});
  Array w1 = randomArray({3, 5}, 1), b1 = randomArray({5}, 2);
  Node d1 = Perceptron(inp, 5, {.activation_func = "tanh", .w = w1, .b = b1});
  Array w2 = randomArray({36, 4}, 3), b2 = randomArray({4}, 4);
  Node d2 = Perceptron(inp, 4,
                       {.activation_func = "relu",
                        .flatten = true,
                        .name = "flat",
                        .w = w2,
                        .b = b2});
  Array x = randomArray({2, 3, 2, 3, 2}, 5);
  auto outs = run({d1, d2}, {{"image", x}});
  int64_t S = 12;
  std::vector<double> r1(2 * 5 * S), r2(2 * 4);
  for (int64_t n = 0; n < 2; ++n) {
    for (int64_t j = 0; j < 5; ++j)
      for (int64_t s = 0; s < S; ++s) {
        double acc = b1.getFlat(j);
        for (int64_t i = 0; i < 3; ++i)
          acc += x.getFlat((n * 3 + i) * S + s) * w1.getFlat(i * 5 + j);
        r1[(n * 5 + j) * S + s] = std::tanh(acc);
      }
    for (int64_t j = 0; j < 4; ++j) {
      double acc = b2.getFlat(j);
      for (int64_t k = 0; k < 36; ++k)
        acc += x.getFlat(n * 36 + k) * w2.getFlat(k * 4 + j);
      r2[n * 4 + j] = std::max(acc, 0.0);
    }
  }
  ASSERT_EQ(outs[0].shape(), (std::vector<int64_t>{2, 5, 2, 3, 2}));
  EXPECT_LE(maxRelErr(outs[0], r1), kTol);
  ASSERT_EQ(outs[1].shape(), (std::vector<int64_t>{2, 4}));
  EXPECT_LE(maxRelErr(outs[1], r2), kTol);
}

//===----------------------------------------------------------------------===//
// The seed model's structure, reduced
//===----------------------------------------------------------------------===//

TEST_F(Lowering, ReducedSeedModelSoftmaxIsAProbabilityMap) {
  // examples::cnn3d's layers (same filters, pools and activations) with
  // fewer features and a smaller input.
  Node image = Input({1, 3, 9, 31, 31}, "b,f,z,x,y", {.name = "image"});
  Node conv0 = Conv(image, 4, {1, 6, 6}, {1, 2, 2});
  Node conv1 = Conv(conv0, 6, {4, 6, 6}, {2, 2, 2});
  Node conv2 = Conv(conv1, 5, {3, 3, 3}, {1, 1, 1}, {.activation_func = "lin"});
  Node pred = Softmax(conv2);
  Array x = Array::full({1, 3, 9, 31, 31}, 1.0);
  std::string ir;
  auto outs = run({pred}, {{"image", x}}, &ir);
  EXPECT_NE(ir.find("linalg.conv_3d_ndhwc_dhwcf"), std::string::npos);
  EXPECT_NE(ir.find("linalg.pooling_ndhwc_max"), std::string::npos);
  EXPECT_EQ(ir.find("nm."), ir.find("nm.name")) << "no nm op left";
  const Array &p = outs[0];
  ASSERT_EQ(p.shape(), (std::vector<int64_t>{1, 5, 1, 2, 2}));
  for (int64_t s = 0; s < 4; ++s) {
    double sum = 0;
    for (int64_t f = 0; f < 5; ++f) {
      double v = p.getFlat(f * 4 + s);
      EXPECT_GT(v, 0.0);
      EXPECT_LT(v, 1.0);
      sum += v;
    }
    EXPECT_NEAR(sum, 1.0, 1e-5);
  }
}

//===----------------------------------------------------------------------===//
// Diagnostics
//===----------------------------------------------------------------------===//

TEST_F(Lowering, UnsupportedOpsGetADiagnostic) {
  Node inp = Input({1, 2, 3, 5, 5}, "b,f,z,x,y", {.name = "image"});
  Node lrn = LRN(inp, {1, 3, 3});
  EXPECT_NE(lowerError({lrn}).find(
                "lowering of 'nm.lrn' to linalg is not implemented yet"),
            std::string::npos)
      << lowerError({lrn});
}

TEST_F(Lowering, DynamicSizesAreRejected) {
  Node inp = Input({None, 2, 3, 5, 5}, "b,f,z,x,y", {.name = "image"});
  Node c = Conv(inp, 2, {1, 2, 2});
  EXPECT_NE(lowerError({c}).find(
                "dynamic sizes (None) must be fixed before compiling"),
            std::string::npos)
      << lowerError({c});
}

TEST_F(Lowering, SignatureNamesInputsParamsAndResults) {
  Node inp = Input({1, 2, 3, 5, 5}, "b,f,z,x,y", {.name = "image"});
  Node c = Conv(inp, 2, {1, 2, 2}, {}, {.name = "c0"});
  mlir::MLIRContext ctx;
  compiler::loadImporterDialects(ctx);
  auto module = compiler::importModel(ctx, {c}, "f");
  ASSERT_TRUE(module);
  ASSERT_TRUE(mlir::succeeded(compiler::lowerNmToLinalg(*module)));
  std::string ir;
  llvm::raw_string_ostream os(ir);
  module->print(os);
  EXPECT_NE(ir.find("{nm.name = \"image\"}"), std::string::npos) << ir;
  EXPECT_NE(ir.find("{nm.name = \"c0_w\", nm.parameter}"), std::string::npos)
      << ir;
  EXPECT_NE(ir.find("{nm.name = \"c0\"}"), std::string::npos) << ir;
  EXPECT_EQ(ir.find("#nm.tagged"), std::string::npos) << ir;
}
