//===- ElementwiseGradients.cpp - seeds, sums, elementwise gradients ------===//
//
// The backward ops that act on each element alone, and those that move
// elements (the gradients of crop, pad and concat).
//
//===----------------------------------------------------------------------===//
#include "Activations.h"
#include "LoweringContext.h"
#include "TensorUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace nm::compiler::lowering {

LogicalResult lower(ir::FillOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  auto rt = plainType(op.getType());
  Type elt = rt.getElementType();
  return ctx.set(
      op, filled(b, op.getLoc(), rt.getShape(), elt,
                 fcst(b, op.getLoc(), elt, op.getValue().convertToDouble())));
}

LogicalResult lower(ir::AccumulateOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  auto rt = plainType(op.getType());
  return ctx.set(op, elementwise(b, op.getLoc(),
                                 {ctx.get(op.getLhs()), ctx.get(op.getRhs())},
                                 rt.getShape(), rt.getElementType(),
                                 [](OpBuilder &nb, Location l, ValueRange a) {
                                   return addF(nb, l, a[0], a[1]);
                                 }));
}

LogicalResult lower(ir::RetagOp op, LoweringContext &ctx) {
  return ctx.set(op, ctx.get(op.getInput()));
}

LogicalResult lower(ir::BroadcastGradOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  auto rt = plainType(op.getType());
  Value g = ctx.get(op.getGrad());
  int64_t gRank = shapeOf(g).size(), rank = rt.getRank();
  SmallVector<AffineExpr> zeros(gRank, b.getAffineConstantExpr(0));
  AffineMap gMap = AffineMap::get(rank, 0, zeros, b.getContext());
  double scale = op.getScale().convertToDouble();
  Type elt = rt.getElementType();
  return ctx.set(
      op, generic(b, loc, {g}, {gMap}, emptyT(b, loc, rt.getShape(), elt),
                  b.getMultiDimIdentityMap(rank),
                  SmallVector<IT>(rank, IT::parallel),
                  [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                    return arith::MulFOp::create(nb, l, a[0],
                                                 fcst(nb, l, elt, scale));
                  }));
}

/// The derivative of the named activation / ApplyFunc function at x.
static FailureOr<Value> derivative(OpBuilder &b, Location l, StringRef name,
                                   Value x) {
  Type t = x.getType();
  auto c = [&](double v) { return fcst(b, l, t, v); };
  auto mul = [&](Value p, Value q) -> Value {
    return arith::MulFOp::create(b, l, p, q);
  };
  auto sigmoid = [&](Value v) -> Value {
    Value e = math::ExpOp::create(b, l, arith::NegFOp::create(b, l, v));
    return arith::DivFOp::create(b, l, c(1.0),
                                 arith::AddFOp::create(b, l, c(1.0), e));
  };
  auto positive = [&](Value v) -> Value {
    return arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT, v, c(0.0));
  };
  if (name == "lin" || name == "linear")
    return c(1.0);
  if (name == "relu")
    return Value(arith::SelectOp::create(b, l, positive(x), c(1.0), c(0.0)));
  if (name == "tanh") {
    Value th = math::TanhOp::create(b, l, x);
    return Value(arith::SubFOp::create(b, l, c(1.0), mul(th, th)));
  }
  if (name == "sig" || name == "logistic" || name == "sigmoid") {
    Value s = sigmoid(x);
    return mul(s, arith::SubFOp::create(b, l, c(1.0), s));
  }
  if (name == "elu" || name == "selu") {
    bool selu = name == "selu";
    Value neg =
        mul(c(selu ? 1.6732632423543772 : 1.0), math::ExpOp::create(b, l, x));
    Value d = arith::SelectOp::create(b, l, positive(x), c(1.0), neg);
    return selu ? mul(c(1.0507009873554805), d) : d;
  }
  if (name == "abs") {
    Value neg =
        arith::CmpFOp::create(b, l, arith::CmpFPredicate::OLT, x, c(0.0));
    return Value(arith::SelectOp::create(
        b, l, positive(x), c(1.0),
        arith::SelectOp::create(b, l, neg, c(-1.0), c(0.0))));
  }
  if (name == "soft+" || name == "softplus")
    return sigmoid(x);
  if (name == "concentration")
    return mul(c(7.0), sigmoid(x));
  if (name == "radius")
    return mul(c(15.0 * 0.15), math::ExpOp::create(b, l, mul(c(0.15), x)));
  if (name == "exp")
    return Value(math::ExpOp::create(b, l, x));
  if (name == "log")
    return Value(arith::DivFOp::create(b, l, c(1.0), x));
  if (name == "sqrt")
    return Value(
        arith::DivFOp::create(b, l, c(0.5), math::SqrtOp::create(b, l, x)));
  if (name == "square")
    return mul(c(2.0), x);
  if (name == "neg")
    return c(-1.0);
  return failure();
}

