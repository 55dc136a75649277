//===- PoolGradients.cpp - the gradient of pooling ------------------------===//
//
// Windows that do not overlap (every Conv's pooling) give an elementwise
// generic over the input with each spatial axis split into (window, offset).
// Overlapping windows are a gather over the input (each input voxel sums
// the gradients of the windows that contain it, at most ceil(p / s) per
// axis), because linalg has no scatter: every output element is written
// once, and the sum runs in a fixed order. Max pooling routes each window's
// gradient to its first maximum, found by an argmax over the window (never
// by comparing x with the pooled y: a fused producer may be recomputed and
// differ in the last bit).
//
//===----------------------------------------------------------------------===//
#include "LoweringContext.h"
#include "TensorUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>

using namespace mlir;

namespace nm::compiler::lowering {

/// The narrowest integer type that holds every tap index of a window of
/// `taps` taps and the "none yet" marker -1: the argmax is kept between the
/// forward and the backward pass, one element per pooled voxel.
static Type tapIndexType(OpBuilder &b, double taps) {
  return taps <= 127 ? b.getI8Type() : b.getI32Type();
}

/// A stored tap index widened to i64 for comparing with a computed one.
static Value widenTap(OpBuilder &b, Location loc, Value tap) {
  return arith::ExtSIOp::create(b, loc, b.getI64Type(), tap);
}

/// Per window, the index (`tapIndex`, built in the body as i64, stored as
/// `idxType`) of the first maximum of the window's taps: a reduction
/// generic over `ins` (x first) read through `inMaps`, the windows through
/// `windowMap` (shape `windowShape`). The gradient must not depend on x and
/// the pooled y being bitwise equal: the code generator may recompute a
/// fused producer.
static Value windowArgmax(OpBuilder &b, Location loc, ValueRange ins,
                          ArrayRef<AffineMap> inMaps, AffineMap windowMap,
                          ArrayRef<IT> its, ArrayRef<int64_t> windowShape,
                          Type elt, Type idxType,
                          function_ref<Value(OpBuilder &, Location)> tapIndex) {
  Value maxInit =
      filled(b, loc, windowShape, elt,
             fcst(b, loc, elt, -std::numeric_limits<double>::infinity()));
  Value idxInit =
      filled(b, loc, windowShape, idxType,
             arith::ConstantOp::create(b, loc, b.getIntegerAttr(idxType, -1)));
  SmallVector<AffineMap> maps(inMaps.begin(), inMaps.end());
  maps.append({windowMap, windowMap});
  size_t n = ins.size();
  auto argmax = linalg::GenericOp::create(
      b, loc, TypeRange{maxInit.getType(), idxInit.getType()}, ins,
      ValueRange{maxInit, idxInit}, maps, its,
      [&](OpBuilder &nb, Location l, ValueRange a) {
        Value better =
            arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OGT, a[0], a[n]);
        Value first = arith::CmpIOp::create(
            nb, l, arith::CmpIPredicate::slt, a[n + 1],
            arith::ConstantOp::create(nb, l, nb.getIntegerAttr(idxType, 0)));
        Value take = arith::OrIOp::create(nb, l, better, first);
        Value tap = arith::TruncIOp::create(nb, l, idxType, tapIndex(nb, l));
        linalg::YieldOp::create(
            nb, l,
            ValueRange{arith::SelectOp::create(nb, l, take, a[0], a[n]),
                       arith::SelectOp::create(nb, l, take, tap, a[n + 1])});
      });
  return argmax.getResult(1);
}

