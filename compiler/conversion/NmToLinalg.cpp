//===- NmToLinalg.cpp - nm dialect -> linalg on static tensors ------------===//
//
// Whole-function rebuild: for every function that uses nm, a new entry block
// with plain tensor arguments is built next to the old one; each op of the
// old block is lowered in order, reading its tagged types (axis tags,
// geometry) from the old IR and its operands from an IRMapping. Only when
// every op lowered is the old block dropped, so a failure leaves the function
// untouched. nm's tagged tensors carry everything the lowering needs in their
// types, and each nm op becomes a small, different DAG of linalg/tensor ops,
// so a one-pass rebuild is simpler than a TypeConverter + pattern set (there
// are no partial-conversion states to legalise).
//
//===----------------------------------------------------------------------===//
#include "neuromancer/compiler/conversion/NmToLinalg.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassRegistry.h"
#include "neuromancer/dialect/IR/NmAttrs.h"
#include "neuromancer/dialect/IR/NmDialect.h"
#include "neuromancer/dialect/IR/NmOps.h"

#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <limits>
#include <numbers>
#include <type_traits>

using namespace mlir;

namespace nm::compiler {
namespace {

using IT = utils::IteratorType;
using BodyFn = function_ref<Value(OpBuilder &, Location, ValueRange)>;

//===----------------------------------------------------------------------===//
// Small builders
//===----------------------------------------------------------------------===//

RankedTensorType plainType(Type type) {
  auto t = cast<RankedTensorType>(type);
  return RankedTensorType::get(t.getShape(), t.getElementType());
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

/// Channels of the internal (channels-last) layout of conv outputs: a
/// multiple of the 16-float vector, so register tiles are full. The padded
/// channels hold finite junk (activation of 0) that the next layer's zero
/// weight rows cancel.
int64_t paddedChannels(int64_t n) { return n <= 4 ? n : (n + 15) / 16 * 16; }

//===----------------------------------------------------------------------===//
// Scalar functions
//===----------------------------------------------------------------------===//

Value softplus(OpBuilder &b, Location l, Value x) {
  // max(x, 0) + log1p(exp(-|x|)): no overflow for large |x|.
  Type t = x.getType();
  Value zero = fcst(b, l, t, 0.0);
  Value ax = math::AbsFOp::create(b, l, x);
  Value nax = arith::NegFOp::create(b, l, ax);
  Value e = math::ExpOp::create(b, l, nax);
  Value lp = math::Log1pOp::create(b, l, e);
  return arith::AddFOp::create(b, l, arith::MaximumFOp::create(b, l, x, zero),
                               lp);
}

Value eluScalar(OpBuilder &b, Location l, Value x, double alpha) {
  Type t = x.getType();
  Value zero = fcst(b, l, t, 0.0);
  Value one = fcst(b, l, t, 1.0);
  Value em1 = arith::SubFOp::create(b, l, math::ExpOp::create(b, l, x), one);
  Value neg = arith::MulFOp::create(b, l, fcst(b, l, t, alpha), em1);
  Value pos = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT, x, zero);
  return arith::SelectOp::create(b, l, pos, x, neg);
}

/// Applies a named activation (ELEKTRONN2's apply_activation) or an
/// ApplyFunc function to a scalar; `slope` is prelu's per-feature slope.
FailureOr<Value> scalarFunction(OpBuilder &b, Location l, StringRef name,
                                Value x, Value slope = {}) {
  Type t = x.getType();
  if (name == "lin" || name == "linear")
    return x;
  if (name == "tanh")
    return Value(math::TanhOp::create(b, l, x));
  if (name == "relu")
    return Value(arith::MaximumFOp::create(b, l, x, fcst(b, l, t, 0.0)));
  if (name == "prelu") {
    if (!slope)
      return failure();
    Value pos = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT, x,
                                      fcst(b, l, t, 0.0));
    return Value(arith::SelectOp::create(
        b, l, pos, x, arith::MulFOp::create(b, l, slope, x)));
  }
  if (name == "elu")
    return eluScalar(b, l, x, 1.0);
  if (name == "selu")
    return Value(arith::MulFOp::create(b, l, fcst(b, l, t, 1.0507009873554805),
                                       eluScalar(b, l, x, 1.6732632423543772)));
  if (name == "abs")
    return Value(math::AbsFOp::create(b, l, x));
  if (name == "sig" || name == "logistic" || name == "sigmoid") {
    Value one = fcst(b, l, t, 1.0);
    Value e = math::ExpOp::create(b, l, arith::NegFOp::create(b, l, x));
    return Value(
        arith::DivFOp::create(b, l, one, arith::AddFOp::create(b, l, one, e)));
  }
  if (name == "soft+" || name == "softplus")
    return softplus(b, l, x);
  if (name == "concentration")
    return Value(arith::AddFOp::create(
        b, l,
        arith::MulFOp::create(b, l, fcst(b, l, t, 7.0), softplus(b, l, x)),
        fcst(b, l, t, 2.0)));
  if (name == "radius") {
    Value e = math::ExpOp::create(
        b, l, arith::MulFOp::create(b, l, fcst(b, l, t, 0.15), x));
    return Value(arith::AddFOp::create(
        b, l, fcst(b, l, t, 3.0),
        arith::MulFOp::create(b, l, fcst(b, l, t, 15.0), e)));
  }
  if (name == "exp")
    return Value(math::ExpOp::create(b, l, x));
  if (name == "log")
    return Value(math::LogOp::create(b, l, x));
  if (name == "sqrt")
    return Value(math::SqrtOp::create(b, l, x));
  if (name == "square")
    return Value(arith::MulFOp::create(b, l, x, x));
  if (name == "neg")
    return Value(arith::NegFOp::create(b, l, x));
  return failure();
}

/// "maxout <r>" -> r, else 0.
int64_t maxoutFactor(StringRef act) {
  if (!act.starts_with("maxout"))
    return 0;
  int64_t r = 0;
  if (act.drop_front(6).trim().getAsInteger(10, r) || r <= 0)
    return -1;
  return r;
}

//===----------------------------------------------------------------------===//
// Helpers of the loss, LRN and batch-statistics lowerings
//===----------------------------------------------------------------------===//

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

/// theano's xlogy0(x, y): 0 where x == 0, else x * log(y).
Value xlogy0(OpBuilder &b, Location l, Value x, Value y) {
  Value zero = fcst(b, l, x.getType(), 0.0);
  Value isZero =
      arith::CmpFOp::create(b, l, arith::CmpFPredicate::OEQ, x, zero);
  Value v = arith::MulFOp::create(b, l, x, math::LogOp::create(b, l, y));
  return arith::SelectOp::create(b, l, isZero, zero, v);
}

/// ELEKTRONN2's "unlabelled" marker of the regression losses:
/// theano's isclose(t, -666) = |t + 666| <= 1e-8 + 1e-5 * 666.
Value isUnlabelled(OpBuilder &b, Location l, Value t) {
  Type ty = t.getType();
  Value d = math::AbsFOp::create(
      b, l, arith::AddFOp::create(b, l, t, fcst(b, l, ty, 666.0)));
  return arith::CmpFOp::create(b, l, arith::CmpFPredicate::OLE, d,
                               fcst(b, l, ty, 1e-8 + 1e-5 * 666.0));
}

/// Scalar float arithmetic in one element type, for the loss formulas.
struct ScalarMath {
  OpBuilder &b;
  Location l;
  Type t;
  Value c(double v) const { return fcst(b, l, t, v); }
  Value add(Value x, Value y) const {
    return arith::AddFOp::create(b, l, x, y);
  }
  Value sub(Value x, Value y) const {
    return arith::SubFOp::create(b, l, x, y);
  }
  Value mul(Value x, Value y) const {
    return arith::MulFOp::create(b, l, x, y);
  }
};

/// log|Gamma(x)| (theano's gammaln) for x > -8, x not a non-positive
/// integer: Stirling's series at x + 8 (error < 1e-11) minus
/// log|x (x+1) ... (x+7)|. `x` is f64.
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

/// The nm.softmax that produced `v` (through nm.slice ops), if any.
ir::SoftmaxOp softmaxOf(Value v) {
  Operation *def = v.getDefiningOp();
  while (auto sl = dyn_cast_or_null<ir::SliceOp>(def))
    def = sl.getInput().getDefiningOp();
  return dyn_cast_or_null<ir::SoftmaxOp>(def);
}

/// Sums term(inputs) over axis `fI` of the iteration space `shape` (the
/// inputs read through `maps`), applies `post` to each sum and returns the
/// result with a unit axis at `fI`.
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

/// Rank-0 i64 tensor: the number of elements of t that are not the
/// unlabelled marker -666.
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

/// size / (count + 1) as an `elt` scalar (count: i64).
Value labelledScale(OpBuilder &b, Location l, Value count, int64_t size,
                    Type elt) {
  Value n = arith::SIToFPOp::create(
      b, l, elt,
      arith::AddIOp::create(b, l, count, icst(b, l, count.getType(), 1)));
  return arith::DivFOp::create(b, l, fcst(b, l, elt, static_cast<double>(size)),
                               n);
}

//===----------------------------------------------------------------------===//
// The lowering
//===----------------------------------------------------------------------===//

class FunctionLowering {
public:
  FunctionLowering(func::FuncOp func) : func_(func), b_(func.getContext()) {}

  LogicalResult run();

private:
  LogicalResult lowerOp(Operation *op);
  Value get(Value v) { return map_.lookup(v); }
  ::nm::TaggedShape tagged(Value v) { return *ir::getTaggedShape(v.getType()); }

  LogicalResult notImplemented(Operation *op, StringRef what = "") {
    auto d = op->emitError() << "lowering of '" << op->getName()
                             << "' to linalg is not implemented yet";
    if (!what.empty())
      d << " (" << what << ")";
    return failure();
  }

