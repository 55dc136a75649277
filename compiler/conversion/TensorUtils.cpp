//===- TensorUtils.cpp - tensor builders of the nm -> linalg lowering -----===//
//
// See TensorUtils.h.
//
//===----------------------------------------------------------------------===//
#include "TensorUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace nm::compiler::lowering {

RankedTensorType plainType(Type type) {
  auto t = cast<RankedTensorType>(type);
  Type elt = t.getElementType();
  if (auto it = dyn_cast<IntegerType>(elt); it && !it.isSignless())
    elt = IntegerType::get(type.getContext(), it.getWidth());
  return RankedTensorType::get(t.getShape(), elt);
}

SmallVector<int64_t> shapeOf(Value v) {
  return SmallVector<int64_t>(cast<RankedTensorType>(v.getType()).getShape());
}

Type eltOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getElementType();
}

Value emptyT(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Type elt) {
  return tensor::EmptyOp::create(b, loc, shape, elt);
}

Value fcst(OpBuilder &b, Location loc, Type elt, double v) {
  return arith::ConstantOp::create(b, loc, b.getFloatAttr(elt, v));
}

Value icst(OpBuilder &b, Location loc, Type elt, int64_t v) {
  return arith::ConstantOp::create(b, loc, b.getIntegerAttr(elt, v));
}

Value filled(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Type elt,
             Value v) {
  return linalg::FillOp::create(b, loc, ValueRange{v},
                                ValueRange{emptyT(b, loc, shape, elt)})
      .getResult(0);
}

Value generic(OpBuilder &b, Location loc, ValueRange inputs,
              ArrayRef<AffineMap> inMaps, Value init, AffineMap outMap,
              ArrayRef<IT> iterators, BodyFn body) {
  SmallVector<AffineMap> maps(inMaps.begin(), inMaps.end());
  maps.push_back(outMap);
  auto op = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
      iterators, [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value r = body(nb, nl, args);
        linalg::YieldOp::create(nb, nl, r);
      });
  return op.getResult(0);
}

/// out = body(inputs...) elementwise; every input has the output's shape.
Value elementwise(OpBuilder &b, Location loc, ValueRange inputs,
                  ArrayRef<int64_t> shape, Type elt, BodyFn body) {
  unsigned rank = shape.size();
  AffineMap id = b.getMultiDimIdentityMap(rank);
  SmallVector<AffineMap> maps(inputs.size(), id);
  SmallVector<IT> its(rank, IT::parallel);
  return generic(b, loc, inputs, maps, emptyT(b, loc, shape, elt), id, its,
                 body);
}

/// out dim i = in dim perm[i] (linalg.transpose). Transposes compose: a
/// transpose of a transpose reads the original tensor, and one that undoes
/// another returns its input, so channels-last values flow from layer to
/// layer without round trips. A permutation that only moves unit dims is a
/// reshape (no data movement).
Value transposeT(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> perm) {
  SmallVector<int64_t> p(perm);
  if (auto prev = x.getDefiningOp<linalg::TransposeOp>()) {
    // x dim j = src dim q[j], so out dim i = src dim q[p[i]].
    ArrayRef<int64_t> q = prev.getPermutation();
    for (int64_t &v : p)
      v = q[v];
    x = prev.getInput();
  }
  bool identity = true;
  for (size_t i = 0; i < p.size(); ++i)
    identity &= p[i] == static_cast<int64_t>(i);
  if (identity)
    return x;
  SmallVector<int64_t> in = shapeOf(x), out;
  for (int64_t v : p)
    out.push_back(in[v]);
  SmallVector<int64_t> moved; // the non-unit dims in output order
  for (int64_t v : p)
    if (in[v] != 1)
      moved.push_back(v);
  if (llvm::is_sorted(moved) && !in.empty()) {
    // Same element order: collapse to 1-D and expand to the new shape.
    SmallVector<ReassociationIndices> all(1);
    for (size_t i = 0; i < in.size(); ++i)
      all[0].push_back(i);
    Value flat = tensor::CollapseShapeOp::create(b, loc, x, all);
    return tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get(out, eltOf(x)), flat, all);
  }
  return linalg::TransposeOp::create(b, loc, x, emptyT(b, loc, out, eltOf(x)),
                                     p)
      ->getResult(0);
}

