//===- Optimisers.cpp - ELEKTRONN2's parameter updates --------------------===//
//
// One linalg.generic per parameter computes the new parameter and the new
// optimiser state together (reference §6.6). The hyper-parameters are read
// from the runtime `hyper` vector [lr, mom, wd, beta2, t, adagrad_first],
// so changing them compiles nothing; Adam's bias factor is computed once
// from t outside the loop.
//
//===----------------------------------------------------------------------===//
#include "LossMath.h"
#include "LoweringContext.h"
#include "TensorUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace nm::compiler::lowering {

namespace {
/// The hyper-parameters as scalars of the parameter's element type.
struct Hyper {
  Value lr, mom, wd, beta2, t, first;
};
} // namespace

static Hyper readHyper(OpBuilder &b, Location loc, Value hyper, Type elt) {
  auto at = [&](int64_t i) -> Value {
    Value v =
        tensor::ExtractOp::create(b, loc, hyper, ValueRange{idxC(b, loc, i)});
    Type ht = v.getType();
    if (ht == elt)
      return v;
    if (ht.getIntOrFloatBitWidth() > elt.getIntOrFloatBitWidth())
      return arith::TruncFOp::create(b, loc, elt, v);
    return arith::ExtFOp::create(b, loc, elt, v);
  };
  return {at(0), at(1), at(2), at(3), at(4), at(5)};
}

LogicalResult lower(ir::OptimizerUpdateOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  Value p = ctx.get(op.getParam()), g = ctx.get(op.getGrad());
  SmallVector<int64_t> sh = shapeOf(p);
  Type elt = eltOf(p);
  if (!isa<FloatType>(elt))
    return op.emitError() << "optimiser update of a non-float parameter";
  Hyper h = readHyper(b, loc, ctx.get(op.getHyper()), elt);
  StringRef opt = op.getOptimiser();
  double decay = op.getDecay().convertToDouble();
  ScalarMath m{b, loc, elt};
  // wd * multiplier; AdaGrad decays every apply_reg parameter by 1 x wd.
  Value wdm =
      m.mul(h.wd, m.c(opt == "AdaGrad" ? (decay > 0 ? 1.0 : 0.0) : decay));
  // Adam's factor = sqrt(1 - beta2^t) / (1 - beta1^t), beta1 = mom.
  Value factor;
  if (opt == "Adam") {
    Value b2t = math::PowFOp::create(b, loc, h.beta2, h.t);
    Value b1t = math::PowFOp::create(b, loc, h.mom, h.t);
    factor = arith::DivFOp::create(
        b, loc, math::SqrtOp::create(b, loc, m.sub(m.c(1.0), b2t)),
        m.sub(m.c(1.0), b1t));
  }
  SmallVector<Value> ins{p, g};
  for (Value s : op.getState())
    ins.push_back(ctx.get(s));
  int64_t rank = sh.size();
  int64_t nOut = 1 + op.getState().size();
  SmallVector<Value> inits;
  for (int64_t i = 0; i < nOut; ++i)
    inits.push_back(emptyT(b, loc, sh, elt));
  AffineMap id = b.getMultiDimIdentityMap(rank);
  SmallVector<AffineMap> maps(ins.size() + nOut, id);
  const double eps = 1e-5;
  auto gen = linalg::GenericOp::create(
      b, loc, TypeRange(ValueRange(inits)), ins, inits, maps,
      SmallVector<IT>(rank, IT::parallel),
      [&](OpBuilder &nb, Location l, ValueRange a) {
        ScalarMath s{nb, l, elt};
        Value pv = a[0], gv = a[1];
        auto sqrt = [&](Value v) -> Value {
          return math::SqrtOp::create(nb, l, v);
        };
        auto div = [&](Value x, Value y) -> Value {
          return arith::DivFOp::create(nb, l, x, y);
        };
        Value g2 = s.mul(gv, gv);
        Value decayed = s.mul(wdm, pv);
        SmallVector<Value> out;
        if (opt == "SGD") {
          Value d = s.add(gv, s.mul(h.mom, a[2]));
          out = {s.sub(pv, s.mul(h.lr, s.add(d, decayed))), d};
        } else if (opt == "AdaGrad") {
          // The init pass of the first step adds g^2 once more. Where h
          // stays 0 (g == 0 so far) the step is 0, not ELEKTRONN2's 0/0.
          Value hv = s.add(s.add(a[2], g2), s.mul(h.first, g2));
          Value rate = div(h.lr, sqrt(hv));
          Value zero = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OEQ,
                                             hv, s.c(0.0));
          Value step = arith::SelectOp::create(nb, l, zero, s.c(0.0),
                                               s.mul(rate, s.add(gv, decayed)));
          out = {s.sub(pv, step), hv};
        } else if (opt == "AdaDelta") {
          Value rho = h.mom, one = s.c(1.0);
          Value sv = a[2], dv = a[3];
          Value sNew = s.add(s.mul(rho, sv), s.mul(s.sub(one, rho), g2));
          Value dir = div(s.mul(gv, sqrt(s.add(dv, s.c(eps)))),
                          sqrt(s.add(sv, s.c(eps))));
          Value dNew =
              s.add(s.mul(rho, dv), s.mul(s.sub(one, rho), s.mul(dir, dir)));
          out = {s.sub(pv, s.mul(h.lr, s.add(dir, decayed))), sNew, dNew};
        } else {
          Value b1 = h.mom, b2 = h.beta2, one = s.c(1.0);
          Value mNew = s.add(s.mul(b1, a[2]), s.mul(s.sub(one, b1), gv));
          Value sNew = s.add(s.mul(b2, a[3]), s.mul(s.sub(one, b2), g2));
          Value dir = div(s.mul(factor, mNew), sqrt(s.add(sNew, s.c(eps))));
          out = {s.sub(pv, s.mul(h.lr, s.add(dir, decayed))), mNew, sNew};
        }
        linalg::YieldOp::create(nb, l, out);
      });
  return setResults(ctx, op, gen.getResults());
}

} // namespace nm::compiler::lowering
