//===- Losses.cpp - softmax and the losses --------------------------------===//
//
// ELEKTRONN2's loss nodes, formula for formula (the theano expressions are
// quoted next to each): softmax over blocks of n_class features, the
// multinoulli and binary NLLs, the regression losses with their -666
// marker, the Gaussian and beta NLLs, ramp loss, Euclidean distance and
// the weighted mean of several losses.
//
//===----------------------------------------------------------------------===//
#include "Activations.h"
#include "LossMath.h"
#include "LoweringContext.h"
#include "NllTerms.h"
#include "TensorUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>
#include <limits>
#include <numbers>

using namespace mlir;

namespace nm::compiler::lowering {

LogicalResult lower(ir::SoftmaxOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  ::nm::TaggedShape s = tagged(op.getInput());
  Value x = ctx.get(op.getInput());
  Type elt = eltOf(x);
  int64_t fI = s.tagIndex('f');
  int64_t F = s.shape()[fI], nIndep = op.getNIndep(), C = F / nIndep;
  Value xs = splitAxis(b, loc, x, fI, nIndep, C);
  int64_t cI = fI + 1;
  SmallVector<int64_t> sh = shapeOf(xs);
  int64_t rank = sh.size();
  Value m = reduceAxis(
      b, loc, xs, cI, elt,
      fcst(b, loc, elt, -std::numeric_limits<double>::infinity()), maxF);
  AffineMap id = b.getMultiDimIdentityMap(rank);
  AffineMap red = dropDimMap(b, rank, cI);
  SmallVector<IT> par(rank, IT::parallel);
  Value e = generic(b, loc, {xs, m}, {id, red}, emptyT(b, loc, sh, elt), id,
                    par, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                      return math::ExpOp::create(
                          nb, l, arith::SubFOp::create(nb, l, a[0], a[1]));
                    });
  Value sum = reduceAxis(b, loc, e, cI, elt, fcst(b, loc, elt, 0.0), addF);
  Value y = generic(b, loc, {e, sum}, {id, red}, emptyT(b, loc, sh, elt), id,
                    par, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                      return arith::DivFOp::create(nb, l, a[0], a[1]);
                    });
  return ctx.set(op, mergeAxes(b, loc, y, fI));
}

LogicalResult lower(ir::MultinoulliNLLOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  MLIRContext *mctx = b.getContext();
  ::nm::TaggedShape ps = tagged(op.getPred());
  int64_t fI = ps.tagIndex('f');
  // n_class of the softmax (pred may be a slice of it).
  int64_t C = ps.shape()[fI];
  if (ir::SoftmaxOp sm = softmaxOf(op.getPred())) {
    ::nm::TaggedShape ss = tagged(sm.getInput());
    C = ss.shape()[ss.tagIndex('f')] / sm.getNIndep();
  }
  FailureOr<NllTerms> n = NllTerms::build(op, ctx, C);
  if (failed(n))
    return failure();
  Type elt = n->elt();
  int64_t R = n->rank(), cI = n->classDim();
  SmallVector<AffineExpr> oe;
  SmallVector<IT> its(R, IT::parallel);
  for (int64_t i = 0; i < R; ++i) {
    if (i == fI || i == cI)
      its[i] = IT::reduction;
    else
      oe.push_back(b.getAffineDimExpr(i));
  }
  SmallVector<int64_t> outSh(ps.shape().begin(), ps.shape().end());
  outSh.erase(outSh.begin() + fI);
  // v = sum_f (up + dn) (NllTerms.h).
  Value v = generic(b, loc, n->inputs(), n->maps(),
                    filled(b, loc, outSh, elt, fcst(b, loc, elt, 0.0)),
                    AffineMap::get(R, 0, oe, mctx), its,
                    [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                      return arith::SubFOp::create(
                          nb, l, a.back(), n->term(nb, l, n->at(nb, l, a)));
                    });
  Value count = n->count(b, loc);
  // nll = v * size / (n_up + n_dn + eps) / n_indep / n_class
  int64_t orank = outSh.size();
  AffineMap oid = b.getMultiDimIdentityMap(orank);
  SmallVector<IT> opar(orank, IT::parallel);
  double factor = n->factor();
  Value res = generic(b, loc, {v, count}, {oid, scalarMap(b, orank)},
                      emptyT(b, loc, outSh, elt), oid, opar,
                      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                        Value scaled = arith::MulFOp::create(
                            nb, l, a[0], fcst(nb, l, elt, factor));
                        Value den = arith::AddFOp::create(
                            nb, l, a[1], fcst(nb, l, elt, NllTerms::kEps));
                        return arith::DivFOp::create(nb, l, scaled, den);
                      });
  return ctx.set(op, insertUnitAxis(b, loc, res, fI));
}

