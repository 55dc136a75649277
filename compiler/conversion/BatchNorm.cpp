//===- BatchNorm.cpp - batch normalisation in training --------------------===//
//
// nm.batch_norm and its gradients in tag order: the statistics reduce every
// axis but 'f' in one fixed order (a generic with f parallel), so they do
// not depend on the thread count.
//
//===----------------------------------------------------------------------===//
#include "LoweringContext.h"
#include "TensorUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;

namespace nm::compiler::lowering {

namespace {

/// Per-feature statistics of y over every axis but f.
struct BatchStats {
  Value mean;  // [F]
  Value sigma; // sqrt(var), [F]
  Value s;     // sigma + 1e-6, [F]
};

class FeatureMaps {
public:
  FeatureMaps(OpBuilder &b, Value y, int64_t fI)
      : rank_(shapeOf(y).size()), fI_(fI), id_(b.getMultiDimIdentityMap(rank_)),
        f_(AffineMap::get(rank_, 0, {b.getAffineDimExpr(fI)}, b.getContext())) {
  }
  AffineMap id() const { return id_; }
  AffineMap f() const { return f_; }
  SmallVector<IT> reduceAllButF() const {
    SmallVector<IT> its(rank_, IT::reduction);
    its[fI_] = IT::parallel;
    return its;
  }
  SmallVector<IT> parallel() const {
    return SmallVector<IT>(rank_, IT::parallel);
  }

private:
  int64_t rank_, fI_;
  AffineMap id_, f_;
};

/// Sum over every axis but f of body(inputs).
Value sumPerFeature(OpBuilder &b, Location loc, const FeatureMaps &m,
                    ValueRange ins, ArrayRef<AffineMap> maps, int64_t F,
                    Type elt, BodyFn term) {
  SmallVector<AffineMap> all(maps.begin(), maps.end());
  return generic(
      b, loc, ins, all, filled(b, loc, {F}, elt, fcst(b, loc, elt, 0.0)), m.f(),
      m.reduceAllButF(), [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        return addF(nb, l, a.back(), term(nb, l, a.drop_back()));
      });
}

BatchStats batchStats(OpBuilder &b, Location loc, Value y, int64_t fI) {
  SmallVector<int64_t> sh = shapeOf(y);
  Type elt = eltOf(y);
  int64_t F = sh[fI];
  double m = static_cast<double>(numElements(sh) / F);
  FeatureMaps maps(b, y, fI);
  Value sum =
      sumPerFeature(b, loc, maps, {y}, {maps.id()}, F, elt,
                    [](OpBuilder &, Location, ValueRange a) { return a[0]; });
  Value mean = elementwise(
      b, loc, {sum}, {F}, elt, [&](OpBuilder &nb, Location l, ValueRange a) {
        return Value(arith::DivFOp::create(nb, l, a[0], fcst(nb, l, elt, m)));
      });
  Value sq =
      sumPerFeature(b, loc, maps, {y, mean}, {maps.id(), maps.f()}, F, elt,
                    [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                      Value d = arith::SubFOp::create(nb, l, a[0], a[1]);
                      return arith::MulFOp::create(nb, l, d, d);
                    });
  Value sigma = elementwise(
      b, loc, {sq}, {F}, elt, [&](OpBuilder &nb, Location l, ValueRange a) {
        return Value(math::SqrtOp::create(
            nb, l, arith::DivFOp::create(nb, l, a[0], fcst(nb, l, elt, m))));
      });
  Value s = elementwise(
      b, loc, {sigma}, {F}, elt, [&](OpBuilder &nb, Location l, ValueRange a) {
        return Value(
            arith::AddFOp::create(nb, l, a[0], fcst(nb, l, elt, 1e-6)));
      });
  return {mean, sigma, s};
}

int64_t featureAxis(Value nmValue) { return tagged(nmValue).tagIndex('f'); }

} // namespace

LogicalResult lower(ir::BatchNormOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  Value y = ctx.get(op.getY());
  int64_t fI = featureAxis(op.getY());
  BatchStats st = batchStats(b, loc, y, fI);
  FeatureMaps m(b, y, fI);
  Value gamma = ctx.get(op.getGamma()), bias = ctx.get(op.getB());
  return ctx.set(
      op, generic(b, loc, {y, st.mean, st.s, gamma, bias},
                  {m.id(), m.f(), m.f(), m.f(), m.f()},
                  emptyT(b, loc, shapeOf(y), eltOf(y)), m.id(), m.parallel(),
                  [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                    Value xhat = arith::DivFOp::create(
                        nb, l, arith::SubFOp::create(nb, l, a[0], a[1]), a[2]);
                    return arith::AddFOp::create(
                        nb, l, arith::MulFOp::create(nb, l, a[3], xhat), a[4]);
                  }));
}

LogicalResult lower(ir::BatchNormGammaGradOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  Value y = ctx.get(op.getY()), dout = ctx.get(op.getDout());
  int64_t fI = featureAxis(op.getY());
  BatchStats st = batchStats(b, loc, y, fI);
  FeatureMaps m(b, y, fI);
  int64_t F = shapeOf(y)[fI];
  return ctx.set(
      op, sumPerFeature(b, loc, m, {y, dout, st.mean, st.s},
                        {m.id(), m.id(), m.f(), m.f()}, F, eltOf(y),
                        [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                          Value xhat = arith::DivFOp::create(
                              nb, l, arith::SubFOp::create(nb, l, a[0], a[2]),
                              a[3]);
                          return arith::MulFOp::create(nb, l, a[1], xhat);
                        }));
}

LogicalResult lower(ir::BatchNormGradOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  Value y = ctx.get(op.getY()), dout = ctx.get(op.getDout()),
        gamma = ctx.get(op.getGamma());
  int64_t fI = featureAxis(op.getY());
  SmallVector<int64_t> sh = shapeOf(y);
  Type elt = eltOf(y);
  int64_t F = sh[fI];
  double count = static_cast<double>(numElements(sh) / F);
  BatchStats st = batchStats(b, loc, y, fI);
  FeatureMaps m(b, y, fI);
  // Per feature: mean(g) and mean(g x̂), g = gamma dout.
  Value sumG =
      sumPerFeature(b, loc, m, {dout, gamma}, {m.id(), m.f()}, F, elt,
                    [](OpBuilder &nb, Location l, ValueRange a) {
                      return Value(arith::MulFOp::create(nb, l, a[0], a[1]));
                    });
  Value sumGX = sumPerFeature(
      b, loc, m, {dout, gamma, y, st.mean, st.s},
      {m.id(), m.f(), m.id(), m.f(), m.f()}, F, elt,
      [](OpBuilder &nb, Location l, ValueRange a) -> Value {
        Value g = arith::MulFOp::create(nb, l, a[0], a[1]);
        Value xhat = arith::DivFOp::create(
            nb, l, arith::SubFOp::create(nb, l, a[2], a[3]), a[4]);
        return arith::MulFOp::create(nb, l, g, xhat);
      });
  return ctx.set(
      op,
      generic(b, loc, {dout, gamma, y, st.mean, st.s, st.sigma, sumG, sumGX},
              {m.id(), m.f(), m.id(), m.f(), m.f(), m.f(), m.f(), m.f()},
              emptyT(b, loc, sh, elt), m.id(), m.parallel(),
              [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                auto c = [&](double v) { return fcst(nb, l, elt, v); };
                Value g = arith::MulFOp::create(nb, l, a[0], a[1]);
                Value xhat = arith::DivFOp::create(
                    nb, l, arith::SubFOp::create(nb, l, a[2], a[3]), a[4]);
                Value meanG = arith::DivFOp::create(nb, l, a[6], c(count));
                Value meanGX = arith::DivFOp::create(nb, l, a[7], c(count));
                // x̂ (s / sigma) mean(g x̂); sigma = 0 only for a constant
                // feature, where x̂ = 0 too.
                Value ratio = arith::DivFOp::create(
                    nb, l, a[4],
                    arith::MaximumFOp::create(nb, l, a[5], c(1e-30)));
                Value corr = arith::MulFOp::create(
                    nb, l, xhat, arith::MulFOp::create(nb, l, ratio, meanGX));
                Value inner = arith::SubFOp::create(
                    nb, l, arith::SubFOp::create(nb, l, g, meanG), corr);
                return arith::DivFOp::create(nb, l, inner, a[4]);
              }));
}

LogicalResult lower(ir::BatchNormRunningOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  Value y = ctx.get(op.getY());
  BatchStats st = batchStats(b, loc, y, featureAxis(op.getY()));
  Value batch = op.getStd() ? st.s : st.mean;
  Value stat = ctx.get(op.getStat());
  Type elt = eltOf(stat);
  return ctx.set(
      op, elementwise(b, loc, {stat, batch}, shapeOf(stat), elt,
                      [&](OpBuilder &nb, Location l, ValueRange a) {
                        return addF(nb, l,
                                    arith::MulFOp::create(
                                        nb, l, a[0], fcst(nb, l, elt, 0.9995)),
                                    arith::MulFOp::create(
                                        nb, l, a[1], fcst(nb, l, elt, 0.0005)));
                      }));
}

} // namespace nm::compiler::lowering
