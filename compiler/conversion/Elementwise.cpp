//===- Elementwise.cpp - elementwise arithmetic and ApplyFunc -------------===//
//
// nm.add and nm.mult (float or integer) and nm.apply (an activation or
// elementwise function, Activations.h) as one linalg.generic each.
//
//===----------------------------------------------------------------------===//
#include "Activations.h"
#include "LoweringContext.h"
#include "TensorUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;

namespace nm::compiler::lowering {

/// Elementwise binary nm op -> one linalg.generic with FloatOp or IntOp.
template <typename FloatOp, typename IntOp, typename NmOp>
static LogicalResult lowerBinary(NmOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  auto rt = plainType(op.getType());
  Type elt = rt.getElementType();
  return ctx.set(
      op,
      elementwise(b, op.getLoc(), {ctx.get(op.getLhs()), ctx.get(op.getRhs())},
                  rt.getShape(), elt,
                  [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                    if (isa<FloatType>(elt))
                      return FloatOp::create(nb, l, a[0], a[1]);
                    return IntOp::create(nb, l, a[0], a[1]);
                  }));
}

LogicalResult lower(ir::AddOp op, LoweringContext &ctx) {
  return lowerBinary<arith::AddFOp, arith::AddIOp>(op, ctx);
}

LogicalResult lower(ir::MultOp op, LoweringContext &ctx) {
  return lowerBinary<arith::MulFOp, arith::MulIOp>(op, ctx);
}

LogicalResult lower(ir::ApplyOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  auto rt = plainType(op.getType());
  Type elt = rt.getElementType();
  StringRef fn = op.getFunc();
  if (!isa<FloatType>(elt) || fn == "prelu" || fn.starts_with("maxout"))
    return notImplemented(op, ("function '" + fn + "'").str());
  bool bad = false;
  Value r =
      elementwise(b, op.getLoc(), {ctx.get(op.getInput())}, rt.getShape(), elt,
                  [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                    auto v = scalarFunction(nb, l, fn, a[0]);
                    if (failed(v)) {
                      bad = true;
                      return a[0];
                    }
                    return *v;
                  });
  if (bad)
    return op.emitError() << "unknown function '" << fn << "'";
  return ctx.set(op, r);
}

} // namespace nm::compiler::lowering
