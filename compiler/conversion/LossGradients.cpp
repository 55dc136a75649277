//===- LossGradients.cpp - gradients of softmax and the losses ------------===//
//
// Each gradient differentiates the forward formula of Losses.cpp exactly
// (ELEKTRONN2's eps, scales and unlabelled markers included), so finite
// differences of the compiled loss agree with it.
//
//===----------------------------------------------------------------------===//
#include "LoweringContext.h"
#include "LossMath.h"
#include "TensorUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;

namespace nm::compiler::lowering {

LogicalResult lower(ir::SoftmaxGradOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  ::nm::TaggedShape s = tagged(op.getY());
  int64_t fI = s.tagIndex('f');
  int64_t nIndep = op.getNIndep(), C = s.shape()[fI] / nIndep, cI = fI + 1;
  Value y = splitAxis(b, loc, ctx.get(op.getY()), fI, nIndep, C);
  Value dy = splitAxis(b, loc, ctx.get(op.getDy()), fI, nIndep, C);
  SmallVector<int64_t> sh = shapeOf(y);
  Type elt = eltOf(y);
  int64_t rank = sh.size();
  Value prod = elementwise(b, loc, {y, dy}, sh, elt,
                           [](OpBuilder &nb, Location l, ValueRange a) {
                             return Value(
                                 arith::MulFOp::create(nb, l, a[0], a[1]));
                           });
  Value sum = reduceAxis(b, loc, prod, cI, elt, fcst(b, loc, elt, 0.0), addF);
  AffineMap id = b.getMultiDimIdentityMap(rank);
  Value dx = generic(
      b, loc, {y, dy, sum}, {id, id, dropDimMap(b, rank, cI)},
      emptyT(b, loc, sh, elt), id, SmallVector<IT>(rank, IT::parallel),
      [](OpBuilder &nb, Location l, ValueRange a) -> Value {
        return arith::MulFOp::create(nb, l, a[0],
                                     arith::SubFOp::create(nb, l, a[1], a[2]));
      });
  return ctx.set(op, mergeAxes(b, loc, dx, fI));
}

/// The map of a loss result (the prediction's axes with f = 1) in the
/// iteration space of `rank` dims over the prediction whose f axis is `fI`;
/// `skip` is an extra axis of the space the result lacks (-1: none).
static AffineMap lossResultMap(OpBuilder &b, int64_t rank, int64_t fI,
                               int64_t skip = -1) {
  SmallVector<AffineExpr> e;
  for (int64_t i = 0; i < rank; ++i) {
    if (i == skip)
      continue;
    e.push_back(i == fI ? b.getAffineConstantExpr(0) : b.getAffineDimExpr(i));
  }
  return AffineMap::get(rank, 0, e, b.getContext());
}

LogicalResult lower(ir::MultinoulliNLLGradOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  MLIRContext *mctx = b.getContext();
  ::nm::TaggedShape ps = tagged(op.getPred());
  Value p = ctx.get(op.getPred()), t = ctx.get(op.getTarget()),
        dl = ctx.get(op.getDl());
  Type elt = eltOf(p);
  int64_t fI = ps.tagIndex('f'), F = ps.shape()[fI], C = op.getNClass();
  if (C < 1 || F % C != 0)
    return op.emitError() << "multinoulli_nll_grad: " << F
                          << " features are not whole blocks of " << C
                          << " classes";
  int64_t nBlocks = F / C, size = numElements(ps.shape());
  bool sparse = op.getTargetIsSparse();
  SmallVector<double> cw(C, 1.0);
  if (auto w = op.getClassWeights()) {
    if (static_cast<int64_t>(w->size()) != C)
      return op.emitError() << "class_weights needs " << C << " entries";
    cw.assign(w->begin(), w->end());
  }
  const double eps = 1e-5;
  // d nll / d p = -T cw / (p + eps) * size / (n_up + eps) / n_indep / C.
  int64_t R = ps.ndim() + 1, cI = fI + 1;
  Value p2 = splitAxis(b, loc, p, fI, nBlocks, C);
  SmallVector<int64_t> sh = shapeOf(p2);
  AffineMap id = b.getMultiDimIdentityMap(R);
  SmallVector<float> cwf(cw.begin(), cw.end());
  Value cwT = arith::ConstantOp::create(
      b, loc,
      DenseElementsAttr::get(RankedTensorType::get({C}, elt),
                             ArrayRef<float>(cwf)));
  AffineMap cwMap = AffineMap::get(R, 0, {b.getAffineDimExpr(cI)}, mctx);
  Value nUp = targetCount(b, loc, t, sparse, C, elt);
  double factor = static_cast<double>(size) / static_cast<double>(nBlocks * C);
  // T * cw of one class at the body's indices.
  auto weighted = [&](OpBuilder &nb, Location l, Value label,
                      Value w) -> Value {
    Value tv;
    if (sparse)
      tv = arith::SelectOp::create(
          nb, l, labelEq(nb, l, label, indexI64(nb, l, cI)),
          fcst(nb, l, elt, 1.0), fcst(nb, l, elt, 0.0));
    else
      tv = toFloat(nb, l, label, elt);
    return arith::MulFOp::create(nb, l, tv, w);
  };
  Value tIn = sparse ? t : splitAxis(b, loc, t, fI, nBlocks, C);
  AffineMap tMap = sparse ? dropDimMap(b, R, cI) : id;
  SmallVector<Value> ins{p2, tIn, cwT, dl, nUp};
  SmallVector<AffineMap> maps{id, tMap, cwMap, lossResultMap(b, R, fI, cI),
                              scalarMap(b, R)};
  Value s;
  if (op.getThroughSoftmax()) {
    SmallVector<int64_t> redSh(sh);
    redSh.erase(redSh.begin() + cI);
    SmallVector<IT> its(R, IT::parallel);
    its[cI] = IT::reduction;
    s = generic(b, loc, {p2, tIn, cwT}, {id, tMap, cwMap},
                filled(b, loc, redSh, elt, fcst(b, loc, elt, 0.0)),
                dropDimMap(b, R, cI), its,
                [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                  ScalarMath m{nb, l, elt};
                  Value r = arith::DivFOp::create(nb, l, a[0],
                                                  m.add(a[0], m.c(eps)));
                  return m.add(a[3], m.mul(weighted(nb, l, a[1], a[2]), r));
                });
    ins.push_back(s);
    maps.push_back(dropDimMap(b, R, cI));
  }
  bool through = op.getThroughSoftmax();
  Value g = generic(
      b, loc, ins, maps, emptyT(b, loc, sh, elt), id,
      SmallVector<IT>(R, IT::parallel),
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        ScalarMath m{nb, l, elt};
        Value k = arith::DivFOp::create(nb, l, m.mul(a[3], m.c(factor)),
                                        m.add(a[4], m.c(eps)));
        Value tw = weighted(nb, l, a[1], a[2]);
        Value pe = m.add(a[0], m.c(eps));
        if (!through)
          return m.mul(k, arith::NegFOp::create(
                              nb, l, arith::DivFOp::create(nb, l, tw, pe)));
        // p_c (g_c - sum_k g_k p_k) with g = -T cw / (p + eps), bounded.
        Value r = arith::DivFOp::create(nb, l, a[0], pe);
        return m.mul(k, m.sub(m.mul(a[0], a[5]), m.mul(tw, r)));
      });
  return ctx.set(op, mergeAxes(b, loc, g, fI));
}

