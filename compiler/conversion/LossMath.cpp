//===- LossMath.cpp - scalar and tensor helpers of the loss lowerings -----===//
//
// See LossMath.h.
//
//===----------------------------------------------------------------------===//
#include "LossMath.h"

#include "TensorUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "neuromancer/dialect/IR/NmOps.h"

#include <cmath>
#include <numbers>

using namespace mlir;

namespace nm::compiler::lowering {

Value xlogy0(OpBuilder &b, Location l, Value x, Value y) {
  Value zero = fcst(b, l, x.getType(), 0.0);
  Value isZero =
      arith::CmpFOp::create(b, l, arith::CmpFPredicate::OEQ, x, zero);
  Value v = arith::MulFOp::create(b, l, x, math::LogOp::create(b, l, y));
  return arith::SelectOp::create(b, l, isZero, zero, v);
}

Value isUnlabelled(OpBuilder &b, Location l, Value t) {
  Type ty = t.getType();
  Value d = math::AbsFOp::create(
      b, l, arith::AddFOp::create(b, l, t, fcst(b, l, ty, 666.0)));
  return arith::CmpFOp::create(b, l, arith::CmpFPredicate::OLE, d,
                               fcst(b, l, ty, 1e-8 + 1e-5 * 666.0));
}

Value lgammaF64(OpBuilder &b, Location l, Value x) {
  Type t = x.getType();
  ScalarMath m{b, l, t};
  Value prod = x;
  for (int i = 1; i < 8; ++i)
    prod = m.mul(prod, m.add(x, m.c(i)));
  Value z = m.add(x, m.c(8.0));
  Value iz = arith::DivFOp::create(b, l, m.c(1.0), z);
  Value iz2 = m.mul(iz, iz);
  Value s = m.c(1.0 / 1680.0);
  s = m.sub(m.c(1.0 / 1260.0), m.mul(iz2, s));
  s = m.sub(m.c(1.0 / 360.0), m.mul(iz2, s));
  s = m.sub(m.c(1.0 / 12.0), m.mul(iz2, s));
  s = m.mul(iz, s);
  Value lz = math::LogOp::create(b, l, z);
  Value st = m.add(m.sub(m.mul(m.sub(z, m.c(0.5)), lz), z),
                   m.add(m.c(0.5 * std::log(2.0 * std::numbers::pi)), s));
  Value lp = math::LogOp::create(b, l, math::AbsFOp::create(b, l, prod));
  return m.sub(st, lp);
}

Value digammaF64(OpBuilder &b, Location l, Value x) {
  Type t = x.getType();
  ScalarMath m{b, l, t};
  // psi(x) = psi(x + 8) - sum_{i<8} 1 / (x + i), the asymptotic series at
  // z = x + 8 (the derivative of lgammaF64's Stirling series).
  Value shift = m.c(0.0);
  for (int i = 0; i < 8; ++i)
    shift =
        m.add(shift, arith::DivFOp::create(b, l, m.c(1.0), m.add(x, m.c(i))));
  Value z = m.add(x, m.c(8.0));
  Value iz = arith::DivFOp::create(b, l, m.c(1.0), z);
  Value iz2 = m.mul(iz, iz);
  Value s = m.c(1.0 / 240.0);
  s = m.sub(m.c(1.0 / 252.0), m.mul(iz2, s));
  s = m.sub(m.c(1.0 / 120.0), m.mul(iz2, s));
  s = m.sub(m.c(1.0 / 12.0), m.mul(iz2, s));
  s = m.mul(iz2, s);
  Value psi =
      m.sub(m.sub(math::LogOp::create(b, l, z), m.mul(m.c(0.5), iz)), s);
  return m.sub(psi, shift);
}

ir::SoftmaxOp softmaxOf(Value v) {
  Operation *def = v.getDefiningOp();
  while (auto sl = dyn_cast_or_null<ir::SliceOp>(def))
    def = sl.getInput().getDefiningOp();
  return dyn_cast_or_null<ir::SoftmaxOp>(def);
}

Value sumOverAxisKeep(OpBuilder &b, Location loc, ValueRange ins,
                      ArrayRef<AffineMap> maps, ArrayRef<int64_t> shape,
                      int64_t fI, Type elt, BodyFn term,
                      function_ref<Value(OpBuilder &, Location, Value)> post) {
  int64_t rank = shape.size();
  SmallVector<int64_t> outSh(shape.begin(), shape.end());
  outSh.erase(outSh.begin() + fI);
  SmallVector<IT> its(rank, IT::parallel);
  its[fI] = IT::reduction;
  Value init = filled(b, loc, outSh, elt, fcst(b, loc, elt, 0.0));
  Value sum = generic(b, loc, ins, maps, init, dropDimMap(b, rank, fI), its,
                      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                        Value v = term(nb, l, a.drop_back());
                        return arith::AddFOp::create(nb, l, a.back(), v);
                      });
  Value res = elementwise(b, loc, {sum}, outSh, elt,
                          [&](OpBuilder &nb, Location l, ValueRange a) {
                            return post(nb, l, a[0]);
                          });
  return insertUnitAxis(b, loc, res, fI);
}

