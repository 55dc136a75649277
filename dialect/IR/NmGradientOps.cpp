//===- NmGradientOps.cpp - backward ops and optimiser updates -------------===//
//
// Verifiers of the ops in NmGradientOps.td and the helpers the op families'
// gradients share (Gradients/GradientUtils.h).
//
//===----------------------------------------------------------------------===//
#include "Gradients/GradientUtils.h"

#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;

namespace nm::ir {

LogicalResult RetagOp::verify() {
  auto in = cast<RankedTensorType>(getInput().getType());
  auto out = cast<RankedTensorType>(getType());
  if (in.getShape() != out.getShape() ||
      in.getElementType() != out.getElementType())
    return emitOpError() << "changes shape or element type: " << in << " to "
                         << out;
  return success();
}

LogicalResult BroadcastGradOp::verify() {
  if (cast<RankedTensorType>(getGrad().getType()).getNumElements() != 1)
    return emitOpError() << "needs a one-element gradient, got "
                         << getGrad().getType();
  return success();
}

LogicalResult DropoutOp::verify() {
  if (getInput().getType() != getType())
    return emitOpError() << "result type must be the input's";
  auto seed = cast<RankedTensorType>(getSeed().getType());
  if (seed.getNumElements() != 1 || !seed.getElementType().isInteger(64))
    return emitOpError() << "seed must be one i64, got " << seed;
  double rate = getRate().convertToDouble();
  if (!(rate >= 0.0 && rate < 1.0))
    return emitOpError() << "rate must be in [0, 1), got " << rate;
  return success();
}

LogicalResult DropoutOp::buildGradients(OpBuilder &b, Value dy,
                                        ArrayRef<bool> needed,
                                        SmallVectorImpl<Value> &grads) {
  // The mask is a function of the seed and the index alone: the gradient
  // drops and scales exactly the elements the forward did.
  if (needed[0])
    grads[0] = DropoutOp::create(b, getLoc(), getType(), dy, getSeed(),
                                 getRateAttr(), getPerFeatureAttr());
  return success();
}

LogicalResult BatchNormOp::buildGradients(OpBuilder &b, Value dout,
                                          ArrayRef<bool> needed,
                                          SmallVectorImpl<Value> &grads) {
  Location loc = getLoc();
  if (needed[0])
    grads[0] = BatchNormGradOp::create(b, loc, getY().getType(), getY(),
                                       getGamma(), dout);
  if (needed[1])
    grads[1] =
        BatchNormGammaGradOp::create(b, loc, getGamma().getType(), getY(), dout);
  if (needed[2])
    grads[2] = BiasGradOp::create(b, loc, getB().getType(), dout);
  return success();
}

int64_t OptimizerUpdateOp::stateCount(StringRef optimiser) {
  if (optimiser == "SGD" || optimiser == "AdaGrad")
    return 1;
  if (optimiser == "AdaDelta" || optimiser == "Adam")
    return 2;
  return -1;
}

LogicalResult OptimizerUpdateOp::verify() {
  int64_t n = stateCount(getOptimiser());
  if (n < 0)
    return emitOpError() << "unknown optimiser '" << getOptimiser()
                         << "' (SGD, AdaGrad, AdaDelta or Adam)";
  if (static_cast<int64_t>(getState().size()) != n ||
      static_cast<int64_t>(getNewState().size()) != n)
    return emitOpError() << getOptimiser() << " keeps " << n
                         << " state tensor(s) per parameter";
  Type pt = getParam().getType();
  if (getGrad().getType() != pt || getNewParam().getType() != pt)
    return emitOpError() << "gradient and new parameter must have the "
                            "parameter's type "
                         << pt;
  for (Value v : llvm::concat<Value>(getState(), getNewState()))
    if (v.getType() != pt)
      return emitOpError() << "state must have the parameter's type " << pt;
  auto ht = cast<RankedTensorType>(getHyper().getType());
  if (ht.getRank() != 1 || ht.getDimSize(0) != kHyperSize)
    return emitOpError() << "hyper must be a vector of " << kHyperSize
                         << " entries";
  return success();
}

namespace grad {

Value retag(OpBuilder &b, Location loc, Value g, Type type) {
  if (g.getType() == type)
    return g;
  return RetagOp::create(b, loc, type, g);
}

LogicalResult notImplemented(Operation *op, StringRef what) {
  return op->emitOpError() << "gradient of " << what
                           << " is not implemented yet";
}

LogicalResult notDifferentiable(Operation *op) {
  return op->emitOpError()
         << "is not differentiable; a loss must not depend on it";
}

SoftmaxOp softmaxOf(Value v) {
  return dyn_cast_or_null<SoftmaxOp>(v.getDefiningOp());
}

} // namespace grad
} // namespace nm::ir