  /// Epilogue over a channels-last tensor y [..., F]: bias, BN (predict),
  /// activation (maxout reduces F by r).
  FailureOr<Value> epilogue(Operation *op, Location loc, Value y, Value bias,
                            ValueRange bn, std::optional<StringRef> bnMode,
                            StringRef act);
  /// epilogue() with the bias, BN operands/mode and activation of a weight
  /// layer (conv, perceptron).
  template <typename LayerOp>
  FailureOr<Value> layerEpilogue(LayerOp op, Location loc, Value y) {
    std::optional<StringRef> bnMode;
    if (auto m = op.getBatchNormalisation())
      bnMode = *m;
    SmallVector<Value> bn;
    for (Value v : op.getBn())
      bn.push_back(get(v));
    return epilogue(op, loc, y, get(op.getB()), bn, bnMode, op.getActivation());
  }
  /// Pooling of a channels-last tensor [N, spatial..., F].
  FailureOr<Value> pool(Operation *op, Location loc, Value x,
                        ArrayRef<int64_t> window, ArrayRef<int64_t> stride,
                        StringRef mode);
  /// Permutation tag order -> [b, spatial..., f].
  FailureOr<SmallVector<int64_t>> channelsLast(Operation *op,
                                               const ::nm::TaggedShape &s);
  /// Conv and pool outputs in their internal layout [b, spatial..., f]
  /// (channels maybe padded, see paddedChannels), keyed by the tag-order
  /// value they were returned as: the next conv or pool reads them as they
  /// are, with no transposes in between.
  struct ChannelsLastValue {
    Value value;
    SmallVector<int64_t> perm;
  };
  DenseMap<Value, ChannelsLastValue> channelsLastOf_;
  /// The nm value `nmInput` as [b, spatial..., f]: its internal value if it
  /// has one with this permutation, else a transpose.
  Value channelsLastInput(Location loc, Value nmInput, ArrayRef<int64_t> perm) {
    Value v = get(nmInput);
    auto it = channelsLastOf_.find(v);
    if (it != channelsLastOf_.end() && ArrayRef(it->second.perm) == perm)
      return it->second.value;
    return transposeT(b_, loc, v, perm);
  }
  /// The tag-order value of the internal value `cl` whose first `channels`
  /// channels are real; remembers `cl` for the consumers.
  Value fromChannelsLast(Location loc, Value cl, ArrayRef<int64_t> perm,
                         int64_t channels) {
    Value v = transposeT(b_, loc, sliceLastTo(b_, loc, cl, channels),
                         inversePerm(perm));
    channelsLastOf_[v] = {cl, SmallVector<int64_t>(perm)};
    return v;
  }

  LogicalResult lower(ir::ConvOp op);
  LogicalResult lower(ir::PoolOp op);
  LogicalResult lower(ir::PerceptronOp op);
  LogicalResult lower(ir::SoftmaxOp op);
  LogicalResult lower(ir::MultinoulliNLLOp op);
  LogicalResult lower(ir::AggregateLossOp op);
  LogicalResult lower(ir::ClassificationOp op);
  LogicalResult lower(ir::ErrorsOp op);
  LogicalResult lower(ir::CropOp op);
  LogicalResult lower(ir::PadOp op);
  LogicalResult lower(ir::ConcatOp op);
  LogicalResult lower(ir::AddOp op);
  template <typename FloatOp, typename IntOp, typename NmOp>
  LogicalResult lowerBinary(NmOp op);
  LogicalResult lower(ir::MultOp op);
  LogicalResult lower(ir::ApplyOp op);
  LogicalResult lower(ir::SliceOp op);
  LogicalResult lower(ir::ReshapeOp op);
  LogicalResult lower(ir::FragmentsToDenseOp op);
  LogicalResult lower(ir::ValueOp op);
  LogicalResult lower(ir::InitialStateOp op);
  LogicalResult lower(ir::OneHotOp op);
  LogicalResult lower(ir::UpConvOp op);
  LogicalResult lower(ir::LRNOp op);
  LogicalResult lower(ir::BinaryNLLOp op);
  LogicalResult lower(ir::SquaredLossOp op);
  LogicalResult lower(ir::AbsLossOp op);
  LogicalResult lower(ir::GaussianNLLOp op);
  LogicalResult lower(ir::BetaNLLOp op);
  LogicalResult lower(ir::RampLossOp op);
  LogicalResult lower(ir::EuclideanDistanceOp op);
  template <typename LossOp>
  LogicalResult lowerRegression(LossOp op, bool squared);
  /// Conv or Perceptron with batch_normalisation = 'train'.
  template <typename LayerOp> LogicalResult lowerTrainBN(LayerOp op);
  /// epilogue() of a channels-last pre-BN tensor y [..., F] with the batch
  /// mean and std (over every axis but F) in place of the stored ones.
  FailureOr<Value> trainEpilogue(Operation *op, Location loc, Value y,
                                 Value bias, Value gamma, StringRef act);
  /// The labels (first argmax per block) of a dense Errors target.
  FailureOr<Value> denseErrorLabels(ir::ErrorsOp op);

  /// Records the lowered value of `op`'s result, checking its shape.
  LogicalResult set(Operation *op, Value v) {
    auto want = plainType(op->getResult(0).getType());
    if (v.getType() != want)
      return op->emitError()
             << "internal error in the linalg lowering: " << v.getType()
             << " instead of " << want;
    map_.map(op->getResult(0), v);
    return success();
  }

  /// A label element (any int or float type) compared with index `c`.
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

  func::FuncOp func_;
  OpBuilder b_;
  IRMapping map_;
};

FailureOr<SmallVector<int64_t>>
FunctionLowering::channelsLast(Operation *op, const ::nm::TaggedShape &s) {
  if (!s.hasTag('b') || !s.hasTag('f') || s.nSpatial() < 1 ||
      s.nSpatial() > 3 || s.ndim() != s.nSpatial() + 2) {
    op->emitError() << "lowering of '" << op->getName()
                    << "' to linalg needs axes b, f and 1-3 spatial axes, "
                       "got '"
                    << s.tagString() << "'";
    return failure();
  }
  SmallVector<int64_t> perm{s.tagIndex('b')};
  for (int64_t a : s.spatialAxes())
    perm.push_back(a);
  perm.push_back(s.tagIndex('f'));
  return perm;
}

FailureOr<Value> FunctionLowering::epilogue(Operation *op, Location loc,
                                            Value y, Value bias, ValueRange bn,
                                            std::optional<StringRef> bnMode,
                                            StringRef act) {
  OpBuilder &b = b_;
  SmallVector<int64_t> shape = shapeOf(y);
  int64_t rank = shape.size();
  int64_t F = shape.back();
  Type elt = eltOf(y);
  int64_t r = maxoutFactor(act);
  if (r < 0 || (r > 0 && F % r != 0)) {
    op->emitError() << "invalid maxout activation '" << act << "' for " << F
                    << " features";
    return failure();
  }
  if (bnMode && *bnMode != "predict")
    return FailureOr<Value>(
        (notImplemented(op, ("batch_normalisation = '" + *bnMode + "'").str()),
         failure()));
  // prelu: b is [F, 2] = (bias, slope).
  Value slope;
  if (act == "prelu") {
    auto bt = cast<RankedTensorType>(bias.getType());
    if (bt.getRank() != 2 || bt.getDimSize(1) != 2) {
      op->emitError() << "prelu needs a bias of shape [n_f, 2]";
      return failure();
    }
    int64_t nf = bt.getDimSize(0);
    auto vecT = RankedTensorType::get({nf}, elt);
    SmallVector<OpFoldResult> sizes{b.getIndexAttr(nf), b.getIndexAttr(1)};
    SmallVector<OpFoldResult> strides{b.getIndexAttr(1), b.getIndexAttr(1)};
    Value b0 = tensor::ExtractSliceOp::create(
        b, loc, vecT, bias, {b.getIndexAttr(0), b.getIndexAttr(0)}, sizes,
        strides);
    slope = tensor::ExtractSliceOp::create(
        b, loc, vecT, bias, {b.getIndexAttr(0), b.getIndexAttr(1)}, sizes,
        strides);
    bias = b0;
  }
  // y may have padded channels (paddedChannels): the per-channel vectors
  // are padded so that the padded channels stay finite (std 1).
  SmallVector<Value> bnPadded;
  if (r == 0) {
    bias = padLastTo(b, loc, bias, F, 0.0);
    if (slope)
      slope = padLastTo(b, loc, slope, F, 0.0);
    for (auto [i, v] : llvm::enumerate(bn))
      bnPadded.push_back(padLastTo(b, loc, v, F, i == 2 ? 1.0 : 0.0));
    bn = bnPadded;
  }
  AffineMap id = b.getMultiDimIdentityMap(rank);
  AffineMap fmap =
      AffineMap::get(rank, 0, {b.getAffineDimExpr(rank - 1)}, b.getContext());
  SmallVector<Value> inputs{y, bias};
  SmallVector<AffineMap> maps{id, fmap};
  if (slope) {
    inputs.push_back(slope);
    maps.push_back(fmap);
  }
  bool useBn = bnMode.has_value();
  if (useBn)
    for (Value v : bn) {
      inputs.push_back(v);
      maps.push_back(fmap);
    }
  StringRef elemAct = r > 0 ? StringRef("lin") : act;
  bool bad = false;
  SmallVector<IT> its(rank, IT::parallel);
  Value out =
      generic(b, loc, inputs, maps, emptyT(b, loc, shape, elt), id, its,
              [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                Value x = a[0], bb = a[1];
                unsigned k = 2;
                Value sl = slope ? a[k++] : Value();
                Value v;
                if (useBn) {
                  // (gamma/std)·lin + b − gamma·mean/std
                  Value gamma = a[k], mean = a[k + 1], sd = a[k + 2];
                  Value g = arith::DivFOp::create(nb, l, gamma, sd);
                  Value gm = arith::DivFOp::create(
                      nb, l, arith::MulFOp::create(nb, l, gamma, mean), sd);
                  v = arith::SubFOp::create(
                      nb, l,
                      arith::AddFOp::create(
                          nb, l, arith::MulFOp::create(nb, l, g, x), bb),
                      gm);
                } else {
                  v = arith::AddFOp::create(nb, l, x, bb);
                }
                FailureOr<Value> res = scalarFunction(nb, l, elemAct, v, sl);
                if (failed(res)) {
                  bad = true;
                  return v;
                }
                return *res;
              });
  if (bad) {
    op->emitError() << "unknown activation function '" << act << "'";
    return failure();
  }
  if (r > 0) {
    // out[j] = max_i x[i + r*j]: view F as [F/r, r], reduce the last axis.
    Value split = splitAxis(b, loc, out, rank - 1, F / r, r);
    out = reduceAxis(
        b, loc, split, rank, elt,
        fcst(b, loc, elt, -std::numeric_limits<double>::infinity()), maxF);
  }
  return out;
}

FailureOr<Value> FunctionLowering::pool(Operation *op, Location loc, Value x,
                                        ArrayRef<int64_t> window,
                                        ArrayRef<int64_t> stride,
                                        StringRef mode) {
  OpBuilder &b = b_;
  SmallVector<int64_t> in = shapeOf(x);
  int64_t nsp = window.size();
  bool trivial = true;
  for (int64_t i = 0; i < nsp; ++i)
    trivial &= window[i] == 1 && stride[i] == 1;
  if (trivial)
    return x;
  Type elt = eltOf(x);
  SmallVector<int64_t> out{in[0]};
  for (int64_t i = 0; i < nsp; ++i)
    out.push_back((in[i + 1] - window[i]) / stride[i] + 1);
  out.push_back(in.back());
  bool isMax = mode == "max";
  bool isAvg = mode == "average" || mode == "average_inc_pad" ||
               mode == "average_exc_pad";
  if (!isMax && !isAvg && mode != "sum") {
    op->emitError() << "unknown pooling mode '" << mode << "'";
    return failure();
  }
  Value init =
      filled(b, loc, out, elt,
             fcst(b, loc, elt,
                  isMax ? -std::numeric_limits<double>::infinity() : 0.0));
  Value win = emptyT(b, loc, window, elt);
  SmallVector<int64_t> ones(nsp, 1);
  SmallVector<NamedAttribute> attrs{
      b.getNamedAttr("strides", i64Vec(b, stride)),
      b.getNamedAttr("dilations", i64Vec(b, ones))};
  SmallVector<Type> rt{init.getType()};
  SmallVector<Value> ins{x, win};
  Value res;
#define NM_POOL(OP)                                                            \
  OP::create(b, loc, rt, ins, ValueRange{init}, attrs)->getResult(0)
  if (isMax)
    res = nsp == 1   ? NM_POOL(linalg::PoolingNwcMaxOp)
          : nsp == 2 ? NM_POOL(linalg::PoolingNhwcMaxOp)
                     : NM_POOL(linalg::PoolingNdhwcMaxOp);
  else
    res = nsp == 1   ? NM_POOL(linalg::PoolingNwcSumOp)
          : nsp == 2 ? NM_POOL(linalg::PoolingNhwcSumOp)
                     : NM_POOL(linalg::PoolingNdhwcSumOp);
#undef NM_POOL
  if (isAvg) {
    int64_t n = 1;
    for (int64_t w : window)
      n *= w;
    Value scale = fcst(b, loc, elt, 1.0 / static_cast<double>(n));
    res = elementwise(b, loc, {res}, out, elt,
                      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                        return arith::MulFOp::create(nb, l, a[0], scale);
                      });
  }
  return res;
}

