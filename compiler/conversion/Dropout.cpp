//===- Dropout.cpp - nm.dropout: a counter-based dropout mask -------------===//
//
// The keep decision of an element is splitmix64(seed + (index + 1) * phi)
// compared with (1 - rate) * 2^53, where index is the element's row-major
// index (of its (b, f) pair for a Perceptron's per-feature mask): a pure
// function of the seed and the position, so the mask is the same on any
// number of threads and in the gradient.
//
//===----------------------------------------------------------------------===//
#include "LoweringContext.h"
#include "TensorUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cmath>

using namespace mlir;

namespace nm::compiler::lowering {

/// splitmix64's finaliser of seed + (index + 1) * 0x9E3779B97F4A7C15.
static Value mix(OpBuilder &b, Location l, Value seed, Value index) {
  Type i64 = b.getI64Type();
  auto c = [&](uint64_t v) {
    return arith::ConstantOp::create(
        b, l, b.getIntegerAttr(i64, static_cast<int64_t>(v)));
  };
  auto xorShift = [&](Value z, int64_t s) -> Value {
    return arith::XOrIOp::create(
        b, l, z, arith::ShRUIOp::create(b, l, z, c(static_cast<uint64_t>(s))));
  };
  Value z = arith::AddIOp::create(
      b, l, seed,
      arith::MulIOp::create(b, l, arith::AddIOp::create(b, l, index, c(1)),
                            c(0x9E3779B97F4A7C15ull)));
  z = arith::MulIOp::create(b, l, xorShift(z, 30), c(0xBF58476D1CE4E5B9ull));
  z = arith::MulIOp::create(b, l, xorShift(z, 27), c(0x94D049BB133111EBull));
  return xorShift(z, 31);
}

LogicalResult lower(ir::DropoutOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  Value x = ctx.get(op.getInput());
  SmallVector<int64_t> sh = shapeOf(x);
  Type elt = eltOf(x);
  int64_t rank = sh.size();
  double rate = op.getRate().convertToDouble();
  ::nm::TaggedShape s = tagged(op.getInput());
  // The axes the mask varies over: all, or b and f (per feature).
  SmallVector<int64_t> axes;
  for (int64_t d = 0; d < rank; ++d)
    if (!op.getPerFeature() || s.tags()[d] == 'b' || s.tags()[d] == 'f')
      axes.push_back(d);
  Value seedT = ctx.get(op.getSeed());
  SmallVector<Value> zero(cast<RankedTensorType>(seedT.getType()).getRank(),
                          idxC(b, loc, 0));
  Value seed = tensor::ExtractOp::create(b, loc, seedT, zero);
  auto threshold = static_cast<int64_t>(std::ldexp(1.0 - rate, 53));
  double scale = 1.0 / (1.0 - rate);
  return ctx.set(
      op,
      elementwise(
          b, loc, {x}, sh, elt,
          [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
            Type i64 = nb.getI64Type();
            Value index =
                arith::ConstantOp::create(nb, l, nb.getIntegerAttr(i64, 0));
            for (int64_t d : axes) {
              index = arith::MulIOp::create(
                  nb, l, index,
                  arith::ConstantOp::create(nb, l,
                                            nb.getIntegerAttr(i64, sh[d])));
              index = arith::AddIOp::create(nb, l, index, indexI64(nb, l, d));
            }
            Value bits = arith::ShRUIOp::create(
                nb, l, mix(nb, l, seed, index),
                arith::ConstantOp::create(nb, l, nb.getIntegerAttr(i64, 11)));
            Value keep = arith::CmpIOp::create(
                nb, l, arith::CmpIPredicate::ult, bits,
                arith::ConstantOp::create(nb, l,
                                          nb.getIntegerAttr(i64, threshold)));
            return arith::SelectOp::create(
                nb, l, keep,
                arith::MulFOp::create(nb, l, a[0], fcst(nb, l, elt, scale)),
                fcst(nb, l, elt, 0.0));
          }));
}

} // namespace nm::compiler::lowering
