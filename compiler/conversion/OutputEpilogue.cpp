//===- OutputEpilogue.cpp - class selection and uint8 output -------------===//
//
// The output epilogue of prediction (neuromancer predict --classes,
// --as-uint8): nm.select_channels and nm.to_uint8. On a softmax over few
// classes the two become one linalg.generic over the result that reads the
// softmax's logits, class by class, straight from the last conv's
// channels-last output: the softmax of the selected classes, quantised, is
// written into the (uint8) result, and the float probabilities, their
// tag-order copy and the unselected classes are never stored. The scalar
// ops are those of the unfused softmax in the same order (max from -inf,
// the sum of exp(x - max) from 0 class by class, then e / sum), so the
// fused result equals the unfused one.
//
//===----------------------------------------------------------------------===//
#include "LoweringContext.h"
#include "TensorUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>

using namespace mlir;

namespace nm::compiler::lowering {
namespace {

/// Above this many classes the fused body (one exp per class per output
/// element) costs more than the softmax it replaces.
constexpr int64_t kMaxFusedClasses = 16;

/// The softmax `v` comes from, when the epilogue can fuse with it: one
/// block of at most kMaxFusedClasses classes.
ir::SoftmaxOp fusableSoftmax(Value v) {
  auto sm = v.getDefiningOp<ir::SoftmaxOp>();
  if (!sm || sm.getNIndep() != 1)
    return nullptr;
  ::nm::TaggedShape s = tagged(sm.getInput());
  if (s.shape()[s.tagIndex('f')] > kMaxFusedClasses)
    return nullptr;
  return sm;
}

/// p * 255 truncated to uint8 (i8), clamped to [0, 255]; NaN gives 0.
Value quantise(OpBuilder &b, Location l, Value p) {
  Type f = p.getType();
  Value y = arith::MulFOp::create(b, l, p, fcst(b, l, f, 255.0));
  y = arith::MaxNumFOp::create(b, l, y, fcst(b, l, f, 0.0));
  y = arith::MinNumFOp::create(b, l, y, fcst(b, l, f, 255.0));
  return arith::FPToUIOp::create(b, l, b.getI8Type(), y);
}

/// `classes` of x along `axis` in that order (insert_slices of slices).
Value selectAlong(OpBuilder &b, Location loc, Value x, int64_t axis,
                  ArrayRef<int64_t> classes) {
  SmallVector<int64_t> shape = shapeOf(x);
  SmallVector<int64_t> outShape = shape;
  outShape[axis] = static_cast<int64_t>(classes.size());
  Value r = emptyT(b, loc, outShape, eltOf(x));
  for (auto [i, c] : llvm::enumerate(classes)) {
    SmallVector<OpFoldResult> from, to, sz, st;
    for (size_t d = 0; d < shape.size(); ++d) {
      bool f = static_cast<int64_t>(d) == axis;
      from.push_back(b.getIndexAttr(f ? c : 0));
      to.push_back(b.getIndexAttr(f ? static_cast<int64_t>(i) : 0));
      sz.push_back(b.getIndexAttr(f ? 1 : shape[d]));
      st.push_back(b.getIndexAttr(1));
    }
    Value one = tensor::ExtractSliceOp::create(b, loc, x, from, sz, st);
    r = tensor::InsertSliceOp::create(b, loc, one, r, to, sz, st);
  }
  return r;
}

/// Softmax of the logits of `sm`, channels `classes` of it, optionally
/// quantised, as one linalg.generic over the tag-order result `resultType`.
FailureOr<Value> fusedSoftmax(ir::SoftmaxOp sm, ArrayRef<int64_t> classes,
                              bool toUint8, RankedTensorType resultType,
                              Operation *op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op->getLoc();
  ::nm::TaggedShape s = tagged(sm.getInput());
  FailureOr<SmallVector<int64_t>> perm = channelsLast(op, s);
  if (failed(perm))
    return failure();
  // [b, spatial..., F]: the conv's own output where it has one.
  Value cl = ctx.channelsLastInput(loc, sm.getInput(), *perm);
  SmallVector<int64_t> clShape = shapeOf(cl);
  int64_t rank = clShape.size(), fI = s.tagIndex('f');
  int64_t nClasses = s.shape()[fI];
  Type elt = eltOf(cl);

  // Each class's logits [b, spatial...], read at the result's (tag-order)
  // indices without its 'f'.
  SmallVector<Value> logits;
  SmallVector<OpFoldResult> sz, st;
  for (int64_t d = 0; d < rank; ++d) {
    sz.push_back(b.getIndexAttr(d == rank - 1 ? 1 : clShape[d]));
    st.push_back(b.getIndexAttr(1));
  }
  auto sliceT = RankedTensorType::get(ArrayRef(clShape).drop_back(), elt);
  for (int64_t c = 0; c < nClasses; ++c) {
    SmallVector<OpFoldResult> off(rank, b.getIndexAttr(0));
    off.back() = b.getIndexAttr(c);
    logits.push_back(
        tensor::ExtractSliceOp::create(b, loc, sliceT, cl, off, sz, st));
  }
  SmallVector<AffineExpr> exprs;
  for (int64_t d = 0; d < rank - 1; ++d)
    exprs.push_back(b.getAffineDimExpr((*perm)[d]));
  AffineMap inMap = AffineMap::get(rank, 0, exprs, b.getContext());
  SmallVector<AffineMap> inMaps(nClasses, inMap);
  SmallVector<IT> par(rank, IT::parallel);
  Value init =
      emptyT(b, loc, resultType.getShape(), resultType.getElementType());

  Value out = generic(
      b, loc, logits, inMaps, init, b.getMultiDimIdentityMap(rank), par,
      [&](OpBuilder &nb, Location l, ValueRange x) -> Value {
        Value m = fcst(nb, l, elt, -std::numeric_limits<double>::infinity());
        for (int64_t c = 0; c < nClasses; ++c)
          m = maxF(nb, l, x[c], m);
        Value sum = fcst(nb, l, elt, 0.0);
        for (int64_t c = 0; c < nClasses; ++c)
          sum = addF(
              nb, l,
              math::ExpOp::create(nb, l, arith::SubFOp::create(nb, l, x[c], m)),
              sum);
        // The logit of the class this result channel selects.
        Value picked = x[classes.back()];
        if (classes.size() > 1) {
          Value at = indexI64(nb, l, fI);
          for (int64_t i = static_cast<int64_t>(classes.size()) - 2; i >= 0;
               --i) {
            Value is = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq,
                                             at, icst(nb, l, at.getType(), i));
            picked = arith::SelectOp::create(nb, l, is, x[classes[i]], picked);
          }
        }
        Value e =
            math::ExpOp::create(nb, l, arith::SubFOp::create(nb, l, picked, m));
        Value p = arith::DivFOp::create(nb, l, e, sum);
        return toUint8 ? quantise(nb, l, p) : p;
      });
  return out;
}

SmallVector<int64_t> allClasses(Value softmaxOutput) {
  ::nm::TaggedShape s = tagged(softmaxOutput);
  return llvm::to_vector(llvm::seq<int64_t>(0, s.shape()[s.tagIndex('f')]));
}

} // namespace

