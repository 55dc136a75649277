//===- NllTerms.cpp - the terms of ELEKTRONN2's MultinoulliNLL ------------===//
#include "NllTerms.h"

#include "LossMath.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;

namespace nm::compiler::lowering {

LogicalResult NllTerms::init(Operation *op, LoweringContext &ctx, Value p,
                             Value t, Value ew, Value ml, Value mn, bool sparse,
                             std::optional<ArrayRef<double>> cw,
                             double weakness, int64_t C) {
  OpBuilder &b = ctx.builder();
  Location loc = op->getLoc();
  ::nm::TaggedShape ps = tagged(p);
  fI_ = ps.tagIndex('f');
  int64_t F = ps.shape()[fI_];
  if (C < 1 || F % C != 0)
    return op->emitError() << "multinoulli_nll: " << F
                           << " features are not whole blocks of " << C
                           << " classes";
  C_ = C;
  nBlocks_ = F / C;
  R_ = ps.ndim() + 1;
  cI_ = fI_ + 1;
  size_ = numElements(ps.shape());
  sparse_ = sparse;
  // ELEKTRONN2 scales by the softmax's n_indep, also for a slice of it.
  int64_t nIndep = softmaxIndep(p).value_or(nBlocks_);
  factor_ = static_cast<double>(size_) / static_cast<double>(nIndep * C);
  weakness_ = weakness > 0 ? weakness : 0.0; // E2: `if weakness > 0`
  Value pv = ctx.get(p);
  elt_ = eltOf(pv);
  target_ = ctx.get(t);
  if (sparse && tagged(t).shape()[fI_] != nBlocks_)
    return op->emitError() << "multinoulli_nll: a sparse target needs f = "
                           << nBlocks_ << " (one label per softmax block)";
  AffineMap id = b.getMultiDimIdentityMap(R_);
  MLIRContext *mctx = b.getContext();
  ins_ = {splitAxis(b, loc, pv, fI_, nBlocks_, C)};
  maps_ = {id};
  ins_.push_back(sparse ? target_
                        : splitAxis(b, loc, target_, fI_, nBlocks_, C));
  maps_.push_back(sparse ? dropDimMap(b, R_, cI_) : id);
  if (cw) {
    if (static_cast<int64_t>(cw->size()) != C)
      return op->emitError() << "class_weights needs " << C << " entries";
    // Built from attributes of the element type: right for f32 and f64.
    SmallVector<Attribute> vals;
    for (double v : *cw)
      vals.push_back(b.getFloatAttr(elt_, v));
    cwIdx_ = ins_.size();
    ins_.push_back(arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(RankedTensorType::get({C}, elt_), vals)));
    maps_.push_back(AffineMap::get(R_, 0, {b.getAffineDimExpr(cI_)}, mctx));
  }
  if (ew) {
    Value e = ctx.get(ew);
    if (!tagged(ew).hasTag('f'))
      e = insertUnitAxis(b, loc, e, fI_);
    ewIdx_ = ins_.size();
    ins_.push_back(e);
    maps_.push_back(unitFeatureMap(b));
  }
  // The masks [b, f] as [b, block, class], read at (b, block, class).
  int64_t bI = ps.tagIndex('b');
  int64_t bD = bI < fI_ ? bI : bI + 1;
  AffineMap maskMap =
      AffineMap::get(R_, 0,
                     {b.getAffineDimExpr(bD), b.getAffineDimExpr(fI_),
                      b.getAffineDimExpr(cI_)},
                     mctx);
  if (ml) {
    mlIdx_ = ins_.size();
    ins_.push_back(splitAxis(b, loc, ctx.get(ml), 1, nBlocks_, C));
    maps_.push_back(maskMap);
  }
  if (mn) {
    notPresentRaw_ = ctx.get(mn);
    mnIdx_ = ins_.size();
    ins_.push_back(splitAxis(b, loc, notPresentRaw_, 1, nBlocks_, C));
    maps_.push_back(maskMap);
    spatialPerMask_ = size_ / (ps.shape()[bI] * F);
  }
  targetCountOk_ = !ml && weakness_ == 0.0;
  return success();
}