SmallVector<int64_t> inversePerm(ArrayRef<int64_t> perm) {
  SmallVector<int64_t> inv(perm.size());
  for (size_t i = 0; i < perm.size(); ++i)
    inv[perm[i]] = i;
  return inv;
}

/// Collapses a unit axis `axis` away (rank - 1).
Value dropUnitAxis(OpBuilder &b, Location loc, Value x, int64_t axis) {
  int64_t rank = shapeOf(x).size();
  if (rank == 1) {
    // [1] -> rank 0.
    return tensor::CollapseShapeOp::create(b, loc, x,
                                           ArrayRef<ReassociationIndices>{});
  }
  SmallVector<ReassociationIndices> groups;
  for (int64_t i = 0; i < rank; ++i) {
    if (i == axis)
      continue;
    groups.push_back({i});
  }
  // Attach the unit axis to a neighbour.
  if (axis == 0)
    groups.front().insert(groups.front().begin(), 0);
  else
    groups[axis - 1].push_back(axis);
  return tensor::CollapseShapeOp::create(b, loc, x, groups);
}

/// Inserts a unit axis at `axis` (rank + 1).
Value insertUnitAxis(OpBuilder &b, Location loc, Value x, int64_t axis) {
  SmallVector<int64_t> shape = shapeOf(x);
  int64_t rank = shape.size();
  SmallVector<int64_t> out(shape);
  out.insert(out.begin() + axis, 1);
  auto type = RankedTensorType::get(out, eltOf(x));
  if (rank == 0)
    return tensor::ExpandShapeOp::create(b, loc, type, x,
                                         ArrayRef<ReassociationIndices>{});
  SmallVector<ReassociationIndices> groups;
  for (int64_t i = 0; i < rank; ++i) {
    int64_t o = i < axis ? i : i + 1;
    groups.push_back({o});
  }
  if (axis == 0)
    groups.front().insert(groups.front().begin(), 0);
  else
    groups[axis - 1].push_back(axis);
  return tensor::ExpandShapeOp::create(b, loc, type, x, groups);
}

/// Splits axis `axis` of size n*m into [n, m].
Value splitAxis(OpBuilder &b, Location loc, Value x, int64_t axis, int64_t n,
                int64_t m) {
  SmallVector<int64_t> shape = shapeOf(x), out;
  SmallVector<ReassociationIndices> groups;
  int64_t o = 0;
  for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i) {
    if (i == axis) {
      out.push_back(n);
      out.push_back(m);
      groups.push_back({o, o + 1});
      o += 2;
    } else {
      out.push_back(shape[i]);
      groups.push_back({o++});
    }
  }
  return tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get(out, eltOf(x)), x, groups);
}

/// Merges axes `axis` and `axis + 1`.
Value mergeAxes(OpBuilder &b, Location loc, Value x, int64_t axis) {
  int64_t rank = shapeOf(x).size();
  SmallVector<ReassociationIndices> groups;
  for (int64_t i = 0; i < rank; ++i) {
    if (i == axis + 1)
      continue;
    if (i == axis)
      groups.push_back({i, i + 1});
    else
      groups.push_back({i});
  }
  return tensor::CollapseShapeOp::create(b, loc, x, groups);
}