LogicalResult lower(ir::AggregateLossOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  auto rt = plainType(op.getType());
  Type elt = rt.getElementType();
  SmallVector<Value> sums;
  SmallVector<double> scale;
  size_t K = op.getLosses().size();
  SmallVector<double> w(K, 1.0);
  if (auto mw = op.getMixingWeights()) {
    if (mw->size() != K)
      return op.emitError() << "mixing_weights needs " << K << " entries";
    w.assign(mw->begin(), mw->end());
  }
  for (size_t k = 0; k < K; ++k) {
    Value l = ctx.get(op.getLosses()[k]);
    if (eltOf(l) != elt)
      return notImplemented(op, "losses of another element type");
    int64_t n = 1;
    for (int64_t d : shapeOf(l))
      n *= d;
    sums.push_back(reduceAll(b, loc, l, elt, fcst(b, loc, elt, 0.0), addF));
    scale.push_back(w[k] / static_cast<double>(n));
  }
  int64_t rank = rt.getRank();
  SmallVector<AffineMap> maps(K, AffineMap::get(rank, 0, {}, b.getContext()));
  AffineMap id = b.getMultiDimIdentityMap(rank);
  SmallVector<IT> par(rank, IT::parallel);
  Value res =
      generic(b, loc, sums, maps, emptyT(b, loc, rt.getShape(), elt), id, par,
              [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                Value acc = fcst(nb, l, elt, 0.0);
                for (size_t k = 0; k < K; ++k) {
                  // mean(loss_k) * w_k = sum_k * (w_k / size_k)
                  Value m = arith::MulFOp::create(nb, l, a[k],
                                                  fcst(nb, l, elt, scale[k]));
                  acc = arith::AddFOp::create(nb, l, acc, m);
                }
                return arith::DivFOp::create(
                    nb, l, acc, fcst(nb, l, elt, static_cast<double>(K)));
              });
  return ctx.set(op, res);
}

/// squared_loss / abs_loss: the (halved) squared or absolute difference,
/// with ELEKTRONN2's margin and scale correction, averaged over f.
template <typename LossOp>
static LogicalResult lowerRegression(LossOp op, LoweringContext &ctx,
                                     bool squared) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  ::nm::TaggedShape ps = tagged(op.getPred());
  Value p = ctx.get(op.getPred()), t = ctx.get(op.getTarget());
  Type elt = eltOf(p);
  if (!isa<FloatType>(elt))
    return notImplemented(op, "integer predictions");
  SmallVector<int64_t> shape = shapeOf(p);
  int64_t rank = shape.size(), fI = ps.tagIndex('f');
  int64_t size = numElements(shape), F = shape[fI];
  // ELEKTRONN2 tests `if margin:` / `if scale_correction:`, so 0 is off.
  std::optional<double> margin, sc;
  if (auto m = op.getMargin(); m && !m->isZero())
    margin = m->convertToDouble();
  if (auto c = op.getScaleCorrection(); c && !c->isZero())
    sc = c->convertToDouble();
  Value count = labelledCount(b, loc, t, elt);
  AffineMap id = b.getMultiDimIdentityMap(rank);
  return ctx.set(
      op,
      sumOverAxisKeep(
          b, loc, {p, t, count}, {id, id, scalarMap(b, rank)}, shape, fI, elt,
          [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
            Value tv = toFloat(nb, l, a[1], elt);
            Value scale = labelledScale(nb, l, a[2], size, elt);
            Value diff = arith::SubFOp::create(nb, l, tv, a[0]);
            Value ad = math::AbsFOp::create(nb, l, diff);
            Value out = squared ? arith::MulFOp::create(
                                      nb, l,
                                      arith::MulFOp::create(
                                          nb, l, scale, fcst(nb, l, elt, 0.5)),
                                      arith::MulFOp::create(nb, l, diff, diff))
                                : arith::MulFOp::create(nb, l, scale, ad);
            if (margin) {
              // scale * loss * ge(|diff|, margin) - margin
              Value mg = fcst(nb, l, elt, *margin);
              Value ge = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OGE,
                                               ad, mg);
              out = arith::SubFOp::create(
                  nb, l,
                  arith::SelectOp::create(nb, l, ge, out,
                                          fcst(nb, l, elt, 0.0)),
                  mg);
            }
            if (sc) {
              Value scv = fcst(nb, l, elt, *sc);
              Value at = math::AbsFOp::create(nb, l, tv);
              Value corr =
                  squared
                      ? Value(arith::DivFOp::create(
                            nb, l, scv, arith::AddFOp::create(nb, l, at, scv)))
                      : Value(arith::AddFOp::create(
                            nb, l, arith::MulFOp::create(nb, l, scv, at),
                            fcst(nb, l, elt, 1.0)));
              out = arith::MulFOp::create(nb, l, out, corr);
            }
            return arith::SelectOp::create(nb, l, isUnlabelled(nb, l, tv),
                                           fcst(nb, l, elt, 0.0), out);
          },
          [&](OpBuilder &nb, Location l, Value sum) -> Value {
            return arith::DivFOp::create(
                nb, l, sum, fcst(nb, l, elt, static_cast<double>(F)));
          }));
}

