//===- LoweringTestUtil.h - helpers of the nm -> linalg tests ---*- C++ -*-===//
//
// Shared by the lowering tests: random inputs, the error metric, running a
// model (or nm IR text) through importer -> convert-nm-to-linalg -> CPU
// codegen -> JIT, and plain-loop references (computed in double).
//
// Error metric: max_i |got_i - ref_i| / max_i |ref_i| (the error relative to
// the tensor's scale; a pointwise relative error is meaningless for conv
// outputs that cancel to ~0). Bound: 1e-5 unless stated.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_TESTS_CONVERSION_LOWERINGTESTUTIL_H
#define NEUROMANCER_TESTS_CONVERSION_LOWERINGTESTUTIL_H

#include "neuromancer/compiler/Importer.h"
#include "neuromancer/compiler/codegen/CodeGen.h"
#include "neuromancer/compiler/conversion/NmToLinalg.h"
#include "neuromancer/compiler/jit/JitLoader.h"
#include "neuromancer/neuromancer.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <random>

namespace nm::lowering_test {

inline constexpr double kTol = 1e-5;

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

inline std::vector<float> randomVector(int64_t n, unsigned seed,
                                       float lo = -1.f, float hi = 1.f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float &x : v)
    x = d(gen);
  return v;
}

inline int64_t prod(const std::vector<int64_t> &s) {
  int64_t p = 1;
  for (int64_t v : s)
    p *= v;
  return p;
}

inline Array randomArray(std::vector<int64_t> shape, unsigned seed,
                         float lo = -1.f, float hi = 1.f) {
  int64_t n = prod(shape);
  return Array::fromVector(std::move(shape), randomVector(n, seed, lo, hi));
}

inline std::vector<double> toDouble(const Array &a) {
  std::vector<double> v(a.size());
  for (int64_t i = 0; i < a.size(); ++i)
    v[i] = a.getFlat(i);
  return v;
}

inline double maxRelErr(const Array &got, const std::vector<double> &ref) {
  EXPECT_EQ(got.size(), static_cast<int64_t>(ref.size()));
  double scale = 0, err = 0;
  for (size_t i = 0; i < ref.size(); ++i)
    scale = std::max(scale, std::abs(ref[i]));
  for (size_t i = 0; i < ref.size() && static_cast<int64_t>(i) < got.size();
       ++i)
    err = std::max(err, std::abs(got.getFlat(i) - ref[i]));
  return scale > 0 ? err / scale : err;
}

/// Lowers `module` (nm IR), compiles and runs its function with inputs and
/// parameters looked up by name in `inputs` and then `params`.
inline std::vector<Array>
lowerAndRun(mlir::ModuleOp module, const std::map<std::string, Array> &inputs,
            const std::map<std::string, Array> &params,
            std::string *loweredIR = nullptr) {
  std::string diag;
  {
    mlir::ScopedDiagnosticHandler h(module.getContext(),
                                    [&](mlir::Diagnostic &d) {
                                      diag += d.str() + "\n";
                                      return mlir::success();
                                    });
    if (mlir::failed(compiler::lowerNmToLinalg(module)))
      throw std::runtime_error("lowering failed: " + diag);
  }
  if (mlir::failed(mlir::verify(module)))
    throw std::runtime_error("lowered module does not verify");
  if (loweredIR) {
    llvm::raw_string_ostream os(*loweredIR);
    module->print(os);
  }
  if (std::getenv("NM_DUMP_LOWERED"))
    module->print(llvm::errs());
  codegen::CompileOptions options;
  auto object = codegen::compileToObject(module, options);
  if (!object)
    throw std::runtime_error(llvm::toString(object.takeError()));
  auto exes = jit::loadObject(object->object, object->functions);
  if (!exes)
    throw std::runtime_error(llvm::toString(exes.takeError()));
  const Executable &exe = *(*exes)[0];
  const FunctionSignature &sig = exe.signature();
  std::vector<const Array *> ins, ps;
  for (const ArgSpec &a : sig.inputs)
    ins.push_back(&inputs.at(a.name));
  for (const ArgSpec &a : sig.parameters)
    ps.push_back(inputs.count(a.name) ? &inputs.at(a.name)
                                      : &params.at(a.name));
  std::vector<Array> outs;
  for (const ArgSpec &a : sig.outputs)
    outs.emplace_back(a.shape, a.dtype);
  std::vector<Array *> op;
  for (Array &a : outs)
    op.push_back(&a);
  exe.call(ins, ps, op);
  return outs;
}

/// Imports, lowers, compiles and runs `outputs`. Inputs by node name;
/// parameters come from the current model.
inline std::vector<Array> run(const std::vector<Node> &outputs,
                              const std::map<std::string, Array> &inputs,
                              std::string *loweredIR = nullptr) {
  mlir::MLIRContext ctx;
  compiler::loadImporterDialects(ctx);
  auto module = compiler::importModel(ctx, outputs, "f");
  if (!module)
    throw std::runtime_error("import failed");
  std::map<std::string, Array> params;
  for (auto &[node, values] : model_manager.getmodel().get_param_values())
    for (auto &[pname, arr] : values)
      params.emplace(node + "_" + pname, arr);
  return lowerAndRun(*module, inputs, params, loweredIR);
}

/// Parses nm IR `text`, lowers, compiles and runs it; inputs and
/// parameters by their nm.input / nm.param names.
inline std::vector<Array> runText(const std::string &text,
                                  const std::map<std::string, Array> &args) {
  mlir::MLIRContext ctx;
  compiler::loadImporterDialects(ctx);
  std::string diag;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  {
    mlir::ScopedDiagnosticHandler h(&ctx, [&](mlir::Diagnostic &d) {
      diag += d.str() + "\n";
      return mlir::success();
    });
    module = mlir::parseSourceString<mlir::ModuleOp>(text, &ctx);
  }
  if (!module)
    throw std::runtime_error("cannot parse the nm IR: " + diag);
  return lowerAndRun(*module, args, {});
}

/// Diagnostics of lowering `outputs` (expects failure).
inline std::string lowerError(const std::vector<Node> &outputs) {
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

/// Diagnostics of lowering nm IR `text` (expects failure).
inline std::string lowerTextError(const std::string &text) {
  mlir::MLIRContext ctx;
  compiler::loadImporterDialects(ctx);
  std::string diag;
  mlir::ScopedDiagnosticHandler h(&ctx, [&](mlir::Diagnostic &d) {
    diag += d.str() + "\n";
    return mlir::success();
  });
  auto module = mlir::parseSourceString<mlir::ModuleOp>(text, &ctx);
  if (!module)
    return "parse failed: " + diag;
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
inline std::vector<double> conv3d(const std::vector<double> &x, Shape5 xs,
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
inline std::vector<double> pool3d(const std::vector<double> &x, Shape5 xs,
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

inline double softplusD(double x) { return std::log1p(std::exp(x)); }
inline double eluD(double x, double a) {
  return x > 0 ? x : a * (std::exp(x) - 1);
}

inline double activate(const std::string &a, double x, double slope = 0) {
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
inline std::vector<double> epilogue(const std::vector<double> &y, Shape5 ys,
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

inline Shape5 shape5(const std::vector<int64_t> &s) {
  return {{s[0], s[1], s[2], s[3], s[4]}};
}

} // namespace nm::lowering_test

#endif // NEUROMANCER_TESTS_CONVERSION_LOWERINGTESTUTIL_H