LogicalResult FunctionLowering::lower(ir::ConvOp op) {
  OpBuilder &b = b_;
  Location loc = op.getLoc();
  ::nm::TaggedShape s = tagged(op.getInput());
  auto permOr = channelsLast(op, s);
  if (failed(permOr))
    return failure();
  SmallVector<int64_t> perm = *permOr;
  int64_t nsp = s.nSpatial();
  // [N, S..., C]: the producer's internal layout (a view of its first C
  // channels: the padded ones are not read) or a transpose.
  Value w = get(op.getW());
  SmallVector<int64_t> wsh = shapeOf(w);
  Value x =
      sliceLastTo(b, loc, channelsLastInput(loc, op.getInput(), perm), wsh[1]);
  Type elt = eltOf(x);
  int64_t cIn = shapeOf(x).back();
  int64_t nf = wsh[0];
  // Output channels of the internal layout; maxout groups real channels.
  int64_t fp = maxoutFactor(op.getActivation()) > 0 ? nf : paddedChannels(nf);
  // [n_f, n_in, *filter] -> [*filter, n_in, n_f], padded to [.., C, Fp].
  SmallVector<int64_t> wperm;
  for (int64_t i = 0; i < nsp; ++i)
    wperm.push_back(i + 2);
  wperm.push_back(1);
  wperm.push_back(0);
  Value wt = transposeT(b, loc, w, wperm);
  SmallVector<int64_t> k(wsh.begin() + 2, wsh.end());
  SmallVector<int64_t> wpsh(k);
  wpsh.push_back(cIn);
  wpsh.push_back(fp);
  wt = padded(b, loc, wt, SmallVector<int64_t>(nsp + 2, 0), wpsh,
              fcst(b, loc, elt, 0.0));
  StringRef mode = op.getConvMode();
  if (mode != "valid" && mode != "same" && mode != "full")
    return op.emitError() << "unknown conv_mode '" << mode << "'";
  SmallVector<int64_t> padAmt(nsp + 2, 0);
  SmallVector<int64_t> psh = shapeOf(x);
  for (int64_t i = 0; i < nsp; ++i) {
    int64_t p = mode == "same" ? (k[i] - 1) / 2 : mode == "full" ? k[i] - 1 : 0;
    padAmt[i + 1] = p;
    psh[i + 1] += 2 * p;
  }
  x = padded(b, loc, x, padAmt, psh, fcst(b, loc, elt, 0.0));
  SmallVector<int64_t> xs = shapeOf(x);
  SmallVector<int64_t> cs{xs[0]};
  for (int64_t i = 0; i < nsp; ++i)
    cs.push_back(xs[i + 1] - k[i] + 1);
  cs.push_back(fp);
  Value conv;
  // 1x1x1 kernels too: the conv schedule of compiler/codegen tiles them like
  // a matmul per output row ([W, C] x [C, F] register tiles) and fuses the
  // epilogue, which a matmul behind a reshape would not get.
  {
    Value init = filled(b, loc, cs, elt, fcst(b, loc, elt, 0.0));
    SmallVector<int64_t> ones(nsp, 1);
    SmallVector<NamedAttribute> attrs{
        b.getNamedAttr("strides", i64Vec(b, ones)),
        b.getNamedAttr("dilations", i64Vec(b, ones))};
    SmallVector<Type> rt{init.getType()};
    if (nsp == 1)
      conv = linalg::Conv1DNwcWcfOp::create(b, loc, rt, ValueRange{x, wt},
                                            ValueRange{init}, attrs)
                 ->getResult(0);
    else if (nsp == 2)
      conv = linalg::Conv2DNhwcHwcfOp::create(b, loc, rt, ValueRange{x, wt},
                                              ValueRange{init}, attrs)
                 ->getResult(0);
    else
      conv = linalg::Conv3DNdhwcDhwcfOp::create(b, loc, rt, ValueRange{x, wt},
                                                ValueRange{init}, attrs)
                 ->getResult(0);
  }

  SmallVector<int64_t> p(nsp, 1);
  if (auto pa = op.getPool())
    p.assign(pa->begin(), pa->end());
  bool anyPool = llvm::any_of(p, [](int64_t v) { return v > 1; });
  Value pooled = conv;
  if (anyPool && op.getMfp()) {
    // Fragment ix (itertools.product order, last axis fastest) pools
    // conv[ix : ix + L - p + 1] with stride p; fragments are stacked on the
    // batch axis fragment-major.
    int64_t n = cs[0];
    int64_t nfrag = 1;
    for (int64_t v : p)
      nfrag *= v;
    SmallVector<int64_t> outSh{n * nfrag};
    for (int64_t i = 0; i < nsp; ++i)
      outSh.push_back(cs[i + 1] / p[i]);
    outSh.push_back(fp);
    Value acc = emptyT(b, loc, outSh, elt);
    SmallVector<int64_t> ix(nsp, 0);
    for (int64_t f = 0; f < nfrag; ++f) {
      int64_t rem = f;
      for (int64_t i = nsp - 1; i >= 0; --i) {
        ix[i] = rem % p[i];
        rem /= p[i];
      }
      SmallVector<OpFoldResult> off{b.getIndexAttr(0)}, sz{b.getIndexAttr(n)},
          st;
      SmallVector<int64_t> sliceSh{n};
      for (int64_t i = 0; i < nsp; ++i) {
        int64_t len = cs[i + 1] - p[i] + 1;
        off.push_back(b.getIndexAttr(ix[i]));
        sz.push_back(b.getIndexAttr(len));
        sliceSh.push_back(len);
      }
      off.push_back(b.getIndexAttr(0));
      sz.push_back(b.getIndexAttr(fp));
      sliceSh.push_back(fp);
      for (size_t i = 0; i < off.size(); ++i)
        st.push_back(b.getIndexAttr(1));
      Value slice = tensor::ExtractSliceOp::create(
          b, loc, RankedTensorType::get(sliceSh, elt), conv, off, sz, st);
      auto pl = pool(op, loc, slice, p, p, "max");
      if (failed(pl))
        return failure();
      SmallVector<OpFoldResult> ioff{b.getIndexAttr(f * n)}, isz;
      for (int64_t v : shapeOf(*pl))
        isz.push_back(b.getIndexAttr(v));
      for (int64_t i = 0; i < nsp + 1; ++i)
        ioff.push_back(b.getIndexAttr(0));
      acc = tensor::InsertSliceOp::create(b, loc, *pl, acc, ioff, isz, st);
    }
    pooled = acc;
  } else if (anyPool) {
    auto pl = pool(op, loc, conv, p, p, "max");
    if (failed(pl))
      return failure();
    pooled = *pl;
  }
  auto ep = layerEpilogue(op, loc, pooled);
  if (failed(ep))
    return failure();
  int64_t r = maxoutFactor(op.getActivation());
  return set(op, fromChannelsLast(loc, *ep, perm, r > 0 ? nf / r : nf));
}

LogicalResult FunctionLowering::lower(ir::PoolOp op) {
  Location loc = op.getLoc();
  ::nm::TaggedShape s = tagged(op.getInput());
  auto permOr = channelsLast(op, s);
  if (failed(permOr))
    return failure();
  SmallVector<int64_t> p(op.getPool());
  SmallVector<int64_t> st = p;
  if (auto sa = op.getStride())
    st.assign(sa->begin(), sa->end());
  Value x = channelsLastInput(loc, op.getInput(), *permOr);
  auto pl = pool(op, loc, x, p, st, op.getMode());
  if (failed(pl))
    return failure();
  int64_t channels = s.shape()[s.tagIndex('f')];
  return set(op, fromChannelsLast(loc, *pl, *permOr, channels));
}

