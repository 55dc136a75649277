//===- LossGradients.cpp - gradients of softmax and the losses ------------===//
//
// Each gradient differentiates the forward formula of Losses.cpp exactly
// (ELEKTRONN2's eps, scales and unlabelled markers included), so finite
// differences of the compiled loss agree with it.
//
//===----------------------------------------------------------------------===//
#include "LossMath.h"
#include "LoweringContext.h"
#include "NllTerms.h"
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
  Value prod = elementwise(
      b, loc, {y, dy}, sh, elt, [](OpBuilder &nb, Location l, ValueRange a) {
        return Value(arith::MulFOp::create(nb, l, a[0], a[1]));
      });
  Value sum = reduceAxis(b, loc, prod, cI, elt, fcst(b, loc, elt, 0.0), addF);
  AffineMap id = b.getMultiDimIdentityMap(rank);
  Value dx =
      generic(b, loc, {y, dy, sum}, {id, id, dropDimMap(b, rank, cI)},
              emptyT(b, loc, sh, elt), id, SmallVector<IT>(rank, IT::parallel),
              [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                return arith::MulFOp::create(
                    nb, l, a[0], arith::SubFOp::create(nb, l, a[1], a[2]));
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
  FailureOr<NllTerms> n = NllTerms::build(op, ctx, op.getNClass());
  if (failed(n))
    return failure();
  Type elt = n->elt();
  int64_t R = n->rank(), fI = n->blockDim(), cI = n->classDim();
  double K = n->factor(), w = n->weakness();
  // total = K sum_v dl_v sum_f (up + dn) / N, N = n_up + n_dn + eps, so
  //   d total / d p = K dl (d up/dp + d dn/dp) / N - K A dN/dp / N^2
  // with A = sum dl (up + dn), dN/dp = w (the weakness puts p into T and
  // n_up), d up/dp = -cw ew (w log(p + eps) + T / (p + eps)),
  // d dn/dp = m cw ew / (1 - p + eps).
  SmallVector<Value> ins(n->inputs());
  SmallVector<AffineMap> maps(n->maps());
  AffineMap dlMap = n->unitFeatureMap(b);
  ins.push_back(ctx.get(op.getDl()));
  maps.push_back(dlMap);
  ins.push_back(n->count(b, loc));
  maps.push_back(scalarMap(b, R));
  size_t dlIdx = ins.size() - 2, nIdx = ins.size() - 1, aIdx = 0;
  if (w > 0) {
    SmallVector<IT> all(R, IT::reduction);
    SmallVector<Value> aIns(n->inputs());
    SmallVector<AffineMap> aMaps(n->maps());
    aIns.push_back(ctx.get(op.getDl()));
    aMaps.push_back(dlMap);
    // A = -sum dl * term (term = -(up + dn)).
    Value A = generic(
        b, loc, aIns, aMaps, filled(b, loc, {}, elt, fcst(b, loc, elt, 0.0)),
        scalarMap(b, R), all,
        [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
          Value t = n->term(nb, l, n->at(nb, l, a.take_front(a.size() - 2)));
          return arith::SubFOp::create(
              nb, l, a.back(),
              arith::MulFOp::create(nb, l, a[a.size() - 2], t));
        });
    aIdx = ins.size();
    ins.push_back(A);
    maps.push_back(scalarMap(b, R));
  }
  bool through = op.getThroughSoftmax();
  // g, or g p through the softmax (every term then bounded: p / (p + eps),
  // p log(p + eps), p / (1 - p + eps) <= 1 / eps).
  SmallVector<int64_t> sh = shapeOf(n->pred());
  Value g = generic(
      b, loc, ins, maps, emptyT(b, loc, sh, elt), b.getMultiDimIdentityMap(R),
      SmallVector<IT>(R, IT::parallel),
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        ScalarMath m{nb, l, elt};
        NllTerms::At e = n->at(nb, l, a);
        Value p = e.p, one = m.c(1.0);
        Value pe = m.add(p, m.c(NllTerms::kEps));
        Value qe = m.add(m.sub(one, p), m.c(NllTerms::kEps));
        // Factors of 1 / p and 1 / (1 - p), times p through the softmax.
        Value r = arith::DivFOp::create(nb, l, through ? p : one, pe);
        Value rq = arith::DivFOp::create(nb, l, through ? p : one, qe);
        Value up = m.mul(e.t, r);
        if (w > 0) {
          Value lg = math::LogOp::create(nb, l, pe);
          up = m.add(up, m.mul(m.c(w), through ? m.mul(p, lg) : lg));
        }
        Value d = arith::NegFOp::create(nb, l, up);
        if (e.notPresent)
          d = m.add(d, m.mul(e.notPresent, rq));
        if (e.weight)
          d = m.mul(d, e.weight);
        Value nv = m.add(a[nIdx], m.c(NllTerms::kEps)); // N
        Value k = arith::DivFOp::create(nb, l, m.mul(a[dlIdx], m.c(K)), nv);
        Value g = m.mul(k, d);
        if (w > 0) {
          // - K A w / N^2 (times p through the softmax)
          Value c = arith::DivFOp::create(nb, l, m.mul(a[aIdx], m.c(K * w)),
                                          m.mul(nv, nv));
          g = m.sub(g, through ? m.mul(c, p) : c);
        }
        return g;
      });
  if (!through)
    return ctx.set(op, mergeAxes(b, loc, g, fI));
  // dz = p (g - sum_class g p) = gp - p sum_class gp.
  Value s = reduceAxis(b, loc, g, cI, elt, fcst(b, loc, elt, 0.0), addF);
  AffineMap id = b.getMultiDimIdentityMap(R);
  Value dz =
      generic(b, loc, {n->pred(), g, s}, {id, id, dropDimMap(b, R, cI)},
              emptyT(b, loc, sh, elt), id, SmallVector<IT>(R, IT::parallel),
              [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                return arith::SubFOp::create(
                    nb, l, a[1], arith::MulFOp::create(nb, l, a[0], a[2]));
              });
  return ctx.set(op, mergeAxes(b, loc, dz, fI));
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
          Value dd =
              squared
                  ? neg
                  : Value(arith::SelectOp::create(
                        nb, l,
                        arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OGT,
                                              diff, m.c(0.0)),
                        m.c(-1.0),
                        arith::SelectOp::create(
                            nb, l,
                            arith::CmpFOp::create(nb, l,
                                                  arith::CmpFPredicate::OLT,
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
            Value corr = squared ? Value(arith::DivFOp::create(
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

namespace nm::compiler::lowering {

/// d gaussian_nll / d operand `which` (mu, sig, target) of one element:
/// 0.5 ln(2 pi) + ln s + 0.5 ((t - mu) / s)^2, s = sig or exp(sig).
static Value gaussianTerm(ScalarMath &m, ValueRange a, int64_t which,
                          bool isLog) {
  OpBuilder &nb = m.b;
  Location l = m.l;
  Value mu = toFloat(nb, l, a[0], m.t), sg = toFloat(nb, l, a[1], m.t),
        t = toFloat(nb, l, a[2], m.t);
  Value s = isLog ? Value(math::ExpOp::create(nb, l, sg)) : sg;
  Value z = arith::DivFOp::create(nb, l, m.sub(t, mu), s); // (t - mu) / s
  Value zs = arith::DivFOp::create(nb, l, z, s);           // (t - mu) / s^2
  if (which == 0)
    return arith::NegFOp::create(nb, l, zs);
  if (which == 2)
    return zs;
  // d/ds = 1/s - (t - mu)^2 / s^3; for log-sigma times ds/dsig = s.
  Value z2 = m.mul(z, z);
  if (isLog)
    return m.sub(m.c(1.0), z2);
  return arith::DivFOp::create(nb, l, m.sub(m.c(1.0), z2), s);
}

/// d beta_nll / d operand `which` (mode, concentration, target) of one
/// element, with a = mode (c - 2) + 1, b = (1 - mode)(c - 2) + 1:
/// -[lgamma(a + b) - lgamma(a) - lgamma(b) + (a - 1) log(x + eps)
///   + (b - 1) log(1 - x + eps)] + softplus(-c).
static Value betaTerm(ScalarMath &m, ValueRange a, int64_t which) {
  OpBuilder &nb = m.b;
  Location l = m.l;
  const double eps = 1e-5;
  Value md = toFloat(nb, l, a[0], m.t), cc = toFloat(nb, l, a[1], m.t),
        x = toFloat(nb, l, a[2], m.t);
  Value cm2 = m.sub(cc, m.c(2.0));
  Value av = m.add(m.mul(md, cm2), m.c(1.0));
  Value bv = m.add(m.mul(m.sub(m.c(1.0), md), cm2), m.c(1.0));
  Value xe = m.add(x, m.c(eps)), nxe = m.add(m.sub(m.c(1.0), x), m.c(eps));
  if (which == 2)
    return m.sub(arith::DivFOp::create(nb, l, m.sub(bv, m.c(1.0)), nxe),
                 arith::DivFOp::create(nb, l, m.sub(av, m.c(1.0)), xe));
  // The digammas in f64, as the forward's log-gammas.
  Type f64 = nb.getF64Type();
  auto psi = [&](Value v) {
    return toFloat(nb, l, digammaF64(nb, l, toFloat(nb, l, v, f64)), m.t);
  };
  Value pab = psi(m.add(av, bv));
  Value la = arith::NegFOp::create(
      nb, l, m.add(m.sub(pab, psi(av)), math::LogOp::create(nb, l, xe)));
  Value lb = arith::NegFOp::create(
      nb, l, m.add(m.sub(pab, psi(bv)), math::LogOp::create(nb, l, nxe)));
  if (which == 0)
    return m.mul(cm2, m.sub(la, lb));
  // d softplus(-c) / dc = -sigmoid(-c) = -1 / (1 + exp(c)).
  Value dsp = arith::NegFOp::create(
      nb, l,
      arith::DivFOp::create(nb, l, m.c(1.0),
                            m.add(m.c(1.0), math::ExpOp::create(nb, l, cc))));
  return m.add(m.add(m.mul(md, la), m.mul(m.sub(m.c(1.0), md), lb)), dsp);
}

LogicalResult lower(ir::LossOperandGradOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  StringRef loss = op.getLoss();
  int64_t which = op.getOperand();
  SmallVector<Value> ins;
  for (Value v : op.getInputs())
    ins.push_back(ctx.get(v));
  Value dl = ctx.get(op.getDl());
  auto rt = plainType(op.getType());
  Type elt = rt.getElementType();
  if (!isa<FloatType>(elt))
    return notImplemented(op, "integer operands");
  SmallVector<int64_t> shape(rt.getShape());
  int64_t rank = shape.size();
  AffineMap id = b.getMultiDimIdentityMap(rank);
  SmallVector<IT> par(rank, IT::parallel);
  if (loss == "gaussian_nll" || loss == "beta_nll") {
    bool gauss = loss == "gaussian_nll", isLog = op.getSigIsLog();
    ins.push_back(dl);
    return ctx.set(
        op, elementwise(b, loc, ins, shape, elt,
                        [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                          ScalarMath m{nb, l, elt};
                          Value d = gauss ? gaussianTerm(m, a, which, isLog)
                                          : betaTerm(m, a, which);
                          return m.mul(a[3], d);
                        }));
  }
  ::nm::TaggedShape s = tagged(op.getInputs()[0]);
  int64_t fI = s.tagIndex('f');
  double F = static_cast<double>(shape[fI]);
  if (loss == "ramp_loss") {
    // mean_f(max(0, d_low - d_big + margin)): dl / F where positive.
    double margin = op.getMargin().convertToDouble();
    double sign = which == 0 ? 1.0 : -1.0;
    return ctx.set(
        op, generic(b, loc, {ins[0], ins[1], dl},
                    {id, id, lossResultMap(b, rank, fI)},
                    emptyT(b, loc, shape, elt), id, par,
                    [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                      ScalarMath m{nb, l, elt};
                      Value d = m.add(m.sub(toFloat(nb, l, a[0], elt),
                                            toFloat(nb, l, a[1], elt)),
                                      m.c(margin));
                      Value pos = arith::CmpFOp::create(
                          nb, l, arith::CmpFPredicate::OGT, d, m.c(0.0));
                      return arith::SelectOp::create(
                          nb, l, pos, m.mul(a[2], m.c(sign / F)), m.c(0.0));
                    }));
  }
  // euclidean_distance: r = ||t - p||_2 over f (0 where NaN); d r / d p =
  // (p - t) / r, and 0 where r is 0 or not finite (the forward's 0).
  Value norm = sumOverAxisKeep(
      b, loc, {ins[0], ins[1]}, {id, id}, shape, fI, elt,
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        Value d = arith::SubFOp::create(nb, l, toFloat(nb, l, a[1], elt),
                                        toFloat(nb, l, a[0], elt));
        return arith::MulFOp::create(nb, l, d, d);
      },
      [&](OpBuilder &nb, Location l, Value sum) -> Value {
        return math::SqrtOp::create(nb, l, sum);
      });
  double sign = which == 0 ? 1.0 : -1.0;
  AffineMap rmap = lossResultMap(b, rank, fI);
  return ctx.set(
      op,
      generic(b, loc, {ins[0], ins[1], norm, dl}, {id, id, rmap, rmap},
              emptyT(b, loc, shape, elt), id, par,
              [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                ScalarMath m{nb, l, elt};
                Value diff =
                    m.sub(toFloat(nb, l, a[0], elt), toFloat(nb, l, a[1], elt));
                Value g = arith::DivFOp::create(
                    nb, l, m.mul(m.c(sign), m.mul(diff, a[3])), a[2]);
                Value ok = arith::CmpFOp::create(
                    nb, l, arith::CmpFPredicate::OGT, a[2], m.c(0.0));
                Value fin = arith::CmpFOp::create(
                    nb, l, arith::CmpFPredicate::ORD, g, g);
                return arith::SelectOp::create(
                    nb, l, arith::AndIOp::create(nb, l, ok, fin), g, m.c(0.0));
              }));
}

} // namespace nm::compiler::lowering