LogicalResult lower(ir::SelectChannelsOp op, LoweringContext &ctx) {
  auto rt = plainType(op.getType());
  if (ir::SoftmaxOp sm = fusableSoftmax(op.getInput())) {
    FailureOr<Value> v =
        fusedSoftmax(sm, op.getChannels(), /*toUint8=*/false, rt, op, ctx);
    return failed(v) ? failure() : ctx.set(op, *v);
  }
  ::nm::TaggedShape s = tagged(op.getInput());
  return ctx.set(op,
                 selectAlong(ctx.builder(), op.getLoc(), ctx.get(op.getInput()),
                             s.tagIndex('f'), op.getChannels()));
}

LogicalResult lower(ir::ToUint8Op op, LoweringContext &ctx) {
  auto rt = plainType(op.getType());
  Value in = op.getInput();
  ir::SoftmaxOp sm = fusableSoftmax(in);
  SmallVector<int64_t> classes;
  if (sm) {
    classes = allClasses(in);
  } else if (auto sel = in.getDefiningOp<ir::SelectChannelsOp>()) {
    if ((sm = fusableSoftmax(sel.getInput())))
      classes = llvm::to_vector(sel.getChannels());
  }
  if (sm) {
    FailureOr<Value> v =
        fusedSoftmax(sm, classes, /*toUint8=*/true, rt, op, ctx);
    return failed(v) ? failure() : ctx.set(op, *v);
  }
  OpBuilder &b = ctx.builder();
  return ctx.set(op, elementwise(b, op.getLoc(), {ctx.get(in)}, rt.getShape(),
                                 rt.getElementType(),
                                 [&](OpBuilder &nb, Location l, ValueRange a) {
                                   return quantise(nb, l, a[0]);
                                 }));
}

} // namespace nm::compiler::lowering