LogicalResult FunctionLowering::lower(ir::PerceptronOp op) {
  OpBuilder &b = b_;
  Location loc = op.getLoc();
  ::nm::TaggedShape s = tagged(op.getInput());
  Value x = get(op.getInput());
  Type elt = eltOf(x);
  Value w = get(op.getW());
  SmallVector<int64_t> wsh = shapeOf(w);
  int64_t nin = wsh[0], nf = wsh[1];
  SmallVector<int64_t> perm;
  int64_t rank = s.ndim();
  Value mat; // [M, n_in]
  SmallVector<int64_t> lead;
  if (op.getFlatten()) {
    if (!s.hasTag('b') || s.tagIndex('b') != 0)
      return op.emitError()
             << "lowering of a flattening nm.perceptron needs 'b' first";
    SmallVector<ReassociationIndices> g{{0}, {}};
    for (int64_t i = 1; i < rank; ++i)
      g[1].push_back(i);
    mat = rank == 2 ? x : tensor::CollapseShapeOp::create(b, loc, x, g);
    lead = {s.shape()[0]};
  } else {
    if (!s.hasTag('f'))
      return op.emitError() << "nm.perceptron input has no 'f' axis";
    int64_t fI = s.tagIndex('f');
    for (int64_t i = 0; i < rank; ++i)
      if (i != fI)
        perm.push_back(i);
    perm.push_back(fI);
    Value xt = transposeT(b, loc, x, perm);
    SmallVector<int64_t> xs = shapeOf(xt);
    lead.assign(xs.begin(), xs.end() - 1);
    if (rank == 2) {
      mat = xt;
    } else {
      SmallVector<ReassociationIndices> g{{}, {rank - 1}};
      for (int64_t i = 0; i < rank - 1; ++i)
        g[0].push_back(i);
      mat = tensor::CollapseShapeOp::create(b, loc, xt, g);
    }
  }
  int64_t M = shapeOf(mat)[0];
  if (shapeOf(mat)[1] != nin)
    return op.emitError() << "perceptron weight has " << nin
                          << " inputs, the input " << shapeOf(mat)[1];
  Value init = filled(b, loc, {M, nf}, elt, fcst(b, loc, elt, 0.0));
  Value mm = linalg::MatmulOp::create(b, loc, TypeRange{init.getType()},
                                      ValueRange{mat, w}, ValueRange{init})
                 ->getResult(0);
  auto ep = layerEpilogue(op, loc, mm);
  if (failed(ep))
    return failure();
  Value y = *ep; // [M, n_out]
  if (op.getFlatten() || rank == 2) {
    if (!op.getFlatten())
      y = transposeT(b, loc, y, inversePerm(perm));
    return set(op, y);
  }
  int64_t nout = shapeOf(y)[1];
  SmallVector<int64_t> ysh(lead);
  ysh.push_back(nout);
  SmallVector<ReassociationIndices> g{{}, {rank - 1}};
  for (int64_t i = 0; i < rank - 1; ++i)
    g[0].push_back(i);
  y = tensor::ExpandShapeOp::create(b, loc, RankedTensorType::get(ysh, elt), y,
                                    g);
  return set(op, transposeT(b, loc, y, inversePerm(perm)));
}

LogicalResult FunctionLowering::lower(ir::SoftmaxOp op) {
  OpBuilder &b = b_;
  Location loc = op.getLoc();
  ::nm::TaggedShape s = tagged(op.getInput());
  Value x = get(op.getInput());
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
  return set(op, mergeAxes(b, loc, y, fI));
}

/// Whether `v` is a softmax output (or a slice of one); its n_indep.
static std::optional<int64_t> softmaxIndep(Value v) {
  if (ir::SoftmaxOp sm = softmaxOf(v))
    return sm.getNIndep();
  return std::nullopt;
}

LogicalResult FunctionLowering::lower(ir::MultinoulliNLLOp op) {
  OpBuilder &b = b_;
  Location loc = op.getLoc();
  MLIRContext *ctx = b.getContext();
  ::nm::TaggedShape ps = tagged(op.getPred());
  Value p = get(op.getPred()), t = get(op.getTarget());
  Type elt = eltOf(p);
  int64_t fI = ps.tagIndex('f');
  int64_t F = ps.shape()[fI];
  // n_indep and n_class of the softmax (pred may be a slice of it).
  int64_t nIndep = 1, C = F;
  if (ir::SoftmaxOp sm = softmaxOf(op.getPred())) {
    nIndep = sm.getNIndep();
    ::nm::TaggedShape ss = tagged(sm.getInput());
    C = ss.shape()[ss.tagIndex('f')] / nIndep;
  }
  if (C < 1 || F % C != 0)
    return op.emitError() << "multinoulli_nll: " << F
                          << " features are not whole blocks of " << C
                          << " classes";
  int64_t nBlocks = F / C;
  int64_t rank = ps.ndim();
  int64_t size = numElements(ps.shape());
  bool sparse = op.getTargetIsSparse();
  if (sparse && tagged(op.getTarget()).shape()[fI] != nBlocks)
    return op.emitError() << "multinoulli_nll: a sparse target needs f = "
                          << nBlocks << " (one label per softmax block)";
  SmallVector<double> cw;
  if (auto w = op.getClassWeights()) {
    if (static_cast<int64_t>(w->size()) != C)
      return op.emitError() << "class_weights needs " << C << " entries";
    cw.assign(w->begin(), w->end());
  }
  const double eps = 1e-5;
  // f split into [block, class]: dims fI and cI of a rank + 1 space.
  int64_t R = rank + 1, cI = fI + 1;
  Value p2 = splitAxis(b, loc, p, fI, nBlocks, C);
  AffineMap id = b.getMultiDimIdentityMap(R);
  SmallVector<Value> ins{p2, sparse ? t : splitAxis(b, loc, t, fI, nBlocks, C)};
  SmallVector<AffineMap> maps{id, sparse ? dropDimMap(b, R, cI) : id};
  if (!cw.empty()) {
    SmallVector<float> cwf(cw.begin(), cw.end());
    ins.push_back(arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(RankedTensorType::get({C}, elt),
                               ArrayRef<float>(cwf))));
    maps.push_back(AffineMap::get(R, 0, {b.getAffineDimExpr(cI)}, ctx));
  }
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
  // v = sum_f -xlogy0(T * cw, p + eps); T = eq(label, class) when sparse.
  Value v = generic(
      b, loc, ins, maps, filled(b, loc, outSh, elt, fcst(b, loc, elt, 0.0)),
      AffineMap::get(R, 0, oe, ctx), its,
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        Value tv;
        if (sparse) {
          Value eq = labelEq(nb, l, a[1], indexI64(nb, l, cI));
          tv = arith::SelectOp::create(nb, l, eq, fcst(nb, l, elt, 1.0),
                                       fcst(nb, l, elt, 0.0));
        } else {
          tv = toFloat(nb, l, a[1], elt);
        }
        if (!cw.empty())
          tv = arith::MulFOp::create(nb, l, tv, a[2]);
        Value pe = arith::AddFOp::create(nb, l, a[0], fcst(nb, l, elt, eps));
        return arith::SubFOp::create(nb, l, a.back(), xlogy0(nb, l, tv, pe));
      });
  // n_up = sum T
  Value nUp;
  if (sparse) {
    int64_t lrank = shapeOf(t).size();
    Value init = filled(b, loc, {}, elt, fcst(b, loc, elt, 0.0));
    SmallVector<IT> all(lrank, IT::reduction);
    nUp = generic(
        b, loc, {t}, {b.getMultiDimIdentityMap(lrank)}, init,
        scalarMap(b, lrank), all,
        [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
          Value lv = a[0];
          Value inRange;
          if (isa<FloatType>(lv.getType())) {
            // eq(t, arange(C)) holds for integral t in [0, C).
            Value fl = math::FloorOp::create(nb, l, lv);
            Value integral =
                arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OEQ, fl, lv);
            Value ge = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OGE,
                                             lv, fcst(nb, l, lv.getType(), 0));
            Value lt = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OLT,
                                             lv, fcst(nb, l, lv.getType(), C));
            inRange = arith::AndIOp::create(
                nb, l, integral, arith::AndIOp::create(nb, l, ge, lt));
          } else {
            Value li = lv;
            if (lv.getType().getIntOrFloatBitWidth() < 64)
              li = arith::ExtSIOp::create(nb, l, nb.getI64Type(), lv);
            Value ge = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::sge,
                                             li, icst(nb, l, li.getType(), 0));
            Value lt = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::slt,
                                             li, icst(nb, l, li.getType(), C));
            inRange = arith::AndIOp::create(nb, l, ge, lt);
          }
          Value one = arith::SelectOp::create(
              nb, l, inRange, fcst(nb, l, elt, 1.0), fcst(nb, l, elt, 0.0));
          return arith::AddFOp::create(nb, l, a[1], one);
        });
  } else {
    nUp = reduceAll(b, loc, t, elt, fcst(b, loc, elt, 0.0),
                    [&](OpBuilder &nb, Location l, Value x, Value acc) {
                      return Value(arith::AddFOp::create(
                          nb, l, acc, toFloat(nb, l, x, elt)));
                    });
  }
  // nll = v * size / (n_up + eps) / n_indep / n_class
  int64_t orank = outSh.size();
  AffineMap oid = b.getMultiDimIdentityMap(orank);
  SmallVector<IT> opar(orank, IT::parallel);
  double factor = static_cast<double>(size) / static_cast<double>(nIndep * C);
  Value res = generic(
      b, loc, {v, nUp}, {oid, scalarMap(b, orank)}, emptyT(b, loc, outSh, elt),
      oid, opar, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        Value scaled =
            arith::MulFOp::create(nb, l, a[0], fcst(nb, l, elt, factor));
        Value den = arith::AddFOp::create(nb, l, a[1], fcst(nb, l, elt, eps));
        return arith::DivFOp::create(nb, l, scaled, den);
      });
  return set(op, insertUnitAxis(b, loc, res, fI));
}

LogicalResult FunctionLowering::lower(ir::AggregateLossOp op) {
  OpBuilder &b = b_;
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
    Value l = get(op.getLosses()[k]);
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
  return set(op, res);
}

LogicalResult FunctionLowering::lower(ir::ClassificationOp op) {
  OpBuilder &b = b_;
  Location loc = op.getLoc();
  ::nm::TaggedShape ps = tagged(op.getPred());
  Value p = get(op.getPred());
  Type elt = eltOf(p);
  auto rt = plainType(op.getType());
  Type ielt = rt.getElementType();
  int64_t fI = ps.tagIndex('f');
  int64_t F = ps.shape()[fI];
  if (!softmaxIndep(op.getPred())) {
    // pred > 0.5
    if (rt.getShape() != ArrayRef<int64_t>(ps.shape()))
      return notImplemented(op, "thresholding with a changed 'f' size");
    return set(
        op, elementwise(b, loc, {p}, rt.getShape(), ielt,
                        [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                          Value gt = arith::CmpFOp::create(
                              nb, l, arith::CmpFPredicate::OGT, a[0],
                              fcst(nb, l, elt, 0.5));
                          return arith::ExtUIOp::create(nb, l, ielt, gt);
                        }));
  }
  int64_t nIndep = op.getNIndep(), C = F / nIndep;
  Value xs = splitAxis(b, loc, p, fI, nIndep, C);
  int64_t cI = fI + 1;
  int64_t rank = shapeOf(xs).size();
  Value m = reduceAxis(
      b, loc, xs, cI, elt,
      fcst(b, loc, elt, -std::numeric_limits<double>::infinity()), maxF);
  // First index attaining the maximum.
  SmallVector<int64_t> outSh = shapeOf(m);
  Value init = filled(b, loc, outSh, ielt, icst(b, loc, ielt, C));
  SmallVector<IT> its(rank, IT::parallel);
  its[cI] = IT::reduction;
  AffineMap red = dropDimMap(b, rank, cI);
  Value idx =
      generic(b, loc, {xs, m}, {b.getMultiDimIdentityMap(rank), red}, init, red,
              its, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                Value c = linalg::IndexOp::create(nb, l, cI);
                Value ci = arith::IndexCastOp::create(nb, l, ielt, c);
                Value eq = arith::CmpFOp::create(
                    nb, l, arith::CmpFPredicate::OEQ, a[0], a[1]);
                Value cand = arith::SelectOp::create(nb, l, eq, ci, a[2]);
                return arith::MinSIOp::create(nb, l, cand, a[2]);
              });
  return set(op, idx);
}

