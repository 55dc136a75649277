//===- DecomposeLayers.cpp - split fused pooling and activations ----------===//
//
// --nm-decompose-layers (Passes.td): conv -> pool -> bias -> activation
// becomes nm.conv {lin} -> nm.pool -> nm.apply, so that --nm-autodiff sees
// the values between the stages. Adding the bias before the pool instead of
// after changes nothing: a per-channel constant commutes with max and mean.
// prelu (its slope lives in the bias tensor) and maxout (which changes 'f')
// have no nm.apply form: the layer keeps a zero bias and the real one goes
// to an nm.bias_activation after the pool, in ELEKTRONN2's order (prelu
// with a negative slope does not commute with max).
//
//===----------------------------------------------------------------------===//
#include "neuromancer/dialect/Transforms/Passes.h"

#include "neuromancer/dialect/IR/NmAttrs.h"
#include "neuromancer/dialect/IR/NmOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Verifier.h"

namespace nm::ir {
#define GEN_PASS_DEF_NMDECOMPOSELAYERS
#include "neuromancer/dialect/Transforms/Passes.h.inc"

using namespace mlir;

namespace {

bool pooled(ConvOp conv) {
  auto pool = conv.getPool();
  return pool && llvm::any_of(*pool, [](int64_t p) { return p != 1; });
}

/// Whether the activation has an nm.apply equivalent of the same shape.
bool appliable(const ::nm::Activation &act) {
  return act.kind != ::nm::ActivationKind::Maxout &&
         act.kind != ::nm::ActivationKind::PRelu;
}

/// Makes `layer` linear.
void makeLinear(OpBuilder &b, Operation *layer) {
  layer->setAttr("activation",
                 ActivationAttr::get(b.getContext(),
                                     ::nm::Activation{
                                         ::nm::ActivationKind::Linear, 1}));
}

/// Whether the layer cannot be split (batch norm, MFP, dilation): it keeps
/// its fused form and its gradient says why it has none.
bool keepsFused(Operation *layer) {
  return layer->hasAttr("batch_normalisation") || layer->hasAttr("mfp") ||
         layer->hasAttr("dilation");
}

/// For an activation without nm.apply form: gives `layer` (bias operand 2)
/// a zero bias of `nF` features and returns its real bias.
Value takeBias(OpBuilder &b, Operation *layer, int64_t nF) {
  Value bias = layer->getOperand(2);
  Type elt = cast<RankedTensorType>(bias.getType()).getElementType();
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(layer);
  auto zt = RankedTensorType::get({nF}, elt);
  Value zero = arith::ConstantOp::create(
      b, layer->getLoc(), DenseElementsAttr::get(zt, b.getFloatAttr(elt, 0.0)));
  layer->setOperand(2, zero);
  return bias;
}

/// `layer` (weight shape index `nfDim` holds n_f) made linear, with `v`
/// (its result or its pool) followed by the activation; returns the value
/// that replaces the layer's result.
Value activateAfter(OpBuilder &b, Operation *layer, Value v,
                    const ::nm::Activation &act, int64_t nfDim) {
  if (act.kind == ::nm::ActivationKind::Linear)
    return v;
  if (appliable(act)) {
    makeLinear(b, layer);
    return ApplyOp::create(b, layer->getLoc(), v.getType(), v,
                           b.getStringAttr(::nm::activationName(act.kind)));
  }
  auto w = cast<RankedTensorType>(layer->getOperand(1).getType());
  Value bias = takeBias(b, layer, w.getDimSize(nfDim));
  makeLinear(b, layer);
  // The type is inferred from v's once the layer's type is re-inferred.
  return BiasActivationOp::create(b, layer->getLoc(), v.getType(), v, bias,
                                  ActivationAttr::get(b.getContext(), act));
}

/// Redirects the uses `uses` (the layer result's, taken before the rewrite).
void redirect(ArrayRef<OpOperand *> uses, Value v) {
  for (OpOperand *u : uses)
    u->set(v);
}

SmallVector<OpOperand *> usesOf(Value v) {
  SmallVector<OpOperand *> uses;
  for (OpOperand &u : v.getUses())
    uses.push_back(&u);
  return uses;
}

LogicalResult decomposeConv(ConvOp conv) {
  ::nm::Activation act = activationOf(conv.getActivation());
  bool pool = pooled(conv);
  if ((!pool && act.kind == ::nm::ActivationKind::Linear) || keepsFused(conv))
    return success();
  OpBuilder b(conv->getContext());
  b.setInsertionPointAfter(conv);
  Value out = conv.getResult();
  SmallVector<OpOperand *> uses = usesOf(out);
  Value v = out;
  if (pool) {
    DenseI64ArrayAttr window = conv.getPoolAttr();
    conv->removeAttr("pool");
    v = PoolOp::create(b, conv.getLoc(), out.getType(), v, window,
                       /*stride=*/nullptr, /*dilation=*/nullptr,
                       PoolModeAttr::get(b.getContext(), PoolMode::Max));
  }
  redirect(uses, activateAfter(b, conv, v, act, /*nfDim=*/0));
  return success();
}

/// Perceptron (n_f at weight dim 1) and UpConv (dim 0): no pooling.
LogicalResult decomposeUnpooled(Operation *layer, int64_t nfDim) {
  ::nm::Activation act =
      activationOf(layer->getAttrOfType<ActivationAttr>("activation"));
  if (act.kind == ::nm::ActivationKind::Linear || keepsFused(layer))
    return success();
  OpBuilder b(layer->getContext());
  b.setInsertionPointAfter(layer);
  Value out = layer->getResult(0);
  SmallVector<OpOperand *> uses = usesOf(out);
  redirect(uses, activateAfter(b, layer, out, act, nfDim));
  return success();
}

struct DecomposeLayersPass
    : impl::NmDecomposeLayersBase<DecomposeLayersPass> {
  void runOnOperation() override {
    if (failed(decomposeLayers(getOperation())))
      signalPassFailure();
  }
};

} // namespace

LogicalResult decomposeLayers(func::FuncOp func) {
  if (func.isExternal() || !func.getBody().hasOneBlock())
    return func.emitError()
           << "nm-decompose-layers needs a function with one block";
  SmallVector<Operation *> layers;
  for (Operation &op : func.front())
    if (isa<ConvOp, PerceptronOp, UpConvOp>(op))
      layers.push_back(&op);
  for (Operation *op : layers) {
    LogicalResult r = isa<ConvOp>(op) ? decomposeConv(cast<ConvOp>(op))
                      : isa<PerceptronOp>(op)
                          ? decomposeUnpooled(op, /*nfDim=*/1)
                          : decomposeUnpooled(op, /*nfDim=*/0);
    if (failed(r))
      return failure();
  }
  // The layers' results lost their pooling: types follow core's rules again.
  if (failed(reinferTypes(func)))
    return failure();
  return verify(func);
}

} // namespace nm::ir
