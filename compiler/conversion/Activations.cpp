//===- Activations.cpp - activations and ApplyFunc functions on scalars ---===//
//
// See Activations.h.
//
//===----------------------------------------------------------------------===//
#include "Activations.h"

#include "TensorUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;

namespace nm::compiler::lowering {

Value softplus(OpBuilder &b, Location l, Value x) {
  // max(x, 0) + log1p(exp(-|x|)): no overflow for large |x|.
  Type t = x.getType();
  Value zero = fcst(b, l, t, 0.0);
  Value ax = math::AbsFOp::create(b, l, x);
  Value nax = arith::NegFOp::create(b, l, ax);
  Value e = math::ExpOp::create(b, l, nax);
  Value lp = math::Log1pOp::create(b, l, e);
  return arith::AddFOp::create(b, l, arith::MaximumFOp::create(b, l, x, zero),
                               lp);
}

static Value eluScalar(OpBuilder &b, Location l, Value x, double alpha) {
  Type t = x.getType();
  Value zero = fcst(b, l, t, 0.0);
  Value one = fcst(b, l, t, 1.0);
  Value em1 = arith::SubFOp::create(b, l, math::ExpOp::create(b, l, x), one);
  Value neg = arith::MulFOp::create(b, l, fcst(b, l, t, alpha), em1);
  Value pos = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT, x, zero);
  return arith::SelectOp::create(b, l, pos, x, neg);
}

FailureOr<Value> scalarFunction(OpBuilder &b, Location l, StringRef name,
                                Value x, Value slope) {
  Type t = x.getType();
  if (name == "lin" || name == "linear")
    return x;
  if (name == "tanh")
    return Value(math::TanhOp::create(b, l, x));
  if (name == "relu")
    return Value(arith::MaximumFOp::create(b, l, x, fcst(b, l, t, 0.0)));
  if (name == "prelu") {
    if (!slope)
      return failure();
    Value pos = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT, x,
                                      fcst(b, l, t, 0.0));
    return Value(arith::SelectOp::create(
        b, l, pos, x, arith::MulFOp::create(b, l, slope, x)));
  }
  if (name == "elu")
    return eluScalar(b, l, x, 1.0);
  if (name == "selu")
    return Value(arith::MulFOp::create(b, l, fcst(b, l, t, 1.0507009873554805),
                                       eluScalar(b, l, x, 1.6732632423543772)));
  if (name == "abs")
    return Value(math::AbsFOp::create(b, l, x));
  if (name == "sig" || name == "logistic" || name == "sigmoid") {
    Value one = fcst(b, l, t, 1.0);
    Value e = math::ExpOp::create(b, l, arith::NegFOp::create(b, l, x));
    return Value(
        arith::DivFOp::create(b, l, one, arith::AddFOp::create(b, l, one, e)));
  }
  if (name == "soft+" || name == "softplus")
    return softplus(b, l, x);
  if (name == "concentration")
    return Value(arith::AddFOp::create(
        b, l,
        arith::MulFOp::create(b, l, fcst(b, l, t, 7.0), softplus(b, l, x)),
        fcst(b, l, t, 2.0)));
  if (name == "radius") {
    Value e = math::ExpOp::create(
        b, l, arith::MulFOp::create(b, l, fcst(b, l, t, 0.15), x));
    return Value(arith::AddFOp::create(
        b, l, fcst(b, l, t, 3.0),
        arith::MulFOp::create(b, l, fcst(b, l, t, 15.0), e)));
  }
  if (name == "exp")
    return Value(math::ExpOp::create(b, l, x));
  if (name == "log")
    return Value(math::LogOp::create(b, l, x));
  if (name == "sqrt")
    return Value(math::SqrtOp::create(b, l, x));
  if (name == "square")
    return Value(arith::MulFOp::create(b, l, x, x));
  if (name == "neg")
    return Value(arith::NegFOp::create(b, l, x));
  return failure();
}

} // namespace nm::compiler::lowering
