//===- NmGradientOps.cpp - backward ops and optimiser updates -------------===//
//
// Verifiers of the ops in NmGradientOps.td and the helpers the op families'
// gradients share (Gradients/GradientUtils.h).
//
//===----------------------------------------------------------------------===//
#include "Gradients/GradientUtils.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/StringSwitch.h"

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
    grads[1] = BatchNormGammaGradOp::create(b, loc, getGamma().getType(),
                                            getY(), dout);
  if (needed[2])
    grads[2] = BiasGradOp::create(b, loc, getB().getType(), dout);
  return success();
}

/// The shape of a ranked tensor type.
static ArrayRef<int64_t> shapeOfType(Type t) {
  return cast<RankedTensorType>(t).getShape();
}

LogicalResult UpConvGradInputOp::verify() {
  ArrayRef<int64_t> w = shapeOfType(getW().getType());
  ArrayRef<int64_t> dy = shapeOfType(getDy().getType()),
                    x = shapeOfType(getType());
  if (w.size() < 3 || dy.size() != w.size() || x.size() != w.size())
    return emitOpError() << "needs dy, w and result of rank 2 + spatial "
                            "axes, got "
                         << getDy().getType() << ", " << getW().getType();
  return success();
}

LogicalResult UpConvGradWeightOp::verify() {
  ArrayRef<int64_t> w = shapeOfType(getType());
  if (w.size() < 3 || shapeOfType(getX().getType()).size() != w.size() ||
      shapeOfType(getDy().getType()).size() != w.size())
    return emitOpError() << "needs x, dy and result of rank 2 + spatial "
                            "axes";
  return success();
}

LogicalResult BiasActivationGradOp::verify() {
  Type want = getWrtBias() ? getB().getType() : getX().getType();
  if (cast<RankedTensorType>(want).getShape() != shapeOfType(getType()))
    return emitOpError() << "result must have the "
                         << (getWrtBias() ? "bias" : "input") << "'s shape "
                         << want;
  ::nm::Activation act = activationOf(getActivation());
  if (act.kind != ::nm::ActivationKind::PRelu &&
      act.kind != ::nm::ActivationKind::Maxout &&
      act.kind != ::nm::ActivationKind::Linear)
    return emitOpError() << "supports prelu, maxout and lin; use "
                            "nm.apply_grad for '"
                         << ::nm::activationText(act) << "'";
  return success();
}

LogicalResult LRNGradOp::verify() {
  if (getX().getType() != getDy().getType() || getType() != getX().getType())
    return emitOpError() << "x, dy and the result must have nm.lrn's "
                            "input type";
  return success();
}

LogicalResult EmbedGradOp::verify() {
  std::optional<::nm::TaggedShape> in = getTaggedShape(getType());
  std::optional<::nm::TaggedShape> dy = getTaggedShape(getDy().getType());
  StringRef axis = getAxis();
  if (!in || !dy)
    return emitOpError() << "needs tagged dy and result";
  if (axis.size() != 1 || !in->hasTag(axis[0]))
    return emitOpError() << "result has no axis '" << axis << "'";
  int64_t i = in->tagIndex(axis[0]);
  bool strip = getStripSingletonDims();
  int64_t len = strip ? 1 : (dy->hasTag(axis[0]) ? dy->shape()[i] : -1);
  if (dy->ndim() != in->ndim() - (strip ? 1 : 0) || len < 0 || getStart() < 0 ||
      getStart() + len > in->shape()[i])
    return emitOpError() << "cannot place " << getDy().getType() << " at "
                         << getStart() << " along '" << axis << "' of "
                         << getType();
  return success();
}

unsigned LossOperandGradOp::operandCount(StringRef loss) {
  return llvm::StringSwitch<unsigned>(loss)
      .Case("gaussian_nll", 3)
      .Case("beta_nll", 3)
      .Case("ramp_loss", 2)
      .Case("euclidean_distance", 2)
      .Default(0);
}

LogicalResult LossOperandGradOp::verify() {
  unsigned n = operandCount(getLoss());
  if (n == 0)
    return emitOpError() << "unknown loss '" << getLoss() << "'";
  if (getInputs().size() != n)
    return emitOpError() << getLoss() << " has " << n << " operands, got "
                         << getInputs().size();
  if (getOperand() >= n)
    return emitOpError() << "operand " << getOperand() << " out of range";
  if (getInputs()[getOperand()].getType() != getType())
    return emitOpError() << "result must have operand " << getOperand()
                         << "'s type";
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
  // A MultinoulliNLL may read one piece of a split softmax.
  while (auto slice = v.getDefiningOp<SliceOp>())
    v = slice.getInput();
  return dyn_cast_or_null<SoftmaxOp>(v.getDefiningOp());
}

} // namespace grad
} // namespace nm::ir