AffineMap NllTerms::unitFeatureMap(OpBuilder &b) const {
  SmallVector<AffineExpr> e;
  for (int64_t i = 0; i < R_; ++i) {
    if (i == cI_)
      continue;
    e.push_back(i == fI_ ? b.getAffineConstantExpr(0) : b.getAffineDimExpr(i));
  }
  return AffineMap::get(R_, 0, e, b.getContext());
}

NllTerms::At NllTerms::at(OpBuilder &b, Location l, ValueRange a) const {
  At e;
  e.p = a[0];
  if (sparse_) {
    Value eq = labelEq(b, l, a[tIdx_], indexI64(b, l, cI_));
    e.t = arith::SelectOp::create(b, l, eq, fcst(b, l, elt_, 1.0),
                                  fcst(b, l, elt_, 0.0));
  } else {
    e.t = toFloat(b, l, a[tIdx_], elt_);
  }
  if (mlIdx_ >= 0)
    e.t = arith::MulFOp::create(b, l, e.t, toFloat(b, l, a[mlIdx_], elt_));
  if (weakness_ > 0) {
    ScalarMath m{b, l, elt_};
    e.t = m.add(m.mul(m.c(1.0 - weakness_), e.t), m.mul(m.c(weakness_), e.p));
  }
  if (cwIdx_ >= 0)
    e.weight = a[cwIdx_];
  if (ewIdx_ >= 0) {
    Value ew = toFloat(b, l, a[ewIdx_], elt_);
    e.weight = e.weight ? Value(arith::MulFOp::create(b, l, e.weight, ew)) : ew;
  }
  if (mnIdx_ >= 0)
    e.notPresent = toFloat(b, l, a[mnIdx_], elt_);
  return e;
}

Value NllTerms::term(OpBuilder &b, Location l, const At &e) const {
  ScalarMath m{b, l, elt_};
  auto weighted = [&](Value v) {
    return e.weight ? Value(arith::MulFOp::create(b, l, v, e.weight)) : v;
  };
  Value pe = m.add(e.p, m.c(kEps));
  Value s = xlogy0(b, l, weighted(e.t), pe);
  if (e.notPresent)
    s = m.add(s, xlogy0(b, l, weighted(e.notPresent),
                        m.add(m.sub(m.c(1.0), e.p), m.c(kEps))));
  return s;
}

Value NllTerms::count(OpBuilder &b, Location loc) const {
  Value n;
  if (targetCountOk_) {
    n = targetCount(b, loc, target_, sparse_, C_, elt_);
  } else {
    // sum T over every element, after the mask and the weakness.
    SmallVector<IT> all(R_, IT::reduction);
    n = generic(b, loc, ins_, maps_,
                filled(b, loc, {}, elt_, fcst(b, loc, elt_, 0.0)),
                scalarMap(b, R_), all,
                [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                  return arith::AddFOp::create(nb, l, a.back(),
                                               at(nb, l, a.drop_back()).t);
                });
  }
  if (mnIdx_ < 0)
    return n;
  // n_dn: the mask broadcast over every voxel of its (b, f).
  Value mSum = reduceAll(b, loc, notPresentRaw_, elt_, fcst(b, loc, elt_, 0.0),
                         [&](OpBuilder &nb, Location l, Value x, Value acc) {
                           return Value(arith::AddFOp::create(
                               nb, l, acc, toFloat(nb, l, x, elt_)));
                         });
  double k = static_cast<double>(spatialPerMask_);
  return generic(b, loc, {n, mSum}, {scalarMap(b, 0), scalarMap(b, 0)},
                 emptyT(b, loc, {}, elt_), scalarMap(b, 0), {},
                 [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                   ScalarMath m{nb, l, elt_};
                   return m.add(a[0], m.mul(a[1], m.c(k)));
                 });
}

} // namespace nm::compiler::lowering
