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
    grads[0] = MultinoulliNLLGradOp::create(
        b, nll.getLoc(), getInput().getType(), nll.getPred(), nll.getTarget(),
        nll.getDl(), nll.getTargetIsSparse(), nll.getClassWeightsAttr(),
        nll.getNClass(), /*through_softmax=*/true);
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
  if (!needed[0])
    return success();
  ::nm::TaggedShape ps = *getTaggedShape(getPred().getType());
  int64_t f = ps.shape()[ps.tagIndex('f')];
  int64_t nClass = f;
  if (SoftmaxOp sm = grad::softmaxOf(getPred()))
    nClass = f / sm.getNIndep();
  grads[0] = MultinoulliNLLGradOp::create(
      b, getLoc(), getPred().getType(), getPred(), getTarget(), dl,
      getTargetIsSparse(), getClassWeightsAttr(), nClass,
      /*through_softmax=*/false);
  return success();
}

/// An elementwise loss whose gradient nm.loss_grad computes.
template <typename LossOp>
static LogicalResult elementwiseLossGrad(LossOp op, OpBuilder &b, Value dl,
                                         ArrayRef<bool> needed,
                                         SmallVectorImpl<Value> &grads,
                                         FloatAttr margin, FloatAttr scale,
                                         bool subtractEntropy) {
  if (!needed[0])
    return success();
  StringRef name = op->getName().stripDialect();
  grads[0] = LossGradOp::create(b, op.getLoc(), op.getPred().getType(),
                                op.getPred(), op.getTarget(), dl,
                                b.getStringAttr(name), margin, scale,
                                subtractEntropy);
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

LogicalResult GaussianNLLOp::buildGradients(OpBuilder &, Value, ArrayRef<bool>,
                                            SmallVectorImpl<Value> &) {
  return grad::notImplemented(*this, "nm.gaussian_nll");
}

LogicalResult BetaNLLOp::buildGradients(OpBuilder &, Value, ArrayRef<bool>,
                                        SmallVectorImpl<Value> &) {
  return grad::notImplemented(*this, "nm.beta_nll");
}

LogicalResult RampLossOp::buildGradients(OpBuilder &, Value, ArrayRef<bool>,
                                         SmallVectorImpl<Value> &) {
  return grad::notImplemented(*this, "nm.ramp_loss");
}

LogicalResult EuclideanDistanceOp::buildGradients(OpBuilder &, Value,
                                                  ArrayRef<bool>,
                                                  SmallVectorImpl<Value> &) {
  return grad::notImplemented(*this, "nm.euclidean_distance");
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
    grads[i] = BroadcastGradOp::create(b, getLoc(), t, dl,
                                       b.getF64FloatAttr(scale));
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

} // namespace nm::ir
