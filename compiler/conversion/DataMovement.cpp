//===- DataMovement.cpp - ops that move or copy elements ------------------===//
//
// Crop, pad, concat, slice and reshape become tensor ops on the tag-order
// values; value, initial_state and onehot become copies or broadcasts.
//
//===----------------------------------------------------------------------===//
#include "LoweringContext.h"
#include "TensorUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace nm::compiler::lowering {

LogicalResult lower(ir::CropOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  ::nm::TaggedShape s = tagged(op.getInput());
  auto rt = plainType(op.getType());
  SmallVector<OpFoldResult> off, sz, st;
  for (int64_t i = 0; i < s.ndim(); ++i) {
    off.push_back(b.getIndexAttr(0));
    sz.push_back(b.getIndexAttr(rt.getDimSize(i)));
    st.push_back(b.getIndexAttr(1));
  }
  auto sp = s.spatialAxes();
  ArrayRef<int64_t> crop = op.getCrop();
  for (size_t k = 0; k < sp.size() && k < crop.size(); ++k)
    off[sp[k]] = b.getIndexAttr(crop[k]);
  return ctx.set(op, tensor::ExtractSliceOp::create(b, op.getLoc(), rt,
                                                    ctx.get(op.getInput()), off,
                                                    sz, st));
}

LogicalResult lower(ir::PadOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  ::nm::TaggedShape s = tagged(op.getInput());
  auto rt = plainType(op.getType());
  SmallVector<OpFoldResult> lo(s.ndim(), b.getIndexAttr(0));
  auto sp = s.spatialAxes();
  ArrayRef<int64_t> pad = op.getPad();
  for (size_t k = 0; k < sp.size() && k < pad.size(); ++k)
    lo[sp[k]] = b.getIndexAttr(pad[k]);
  Type elt = rt.getElementType();
  if (!isa<FloatType>(elt))
    return notImplemented(op, "integer tensors");
  Value v = fcst(b, op.getLoc(), elt, op.getValue().convertToDouble());
  SmallVector<int64_t> loI(s.ndim(), 0);
  for (size_t k = 0; k < sp.size() && k < pad.size(); ++k)
    loI[sp[k]] = pad[k];
  return ctx.set(op, padded(b, op.getLoc(), ctx.get(op.getInput()), loI,
                            rt.getShape(), v));
}

LogicalResult lower(ir::ConcatOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  auto rt = plainType(op.getType());
  ::nm::TaggedShape s = tagged(op.getInputs()[0]);
  if (op.getAxis().size() != 1 || !s.hasTag(op.getAxis()[0]))
    return op.emitError() << "concat axis '" << op.getAxis() << "' not found";
  int64_t axis = s.tagIndex(op.getAxis()[0]);
  // Each input into its slice of the result (in place when bufferization
  // can make the producer write there).
  Location loc = op.getLoc();
  Value r = emptyT(b, loc, rt.getShape(), rt.getElementType());
  int64_t at = 0;
  for (Value in : op.getInputs()) {
    Value v = ctx.get(in);
    SmallVector<int64_t> shape = shapeOf(v);
    SmallVector<OpFoldResult> off, sz, st;
    for (size_t d = 0; d < shape.size(); ++d) {
      off.push_back(b.getIndexAttr(static_cast<int64_t>(d) == axis ? at : 0));
      sz.push_back(b.getIndexAttr(shape[d]));
      st.push_back(b.getIndexAttr(1));
    }
    r = tensor::InsertSliceOp::create(b, loc, v, r, off, sz, st);
    at += shape[axis];
  }
  return ctx.set(op, r);
}

LogicalResult lower(ir::SliceOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  ::nm::TaggedShape s = tagged(op.getInput());
  auto rt = plainType(op.getType());
  if (op.getAxis().size() != 1 || !s.hasTag(op.getAxis()[0]))
    return op.emitError() << "slice axis '" << op.getAxis() << "' not found";
  int64_t axis = s.tagIndex(op.getAxis()[0]);
  SmallVector<OpFoldResult> off, sz, st;
  for (int64_t i = 0; i < s.ndim(); ++i) {
    off.push_back(b.getIndexAttr(i == axis ? op.getStart() : 0));
    sz.push_back(b.getIndexAttr(i == axis ? op.getSize() : s.shape()[i]));
    st.push_back(b.getIndexAttr(1));
  }
  return ctx.set(op, tensor::ExtractSliceOp::create(b, op.getLoc(), rt,
                                                    ctx.get(op.getInput()), off,
                                                    sz, st));
}

LogicalResult lower(ir::ReshapeOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  auto rt = plainType(op.getType());
  Value x = ctx.get(op.getInput());
  int64_t rank = shapeOf(x).size();
  Location loc = op.getLoc();
  if (rank > 1) {
    ReassociationIndices all;
    for (int64_t i = 0; i < rank; ++i)
      all.push_back(i);
    x = tensor::CollapseShapeOp::create(b, loc, x,
                                        ArrayRef<ReassociationIndices>{all});
  }
  if (rt.getRank() > 1) {
    ReassociationIndices all;
    for (int64_t i = 0; i < rt.getRank(); ++i)
      all.push_back(i);
    x = tensor::ExpandShapeOp::create(b, loc, rt, x,
                                      ArrayRef<ReassociationIndices>{all});
  }
  return ctx.set(op, x);
}

LogicalResult lower(ir::ValueOp op, LoweringContext &ctx) {
  return ctx.set(op, ctx.get(op.getValue()));
}

LogicalResult lower(ir::InitialStateOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  auto rt = plainType(op.getType());
  ::nm::TaggedShape s = tagged(op.getOutput());
  int64_t fI = s.tagIndex('f');
  int64_t rank = rt.getRank();
  SmallVector<IT> par(rank, IT::parallel);
  return ctx.set(
      op, generic(b, op.getLoc(), {ctx.get(op.getValue())},
                  {AffineMap::get(rank, 0, {b.getAffineDimExpr(fI)},
                                  b.getContext())},
                  emptyT(b, op.getLoc(), rt.getShape(), rt.getElementType()),
                  b.getMultiDimIdentityMap(rank), par,
                  [&](OpBuilder &, Location, ValueRange a) { return a[0]; }));
}

LogicalResult lower(ir::OneHotOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  auto rt = plainType(op.getType());
  ::nm::TaggedShape s = tagged(op.getTarget());
  if (op.getAxis().size() != 1 || !s.hasTag(op.getAxis()[0]))
    return op.emitError() << "onehot axis '" << op.getAxis() << "' not found";
  int64_t axis = s.tagIndex(op.getAxis()[0]);
  if (s.shape()[axis] != 1)
    return notImplemented(op, "targets with more than one label per voxel");
  Value t = dropUnitAxis(b, op.getLoc(), ctx.get(op.getTarget()), axis);
  int64_t rank = rt.getRank();
  Type elt = rt.getElementType();
  SmallVector<IT> par(rank, IT::parallel);
  return ctx.set(
      op, generic(b, op.getLoc(), {t}, {dropDimMap(b, rank, axis)},
                  emptyT(b, op.getLoc(), rt.getShape(), elt),
                  b.getMultiDimIdentityMap(rank), par,
                  [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                    Value eq = labelEq(nb, l, a[0], indexI64(nb, l, axis));
                    return arith::SelectOp::create(nb, l, eq,
                                                   fcst(nb, l, elt, 1.0),
                                                   fcst(nb, l, elt, 0.0));
                  }));
}

} // namespace nm::compiler::lowering
