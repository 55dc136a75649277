//===- Classification.cpp - predicted classes and error rates -------------===//
//
// nm.classification: the first argmax per softmax block (or pred > 0.5
// without a softmax); nm.errors: the fraction of labels that differ from
// the predicted classes (a dense target is reduced to its labels first).
//
//===----------------------------------------------------------------------===//
#include "LossMath.h"
#include "LoweringContext.h"
#include "TensorUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <limits>

using namespace mlir;

namespace nm::compiler::lowering {

LogicalResult lower(ir::ClassificationOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  ::nm::TaggedShape ps = tagged(op.getPred());
  Value p = ctx.get(op.getPred());
  Type elt = eltOf(p);
  auto rt = plainType(op.getType());
  Type ielt = rt.getElementType();
  int64_t fI = ps.tagIndex('f');
  int64_t F = ps.shape()[fI];
  if (!softmaxIndep(op.getPred())) {
    // pred > 0.5
    if (rt.getShape() != ArrayRef<int64_t>(ps.shape()))
      return notImplemented(op, "thresholding with a changed 'f' size");
    return ctx.set(
        op, elementwise(b, loc, {p}, rt.getShape(), ielt,
                        [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                          Value gt = arith::CmpFOp::create(
                              nb, l, arith::CmpFPredicate::OGT, a[0],
                              fcst(nb, l, elt, 0.5));
                          return arith::ExtUIOp::create(nb, l, ielt, gt);
                        }));
  }
  int64_t nIndep = op.getNIndep(), C = F / nIndep;
  Value xs = splitAxis(b, loc, p, fI, nIndep, C);
  int64_t cI = fI + 1;
  int64_t rank = shapeOf(xs).size();
  Value m = reduceAxis(
      b, loc, xs, cI, elt,
      fcst(b, loc, elt, -std::numeric_limits<double>::infinity()), maxF);
  // First index attaining the maximum.
  SmallVector<int64_t> outSh = shapeOf(m);
  Value init = filled(b, loc, outSh, ielt, icst(b, loc, ielt, C));
  SmallVector<IT> its(rank, IT::parallel);
  its[cI] = IT::reduction;
  AffineMap red = dropDimMap(b, rank, cI);
  Value idx =
      generic(b, loc, {xs, m}, {b.getMultiDimIdentityMap(rank), red}, init, red,
              its, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                Value c = linalg::IndexOp::create(nb, l, cI);
                Value ci = arith::IndexCastOp::create(nb, l, ielt, c);
                Value eq = arith::CmpFOp::create(
                    nb, l, arith::CmpFPredicate::OEQ, a[0], a[1]);
                Value cand = arith::SelectOp::create(nb, l, eq, ci, a[2]);
                return arith::MinSIOp::create(nb, l, cand, a[2]);
              });
  return ctx.set(op, idx);
}

/// The labels (first argmax per block) of a dense Errors target.
static FailureOr<Value> denseErrorLabels(ir::ErrorsOp op,
                                         LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  ::nm::TaggedShape cs = tagged(op.getCls()), ts = tagged(op.getTarget());
  if (!cs.hasTag('f') || !ts.hasTag('f')) {
    op.emitError() << "errors needs an 'f' axis";
    return failure();
  }
  int64_t fI = cs.tagIndex('f');
  int64_t nIndep = cs.shape()[fI], Ft = ts.shape()[ts.tagIndex('f')];
  if (ts.tagIndex('f') != fI || nIndep < 1 || Ft % nIndep != 0) {
    op.emitError() << "errors: a dense target of " << Ft
                   << " features does not fit " << nIndep
                   << " independent classifications";
    return failure();
  }
  int64_t C = Ft / nIndep;
  // gt = argmax (first maximum) over each block of C target features.
  Value t = splitAxis(b, loc, ctx.get(op.getTarget()), fI, nIndep, C);
  Type tf = isa<FloatType>(eltOf(t)) ? eltOf(t) : Type(b.getF64Type());
  int64_t cI = fI + 1;
  int64_t rank = shapeOf(t).size();
  Value m =
      reduceAxis(b, loc, t, cI, tf,
                 fcst(b, loc, tf, -std::numeric_limits<double>::infinity()),
                 [&](OpBuilder &nb, Location l, Value x, Value acc) {
                   return Value(arith::MaximumFOp::create(
                       nb, l, toFloat(nb, l, x, tf), acc));
                 });
  Type i64 = b.getI64Type();
  SmallVector<int64_t> outSh = shapeOf(m);
  SmallVector<IT> its(rank, IT::parallel);
  its[cI] = IT::reduction;
  AffineMap red = dropDimMap(b, rank, cI);
  return generic(b, loc, {t, m}, {b.getMultiDimIdentityMap(rank), red},
                 filled(b, loc, outSh, i64, icst(b, loc, i64, C)), red, its,
                 [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                   Value c = arith::IndexCastOp::create(
                       nb, l, i64, linalg::IndexOp::create(nb, l, cI));
                   Value eq =
                       arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OEQ,
                                             toFloat(nb, l, a[0], tf), a[1]);
                   Value cand = arith::SelectOp::create(nb, l, eq, c, a[2]);
                   return arith::MinSIOp::create(nb, l, cand, a[2]);
                 });
}

LogicalResult lower(ir::ErrorsOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  Value cls = ctx.get(op.getCls()), t = ctx.get(op.getTarget());
  if (!op.getTargetIsSparse()) {
    FailureOr<Value> gt = denseErrorLabels(op, ctx);
    if (failed(gt))
      return failure();
    t = *gt;
  }
  if (shapeOf(cls) != shapeOf(t))
    return op.emitError() << "errors: labels and classes differ in shape";
  auto rt = plainType(op.getType());
  Type elt = rt.getElementType();
  int64_t rank = shapeOf(cls).size();
  int64_t n = 1;
  for (int64_t d : shapeOf(cls))
    n *= d;
  Type i64 = b.getI64Type();
  Value init = filled(b, loc, {}, i64, icst(b, loc, i64, 0));
  AffineMap id = b.getMultiDimIdentityMap(rank);
  SmallVector<IT> all(rank, IT::reduction);
  Value count = generic(
      b, loc, {cls, t}, {id, id}, init,
      AffineMap::get(rank, 0, {}, b.getContext()), all,
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        Value c = a[0];
        if (c.getType() != i64)
          c = arith::ExtSIOp::create(nb, l, i64, c);
        Value eq = labelEq(nb, l, a[1], c);
        Value ne = arith::XOrIOp::create(
            nb, l, eq, arith::ConstantOp::create(nb, l, nb.getBoolAttr(true)));
        return arith::AddIOp::create(nb, l, a[2],
                                     arith::ExtUIOp::create(nb, l, i64, ne));
      });
  int64_t orank = rt.getRank();
  AffineMap oid = b.getMultiDimIdentityMap(orank);
  SmallVector<IT> par(orank, IT::parallel);
  Value res =
      generic(b, loc, {count}, {AffineMap::get(orank, 0, {}, b.getContext())},
              emptyT(b, loc, rt.getShape(), elt), oid, par,
              [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                Value cf = arith::SIToFPOp::create(nb, l, elt, a[0]);
                return arith::DivFOp::create(
                    nb, l, cf, fcst(nb, l, elt, static_cast<double>(n)));
              });
  return ctx.set(op, res);
}

} // namespace nm::compiler::lowering