LogicalResult FunctionLowering::lower(ir::ErrorsOp op) {
  OpBuilder &b = b_;
  Location loc = op.getLoc();
  Value cls = get(op.getCls()), t = get(op.getTarget());
  if (!op.getTargetIsSparse()) {
    FailureOr<Value> gt = denseErrorLabels(op);
    if (failed(gt))
      return failure();
    t = *gt;
  }
  if (shapeOf(cls) != shapeOf(t))
    return op.emitError() << "errors: labels and classes differ in shape";
  auto rt = plainType(op.getType());
  Type elt = rt.getElementType();
  int64_t rank = shapeOf(cls).size();
  int64_t n = 1;
  for (int64_t d : shapeOf(cls))
    n *= d;
  Type i64 = b.getI64Type();
  Value init = filled(b, loc, {}, i64, icst(b, loc, i64, 0));
  AffineMap id = b.getMultiDimIdentityMap(rank);
  SmallVector<IT> all(rank, IT::reduction);
  Value count = generic(
      b, loc, {cls, t}, {id, id}, init,
      AffineMap::get(rank, 0, {}, b.getContext()), all,
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        Value c = a[0];
        if (c.getType() != i64)
          c = arith::ExtSIOp::create(nb, l, i64, c);
        Value eq = labelEq(nb, l, a[1], c);
        Value ne = arith::XOrIOp::create(
            nb, l, eq, arith::ConstantOp::create(nb, l, nb.getBoolAttr(true)));
        return arith::AddIOp::create(nb, l, a[2],
                                     arith::ExtUIOp::create(nb, l, i64, ne));
      });
  int64_t orank = rt.getRank();
  AffineMap oid = b.getMultiDimIdentityMap(orank);
  SmallVector<IT> par(orank, IT::parallel);
  Value res =
      generic(b, loc, {count}, {AffineMap::get(orank, 0, {}, b.getContext())},
              emptyT(b, loc, rt.getShape(), elt), oid, par,
              [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                Value cf = arith::SIToFPOp::create(nb, l, elt, a[0]);
                return arith::DivFOp::create(
                    nb, l, cf, fcst(nb, l, elt, static_cast<double>(n)));
              });
  return set(op, res);
}

LogicalResult FunctionLowering::lower(ir::CropOp op) {
  ::nm::TaggedShape s = tagged(op.getInput());
  auto rt = plainType(op.getType());
  SmallVector<OpFoldResult> off, sz, st;
  for (int64_t i = 0; i < s.ndim(); ++i) {
    off.push_back(b_.getIndexAttr(0));
    sz.push_back(b_.getIndexAttr(rt.getDimSize(i)));
    st.push_back(b_.getIndexAttr(1));
  }
  auto sp = s.spatialAxes();
  ArrayRef<int64_t> crop = op.getCrop();
  for (size_t k = 0; k < sp.size() && k < crop.size(); ++k)
    off[sp[k]] = b_.getIndexAttr(crop[k]);
  return set(op, tensor::ExtractSliceOp::create(
                     b_, op.getLoc(), rt, get(op.getInput()), off, sz, st));
}

LogicalResult FunctionLowering::lower(ir::PadOp op) {
  ::nm::TaggedShape s = tagged(op.getInput());
  auto rt = plainType(op.getType());
  SmallVector<OpFoldResult> lo(s.ndim(), b_.getIndexAttr(0));
  auto sp = s.spatialAxes();
  ArrayRef<int64_t> pad = op.getPad();
  for (size_t k = 0; k < sp.size() && k < pad.size(); ++k)
    lo[sp[k]] = b_.getIndexAttr(pad[k]);
  Type elt = rt.getElementType();
  if (!isa<FloatType>(elt))
    return notImplemented(op, "integer tensors");
  Value v = fcst(b_, op.getLoc(), elt, op.getValue().convertToDouble());
  SmallVector<int64_t> loI(s.ndim(), 0);
  for (size_t k = 0; k < sp.size() && k < pad.size(); ++k)
    loI[sp[k]] = pad[k];
  return set(
      op, padded(b_, op.getLoc(), get(op.getInput()), loI, rt.getShape(), v));
}

LogicalResult FunctionLowering::lower(ir::ConcatOp op) {
  auto rt = plainType(op.getType());
  ::nm::TaggedShape s = tagged(op.getInputs()[0]);
  if (op.getAxis().size() != 1 || !s.hasTag(op.getAxis()[0]))
    return op.emitError() << "concat axis '" << op.getAxis() << "' not found";
  int64_t axis = s.tagIndex(op.getAxis()[0]);
  // Each input into its slice of the result (in place when bufferization
  // can make the producer write there).
  Location loc = op.getLoc();
  Value r = emptyT(b_, loc, rt.getShape(), rt.getElementType());
  int64_t at = 0;
  for (Value in : op.getInputs()) {
    Value v = get(in);
    SmallVector<int64_t> shape = shapeOf(v);
    SmallVector<OpFoldResult> off, sz, st;
    for (size_t d = 0; d < shape.size(); ++d) {
      off.push_back(b_.getIndexAttr(static_cast<int64_t>(d) == axis ? at : 0));
      sz.push_back(b_.getIndexAttr(shape[d]));
      st.push_back(b_.getIndexAttr(1));
    }
    r = tensor::InsertSliceOp::create(b_, loc, v, r, off, sz, st);
    at += shape[axis];
  }
  return set(op, r);
}

/// Elementwise binary nm op -> one linalg.generic with FloatOp or IntOp.
template <typename FloatOp, typename IntOp, typename NmOp>
LogicalResult FunctionLowering::lowerBinary(NmOp op) {
  auto rt = plainType(op.getType());
  Type elt = rt.getElementType();
  return set(op,
             elementwise(b_, op.getLoc(), {get(op.getLhs()), get(op.getRhs())},
                         rt.getShape(), elt,
                         [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                           if (isa<FloatType>(elt))
                             return FloatOp::create(nb, l, a[0], a[1]);
                           return IntOp::create(nb, l, a[0], a[1]);
                         }));
}

LogicalResult FunctionLowering::lower(ir::AddOp op) {
  return lowerBinary<arith::AddFOp, arith::AddIOp>(op);
}

LogicalResult FunctionLowering::lower(ir::MultOp op) {
  return lowerBinary<arith::MulFOp, arith::MulIOp>(op);
}

LogicalResult FunctionLowering::lower(ir::ApplyOp op) {
  auto rt = plainType(op.getType());
  Type elt = rt.getElementType();
  StringRef fn = op.getFunc();
  if (!isa<FloatType>(elt) || fn == "prelu" || fn.starts_with("maxout"))
    return notImplemented(op, ("function '" + fn + "'").str());
  bool bad = false;
  Value r =
      elementwise(b_, op.getLoc(), {get(op.getInput())}, rt.getShape(), elt,
                  [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                    auto v = scalarFunction(nb, l, fn, a[0]);
                    if (failed(v)) {
                      bad = true;
                      return a[0];
                    }
                    return *v;
                  });
  if (bad)
    return op.emitError() << "unknown function '" << fn << "'";
  return set(op, r);
}

LogicalResult FunctionLowering::lower(ir::SliceOp op) {
  ::nm::TaggedShape s = tagged(op.getInput());
  auto rt = plainType(op.getType());
  if (op.getAxis().size() != 1 || !s.hasTag(op.getAxis()[0]))
    return op.emitError() << "slice axis '" << op.getAxis() << "' not found";
  int64_t axis = s.tagIndex(op.getAxis()[0]);
  SmallVector<OpFoldResult> off, sz, st;
  for (int64_t i = 0; i < s.ndim(); ++i) {
    off.push_back(b_.getIndexAttr(i == axis ? op.getStart() : 0));
    sz.push_back(b_.getIndexAttr(i == axis ? op.getSize() : s.shape()[i]));
    st.push_back(b_.getIndexAttr(1));
  }
  return set(op, tensor::ExtractSliceOp::create(
                     b_, op.getLoc(), rt, get(op.getInput()), off, sz, st));
}

LogicalResult FunctionLowering::lower(ir::ReshapeOp op) {
  auto rt = plainType(op.getType());
  Value x = get(op.getInput());
  int64_t rank = shapeOf(x).size();
  Location loc = op.getLoc();
  if (rank > 1) {
    ReassociationIndices all;
    for (int64_t i = 0; i < rank; ++i)
      all.push_back(i);
    x = tensor::CollapseShapeOp::create(b_, loc, x,
                                        ArrayRef<ReassociationIndices>{all});
  }
  if (rt.getRank() > 1) {
    ReassociationIndices all;
    for (int64_t i = 0; i < rt.getRank(); ++i)
      all.push_back(i);
    x = tensor::ExpandShapeOp::create(b_, loc, rt, x,
                                      ArrayRef<ReassociationIndices>{all});
  }
  return set(op, x);
}

