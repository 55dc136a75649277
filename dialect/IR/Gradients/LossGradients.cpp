//===- LossGradients.cpp - gradients of softmax and the losses ------------===//
//
// A MultinoulliNLL on a softmax differentiates as one op with respect to the
// softmax's input (nm.multinoulli_nll_grad {through_softmax}): chaining the
// two gradients would divide by probabilities that underflow to 0. The
// softmax's gradient recognises its loss's gradient and fuses with it.
//
//===----------------------------------------------------------------------===//
#include "GradientUtils.h"

using namespace mlir;

namespace nm::ir {

LogicalResult SoftmaxOp::buildGradients(OpBuilder &b, Value dy,
                                        ArrayRef<bool> needed,
                                        SmallVectorImpl<Value> &grads) {
  if (!needed[0])
    return success();
  auto nll = dy.getDefiningOp<MultinoulliNLLGradOp>();
  if (nll && nll.getPred() == getResult() && !nll.getThroughSoftmax() &&
      dy.use_empty()) {
    auto fused = cast<MultinoulliNLLGradOp>(b.clone(*nll));
    fused.setThroughSoftmax(true);
    fused.getOutput().setType(getInput().getType());
    grads[0] = fused;
    nll.erase();
    return success();
  }
  grads[0] = SoftmaxGradOp::create(b, getLoc(), getInput().getType(),
                                   getResult(), dy, getNIndep());
  return success();
}

LogicalResult MultinoulliNLLOp::buildGradients(OpBuilder &b, Value dl,
                                               ArrayRef<bool> needed,
                                               SmallVectorImpl<Value> &grads) {
  static const char *const kOperands[] = {"pred", "target", "example_weights",
                                          "mask_class_labeled",
                                          "mask_class_not_present"};
  for (unsigned i = 1; i < needed.size(); ++i)
    if (needed[i])
      return grad::notImplemented(
          *this, std::string("nm.multinoulli_nll with respect to its ") +
                     kOperands[i]);
  if (!needed[0])
    return success();
  ::nm::TaggedShape ps = *getTaggedShape(getPred().getType());
  int64_t nClass = ps.shape()[ps.tagIndex('f')];
  // The softmax's blocks (pred may be a slice of it, as in the forward).
  if (SoftmaxOp sm = grad::softmaxOf(getPred())) {
    ::nm::TaggedShape ss = *getTaggedShape(sm.getInput().getType());
    nClass = ss.shape()[ss.tagIndex('f')] / sm.getNIndep();
  }
  grads[0] = MultinoulliNLLGradOp::create(
      b, getLoc(), getPred().getType(), getPred(), getTarget(), dl,
      getExampleWeights(), getMaskClassLabeled(), getMaskClassNotPresent(),
      getTargetIsSparseAttr(), getClassWeightsAttr(),
      b.getI64IntegerAttr(nClass), /*through_softmax=*/nullptr,
      getWeaknessAttr());
  return success();
}

/// An elementwise loss whose gradient nm.loss_grad computes.
template <typename LossOp>
static LogicalResult
elementwiseLossGrad(LossOp op, OpBuilder &b, Value dl, ArrayRef<bool> needed,
                    SmallVectorImpl<Value> &grads, FloatAttr margin,
                    FloatAttr scale, bool subtractEntropy) {
  if (!needed[0])
    return success();
  StringRef name = op->getName().stripDialect();
  grads[0] = LossGradOp::create(
      b, op.getLoc(), op.getPred().getType(), op.getPred(), op.getTarget(), dl,
      b.getStringAttr(name), margin, scale, subtractEntropy);
  return success();
}

LogicalResult SquaredLossOp::buildGradients(OpBuilder &b, Value dl,
                                            ArrayRef<bool> needed,
                                            SmallVectorImpl<Value> &grads) {
  return elementwiseLossGrad(*this, b, dl, needed, grads, getMarginAttr(),
                             getScaleCorrectionAttr(), false);
}

LogicalResult AbsLossOp::buildGradients(OpBuilder &b, Value dl,
                                        ArrayRef<bool> needed,
                                        SmallVectorImpl<Value> &grads) {
  return elementwiseLossGrad(*this, b, dl, needed, grads, getMarginAttr(),
                             getScaleCorrectionAttr(), false);
}

LogicalResult BinaryNLLOp::buildGradients(OpBuilder &b, Value dl,
                                          ArrayRef<bool> needed,
                                          SmallVectorImpl<Value> &grads) {
  return elementwiseLossGrad(*this, b, dl, needed, grads, nullptr, nullptr,
                             getSubtractLabelEntropy());
}

/// A loss whose operands (all but labels-only ones) each get a gradient
/// from nm.loss_operand_grad.
static LogicalResult operandLossGrad(Operation *op, OpBuilder &b, Value dl,
                                     ArrayRef<bool> needed,
                                     SmallVectorImpl<Value> &grads,
                                     bool sigIsLog, FloatAttr margin) {
  StringRef name = op->getName().stripDialect();
  for (auto [i, v] : llvm::enumerate(op->getOperands())) {
    if (!needed[i])
      continue;
    if (!isa<FloatType>(cast<ShapedType>(v.getType()).getElementType()))
      return op->emitOpError()
             << "operand " << i << " needs a float type for a gradient";
    grads[i] = LossOperandGradOp::create(
        b, op->getLoc(), v.getType(), op->getOperands(), dl,
        b.getStringAttr(name), b.getI64IntegerAttr(i),
        sigIsLog ? b.getUnitAttr() : nullptr,
        margin ? margin : b.getF64FloatAttr(0.0));
  }
  return success();
}

LogicalResult GaussianNLLOp::buildGradients(OpBuilder &b, Value dl,
                                            ArrayRef<bool> needed,
                                            SmallVectorImpl<Value> &grads) {
  return operandLossGrad(*this, b, dl, needed, grads, getSigIsLog(), nullptr);
}

LogicalResult BetaNLLOp::buildGradients(OpBuilder &b, Value dl,
                                        ArrayRef<bool> needed,
                                        SmallVectorImpl<Value> &grads) {
  return operandLossGrad(*this, b, dl, needed, grads, false, nullptr);
}

LogicalResult RampLossOp::buildGradients(OpBuilder &b, Value dl,
                                         ArrayRef<bool> needed,
                                         SmallVectorImpl<Value> &grads) {
  return operandLossGrad(*this, b, dl, needed, grads, false, getMarginAttr());
}

LogicalResult
EuclideanDistanceOp::buildGradients(OpBuilder &b, Value dl,
                                    ArrayRef<bool> needed,
                                    SmallVectorImpl<Value> &grads) {
  return operandLossGrad(*this, b, dl, needed, grads, false, nullptr);
}

LogicalResult AggregateLossOp::buildGradients(OpBuilder &b, Value dl,
                                              ArrayRef<bool> needed,
                                              SmallVectorImpl<Value> &grads) {
  // total = sum_k mean(loss_k) * w_k / K
  size_t k = getLosses().size();
  SmallVector<double> w(k, 1.0);
  if (auto mw = getMixingWeights())
    w.assign(mw->begin(), mw->end());
  if (w.size() != k)
    return emitOpError() << "mixing_weights needs " << k << " entries";
  for (auto [i, loss] : llvm::enumerate(getLosses())) {
    if (!needed[i])
      continue;
    auto t = cast<RankedTensorType>(loss.getType());
    double scale = w[i] / static_cast<double>(k * t.getNumElements());
    grads[i] =
        BroadcastGradOp::create(b, getLoc(), t, dl, b.getF64FloatAttr(scale));
  }
  return success();
}

LogicalResult ClassificationOp::buildGradients(OpBuilder &, Value,
                                               ArrayRef<bool>,
                                               SmallVectorImpl<Value> &) {
  return grad::notDifferentiable(*this);
}

LogicalResult ErrorsOp::buildGradients(OpBuilder &, Value, ArrayRef<bool>,
                                       SmallVectorImpl<Value> &) {
  return grad::notDifferentiable(*this);
}

LogicalResult SelectChannelsOp::buildGradients(OpBuilder &, Value,
                                               ArrayRef<bool>,
                                               SmallVectorImpl<Value> &) {
  return grad::notDifferentiable(*this);
}

LogicalResult ToUint8Op::buildGradients(OpBuilder &, Value, ArrayRef<bool>,
                                        SmallVectorImpl<Value> &) {
  return grad::notDifferentiable(*this);
}

} // namespace nm::ir