LogicalResult lower(ir::ApplyGradOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  Value x = ctx.get(op.getX()), dy = ctx.get(op.getDy());
  StringRef name = op.getFunc();
  bool known = true;
  Value r = elementwise(b, loc, {x, dy}, shapeOf(x), eltOf(x),
                        [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                          FailureOr<Value> d = derivative(nb, l, name, a[0]);
                          if (failed(d)) {
                            known = false;
                            return a[1];
                          }
                          return arith::MulFOp::create(nb, l, *d, a[1]);
                        });
  if (!known)
    return notImplemented(op, ("the derivative of '" + name + "'").str());
  return ctx.set(op, r);
}

LogicalResult lower(ir::CropGradOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  ::nm::TaggedShape xs = *ir::getTaggedShape(op.getType());
  SmallVector<int64_t> lo(xs.ndim(), 0);
  ArrayRef<int64_t> crop = op.getCrop();
  std::vector<int64_t> sp = xs.spatialAxes();
  for (size_t j = 0; j < sp.size() && j < crop.size(); ++j)
    lo[sp[j]] = crop[j];
  Value dy = ctx.get(op.getDy());
  return ctx.set(
      op, padded(b, loc, dy, lo, xs.shape(), fcst(b, loc, eltOf(dy), 0.0)));
}

/// `v`'s block of `shape` at `offsets`.
static Value extractBlock(OpBuilder &b, Location loc, Value v,
                          ArrayRef<int64_t> offsets, ArrayRef<int64_t> shape) {
  SmallVector<OpFoldResult> off, sz, st;
  for (size_t i = 0; i < shape.size(); ++i) {
    off.push_back(b.getIndexAttr(offsets[i]));
    sz.push_back(b.getIndexAttr(shape[i]));
    st.push_back(b.getIndexAttr(1));
  }
  return tensor::ExtractSliceOp::create(b, loc, v, off, sz, st);
}

LogicalResult lower(ir::PadGradOp op, LoweringContext &ctx) {
  ::nm::TaggedShape xs = *ir::getTaggedShape(op.getType());
  SmallVector<int64_t> off(xs.ndim(), 0);
  ArrayRef<int64_t> pad = op.getPad();
  std::vector<int64_t> sp = xs.spatialAxes();
  for (size_t j = 0; j < sp.size() && j < pad.size(); ++j)
    off[sp[j]] = pad[j];
  return ctx.set(op, extractBlock(ctx.builder(), op.getLoc(),
                                  ctx.get(op.getDy()), off, xs.shape()));
}

LogicalResult lower(ir::SliceGradOp op, LoweringContext &ctx) {
  ::nm::TaggedShape xs = *ir::getTaggedShape(op.getType());
  std::string axis = op.getAxis().str();
  if (axis.size() != 1 || !xs.hasTag(axis[0]))
    return op.emitError() << "slice_grad: no axis '" << axis << "'";
  SmallVector<int64_t> off(xs.ndim(), 0);
  off[xs.tagIndex(axis[0])] = op.getStart();
  return ctx.set(op, extractBlock(ctx.builder(), op.getLoc(),
                                  ctx.get(op.getDy()), off, xs.shape()));
}

} // namespace nm::compiler::lowering

namespace nm::compiler::lowering {

LogicalResult lower(ir::EmbedGradOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  ::nm::TaggedShape xs = *ir::getTaggedShape(op.getType());
  int64_t axis = xs.tagIndex(op.getAxis()[0]);
  Value dy = ctx.get(op.getDy());
  if (op.getStripSingletonDims())
    dy = insertUnitAxis(b, loc, dy, axis);
  SmallVector<int64_t> lo(xs.ndim(), 0);
  lo[axis] = op.getStart();
  return ctx.set(
      op, padded(b, loc, dy, lo, xs.shape(), fcst(b, loc, eltOf(dy), 0.0)));
}

} // namespace nm::compiler::lowering