LogicalResult FunctionLowering::lower(ir::FragmentsToDenseOp op) {
  Location loc = op.getLoc();
  ::nm::TaggedShape s = tagged(op.getInput());
  auto rt = plainType(op.getType());
  if (!s.hasTag('b'))
    return op.emitError() << "fragments_to_dense needs a 'b' axis";
  int64_t bI = s.tagIndex('b');
  auto sp = s.spatialAxes();
  const auto &offs = s.mfpOffsets();
  Sizes st = s.strides();
  int64_t nfrag = s.shape()[bI];
  if (static_cast<int64_t>(offs.size()) != nfrag)
    return op.emitError() << "fragments_to_dense: " << nfrag
                          << " fragments but " << offs.size() << " MFP offsets";
  Value x = get(op.getInput());
  if (rt.getDimSize(bI) != 1)
    return op.emitError() << "fragments_to_dense: dense batch must be 1";
  // Fragment id of each phase (r_0, ..., r_{n-1}), r_k = index % stride_k.
  int64_t nsp = sp.size();
  SmallVector<int64_t> tableShape(st.begin(), st.end());
  int64_t tableSize = 1;
  for (int64_t v : tableShape)
    tableSize *= v;
  if (tableSize != nfrag)
    return op.emitError() << "fragments_to_dense: prod(strides) != fragments";
  SmallVector<int64_t> table(tableSize, -1);
  for (int64_t i = 0; i < nfrag; ++i) {
    int64_t flat = 0;
    for (int64_t k = 0; k < nsp; ++k) {
      int64_t o = offs[i][k];
      if (o < 0 || o >= st[k])
        return op.emitError() << "fragments_to_dense: MFP offset out of range";
      flat = flat * st[k] + o;
    }
    table[flat] = i;
  }
  if (llvm::is_contained(table, -1))
    return op.emitError() << "fragments_to_dense: MFP offsets do not cover "
                             "every phase";
  // Fragment table[phase] fills dense[.., phase_k + s_k * j_k, ..]: one
  // strided insert_slice per fragment (of the fragment's first n_k rows,
  // n_k = how many dense indices have that phase).
  Value r = emptyT(b_, loc, rt.getShape(), rt.getElementType());
  SmallVector<int64_t> fsh = shapeOf(x);
  for (int64_t flat = 0; flat < tableSize; ++flat) {
    int64_t frag = table[flat];
    SmallVector<int64_t> phase(nsp);
    for (int64_t k = nsp - 1, rem = flat; k >= 0; --k) {
      phase[k] = rem % st[k];
      rem /= st[k];
    }
    SmallVector<OpFoldResult> xoff, xsz, ones, doff, dst;
    SmallVector<int64_t> srcShape;
    for (int64_t d = 0; d < s.ndim(); ++d) {
      int64_t n = fsh[d], o = 0, stride = 1;
      if (d == bI) {
        n = 1;
        o = 0;
      }
      for (int64_t k = 0; k < nsp; ++k)
        if (sp[k] == d) {
          o = phase[k];
          stride = st[k];
          n = (rt.getDimSize(d) - o + stride - 1) / stride;
          if (n > fsh[d])
            return op.emitError()
                   << "fragments_to_dense: fragments too small for the "
                      "dense shape";
        }
      xoff.push_back(b_.getIndexAttr(d == bI ? frag : 0));
      xsz.push_back(b_.getIndexAttr(n));
      ones.push_back(b_.getIndexAttr(1));
      doff.push_back(b_.getIndexAttr(o));
      dst.push_back(b_.getIndexAttr(stride));
      srcShape.push_back(n);
    }
    if (llvm::is_contained(srcShape, 0))
      continue;
    Value piece = tensor::ExtractSliceOp::create(
        b_, loc, RankedTensorType::get(srcShape, rt.getElementType()), x, xoff,
        xsz, ones);
    r = tensor::InsertSliceOp::create(b_, loc, piece, r, doff, xsz, dst);
  }
  return set(op, r);
}

LogicalResult FunctionLowering::lower(ir::ValueOp op) {
  return set(op, get(op.getValue()));
}

LogicalResult FunctionLowering::lower(ir::InitialStateOp op) {
  auto rt = plainType(op.getType());
  ::nm::TaggedShape s = tagged(op.getOutput());
  int64_t fI = s.tagIndex('f');
  int64_t rank = rt.getRank();
  SmallVector<IT> par(rank, IT::parallel);
  return set(
      op, generic(b_, op.getLoc(), {get(op.getValue())},
                  {AffineMap::get(rank, 0, {b_.getAffineDimExpr(fI)},
                                  b_.getContext())},
                  emptyT(b_, op.getLoc(), rt.getShape(), rt.getElementType()),
                  b_.getMultiDimIdentityMap(rank), par,
                  [&](OpBuilder &, Location, ValueRange a) { return a[0]; }));
}

LogicalResult FunctionLowering::lower(ir::OneHotOp op) {
  auto rt = plainType(op.getType());
  ::nm::TaggedShape s = tagged(op.getTarget());
  if (op.getAxis().size() != 1 || !s.hasTag(op.getAxis()[0]))
    return op.emitError() << "onehot axis '" << op.getAxis() << "' not found";
  int64_t axis = s.tagIndex(op.getAxis()[0]);
  if (s.shape()[axis] != 1)
    return notImplemented(op, "targets with more than one label per voxel");
  Value t = dropUnitAxis(b_, op.getLoc(), get(op.getTarget()), axis);
  int64_t rank = rt.getRank();
  Type elt = rt.getElementType();
  SmallVector<IT> par(rank, IT::parallel);
  return set(op,
             generic(b_, op.getLoc(), {t}, {dropDimMap(b_, rank, axis)},
                     emptyT(b_, op.getLoc(), rt.getShape(), elt),
                     b_.getMultiDimIdentityMap(rank), par,
                     [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                       Value eq = labelEq(nb, l, a[0], indexI64(nb, l, axis));
                       return arith::SelectOp::create(nb, l, eq,
                                                      fcst(nb, l, elt, 1.0),
                                                      fcst(nb, l, elt, 0.0));
                     }));
}

FailureOr<Value> FunctionLowering::trainEpilogue(Operation *op, Location loc,
                                                 Value y, Value bias,
                                                 Value gamma, StringRef act) {
  OpBuilder &b = b_;
  SmallVector<int64_t> shape = shapeOf(y);
  int64_t rank = shape.size();
  int64_t F = shape.back();
  Type elt = eltOf(y);
  double m = static_cast<double>(numElements(shape) / F);
  SmallVector<IT> its(rank, IT::reduction);
  its.back() = IT::parallel;
  AffineMap id = b.getMultiDimIdentityMap(rank);
  AffineMap fmap =
      AffineMap::get(rank, 0, {b.getAffineDimExpr(rank - 1)}, b.getContext());
  Value sum = generic(
      b, loc, {y}, {id}, filled(b, loc, {F}, elt, fcst(b, loc, elt, 0.0)), fmap,
      its, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        return arith::AddFOp::create(nb, l, a[1], a[0]);
      });
  Value mean = elementwise(
      b, loc, {sum}, {F}, elt, [&](OpBuilder &nb, Location l, ValueRange a) {
        return Value(arith::DivFOp::create(nb, l, a[0], fcst(nb, l, elt, m)));
      });
  Value sq =
      generic(b, loc, {y, mean}, {id, fmap},
              filled(b, loc, {F}, elt, fcst(b, loc, elt, 0.0)), fmap, its,
              [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                Value d = arith::SubFOp::create(nb, l, a[0], a[1]);
                return arith::AddFOp::create(
                    nb, l, a[2], arith::MulFOp::create(nb, l, d, d));
              });
  // std over every axis but f (population), + 1e-6.
  Value sd = elementwise(
      b, loc, {sq}, {F}, elt, [&](OpBuilder &nb, Location l, ValueRange a) {
        Value var = arith::DivFOp::create(nb, l, a[0], fcst(nb, l, elt, m));
        return Value(arith::AddFOp::create(
            nb, l, math::SqrtOp::create(nb, l, var), fcst(nb, l, elt, 1e-6)));
      });
  SmallVector<Value> bn{gamma, mean, sd};
  return epilogue(op, loc, y, bias, bn, std::optional<StringRef>("predict"),
                  act);
}

template <typename LayerOp>
LogicalResult FunctionLowering::lowerTrainBN(LayerOp op) {
  Location loc = op.getLoc();
  ::nm::TaggedShape out = tagged(op.getOutput());
  Type elt = cast<RankedTensorType>(op.getType()).getElementType();
  SmallVector<int64_t> wsh(
      cast<RankedTensorType>(op.getW().getType()).getShape());
  int64_t nf = std::is_same_v<LayerOp, ir::PerceptronOp> ? wsh[1] : wsh[0];
  if (op.getBn().size() != 3)
    return op.emitError() << "batch normalisation needs gamma, mean and std";
  // The layer without BN, bias and activation (lin), lowered as usual, gives
  // the pre-BN output; a temporary op in the old IR.
  OpBuilder ob(op.getOperation());
  auto zt = RankedTensorType::get({nf}, elt);
  auto zero = arith::ConstantOp::create(
      ob, loc,
      DenseElementsAttr::get(zt,
                             ArrayRef<Attribute>{ob.getFloatAttr(elt, 0.0)}));
  auto tmp = cast<LayerOp>(ob.clone(*op.getOperation()));
  tmp.getBMutable().assign(zero.getResult());
  tmp.getBnMutable().clear();
  tmp.removeBatchNormalisationAttr();
  tmp.setActivation("lin");
  tmp.getOutput().setType(
      ir::getTaggedTensorType(out.updateShape('f', nf), elt));
  LogicalResult r = lowerOp(zero);
  if (succeeded(r))
    r = lowerOp(tmp);
  Value lin = succeeded(r) ? get(tmp.getOutput()) : Value();
  map_.erase(tmp.getOutput());
  map_.erase(zero.getResult());
  tmp->erase();
  zero->erase();
  if (failed(r))
    return failure();
  // f last, batch statistics, the predict-mode epilogue with them.
  ::nm::TaggedShape ls = out.updateShape('f', nf);
  int64_t fI = ls.tagIndex('f');
  SmallVector<int64_t> perm;
  for (int64_t i = 0; i < ls.ndim(); ++i)
    if (i != fI)
      perm.push_back(i);
  perm.push_back(fI);
  Value ycl = transposeT(b_, loc, lin, perm);
  auto ep = trainEpilogue(op, loc, ycl, get(op.getB()), get(op.getBn()[0]),
                          op.getActivation());
  if (failed(ep))
    return failure();
  return set(op, transposeT(b_, loc, *ep, inversePerm(perm)));
}

