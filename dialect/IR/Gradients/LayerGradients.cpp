//===- LayerGradients.cpp - gradients of weight layers and pooling --------===//
//
// Conv and Perceptron differentiate in their plain form (linear activation,
// no pooling): --nm-decompose-layers splits a fused layer into that form, a
// pool and an nm.apply first, so each piece's gradient stays local. The
// input gradient is built only when the input needs one: for the first
// layer it is a full correlation as costly as the forward conv.
//
//===----------------------------------------------------------------------===//
#include "GradientUtils.h"

using namespace mlir;

namespace nm::ir {

/// Why a weight layer cannot be differentiated as it is, or "".
template <typename LayerOp> static std::string fusedPart(LayerOp op) {
  if (op.getBatchNormalisation())
    return "batch_normalisation";
  if (op.getDropoutRate().convertToDouble() != 0.0)
    return "dropout";
  if (activationOf(op.getActivation()).kind != ::nm::ActivationKind::Linear)
    return "a fused activation (run --nm-decompose-layers first)";
  return "";
}

LogicalResult ConvOp::buildGradients(OpBuilder &b, Value dy,
                                     ArrayRef<bool> needed,
                                     SmallVectorImpl<Value> &grads) {
  std::string fused = fusedPart(*this);
  // MFP and dilation first: --nm-decompose-layers leaves their pooling
  // fused, so "run it first" would not help.
  if (fused.empty() && (getMfp() || getDilation()))
    fused = "max-fragment-pooling or dilation";
  if (fused.empty() && getPool() &&
      llvm::any_of(*getPool(), [](int64_t p) { return p != 1; }))
    fused = "a fused pooling (run --nm-decompose-layers first)";
  if (!fused.empty())
    return grad::notImplemented(*this, "nm.conv with " + fused);
  Location loc = getLoc();
  if (needed[0])
    grads[0] = ConvGradInputOp::create(b, loc, getInput().getType(), dy, getW(),
                                       getConvMode());
  if (needed[1])
    grads[1] = ConvGradWeightOp::create(b, loc, getW().getType(), getInput(),
                                        dy, getConvMode());
  if (needed[2])
    grads[2] = BiasGradOp::create(b, loc, getB().getType(), dy);
  return success();
}

LogicalResult PerceptronOp::buildGradients(OpBuilder &b, Value dy,
                                           ArrayRef<bool> needed,
                                           SmallVectorImpl<Value> &grads) {
  std::string fused = fusedPart(*this);
  if (!fused.empty())
    return grad::notImplemented(*this, "nm.perceptron with " + fused);
  Location loc = getLoc();
  if (needed[0])
    grads[0] = DenseGradInputOp::create(b, loc, getInput().getType(), dy,
                                        getW(), getFlatten());
  if (needed[1])
    grads[1] = DenseGradWeightOp::create(b, loc, getW().getType(), getInput(),
                                         dy, getFlatten());
  if (needed[2])
    grads[2] = BiasGradOp::create(b, loc, getB().getType(), dy);
  return success();
}

LogicalResult UpConvOp::buildGradients(OpBuilder &b, Value dy,
                                       ArrayRef<bool> needed,
                                       SmallVectorImpl<Value> &grads) {
  std::string fused = fusedPart(*this);
  if (!fused.empty())
    return grad::notImplemented(*this, "nm.upconv with " + fused);
  Location loc = getLoc();
  if (needed[0])
    grads[0] =
        UpConvGradInputOp::create(b, loc, getInput().getType(), dy, getW());
  if (needed[1])
    grads[1] =
        UpConvGradWeightOp::create(b, loc, getW().getType(), getInput(), dy);
  if (needed[2])
    grads[2] = BiasGradOp::create(b, loc, getB().getType(), dy);
  return success();
}

LogicalResult BiasActivationOp::buildGradients(OpBuilder &b, Value dy,
                                               ArrayRef<bool> needed,
                                               SmallVectorImpl<Value> &grads) {
  Location loc = getLoc();
  if (needed[0])
    grads[0] = BiasActivationGradOp::create(
        b, loc, getInput().getType(), getInput(), getB(), dy,
        getActivationAttr(), /*wrt_bias=*/false);
  if (needed[1])
    grads[1] = BiasActivationGradOp::create(
        b, loc, getB().getType(), getInput(), getB(), dy, getActivationAttr(),
        /*wrt_bias=*/true);
  return success();
}

LogicalResult ValueOp::buildGradients(OpBuilder &b, Value dy,
                                      ArrayRef<bool> needed,
                                      SmallVectorImpl<Value> &grads) {
  if (needed[0])
    grads[0] = grad::retag(b, getLoc(), dy, getValue().getType());
  return success();
}

LogicalResult InitialStateOp::buildGradients(OpBuilder &b, Value dy,
                                             ArrayRef<bool> needed,
                                             SmallVectorImpl<Value> &grads) {
  // The input lends only its shape; the value is broadcast over it.
  if (needed[1])
    grads[1] = BiasGradOp::create(b, getLoc(), getValue().getType(), dy);
  return success();
}

LogicalResult LRNOp::buildGradients(OpBuilder &b, Value dy,
                                    ArrayRef<bool> needed,
                                    SmallVectorImpl<Value> &grads) {
  if (needed[0])
    grads[0] = LRNGradOp::create(b, getLoc(), getInput().getType(), getInput(),
                                 dy, getFilterShapeAttr(), getModeAttr(),
                                 getAlphaAttr(), getKAttr(), getBetaAttr());
  return success();
}

LogicalResult PoolOp::buildGradients(OpBuilder &b, Value dy,
                                     ArrayRef<bool> needed,
                                     SmallVectorImpl<Value> &grads) {
  if (getDilation())
    return grad::notImplemented(*this, "a dilated nm.pool");
  if (needed[0])
    grads[0] = PoolGradOp::create(b, getLoc(), getInput().getType(), getInput(),
                                  getResult(), dy, getPoolAttr(),
                                  getStrideAttr(), getModeAttr());
  return success();
}

LogicalResult FragmentsToDenseOp::buildGradients(OpBuilder &, Value,
                                                 ArrayRef<bool>,
                                                 SmallVectorImpl<Value> &) {
  return grad::notImplemented(*this, "nm.fragments_to_dense");
}

} // namespace nm::ir