LogicalResult lower(ir::SquaredLossOp op, LoweringContext &ctx) {
  return lowerRegression(op, ctx, /*squared=*/true);
}

LogicalResult lower(ir::AbsLossOp op, LoweringContext &ctx) {
  return lowerRegression(op, ctx, /*squared=*/false);
}

LogicalResult lower(ir::BinaryNLLOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  Value p = ctx.get(op.getPred()), t = ctx.get(op.getTarget());
  Type elt = eltOf(p);
  if (!isa<FloatType>(elt))
    return notImplemented(op, "integer predictions");
  SmallVector<int64_t> shape = shapeOf(p);
  int64_t rank = shape.size(), size = numElements(shape);
  bool entropy = op.getSubtractLabelEntropy();
  const double eps = 1e-5;
  Value count = labelledCount(b, loc, t, elt);
  AffineMap id = b.getMultiDimIdentityMap(rank);
  SmallVector<IT> par(rank, IT::parallel);
  // -xlogy0(t, p + eps) - xlogy0(1 - t, 1 - p + eps) [- the label's own
  // entropy], 0 where t is the -666 marker, times size / (n_labelled + 1).
  Value r = generic(
      b, loc, {p, t, count}, {id, id, scalarMap(b, rank)},
      emptyT(b, loc, shape, elt), id, par,
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        Value pv = a[0], tv = toFloat(nb, l, a[1], elt);
        ScalarMath m{nb, l, elt};
        Value one = m.c(1.0), e = m.c(eps);
        Value nt = m.sub(one, tv);
        Value v =
            m.sub(arith::NegFOp::create(nb, l, xlogy0(nb, l, tv, m.add(pv, e))),
                  xlogy0(nb, l, nt, m.add(m.sub(one, pv), e)));
        if (entropy)
          v = m.add(v, m.sub(arith::NegFOp::create(
                                 nb, l, xlogy0(nb, l, tv, m.add(tv, e))),
                             xlogy0(nb, l, nt, m.add(nt, e))));
        v = arith::SelectOp::create(nb, l, isUnlabelled(nb, l, tv),
                                    fcst(nb, l, elt, 0.0), v);
        return arith::MulFOp::create(nb, l, v,
                                     labelledScale(nb, l, a[2], size, elt));
      });
  return ctx.set(op, r);
}

LogicalResult lower(ir::GaussianNLLOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  Value mu = ctx.get(op.getMu()), sig = ctx.get(op.getSig()),
        t = ctx.get(op.getTarget());
  Type elt = eltOf(mu);
  if (!isa<FloatType>(elt))
    return notImplemented(op, "integer predictions");
  bool isLog = op.getSigIsLog();
  // 0.5 ln(2 pi) + ln(sig) + 0.5 ((t - mu) / sig)^2
  return ctx.set(
      op,
      elementwise(
          b, loc, {mu, sig, t}, shapeOf(mu), elt,
          [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
            Value s = toFloat(nb, l, a[1], elt), logSig = s;
            if (isLog)
              s = math::ExpOp::create(nb, l, s);
            else
              logSig = math::LogOp::create(nb, l, s);
            Value z = arith::DivFOp::create(
                nb, l,
                arith::SubFOp::create(nb, l, toFloat(nb, l, a[2], elt), a[0]),
                s);
            Value g = arith::MulFOp::create(nb, l, fcst(nb, l, elt, 0.5),
                                            arith::MulFOp::create(nb, l, z, z));
            Value norm = arith::AddFOp::create(
                nb, l, fcst(nb, l, elt, 0.5 * std::log(2 * std::numbers::pi)),
                logSig);
            return arith::AddFOp::create(nb, l, norm, g);
          }));
}