LogicalResult FunctionLowering::lower(ir::UpConvOp op) {
  OpBuilder &b = b_;
  Location loc = op.getLoc();
  MLIRContext *ctx = b.getContext();
  ::nm::TaggedShape s = tagged(op.getInput());
  auto permOr = channelsLast(op, s);
  if (failed(permOr))
    return failure();
  SmallVector<int64_t> perm = *permOr;
  int64_t k = s.nSpatial();
  Value x = transposeT(b, loc, get(op.getInput()), perm); // [N, S..., C]
  Type elt = eltOf(x);
  Value w = get(op.getW()); // [F, C, p...]
  SmallVector<int64_t> xs = shapeOf(x), wsh = shapeOf(w);
  int64_t nf = wsh[0];
  // out[n, s_1, t_1, ..., s_k, t_k, f] = sum_c x[n, s..., c] w[f, c, t...]:
  // filter = stride, so each output voxel gets exactly one input voxel
  // (cuDNN GradI, conv_mode 'cross'); (s_i, t_i) then merge to s_i*p_i + t_i.
  int64_t R = 2 * k + 3, cD = R - 2, fD = R - 1;
  auto d = [&](int64_t i) { return b.getAffineDimExpr(i); };
  SmallVector<AffineExpr> xe{d(0)}, we{d(fD), d(cD)}, oe;
  SmallVector<int64_t> outSh{xs[0]};
  for (int64_t i = 0; i < k; ++i) {
    xe.push_back(d(1 + 2 * i));
    we.push_back(d(2 + 2 * i));
    outSh.push_back(xs[1 + i]);
    outSh.push_back(wsh[2 + i]);
  }
  xe.push_back(d(cD));
  outSh.push_back(nf);
  for (int64_t i = 0; i < R; ++i)
    if (i != cD)
      oe.push_back(d(i));
  SmallVector<IT> its(R, IT::parallel);
  its[cD] = IT::reduction;
  Value init = filled(b, loc, outSh, elt, fcst(b, loc, elt, 0.0));
  Value y =
      generic(b, loc, {x, w},
              {AffineMap::get(R, 0, xe, ctx), AffineMap::get(R, 0, we, ctx)},
              init, AffineMap::get(R, 0, oe, ctx), its,
              [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                return arith::AddFOp::create(
                    nb, l, a[2], arith::MulFOp::create(nb, l, a[0], a[1]));
              });
  SmallVector<ReassociationIndices> groups{{0}};
  for (int64_t i = 0; i < k; ++i)
    groups.push_back({1 + 2 * i, 2 + 2 * i});
  groups.push_back({2 * k + 1});
  y = tensor::CollapseShapeOp::create(b, loc, y, groups);
  FailureOr<Value> ep = failure();
  std::optional<StringRef> bn = op.getBatchNormalisation();
  if (bn && *bn == "train") {
    if (op.getBn().size() != 3)
      return op.emitError() << "batch normalisation needs gamma, mean and std";
    ep = trainEpilogue(op, loc, y, get(op.getB()), get(op.getBn()[0]),
                       op.getActivation());
  } else {
    ep = layerEpilogue(op, loc, y);
  }
  if (failed(ep))
    return failure();
  return set(op, transposeT(b, loc, *ep, inversePerm(perm)));
}

LogicalResult FunctionLowering::lower(ir::LRNOp op) {
  OpBuilder &b = b_;
  Location loc = op.getLoc();
  ::nm::TaggedShape s = tagged(op.getInput());
  Value x = get(op.getInput());
  Type elt = eltOf(x);
  if (!isa<FloatType>(elt))
    return notImplemented(op, "integer tensors");
  SmallVector<int64_t> shape = shapeOf(x);
  int64_t rank = shape.size();
  ArrayRef<int64_t> filter = op.getFilterShape();
  double alpha = op.getAlpha().convertToDouble();
  double kk = op.getK().convertToDouble();
  double beta = op.getBeta().convertToDouble();
  Value sumSq;
  int64_t n = 1;
  if (op.getMode() == "spatial") {
    // mean_sq = 'same' conv of x^2 with a constant averaging kernel per
    // feature (zero padding); ELEKTRONN2 needs odd kernels for 'same'.
    std::vector<int64_t> sp = s.spatialAxes();
    if (filter.size() != sp.size())
      return op.emitError() << "LRN filter_shape needs one entry per spatial "
                               "axis";
    if (llvm::any_of(filter, [](int64_t f) { return f % 2 == 0; }))
      return op.emitError() << "For \"same\"-mode convolution, filter shapes "
                               "must be odd in all dimensions.";
    int64_t nsp = sp.size();
    Value sq = elementwise(
        b, loc, {x}, shape, elt, [&](OpBuilder &nb, Location l, ValueRange a) {
          return Value(arith::MulFOp::create(nb, l, a[0], a[0]));
        });
    SmallVector<int64_t> lo(rank, 0), psh(shape);
    bool anyPad = false;
    for (int64_t j = 0; j < nsp; ++j) {
      lo[sp[j]] = (filter[j] - 1) / 2;
      psh[sp[j]] += filter[j] - 1;
      anyPad |= filter[j] > 1;
      n *= filter[j];
    }
    if (anyPad)
      sq = padded(b, loc, sq, lo, psh, fcst(b, loc, elt, 0.0));
    int64_t R = rank + nsp;
    SmallVector<AffineExpr> in;
    for (int64_t i = 0; i < rank; ++i)
      in.push_back(b.getAffineDimExpr(i));
    SmallVector<AffineExpr> win;
    for (int64_t j = 0; j < nsp; ++j) {
      in[sp[j]] = in[sp[j]] + b.getAffineDimExpr(rank + j);
      win.push_back(b.getAffineDimExpr(rank + j));
    }
    SmallVector<AffineExpr> oe;
    for (int64_t i = 0; i < rank; ++i)
      oe.push_back(b.getAffineDimExpr(i));
    SmallVector<IT> its(R, IT::parallel);
    for (int64_t j = 0; j < nsp; ++j)
      its[rank + j] = IT::reduction;
    MLIRContext *ctx = b.getContext();
    sumSq =
        generic(b, loc, {sq, emptyT(b, loc, filter, elt)},
                {AffineMap::get(R, 0, in, ctx), AffineMap::get(R, 0, win, ctx)},
                filled(b, loc, shape, elt, fcst(b, loc, elt, 0.0)),
                AffineMap::get(R, 0, oe, ctx), its,
                [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                  return arith::AddFOp::create(nb, l, a[2], a[0]);
                });
  } else if (op.getMode() == "channel") {
    // Window of odd size over f, the edges replicated.
    if (!s.hasTag('f'))
      return op.emitError() << "LRN in 'channel' mode needs an 'f' axis";
    int64_t fI = s.tagIndex('f'), F = shape[fI];
    int64_t win = filter[0], half = win / 2;
    n = win;
    sumSq = gather(
        b, loc, shape, elt,
        [&](OpBuilder &nb, Location l, ArrayRef<Value> idx) -> Value {
          SmallVector<Value> src(idx.begin(), idx.end());
          Value acc;
          for (int64_t i = 0; i < win; ++i) {
            Value j =
                arith::AddIOp::create(nb, l, idx[fI], idxC(nb, l, i - half));
            src[fI] = clampIndex(nb, l, j, F).first;
            Value v = tensor::ExtractOp::create(nb, l, x, src);
            Value v2 = arith::MulFOp::create(nb, l, v, v);
            acc = acc ? Value(arith::AddFOp::create(nb, l, acc, v2)) : v2;
          }
          return acc;
        });
  } else {
    return op.emitError() << "unknown LRN mode '" << op.getMode() << "'";
  }
  // x / (k + alpha * mean_sq)^beta
  return set(
      op, elementwise(
              b, loc, {x, sumSq}, shape, elt,
              [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                Value ms = arith::DivFOp::create(
                    nb, l, a[1], fcst(nb, l, elt, static_cast<double>(n)));
                Value base = arith::AddFOp::create(
                    nb, l, fcst(nb, l, elt, kk),
                    arith::MulFOp::create(nb, l, fcst(nb, l, elt, alpha), ms));
                Value div =
                    math::PowFOp::create(nb, l, base, fcst(nb, l, elt, beta));
                return arith::DivFOp::create(nb, l, a[0], div);
              }));
}

FailureOr<Value> FunctionLowering::denseErrorLabels(ir::ErrorsOp op) {
  OpBuilder &b = b_;
  Location loc = op.getLoc();
  ::nm::TaggedShape cs = tagged(op.getCls()), ts = tagged(op.getTarget());
  if (!cs.hasTag('f') || !ts.hasTag('f')) {
    op.emitError() << "errors needs an 'f' axis";
    return failure();
  }
  int64_t fI = cs.tagIndex('f');
  int64_t nIndep = cs.shape()[fI], Ft = ts.shape()[ts.tagIndex('f')];
  if (ts.tagIndex('f') != fI || nIndep < 1 || Ft % nIndep != 0) {
    op.emitError() << "errors: a dense target of " << Ft
                   << " features does not fit " << nIndep
                   << " independent classifications";
    return failure();
  }
  int64_t C = Ft / nIndep;
  // gt = argmax (first maximum) over each block of C target features.
  Value t = splitAxis(b, loc, get(op.getTarget()), fI, nIndep, C);
  Type tf = isa<FloatType>(eltOf(t)) ? eltOf(t) : Type(b.getF64Type());
  int64_t cI = fI + 1;
  int64_t rank = shapeOf(t).size();
  Value m =
      reduceAxis(b, loc, t, cI, tf,
                 fcst(b, loc, tf, -std::numeric_limits<double>::infinity()),
                 [&](OpBuilder &nb, Location l, Value x, Value acc) {
                   return Value(arith::MaximumFOp::create(
                       nb, l, toFloat(nb, l, x, tf), acc));
                 });
  Type i64 = b.getI64Type();
  SmallVector<int64_t> outSh = shapeOf(m);
  SmallVector<IT> its(rank, IT::parallel);
  its[cI] = IT::reduction;
  AffineMap red = dropDimMap(b, rank, cI);
  return generic(b, loc, {t, m}, {b.getMultiDimIdentityMap(rank), red},
                 filled(b, loc, outSh, i64, icst(b, loc, i64, C)), red, its,
                 [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                   Value c = arith::IndexCastOp::create(
                       nb, l, i64, linalg::IndexOp::create(nb, l, cI));
                   Value eq =
                       arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OEQ,
                                             toFloat(nb, l, a[0], tf), a[1]);
                   Value cand = arith::SelectOp::create(nb, l, eq, c, a[2]);
                   return arith::MinSIOp::create(nb, l, cand, a[2]);
                 });
}

