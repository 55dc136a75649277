//===- DataMovementGradients.cpp - gradients of merges, crops, pads -------===//
//
// Ops that move elements hand each element's gradient back to where it came
// from; ops that add (nm.add) hand it to both operands.
//
//===----------------------------------------------------------------------===//
#include "GradientUtils.h"

using namespace mlir;

namespace nm::ir {

LogicalResult AddOp::buildGradients(OpBuilder &b, Value dy,
                                    ArrayRef<bool> needed,
                                    SmallVectorImpl<Value> &grads) {
  for (unsigned i = 0; i < 2; ++i)
    if (needed[i])
      grads[i] = grad::retag(b, getLoc(), dy, getOperand(i).getType());
  return success();
}

LogicalResult MultOp::buildGradients(OpBuilder &b, Value dy,
                                     ArrayRef<bool> needed,
                                     SmallVectorImpl<Value> &grads) {
  // d(l r) = dl r + l dr: each operand's gradient is dy times the other.
  for (unsigned i = 0; i < 2; ++i)
    if (needed[i]) {
      Value prod = MultOp::create(b, getLoc(), dy, getOperand(1 - i));
      grads[i] = grad::retag(b, getLoc(), prod, getOperand(i).getType());
    }
  return success();
}

LogicalResult ApplyOp::buildGradients(OpBuilder &b, Value dy,
                                      ArrayRef<bool> needed,
                                      SmallVectorImpl<Value> &grads) {
  if (needed[0])
    grads[0] = ApplyGradOp::create(b, getLoc(), getInput().getType(),
                                   getInput(), dy, getFuncAttr());
  return success();
}

LogicalResult CropOp::buildGradients(OpBuilder &b, Value dy,
                                     ArrayRef<bool> needed,
                                     SmallVectorImpl<Value> &grads) {
  if (needed[0])
    grads[0] = CropGradOp::create(b, getLoc(), getInput().getType(), dy,
                                  getCropAttr());
  return success();
}

LogicalResult PadOp::buildGradients(OpBuilder &b, Value dy,
                                    ArrayRef<bool> needed,
                                    SmallVectorImpl<Value> &grads) {
  if (needed[0])
    grads[0] =
        PadGradOp::create(b, getLoc(), getInput().getType(), dy, getPadAttr());
  return success();
}

LogicalResult ConcatOp::buildGradients(OpBuilder &b, Value dy,
                                       ArrayRef<bool> needed,
                                       SmallVectorImpl<Value> &grads) {
  std::string axis = getAxis().str();
  int64_t start = 0;
  for (auto [i, in] : llvm::enumerate(getInputs())) {
    ::nm::TaggedShape s = *getTaggedShape(in.getType());
    if (!s.hasTag(axis[0]))
      return emitOpError() << "input " << i << " has no axis '" << axis << "'";
    if (needed[i])
      grads[i] =
          SliceGradOp::create(b, getLoc(), in.getType(), dy, getAxis(), start);
    start += s.shape()[s.tagIndex(axis[0])];
  }
  return success();
}

LogicalResult SliceOp::buildGradients(OpBuilder &b, Value dy,
                                      ArrayRef<bool> needed,
                                      SmallVectorImpl<Value> &grads) {
  // Each piece of a split puts its gradient back where it was cut from;
  // the autodiff pass sums the pieces (zeros elsewhere).
  if (needed[0])
    grads[0] = EmbedGradOp::create(
        b, getLoc(), getInput().getType(), dy, getAxis(), getStart(),
        /*strip_singleton_dims=*/getStripSingletonDims() && getSize() == 1);
  return success();
}

LogicalResult ReshapeOp::buildGradients(OpBuilder &b, Value dy,
                                        ArrayRef<bool> needed,
                                        SmallVectorImpl<Value> &grads) {
  // A reshape only renames positions (row-major): reshaping the gradient
  // back inverts it.
  if (needed[0])
    grads[0] = ReshapeOp::create(b, getLoc(), getInput().getType(), dy);
  return success();
}

LogicalResult OneHotOp::buildGradients(OpBuilder &, Value, ArrayRef<bool>,
                                       SmallVectorImpl<Value> &) {
  return grad::notDifferentiable(*this);
}

} // namespace nm::ir