/// Non-overlapping windows (stride == pool): each input voxel lies in at
/// most one window, so with every spatial axis split into (window, offset)
/// the gradient is elementwise, all maps projected permutations. Max
/// pooling hands each window's gradient to its first maximum (found by an
/// argmax over the window), average pooling spreads it evenly.
static Value tiledPoolGrad(OpBuilder &b, Location loc, Value x, Value y,
                           Value dy, ArrayRef<int64_t> sp,
                           ArrayRef<int64_t> pool, ir::PoolMode mode) {
  SmallVector<int64_t> xsh = shapeOf(x), ysh = shapeOf(y), cover(xsh);
  Type elt = eltOf(x);
  int64_t rank = xsh.size();
  double windowSize = 1;
  for (size_t j = 0; j < sp.size(); ++j) {
    cover[sp[j]] = ysh[sp[j]] * pool[j];
    windowSize *= static_cast<double>(pool[j]);
  }
  SmallVector<OpFoldResult> off(rank, b.getIndexAttr(0)), sz,
      st(rank, b.getIndexAttr(1));
  for (int64_t d : cover)
    sz.push_back(b.getIndexAttr(d));
  Value xc = tensor::ExtractSliceOp::create(b, loc, x, off, sz, st);
  // Axis d becomes (d) or, when spatial, (window d, offset in window).
  SmallVector<ReassociationIndices> groups;
  SmallVector<int64_t> eSh;
  SmallVector<AffineExpr> outerExprs;
  for (int64_t d = 0; d < rank; ++d) {
    auto it = llvm::find(sp, d);
    ReassociationIndices g{static_cast<int64_t>(eSh.size())};
    outerExprs.push_back(b.getAffineDimExpr(eSh.size()));
    if (it == sp.end()) {
      eSh.push_back(xsh[d]);
    } else {
      int64_t p = pool[it - sp.begin()];
      eSh.push_back(ysh[d]);
      eSh.push_back(p);
      g.push_back(eSh.size() - 1);
    }
    groups.push_back(g);
  }
  int64_t eRank = eSh.size();
  Value xe = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get(eSh, elt), xc, groups);
  AffineMap id = b.getMultiDimIdentityMap(eRank);
  AffineMap outer = AffineMap::get(eRank, 0, outerExprs, b.getContext());
  SmallVector<int64_t> offsetDims;
  for (int64_t d = 0; d < eRank; ++d)
    if (llvm::none_of(outerExprs,
                      [&](AffineExpr e) { return e == b.getAffineDimExpr(d); }))
      offsetDims.push_back(d);
  Type i64 = b.getI64Type();
  // The row-major offset of the element within its window.
  auto offsetIndex = [&](OpBuilder &nb, Location l) -> Value {
    Value k = arith::ConstantOp::create(nb, l, nb.getIntegerAttr(i64, 0));
    for (int64_t d : offsetDims)
      k = arith::AddIOp::create(
          nb, l,
          arith::MulIOp::create(
              nb, l, k,
              arith::ConstantOp::create(nb, l, nb.getIntegerAttr(i64, eSh[d]))),
          indexI64(nb, l, d));
    return k;
  };
  Value winner;
  if (mode == ir::PoolMode::Max) {
    // Each window's first maximum, found in one pass over x: the gradient
    // must not depend on x and the pooled y being bitwise equal (the code
    // generator may recompute a fused producer).
    SmallVector<IT> its(eRank, IT::parallel);
    for (int64_t d : offsetDims)
      its[d] = IT::reduction;
    winner = windowArgmax(b, loc, {xe}, {id}, outer, its, shapeOf(y), elt,
                          tapIndexType(b, windowSize), offsetIndex);
  }
  SmallVector<Value> ins{dy};
  SmallVector<AffineMap> maps{outer};
  if (winner) {
    ins.push_back(winner);
    maps.push_back(outer);
  }
  Value dxe = generic(b, loc, ins, maps, emptyT(b, loc, eSh, elt), id,
                      SmallVector<IT>(eRank, IT::parallel),
                      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                        if (!winner)
                          return arith::DivFOp::create(
                              nb, l, a[0], fcst(nb, l, elt, windowSize));
                        Value isMax = arith::CmpIOp::create(
                            nb, l, arith::CmpIPredicate::eq, offsetIndex(nb, l),
                            widenTap(nb, l, a[1]));
                        return arith::SelectOp::create(nb, l, isMax, a[0],
                                                       fcst(nb, l, elt, 0.0));
                      });
  Value dxc = tensor::CollapseShapeOp::create(
      b, loc, RankedTensorType::get(cover, elt), dxe, groups);
  // Voxels behind the last whole window get no gradient.
  return padded(b, loc, dxc, SmallVector<int64_t>(rank, 0), xsh,
                fcst(b, loc, elt, 0.0));
}

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
  if (ArrayRef<int64_t>(stride) == pool)
    return ctx.set(op, tiledPoolGrad(b, loc, x, y, dy, sp, pool, mode));
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
  // Max: each window's first maximum (its row-major tap index), found in
  // one pass over x, as in tiledPoolGrad.
  Type i64 = b.getI64Type();
  Value winner;
  if (mode == ir::PoolMode::Max) {
    int64_t wdims = rank + nsp;
    SmallVector<AffineExpr> xe;
    for (int64_t d = 0; d < rank; ++d)
      xe.push_back(b.getAffineDimExpr(d));
    for (int64_t j = 0; j < nsp; ++j)
      xe[sp[j]] =
          b.getAffineDimExpr(sp[j]) * stride[j] + b.getAffineDimExpr(rank + j);
    AffineMap xw = AffineMap::get(wdims, 0, xe, b.getContext());
    AffineMap yw = AffineMap::getMultiDimIdentityMap(wdims, b.getContext())
                       .getMajorSubMap(rank);
    SmallVector<IT> wits(rank, IT::parallel);
    wits.append(nsp, IT::reduction);
    Value taps = emptyT(b, loc, SmallVector<int64_t>(pool), elt);
    SmallVector<AffineExpr> tapExprs;
    for (int64_t j = 0; j < nsp; ++j)
      tapExprs.push_back(b.getAffineDimExpr(rank + j));
    AffineMap tw = AffineMap::get(wdims, 0, tapExprs, b.getContext());
    winner = windowArgmax(
        b, loc, {x, taps}, {xw, tw}, yw, wits, ysh, elt,
        tapIndexType(b, windowSize), [&](OpBuilder &nb, Location l) -> Value {
          Value k = arith::ConstantOp::create(nb, l, nb.getIntegerAttr(i64, 0));
          for (int64_t j = 0; j < nsp; ++j)
            k = arith::AddIOp::create(
                nb, l,
                arith::MulIOp::create(
                    nb, l, k,
                    arith::ConstantOp::create(nb, l,
                                              nb.getIntegerAttr(i64, pool[j]))),
                indexI64(nb, l, rank + j));
          return k;
        });
  }
  Value init = filled(b, loc, xsh, elt, fcst(b, loc, elt, 0.0));
  Value dx = generic(
      b, loc, {x, extent}, {xMap, candMap}, init, xMap, its,
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        Value ok = arith::ConstantIntOp::create(nb, l, 1, 1);
        Value tap = arith::ConstantOp::create(nb, l, nb.getIntegerAttr(i64, 0));
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
          Value start = arith::MulIOp::create(nb, l, o, idxC(nb, l, stride[j]));
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
          // This voxel's tap in window o (meaningful where ok).
          Value offset = arith::IndexCastOp::create(
              nb, l, i64, arith::SubIOp::create(nb, l, i, start));
          tap = arith::AddIOp::create(
              nb, l,
              arith::MulIOp::create(
                  nb, l, tap,
                  arith::ConstantOp::create(nb, l,
                                            nb.getIntegerAttr(i64, pool[j]))),
              offset);
        }
        Value g = tensor::ExtractOp::create(nb, l, dy, idx);
        Value zero = fcst(nb, l, elt, 0.0);
        Value contrib;
        if (mode == ir::PoolMode::Max) {
          Value w =
              widenTap(nb, l, tensor::ExtractOp::create(nb, l, winner, idx));
          Value isMax =
              arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq, tap, w);
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
