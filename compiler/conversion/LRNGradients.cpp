//===- LRNGradients.cpp - gradient of local response normalisation --------===//
//
// y = x D^-beta with D = k + alpha S / n, S the window's sum of squares
// around each element (Layers.cpp), so
//   dx = dy D^-beta - 2 alpha beta / n * x * S*(dy x D^(-beta-1)),
// S* the adjoint of the window sum: each element collects the terms of the
// windows that contain it. The spatial window is symmetric and zero-padded,
// so S* is the window sum itself; the channel window replicates its edges
// (a clamped index), so an edge feature can sit in one window several times
// and S* counts it that often.
//
//===----------------------------------------------------------------------===//
#include "LoweringContext.h"
#include "TensorUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace nm::compiler::lowering {

/// S* of the channel window: out[j] = sum_i q[i] #{o : clamp(i + o) = j}
/// over the features i within `half` of j (no other window reaches j).
static Value channelAdjoint(OpBuilder &b, Location loc, Value q, int64_t fI,
                            int64_t win) {
  SmallVector<int64_t> shape = shapeOf(q);
  int64_t F = shape[fI], half = win / 2;
  Type elt = eltOf(q);
  return gather(
      b, loc, shape, elt,
      [&](OpBuilder &nb, Location l, ArrayRef<Value> idx) -> Value {
        SmallVector<Value> src(idx.begin(), idx.end());
        Value j = idx[fI];
        Value acc = fcst(nb, l, elt, 0.0);
        for (int64_t d = -half; d <= half; ++d) {
          Value i = arith::AddIOp::create(nb, l, j, idxC(nb, l, d));
          auto [ci, inside] = clampIndex(nb, l, i, F);
          Value count = fcst(nb, l, elt, 0.0);
          for (int64_t o = -half; o <= half; ++o) {
            Value t =
                clampIndex(nb, l,
                           arith::AddIOp::create(nb, l, ci, idxC(nb, l, o)), F)
                    .first;
            Value hit =
                arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq, t, j);
            count =
                addF(nb, l, count,
                     arith::SelectOp::create(nb, l, hit, fcst(nb, l, elt, 1.0),
                                             fcst(nb, l, elt, 0.0)));
          }
          src[fI] = ci;
          Value qi = tensor::ExtractOp::create(nb, l, q, src);
          Value term = arith::MulFOp::create(nb, l, qi, count);
          acc = addF(nb, l, acc,
                     arith::SelectOp::create(nb, l, inside, term,
                                             fcst(nb, l, elt, 0.0)));
        }
        return acc;
      });
}

LogicalResult lower(ir::LRNGradOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  ::nm::TaggedShape s = tagged(op.getX());
  Value x = ctx.get(op.getX()), dy = ctx.get(op.getDy());
  Type elt = eltOf(x);
  if (!isa<FloatType>(elt))
    return notImplemented(op, "integer tensors");
  ArrayRef<int64_t> filter = op.getFilterShape();
  bool spatial = op.getMode() == ir::LRNMode::Spatial;
  if (!spatial && !s.hasTag('f'))
    return op.emitError() << "LRN in 'channel' mode needs an 'f' axis";
  int64_t fI = spatial ? -1 : s.tagIndex('f');
  // The forward's window sums (Layers.cpp), so D is the forward's D.
  FailureOr<Value> sumSq =
      spatial ? lrnSpatialSum(b, op, x, s, filter, /*square=*/true)
              : lrnChannelSumSq(b, op, x, s, filter[0]);
  if (failed(sumSq))
    return failure();
  double n = static_cast<double>(spatial ? numElements(filter) : filter[0]);
  double alpha = op.getAlpha().convertToDouble(),
         kk = op.getK().convertToDouble(),
         beta = op.getBeta().convertToDouble();
  SmallVector<int64_t> shape = shapeOf(x);
  // D^-beta and q = dy x D^(-beta-1), from the same D as the forward.
  auto powD = [&](OpBuilder &nb, Location l, Value sum, double e) -> Value {
    Value d = arith::AddFOp::create(
        nb, l, fcst(nb, l, elt, kk),
        arith::MulFOp::create(
            nb, l, fcst(nb, l, elt, alpha),
            arith::DivFOp::create(nb, l, sum, fcst(nb, l, elt, n))));
    return math::PowFOp::create(nb, l, d, fcst(nb, l, elt, e));
  };
  Value q = elementwise(b, loc, {x, dy, *sumSq}, shape, elt,
                        [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                          return arith::MulFOp::create(
                              nb, l, arith::MulFOp::create(nb, l, a[0], a[1]),
                              powD(nb, l, a[2], -beta - 1.0));
                        });
  FailureOr<Value> adj =
      spatial ? lrnSpatialSum(b, op, q, s, filter, /*square=*/false)
              : FailureOr<Value>(channelAdjoint(b, loc, q, fI, filter[0]));
  if (failed(adj))
    return failure();
  double c = -2.0 * alpha * beta / n;
  return ctx.set(
      op, elementwise(b, loc, {x, dy, *sumSq, *adj}, shape, elt,
                      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                        Value direct = arith::MulFOp::create(
                            nb, l, a[1], powD(nb, l, a[2], -beta));
                        Value cross = arith::MulFOp::create(
                            nb, l, fcst(nb, l, elt, c),
                            arith::MulFOp::create(nb, l, a[0], a[3]));
                        return addF(nb, l, direct, cross);
                      }));
}

} // namespace nm::compiler::lowering