LogicalResult lower(ir::LossGradOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  ::nm::TaggedShape ps = tagged(op.getPred());
  Value p = ctx.get(op.getPred()), t = ctx.get(op.getTarget()),
        dl = ctx.get(op.getDl());
  Type elt = eltOf(p);
  SmallVector<int64_t> shape = shapeOf(p);
  int64_t rank = shape.size(), fI = ps.tagIndex('f');
  int64_t size = numElements(shape), F = shape[fI];
  StringRef loss = op.getLoss();
  bool binary = loss == "binary_nll";
  if (!binary && loss != "squared_loss" && loss != "abs_loss")
    return notImplemented(op, ("the gradient of " + loss).str());
  bool squared = loss == "squared_loss";
  std::optional<double> margin, sc;
  if (auto mg = op.getMargin(); mg && !mg->isZero())
    margin = mg->convertToDouble();
  if (auto c = op.getScaleCorrection(); c && !c->isZero())
    sc = c->convertToDouble();
  const double eps = 1e-5;
  Value count = labelledCount(b, loc, t, elt);
  AffineMap id = b.getMultiDimIdentityMap(rank);
  // The regression losses average over f (their result has f = 1).
  AffineMap dlMap = binary ? id : lossResultMap(b, rank, fI);
  Value g = generic(
      b, loc, {p, t, dl, count}, {id, id, dlMap, scalarMap(b, rank)},
      emptyT(b, loc, shape, elt), id, SmallVector<IT>(rank, IT::parallel),
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        ScalarMath m{nb, l, elt};
        Value pv = a[0], tv = toFloat(nb, l, a[1], elt);
        Value scale = labelledScale(nb, l, a[3], size, elt);
        Value d;
        if (binary) {
          Value one = m.c(1.0);
          d = m.sub(arith::DivFOp::create(nb, l, m.sub(one, tv),
                                          m.add(m.sub(one, pv), m.c(eps))),
                    arith::DivFOp::create(nb, l, tv, m.add(pv, m.c(eps))));
          d = m.mul(d, scale);
        } else {
          Value diff = m.sub(tv, pv);
          Value ad = math::AbsFOp::create(nb, l, diff);
          Value neg = arith::NegFOp::create(nb, l, diff);
          // d/dp of 0.5 (t - p)^2 and of |t - p|.
          Value dd = squared ? neg
                             : Value(arith::SelectOp::create(
                                   nb, l,
                                   arith::CmpFOp::create(
                                       nb, l, arith::CmpFPredicate::OGT, diff,
                                       m.c(0.0)),
                                   m.c(-1.0),
                                   arith::SelectOp::create(
                                       nb, l,
                                       arith::CmpFOp::create(
                                           nb, l, arith::CmpFPredicate::OLT,
                                           diff, m.c(0.0)),
                                       m.c(1.0), m.c(0.0))));
          d = m.mul(scale, dd);
          if (margin) {
            Value ge = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OGE,
                                             ad, m.c(*margin));
            d = arith::SelectOp::create(nb, l, ge, d, m.c(0.0));
          }
          if (sc) {
            Value at = math::AbsFOp::create(nb, l, tv);
            Value corr = squared
                             ? Value(arith::DivFOp::create(
                                   nb, l, m.c(*sc), m.add(at, m.c(*sc))))
                             : m.add(m.mul(m.c(*sc), at), m.c(1.0));
            d = m.mul(d, corr);
          }
          d = arith::DivFOp::create(nb, l, d, m.c(static_cast<double>(F)));
        }
        d = arith::SelectOp::create(nb, l, isUnlabelled(nb, l, tv), m.c(0.0),
                                    d);
        return m.mul(a[2], d);
      });
  return ctx.set(op, g);
}

} // namespace nm::compiler::lowering