template <typename LossOp>
LogicalResult FunctionLowering::lowerRegression(LossOp op, bool squared) {
  OpBuilder &b = b_;
  Location loc = op.getLoc();
  ::nm::TaggedShape ps = tagged(op.getPred());
  Value p = get(op.getPred()), t = get(op.getTarget());
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
  return set(
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

LogicalResult FunctionLowering::lower(ir::SquaredLossOp op) {
  return lowerRegression(op, /*squared=*/true);
}

LogicalResult FunctionLowering::lower(ir::AbsLossOp op) {
  return lowerRegression(op, /*squared=*/false);
}

LogicalResult FunctionLowering::lower(ir::EuclideanDistanceOp op) {
  OpBuilder &b = b_;
  Location loc = op.getLoc();
  ::nm::TaggedShape ps = tagged(op.getPred());
  Value p = get(op.getPred()), t = get(op.getTarget());
  Type elt = eltOf(p);
  if (!isa<FloatType>(elt))
    return notImplemented(op, "integer predictions");
  SmallVector<int64_t> shape = shapeOf(p);
  AffineMap id = b.getMultiDimIdentityMap(shape.size());
  // ||t - p||_2 over f; NaN -> 0.
  return set(op, sumOverAxisKeep(
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
                       return arith::SelectOp::create(nb, l, nan,
                                                      fcst(nb, l, elt, 0.0), r);
                     }));
}

LogicalResult FunctionLowering::lower(ir::RampLossOp op) {
  OpBuilder &b = b_;
  Location loc = op.getLoc();
  ::nm::TaggedShape ls = tagged(op.getDLow());
  Value lo = get(op.getDLow()), hi = get(op.getDBig());
  Type elt = eltOf(lo);
  if (!isa<FloatType>(elt))
    return notImplemented(op, "integer distances");
  SmallVector<int64_t> shape = shapeOf(lo);
  int64_t fI = ls.tagIndex('f'), F = shape[fI];
  double margin = op.getMargin().convertToDouble();
  AffineMap id = b.getMultiDimIdentityMap(shape.size());
  // mean_f(max(0, d_low - d_big + margin)), NaN -> 0.
  return set(
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

LogicalResult FunctionLowering::lower(ir::BinaryNLLOp op) {
  OpBuilder &b = b_;
  Location loc = op.getLoc();
  Value p = get(op.getPred()), t = get(op.getTarget());
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
  return set(op, r);
}

LogicalResult FunctionLowering::lower(ir::GaussianNLLOp op) {
  OpBuilder &b = b_;
  Location loc = op.getLoc();
  Value mu = get(op.getMu()), sig = get(op.getSig()), t = get(op.getTarget());
  Type elt = eltOf(mu);
  if (!isa<FloatType>(elt))
    return notImplemented(op, "integer predictions");
  bool isLog = op.getSigIsLog();
  // 0.5 ln(2 pi) + ln(sig) + 0.5 ((t - mu) / sig)^2
  return set(
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

LogicalResult FunctionLowering::lower(ir::BetaNLLOp op) {
  OpBuilder &b = b_;
  Location loc = op.getLoc();
  Value mode = get(op.getMode()), conc = get(op.getConcentration()),
        t = get(op.getTarget());
  Type elt = eltOf(mode);
  if (!isa<FloatType>(elt))
    return notImplemented(op, "integer predictions");
  const double eps = 1e-5;
  // -log Beta(t; a, b) + softplus(-c) with a = mode (c - 2) + 1,
  // b = (1 - mode)(c - 2) + 1; the log-gamma terms in f64.
  return set(
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

LogicalResult FunctionLowering::lowerOp(Operation *op) {
  b_.setInsertionPointToEnd(b_.getInsertionBlock());
  for (Type t : op->getResultTypes())
    if (auto rt = dyn_cast<RankedTensorType>(t); rt && !rt.hasStaticShape())
      return op->emitError()
             << "dynamic sizes (None) must be fixed before compiling";
  if (auto ret = dyn_cast<func::ReturnOp>(op)) {
    SmallVector<Value> vals;
    for (Value v : ret.getOperands())
      vals.push_back(get(v));
    func::ReturnOp::create(b_, op->getLoc(), vals);
    return success();
  }
  if (!isa<ir::NmDialect>(op->getDialect())) {
    Operation *clone = b_.clone(*op, map_);
    for (Value r : clone->getResults())
      if (auto rt = dyn_cast<RankedTensorType>(r.getType());
          rt && rt.getEncoding())
        return op->emitError() << "cannot lower a non-nm op on tagged tensors";
    return success();
  }
  // Batch statistics: the layer is lowered without BN, then normalised.
  if (auto conv = dyn_cast<ir::ConvOp>(op);
      conv && conv.getBatchNormalisation() == StringRef("train"))
    return lowerTrainBN(conv);
  if (auto dot = dyn_cast<ir::PerceptronOp>(op);
      dot && dot.getBatchNormalisation() == StringRef("train"))
    return lowerTrainBN(dot);
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<ir::ConvOp, ir::PoolOp, ir::PerceptronOp, ir::SoftmaxOp,
            ir::MultinoulliNLLOp, ir::AggregateLossOp, ir::ClassificationOp,
            ir::ErrorsOp, ir::CropOp, ir::PadOp, ir::ConcatOp, ir::AddOp,
            ir::MultOp, ir::ApplyOp, ir::SliceOp, ir::ReshapeOp,
            ir::FragmentsToDenseOp, ir::ValueOp, ir::InitialStateOp,
            ir::OneHotOp, ir::UpConvOp, ir::LRNOp, ir::BinaryNLLOp,
            ir::SquaredLossOp, ir::AbsLossOp, ir::GaussianNLLOp, ir::BetaNLLOp,
            ir::RampLossOp, ir::EuclideanDistanceOp>(
          [&](auto o) { return lower(o); })
      .Default([&](Operation *o) { return notImplemented(o); });
}

/// The node name a value carries (NameLoc of its op or argument).
std::optional<std::string> nameOf(Value v) {
  Location loc = v.getLoc();
  if (auto nl = dyn_cast<NameLoc>(loc))
    return nl.getName().str();
  if (auto fl = dyn_cast<FusedLoc>(loc))
    for (Location l : fl.getLocations())
      if (auto nl = dyn_cast<NameLoc>(l))
        return nl.getName().str();
  return std::nullopt;
}

LogicalResult FunctionLowering::run() {
  FunctionType ft = func_.getFunctionType();
  Block &old = func_.getBody().front();
  for (Type t : llvm::concat<const Type>(ft.getInputs(), ft.getResults()))
    if (auto rt = dyn_cast<RankedTensorType>(t); rt && !rt.hasStaticShape())
      return func_.emitError()
             << "dynamic sizes (None) must be fixed before compiling (@"
             << func_.getSymName() << " has " << t << ")";
  SmallVector<Type> inTypes, outTypes;
  for (Type t : ft.getInputs())
    inTypes.push_back(isa<RankedTensorType>(t) ? plainType(t) : t);
  for (Type t : ft.getResults())
    outTypes.push_back(isa<RankedTensorType>(t) ? plainType(t) : t);

  auto *block = new Block();
  for (BlockArgument a : old.getArguments())
    map_.map(a, block->addArgument(inTypes[a.getArgNumber()], a.getLoc()));
  b_.setInsertionPointToEnd(block);
  for (Operation &op : old) {
    if (failed(lowerOp(&op))) {
      block->dropAllDefinedValueUses();
      block->dropAllReferences();
      delete block;
      return failure();
    }
  }
  // Result names: the node that produced each result.
  SmallVector<std::string> resultNames;
  if (auto ret = dyn_cast<func::ReturnOp>(old.getTerminator()))
    for (Value v : ret.getOperands()) {
      std::string n;
      if (auto arg = dyn_cast<BlockArgument>(v)) {
        if (auto s = func_.getArgAttrOfType<StringAttr>(arg.getArgNumber(),
                                                        "nm.input"))
          n = s.str();
      } else if (auto nm = nameOf(v)) {
        n = *nm;
      }
      resultNames.push_back(n);
    }

  old.dropAllDefinedValueUses();
  old.dropAllReferences();
  old.erase();
  func_.getBody().push_back(block);
  func_.setFunctionType(
      FunctionType::get(func_.getContext(), inTypes, outTypes));
  MLIRContext *ctx = func_.getContext();
  for (unsigned i = 0; i < inTypes.size(); ++i) {
    if (auto s = func_.getArgAttrOfType<StringAttr>(i, "nm.input")) {
      func_.removeArgAttr(i, StringAttr::get(ctx, "nm.input"));
      func_.setArgAttr(i, "nm.name", s);
    } else if (auto p = func_.getArgAttrOfType<StringAttr>(i, "nm.param")) {
      func_.removeArgAttr(i, StringAttr::get(ctx, "nm.param"));
      func_.removeArgAttr(i, StringAttr::get(ctx, "nm.trainable"));
      func_.setArgAttr(i, "nm.name", p);
      func_.setArgAttr(i, "nm.parameter", UnitAttr::get(ctx));
    }
  }
  for (unsigned i = 0; i < resultNames.size(); ++i)
    if (!resultNames[i].empty() && !func_.getResultAttr(i, "nm.name"))
      func_.setResultAttr(i, "nm.name", StringAttr::get(ctx, resultNames[i]));
  return success();
}

bool usesNm(func::FuncOp f) {
  auto tagged = [](Type t) { return ir::isTaggedTensor(t); };
  if (llvm::any_of(f.getFunctionType().getInputs(), tagged) ||
      llvm::any_of(f.getFunctionType().getResults(), tagged))
    return true;
  bool found = false;
  f.walk([&](Operation *op) {
    if (isa<ir::NmDialect>(op->getDialect()))
      found = true;
  });
  return found;
}

class NmToLinalgPass
    : public PassWrapper<NmToLinalgPass, OperationPass<ModuleOp>> {
public:
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(NmToLinalgPass)
  StringRef getArgument() const override { return "nm-to-linalg"; }
  StringRef getDescription() const override {
    return "Lower the nm dialect to linalg/tensor/arith/math on static "
           "tensors (the input of the CPU code generator)";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registerNmToLinalgDialects(registry);
  }
  void runOnOperation() override {
    if (failed(lowerNmToLinalg(getOperation())))
      signalPassFailure();
  }
};

} // namespace

LogicalResult lowerNmToLinalg(ModuleOp module) {
  MLIRContext *ctx = module.getContext();
  ctx->getOrLoadDialect<linalg::LinalgDialect>();
  ctx->getOrLoadDialect<tensor::TensorDialect>();
  ctx->getOrLoadDialect<arith::ArithDialect>();
  ctx->getOrLoadDialect<math::MathDialect>();
  ctx->getOrLoadDialect<func::FuncDialect>();
  bool ok = true;
  SmallVector<func::FuncOp> funcs(module.getOps<func::FuncOp>());
  for (func::FuncOp f : funcs) {
    if (f.isExternal() || !usesNm(f))
      continue;
    if (!llvm::hasSingleElement(f.getBody())) {
      f.emitError() << "nm-to-linalg expects single-block functions";
      ok = false;
      continue;
    }
    FunctionLowering fl(f);
    if (failed(fl.run())) {
      ok = false;
      continue;
    }
    // Values no one reads (e.g. the tag-order copy of a conv output that
    // the next conv reads in its internal layout).
    SmallVector<Operation *> ops;
    f.walk([&](Operation *op) { ops.push_back(op); });
    for (Operation *op : llvm::reverse(ops))
      if (isOpTriviallyDead(op))
        op->erase();
  }
  return success(ok);
}

std::unique_ptr<Pass> createNmToLinalgPass() {
  return std::make_unique<NmToLinalgPass>();
}

void registerNmToLinalgPass() { PassRegistration<NmToLinalgPass>(); }

void registerNmToLinalgDialects(DialectRegistry &registry) {
  registry.insert<linalg::LinalgDialect, tensor::TensorDialect,
                  arith::ArithDialect, math::MathDialect, func::FuncDialect>();
}

} // namespace nm::compiler