LogicalResult lower(ir::BetaNLLOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  Value mode = ctx.get(op.getMode()), conc = ctx.get(op.getConcentration()),
        t = ctx.get(op.getTarget());
  Type elt = eltOf(mode);
  if (!isa<FloatType>(elt))
    return notImplemented(op, "integer predictions");
  const double eps = 1e-5;
  // -log Beta(t; a, b) + softplus(-c) with a = mode (c - 2) + 1,
  // b = (1 - mode)(c - 2) + 1; the log-gamma terms in f64.
  return ctx.set(
      op,
      elementwise(
          b, loc, {mode, conc, t}, shapeOf(mode), elt,
          [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
            ScalarMath m{nb, l, elt};
            Value md = a[0], cc = toFloat(nb, l, a[1], elt),
                  x = toFloat(nb, l, a[2], elt);
            Value cm2 = m.sub(cc, m.c(2.0));
            Value av = m.add(m.mul(md, cm2), m.c(1.0));
            Value bv = m.add(m.mul(m.sub(m.c(1.0), md), cm2), m.c(1.0));
            Type f64 = nb.getF64Type();
            auto lg = [&](Value v) {
              return lgammaF64(nb, l, toFloat(nb, l, v, f64));
            };
            Value lib = arith::SubFOp::create(
                nb, l, arith::SubFOp::create(nb, l, lg(m.add(av, bv)), lg(av)),
                lg(bv));
            Value logp = m.add(
                toFloat(nb, l, lib, elt),
                m.add(m.mul(m.sub(av, m.c(1.0)),
                            math::LogOp::create(nb, l, m.add(x, m.c(eps)))),
                      m.mul(m.sub(bv, m.c(1.0)),
                            math::LogOp::create(
                                nb, l, m.add(m.sub(m.c(1.0), x), m.c(eps))))));
            return m.add(arith::NegFOp::create(nb, l, logp),
                         softplus(nb, l, arith::NegFOp::create(nb, l, cc)));
          }));
}

LogicalResult lower(ir::RampLossOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  ::nm::TaggedShape ls = tagged(op.getDLow());
  Value lo = ctx.get(op.getDLow()), hi = ctx.get(op.getDBig());
  Type elt = eltOf(lo);
  if (!isa<FloatType>(elt))
    return notImplemented(op, "integer distances");
  SmallVector<int64_t> shape = shapeOf(lo);
  int64_t fI = ls.tagIndex('f'), F = shape[fI];
  double margin = op.getMargin().convertToDouble();
  AffineMap id = b.getMultiDimIdentityMap(shape.size());
  // mean_f(max(0, d_low - d_big + margin)), NaN -> 0.
  return ctx.set(
      op,
      sumOverAxisKeep(
          b, loc, {lo, hi}, {id, id}, shape, fI, elt,
          [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
            Value d = arith::AddFOp::create(
                nb, l,
                arith::SubFOp::create(nb, l, a[0], toFloat(nb, l, a[1], elt)),
                fcst(nb, l, elt, margin));
            Value pos = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OGT,
                                              d, fcst(nb, l, elt, 0.0));
            return arith::SelectOp::create(nb, l, pos, d,
                                           fcst(nb, l, elt, 0.0));
          },
          [&](OpBuilder &nb, Location l, Value sum) -> Value {
            return arith::DivFOp::create(
                nb, l, sum, fcst(nb, l, elt, static_cast<double>(F)));
          }));
}

LogicalResult lower(ir::EuclideanDistanceOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  ::nm::TaggedShape ps = tagged(op.getPred());
  Value p = ctx.get(op.getPred()), t = ctx.get(op.getTarget());
  Type elt = eltOf(p);
  if (!isa<FloatType>(elt))
    return notImplemented(op, "integer predictions");
  SmallVector<int64_t> shape = shapeOf(p);
  AffineMap id = b.getMultiDimIdentityMap(shape.size());
  // ||t - p||_2 over f; NaN -> 0.
  return ctx.set(op, sumOverAxisKeep(
                         b, loc, {p, t}, {id, id}, shape, ps.tagIndex('f'), elt,
                         [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                           Value d = arith::SubFOp::create(
                               nb, l, toFloat(nb, l, a[1], elt), a[0]);
                           return arith::MulFOp::create(nb, l, d, d);
                         },
                         [&](OpBuilder &nb, Location l, Value sum) -> Value {
                           Value r = math::SqrtOp::create(nb, l, sum);
                           Value nan = arith::CmpFOp::create(
                               nb, l, arith::CmpFPredicate::UNO, r, r);
                           return arith::SelectOp::create(
                               nb, l, nan, fcst(nb, l, elt, 0.0), r);
                         }));
}

} // namespace nm::compiler::lowering