/// Reduces axis `axis` of x with `combine(elem, acc)` from `initValue`;
/// the result has rank - 1 and element type `accElt`.
Value reduceAxis(
    OpBuilder &b, Location loc, Value x, int64_t axis, Type accElt,
    Value initValue,
    function_ref<Value(OpBuilder &, Location, Value, Value)> combine) {
  SmallVector<int64_t> shape = shapeOf(x), out;
  int64_t rank = shape.size();
  SmallVector<AffineExpr> outExprs;
  SmallVector<IT> its;
  for (int64_t i = 0; i < rank; ++i) {
    its.push_back(i == axis ? IT::reduction : IT::parallel);
    if (i != axis) {
      out.push_back(shape[i]);
      outExprs.push_back(b.getAffineDimExpr(i));
    }
  }
  AffineMap outMap = AffineMap::get(rank, 0, outExprs, b.getContext());
  Value init = filled(b, loc, out, accElt, initValue);
  return generic(b, loc, {x}, {b.getMultiDimIdentityMap(rank)}, init, outMap,
                 its, [&](OpBuilder &nb, Location nl, ValueRange a) {
                   return combine(nb, nl, a[0], a[1]);
                 });
}

/// Map of a rank-(n-1) tensor that lacks dim `axis` of an n-dim space.
AffineMap dropDimMap(OpBuilder &b, int64_t rank, int64_t axis) {
  SmallVector<AffineExpr> e;
  for (int64_t i = 0; i < rank; ++i)
    if (i != axis)
      e.push_back(b.getAffineDimExpr(i));
  return AffineMap::get(rank, 0, e, b.getContext());
}

/// Reduces every element of x to a rank-0 tensor.
Value reduceAll(
    OpBuilder &b, Location loc, Value x, Type accElt, Value initValue,
    function_ref<Value(OpBuilder &, Location, Value, Value)> combine) {
  int64_t rank = shapeOf(x).size();
  Value init = filled(b, loc, {}, accElt, initValue);
  SmallVector<IT> its(rank, IT::reduction);
  return generic(b, loc, {x}, {b.getMultiDimIdentityMap(rank)}, init,
                 AffineMap::get(rank, 0, {}, b.getContext()), its,
                 [&](OpBuilder &nb, Location nl, ValueRange a) {
                   return combine(nb, nl, a[0], a[1]);
                 });
}

Value addF(OpBuilder &b, Location l, Value x, Value y) {
  return arith::AddFOp::create(b, l, x, y);
}
Value maxF(OpBuilder &b, Location l, Value x, Value y) {
  return arith::MaximumFOp::create(b, l, x, y);
}

DenseIntElementsAttr i64Vec(OpBuilder &b, ArrayRef<int64_t> v) {
  return DenseIntElementsAttr::get(
      RankedTensorType::get({static_cast<int64_t>(v.size())},
                            b.getIntegerType(64)),
      v);
}

Value idxC(OpBuilder &b, Location l, int64_t v) {
  return arith::ConstantIndexOp::create(b, l, v);
}

/// Clamps index `j` to [0, n-1] and tells whether it was inside.
std::pair<Value, Value> clampIndex(OpBuilder &b, Location l, Value j,
                                   int64_t n) {
  Value ge =
      arith::CmpIOp::create(b, l, arith::CmpIPredicate::sge, j, idxC(b, l, 0));
  Value lt =
      arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, j, idxC(b, l, n));
  Value jc = arith::MinSIOp::create(
      b, l, arith::MaxSIOp::create(b, l, j, idxC(b, l, 0)), idxC(b, l, n - 1));
  return {jc, arith::AndIOp::create(b, l, ge, lt)};
}

/// A gather: out[i] = body(indices) over `shape` (no inputs), for data
/// movement that no tensor op expresses.
Value gather(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Type elt,
             function_ref<Value(OpBuilder &, Location, ArrayRef<Value>)> fn) {
  int64_t rank = shape.size();
  SmallVector<IT> its(rank, IT::parallel);
  return generic(b, loc, {}, {}, emptyT(b, loc, shape, elt),
                 b.getMultiDimIdentityMap(rank), its,
                 [&](OpBuilder &nb, Location l, ValueRange) -> Value {
                   SmallVector<Value> idx;
                   for (int64_t d = 0; d < rank; ++d)
                     idx.push_back(linalg::IndexOp::create(nb, l, d));
                   return fn(nb, l, idx);
                 });
}

