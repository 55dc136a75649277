//===- ActivationGradients.cpp - gradient of nm.bias_activation -----------===//
//
// The activations that --nm-decompose-layers cannot turn into an nm.apply
// (prelu, whose slope is the bias tensor's second column, and maxout,
// which reduces groups of r features), differentiated over the
// features-last layout the forward epilogue (Epilogue.cpp) computes in.
// The bias gradient sums over every axis but 'f' in a fixed order.
//
//===----------------------------------------------------------------------===//
#include "LoweringContext.h"
#include "TensorUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace nm::compiler::lowering {

/// Column `col` of a [F, 2] tensor.
static Value column(OpBuilder &b, Location loc, Value m, int64_t col) {
  int64_t F = shapeOf(m)[0];
  SmallVector<OpFoldResult> off{b.getIndexAttr(0), b.getIndexAttr(col)},
      sz{b.getIndexAttr(F), b.getIndexAttr(1)},
      st{b.getIndexAttr(1), b.getIndexAttr(1)};
  return tensor::ExtractSliceOp::create(
      b, loc, RankedTensorType::get({F}, eltOf(m)), m, off, sz, st);
}

/// The sum over every axis but the last of `v` [..., F], as [F].
static Value sumToLast(OpBuilder &b, Location loc, Value v) {
  SmallVector<int64_t> sh = shapeOf(v);
  int64_t rank = sh.size();
  Type elt = eltOf(v);
  SmallVector<IT> its(rank, IT::reduction);
  its.back() = IT::parallel;
  return generic(
      b, loc, {v}, {b.getMultiDimIdentityMap(rank)},
      filled(b, loc, {sh.back()}, elt, fcst(b, loc, elt, 0.0)),
      AffineMap::get(rank, 0, {b.getAffineDimExpr(rank - 1)}, b.getContext()),
      its, [](OpBuilder &nb, Location l, ValueRange a) {
        return addF(nb, l, a[1], a[0]);
      });
}

