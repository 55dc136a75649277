//===- PoolGradients.cpp - the gradient of pooling ------------------------===//
//
// Written as a gather over the input (each input voxel sums the gradients
// of the windows that contain it, at most ceil(p / s) per axis), because
// linalg has no scatter: every output element is written once, and the
// sum runs in a fixed order.
//
//===----------------------------------------------------------------------===//
#include "LoweringContext.h"
#include "TensorUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace nm::compiler::lowering {

LogicalResult lower(ir::PoolGradOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  ::nm::TaggedShape xs = tagged(op.getX());
  ir::PoolMode mode = op.getMode();
  // nm.pool never pads, so the average modes with and without the padding
  // in the divisor are one (Pooling.cpp divides all three by the window
  // size); sum spreads the gradient undivided.
  bool sum = mode == ir::PoolMode::Sum;
  ArrayRef<int64_t> pool = op.getPool();
  SmallVector<int64_t> stride(pool);
  if (auto s = op.getStride())
    stride.assign(s->begin(), s->end());
  std::vector<int64_t> sp = xs.spatialAxes();
  if (sp.size() != pool.size() || stride.size() != pool.size())
    return op.emitError() << "pool_grad: pool and stride need one entry per "
                             "spatial axis";
  Value x = ctx.get(op.getX()), y = ctx.get(op.getY()),
        dy = ctx.get(op.getDy());
  SmallVector<int64_t> xsh = shapeOf(x), ysh = shapeOf(y);
  Type elt = eltOf(x);
  int64_t rank = xsh.size(), nsp = sp.size();
  // Iteration space: x's axes, then one window-candidate axis per spatial
  // axis (t_j < ceil(p_j / s_j)), which the sum reduces.
  SmallVector<int64_t> cand;
  double windowSize = 1;
  for (int64_t j = 0; j < nsp; ++j) {
    cand.push_back((pool[j] + stride[j] - 1) / stride[j]);
    windowSize *= static_cast<double>(pool[j]);
  }
  SmallVector<IT> its(rank, IT::parallel);
  its.append(nsp, IT::reduction);
  int64_t dims = rank + nsp;
  // A dummy input gives the candidate axes their extent.
  Value extent = emptyT(b, loc, cand, elt);
  SmallVector<AffineExpr> candExprs;
  for (int64_t j = 0; j < nsp; ++j)
    candExprs.push_back(b.getAffineDimExpr(rank + j));
  AffineMap xMap = AffineMap::getMultiDimIdentityMap(dims, b.getContext())
                       .getMajorSubMap(rank);
  AffineMap candMap = AffineMap::get(dims, 0, candExprs, b.getContext());
  Value init = filled(b, loc, xsh, elt, fcst(b, loc, elt, 0.0));
  Value dx = generic(
      b, loc, {x, extent}, {xMap, candMap}, init, xMap, its,
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        Value ok = arith::ConstantIntOp::create(nb, l, 1, 1);
        SmallVector<Value> idx;
        for (int64_t d = 0; d < rank; ++d)
          idx.push_back(linalg::IndexOp::create(nb, l, d));
        for (int64_t j = 0; j < nsp; ++j) {
          int64_t ax = sp[j];
          Value i = idx[ax];
          Value t = linalg::IndexOp::create(nb, l, rank + j);
          Value o = arith::SubIOp::create(
              nb, l, arith::DivUIOp::create(nb, l, i, idxC(nb, l, stride[j])),
              t);
          Value start =
              arith::MulIOp::create(nb, l, o, idxC(nb, l, stride[j]));
          Value inWin = arith::CmpIOp::create(
              nb, l, arith::CmpIPredicate::slt,
              arith::SubIOp::create(nb, l, i, start), idxC(nb, l, pool[j]));
          Value ge0 = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::sge, o,
                                            idxC(nb, l, 0));
          Value lt = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::slt, o,
                                           idxC(nb, l, ysh[ax]));
          ok = arith::AndIOp::create(
              nb, l, ok,
              arith::AndIOp::create(nb, l, inWin,
                                    arith::AndIOp::create(nb, l, ge0, lt)));
          Value clamped = arith::MaxSIOp::create(
              nb, l, idxC(nb, l, 0),
              arith::MinSIOp::create(nb, l, o, idxC(nb, l, ysh[ax] - 1)));
          idx[ax] = clamped;
        }
        Value g = tensor::ExtractOp::create(nb, l, dy, idx);
        Value zero = fcst(nb, l, elt, 0.0);
        Value contrib;
        if (mode == ir::PoolMode::Max) {
          Value yv = tensor::ExtractOp::create(nb, l, y, idx);
          Value isMax =
              arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OEQ, a[0], yv);
          contrib = arith::SelectOp::create(
              nb, l, arith::AndIOp::create(nb, l, ok, isMax), g, zero);
        } else {
          contrib = arith::SelectOp::create(
              nb, l, ok,
              sum ? g
                  : Value(arith::DivFOp::create(nb, l, g,
                                                fcst(nb, l, elt, windowSize))),
              zero);
        }
        return addF(nb, l, a[2], contrib);
      });
  return ctx.set(op, dx);
}

} // namespace nm::compiler::lowering