Value labelledCount(OpBuilder &b, Location loc, Value t, Type elt) {
  Type i64 = b.getI64Type();
  return reduceAll(
      b, loc, t, i64, icst(b, loc, i64, 0),
      [&](OpBuilder &nb, Location l, Value x, Value acc) {
        Value un = isUnlabelled(nb, l, toFloat(nb, l, x, elt));
        Value lab = arith::XOrIOp::create(
            nb, l, un, arith::ConstantOp::create(nb, l, nb.getBoolAttr(true)));
        return Value(arith::AddIOp::create(
            nb, l, acc, arith::ExtUIOp::create(nb, l, i64, lab)));
      });
}

Value labelledScale(OpBuilder &b, Location l, Value count, int64_t size,
                    Type elt) {
  Value n = arith::SIToFPOp::create(
      b, l, elt,
      arith::AddIOp::create(b, l, count, icst(b, l, count.getType(), 1)));
  return arith::DivFOp::create(b, l, fcst(b, l, elt, static_cast<double>(size)),
                               n);
}

std::optional<int64_t> softmaxIndep(Value v) {
  if (ir::SoftmaxOp sm = softmaxOf(v))
    return sm.getNIndep();
  return std::nullopt;
}

/// Whether a label (int or float scalar) is one of the classes 0..C-1:
/// theano's eq(t, arange(C)) holds for integral t in [0, C).
Value labelInRange(OpBuilder &b, Location l, Value label, int64_t C) {
  Type t = label.getType();
  if (isa<FloatType>(t)) {
    Value fl = math::FloorOp::create(b, l, label);
    Value integral =
        arith::CmpFOp::create(b, l, arith::CmpFPredicate::OEQ, fl, label);
    Value ge = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGE, label,
                                     fcst(b, l, t, 0));
    Value lt = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OLT, label,
                                     fcst(b, l, t, C));
    return arith::AndIOp::create(b, l, integral,
                                 arith::AndIOp::create(b, l, ge, lt));
  }
  Value li = label;
  if (t.getIntOrFloatBitWidth() < 64)
    li = arith::ExtSIOp::create(b, l, b.getI64Type(), label);
  Value ge = arith::CmpIOp::create(b, l, arith::CmpIPredicate::sge, li,
                                   icst(b, l, li.getType(), 0));
  Value lt = arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, li,
                                   icst(b, l, li.getType(), C));
  return arith::AndIOp::create(b, l, ge, lt);
}

/// n_up of multinoulli_nll, sum(T), as a rank-0 `elt` tensor: for a sparse
/// target the number of labels that are one of the C classes, for a dense
/// one the sum of its elements.
Value targetCount(OpBuilder &b, Location loc, Value t, bool sparse, int64_t C,
                  Type elt) {
  if (!sparse)
    return reduceAll(b, loc, t, elt, fcst(b, loc, elt, 0.0),
                     [&](OpBuilder &nb, Location l, Value x, Value acc) {
                       return Value(arith::AddFOp::create(
                           nb, l, acc, toFloat(nb, l, x, elt)));
                     });
  int64_t rank = shapeOf(t).size();
  Value init = filled(b, loc, {}, elt, fcst(b, loc, elt, 0.0));
  SmallVector<IT> all(rank, IT::reduction);
  return generic(b, loc, {t}, {b.getMultiDimIdentityMap(rank)}, init,
                 scalarMap(b, rank), all,
                 [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                   Value one = arith::SelectOp::create(
                       nb, l, labelInRange(nb, l, a[0], C),
                       fcst(nb, l, elt, 1.0), fcst(nb, l, elt, 0.0));
                   return arith::AddFOp::create(nb, l, a[1], one);
                 });
}

} // namespace nm::compiler::lowering
