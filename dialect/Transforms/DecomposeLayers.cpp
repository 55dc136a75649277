//===- DecomposeLayers.cpp - split fused pooling and activations ----------===//
//
// --nm-decompose-layers (Passes.td): conv -> pool -> bias -> activation
// becomes nm.conv {lin} -> nm.pool -> nm.apply, so that --nm-autodiff sees
// the values between the stages. Adding the bias before the pool instead of
// after changes nothing: a per-channel constant commutes with max and mean.
//
//===----------------------------------------------------------------------===//
#include "neuromancer/dialect/Transforms/Passes.h"

#include "neuromancer/dialect/IR/NmAttrs.h"
#include "neuromancer/dialect/IR/NmOps.h"

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

/// `layer` made linear, then `act` applied by an nm.apply after `v` (the
/// layer's result or its pool); returns the value that replaces the layer.
Value applyAfter(OpBuilder &b, Operation *layer, Value v,
                 const ::nm::Activation &act) {
  layer->setAttr("activation",
                 ActivationAttr::get(b.getContext(),
                                     ::nm::Activation{
                                         ::nm::ActivationKind::Linear, 1}));
  if (act.kind == ::nm::ActivationKind::Linear)
    return v;
  return ApplyOp::create(b, layer->getLoc(), v.getType(), v,
                         b.getStringAttr(::nm::activationName(act.kind)));
}

LogicalResult decomposeConv(ConvOp conv) {
  ::nm::Activation act = activationOf(conv.getActivation());
  bool pool = pooled(conv);
  if ((!pool && act.kind == ::nm::ActivationKind::Linear) ||
      conv.getBatchNormalisation() || conv.getMfp() || conv.getDilation() ||
      !appliable(act))
    return success();
  OpBuilder b(conv->getContext());
  b.setInsertionPointAfter(conv);
  Value out = conv.getResult();
  SmallVector<OpOperand *> uses;
  for (OpOperand &u : out.getUses())
    uses.push_back(&u);
  Value v = out;
  if (pool) {
    DenseI64ArrayAttr window = conv.getPoolAttr();
    conv->removeAttr("pool");
    v = PoolOp::create(b, conv.getLoc(), out.getType(), v, window,
                       /*stride=*/nullptr, /*dilation=*/nullptr,
                       PoolModeAttr::get(b.getContext(), PoolMode::Max));
  }
  v = applyAfter(b, conv, v, act);
  for (OpOperand *u : uses)
    u->set(v);
  return success();
}

LogicalResult decomposePerceptron(PerceptronOp layer) {
  ::nm::Activation act = activationOf(layer.getActivation());
  if (act.kind == ::nm::ActivationKind::Linear ||
      layer.getBatchNormalisation() || !appliable(act))
    return success();
  OpBuilder b(layer->getContext());
  b.setInsertionPointAfter(layer);
  Value out = layer.getResult();
  SmallVector<OpOperand *> uses;
  for (OpOperand &u : out.getUses())
    uses.push_back(&u);
  Value v = applyAfter(b, layer, out, act);
  for (OpOperand *u : uses)
    u->set(v);
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
    if (isa<ConvOp, PerceptronOp>(op))
      layers.push_back(&op);
  for (Operation *op : layers) {
    LogicalResult r = isa<ConvOp>(op) ? decomposeConv(cast<ConvOp>(op))
                                      : decomposePerceptron(cast<PerceptronOp>(op));
    if (failed(r))
      return failure();
  }
  // The layers' results lost their pooling: types follow core's rules again.
  if (failed(reinferTypes(func)))
    return failure();
  return verify(func);
}

} // namespace nm::ir