/// x padded by `lo` in front (and up to `shape` behind) with `value`
/// (tensor.pad).
Value padded(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> lo,
             ArrayRef<int64_t> shape, Value value) {
  SmallVector<int64_t> in = shapeOf(x);
  bool any = false;
  SmallVector<OpFoldResult> low, high;
  for (size_t d = 0; d < in.size(); ++d) {
    low.push_back(b.getIndexAttr(lo[d]));
    high.push_back(b.getIndexAttr(shape[d] - in[d] - lo[d]));
    any |= lo[d] != 0 || shape[d] != in[d];
  }
  if (!any)
    return x;
  return tensor::PadOp::create(b, loc, RankedTensorType::get(shape, eltOf(x)),
                               x, low, high, value);
}

/// x with its last dim padded behind to `n` with `value`.
Value padLastTo(OpBuilder &b, Location loc, Value x, int64_t n, double value) {
  SmallVector<int64_t> shape = shapeOf(x);
  if (shape.back() == n)
    return x;
  SmallVector<int64_t> lo(shape.size(), 0);
  shape.back() = n;
  return padded(b, loc, x, lo, shape, fcst(b, loc, eltOf(x), value));
}

/// The leading `n` elements of the last dim of x.
Value sliceLastTo(OpBuilder &b, Location loc, Value x, int64_t n) {
  SmallVector<int64_t> shape = shapeOf(x);
  if (shape.back() == n)
    return x;
  SmallVector<OpFoldResult> off, sz, st;
  for (size_t d = 0; d < shape.size(); ++d) {
    off.push_back(b.getIndexAttr(0));
    sz.push_back(b.getIndexAttr(d + 1 == shape.size() ? n : shape[d]));
    st.push_back(b.getIndexAttr(1));
  }
  shape.back() = n;
  return tensor::ExtractSliceOp::create(
      b, loc, RankedTensorType::get(shape, eltOf(x)), x, off, sz, st);
}

int64_t numElements(ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

/// A scalar of any int or float type as the float type `elt`.
Value toFloat(OpBuilder &b, Location l, Value v, Type elt) {
  Type t = v.getType();
  if (t == elt)
    return v;
  if (auto ft = dyn_cast<FloatType>(t))
    return ft.getWidth() < cast<FloatType>(elt).getWidth()
               ? Value(arith::ExtFOp::create(b, l, elt, v))
               : Value(arith::TruncFOp::create(b, l, elt, v));
  if (t.isInteger(1))
    return arith::UIToFPOp::create(b, l, elt, v);
  return arith::SIToFPOp::create(b, l, elt, v);
}

/// The map of a rank-0 operand in a rank-`rank` iteration space.
AffineMap scalarMap(OpBuilder &b, int64_t rank) {
  return AffineMap::get(rank, 0, {}, b.getContext());
}

Value labelEq(OpBuilder &b, Location l, Value label, Value c) {
  Type t = label.getType();
  if (isa<FloatType>(t)) {
    Value cf = arith::SIToFPOp::create(b, l, t, c);
    return arith::CmpFOp::create(b, l, arith::CmpFPredicate::OEQ, label, cf);
  }
  Value li = label;
  if (t.getIntOrFloatBitWidth() < 64)
    li = arith::ExtSIOp::create(b, l, b.getI64Type(), label);
  return arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, li, c);
}

Value indexI64(OpBuilder &b, Location l, int64_t dim) {
  Value i = linalg::IndexOp::create(b, l, dim);
  return arith::IndexCastOp::create(b, l, b.getI64Type(), i);
}

} // namespace nm::compiler::lowering