LogicalResult lower(ir::BiasActivationGradOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  ::nm::TaggedShape xs = tagged(op.getX());
  int64_t fI = xs.tagIndex('f');
  SmallVector<int64_t> perm;
  for (int64_t i = 0; i < xs.ndim(); ++i)
    if (i != fI)
      perm.push_back(i);
  perm.push_back(fI);
  Value x = transposeT(b, loc, ctx.get(op.getX()), perm);
  Value dy = transposeT(b, loc, ctx.get(op.getDy()), perm);
  Value bias = ctx.get(op.getB());
  ::nm::Activation act = ir::activationOf(op.getActivation());
  bool prelu = act.kind == ::nm::ActivationKind::PRelu;
  SmallVector<int64_t> sh = shapeOf(x);
  int64_t rank = sh.size(), F = sh.back();
  Type elt = eltOf(x);
  MLIRContext *mctx = b.getContext();
  AffineMap id = b.getMultiDimIdentityMap(rank);
  AffineMap fmap =
      AffineMap::get(rank, 0, {b.getAffineDimExpr(rank - 1)}, mctx);
  SmallVector<IT> par(rank, IT::parallel);
  Value b0 = prelu ? column(b, loc, bias, 0) : bias;
  // z = x + b, the activation's input.
  Value z = generic(b, loc, {x, b0}, {id, fmap}, emptyT(b, loc, sh, elt), id,
                    par, [](OpBuilder &nb, Location l, ValueRange a) {
                      return addF(nb, l, a[0], a[1]);
                    });
  auto positive = [&](OpBuilder &nb, Location l, Value v) -> Value {
    return arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OGT, v,
                                 fcst(nb, l, elt, 0.0));
  };
  Value dz;
  if (prelu) {
    // prelu(z) = z > 0 ? z : slope z (Activations.cpp).
    Value slope = column(b, loc, bias, 1);
    dz =
        generic(b, loc, {z, dy, slope}, {id, id, fmap}, emptyT(b, loc, sh, elt),
                id, par, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                  Value d =
                      arith::SelectOp::create(nb, l, positive(nb, l, a[0]),
                                              fcst(nb, l, elt, 1.0), a[2]);
                  return arith::MulFOp::create(nb, l, d, a[1]);
                });
    if (op.getWrtBias()) {
      // [F, 2]: column 0 sums dz, column 1 sums dy * min-part of z.
      Value extent = emptyT(b, loc, {2}, elt);
      int64_t R = rank + 1;
      SmallVector<AffineExpr> first;
      for (int64_t i = 0; i < rank; ++i)
        first.push_back(b.getAffineDimExpr(i));
      AffineMap inMap = AffineMap::get(R, 0, first, mctx);
      SmallVector<IT> its(R, IT::reduction);
      its[rank - 1] = IT::parallel;
      its[rank] = IT::parallel;
      Value g = generic(
          b, loc, {z, dy, dz, extent},
          {inMap, inMap, inMap,
           AffineMap::get(R, 0, {b.getAffineDimExpr(rank)}, mctx)},
          filled(b, loc, {F, 2}, elt, fcst(b, loc, elt, 0.0)),
          AffineMap::get(
              R, 0, {b.getAffineDimExpr(rank - 1), b.getAffineDimExpr(rank)},
              mctx),
          its, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
            Value isSlope = arith::CmpIOp::create(
                nb, l, arith::CmpIPredicate::eq,
                linalg::IndexOp::create(nb, l, rank), idxC(nb, l, 1));
            Value neg = arith::SelectOp::create(nb, l, positive(nb, l, a[0]),
                                                fcst(nb, l, elt, 0.0), a[0]);
            Value ds = arith::MulFOp::create(nb, l, a[1], neg);
            return addF(nb, l, a[4],
                        arith::SelectOp::create(nb, l, isSlope, ds, a[2]));
          });
      return ctx.set(op, g);
    }
  } else if (act.kind == ::nm::ActivationKind::Maxout) {
    int64_t r = act.maxout;
    if (F % r != 0)
      return op.emitError() << "maxout " << r << " of " << F << " features";
    // A gather over z's elements: feature j belongs to group j / r
    // (features r g .. r g + r - 1, as the forward's maxoutReduce).
    dz = gather(
        b, loc, sh, elt,
        [&](OpBuilder &nb, Location l, ArrayRef<Value> idx) -> Value {
          SmallVector<Value> at(idx.begin(), idx.end());
          Value j = idx.back();
          Value rc = idxC(nb, l, r);
          Value g = arith::DivUIOp::create(nb, l, j, rc);
          Value first = arith::MulIOp::create(nb, l, g, rc);
          Value mx;
          for (int64_t i = 0; i < r; ++i) {
            at.back() = arith::AddIOp::create(nb, l, first, idxC(nb, l, i));
            Value v = tensor::ExtractOp::create(nb, l, z, at);
            mx = mx ? Value(arith::MaximumFOp::create(nb, l, mx, v)) : v;
          }
          at.back() = j;
          Value zj = tensor::ExtractOp::create(nb, l, z, at);
          at.back() = g;
          Value dyg = tensor::ExtractOp::create(nb, l, dy, at);
          Value isMax =
              arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OEQ, zj, mx);
          return arith::SelectOp::create(nb, l, isMax, dyg,
                                         fcst(nb, l, elt, 0.0));
        });
  } else if (act.kind == ::nm::ActivationKind::Linear) {
    dz = dy;
  } else {
    return notImplemented(op, "the gradient of '" + ::nm::activationText(act) +
                                  "'");
  }
  if (op.getWrtBias())
    return ctx.set(op, sumToLast(b, loc, dz));
  return ctx.set(op, transposeT(b, loc, dz, inversePerm(perm)));
}

} // namespace nm::compiler::lowering
