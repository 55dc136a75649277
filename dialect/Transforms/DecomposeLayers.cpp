//===- DecomposeLayers.cpp - split fused pooling and activations ----------===//
//
// --nm-decompose-layers (Passes.td): conv -> pool -> bias -> activation ->
// dropout becomes nm.conv {lin} -> nm.pool -> nm.apply -> nm.dropout, so
// that --nm-autodiff sees the values between the stages. Adding the bias before the pool instead of
// after changes nothing: a per-channel constant commutes with max and mean.
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

/// The function's `nm.param = "seed"` argument (the training step's random
/// seed, tensor<1xi64>), added at the first use.
class SeedArgument {
public:
  explicit SeedArgument(func::FuncOp func) : func_(func) {}
  Value get() {
    if (seed_)
      return seed_;
    OpBuilder b(func_.getContext());
    unsigned index = func_.getNumArguments();
    (void)func_.insertArgument(
        index, RankedTensorType::get({1}, b.getI64Type()),
        b.getDictionaryAttr(b.getNamedAttr(NmDialect::kParamAttrName,
                                           b.getStringAttr("seed"))),
        func_.getLoc());
    seed_ = func_.getArgument(index);
    return seed_;
  }

private:
  func::FuncOp func_;
  Value seed_;
};

/// `v` through the layer's dropout (none when its rate is 0), which the
/// layer itself then no longer applies.
Value dropoutAfter(OpBuilder &b, Operation *layer, Value v, double rate,
                   bool perFeature, SeedArgument &seed) {
  if (rate == 0.0)
    return v;
  layer->setAttr("dropout_rate", b.getF64FloatAttr(0.0));
  return DropoutOp::create(b, layer->getLoc(), v.getType(), v, seed.get(),
                           b.getF64FloatAttr(rate),
                           perFeature ? b.getUnitAttr() : nullptr);
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

/// Whether the layer normalises with the batch's statistics.
template <typename LayerOp> bool trainBN(LayerOp layer) {
  auto mode = layer.getBatchNormalisation();
  return mode && (*mode == BatchNormMode::Train ||
                  *mode == BatchNormMode::Fadeout);
}

/// Running averages of the batch-norm layers: the new mean and std, and
/// the parameters they replace.
struct RunningStats {
  SmallVector<Value> values;
  SmallVector<std::string> names;
};

/// The name of parameter argument `v` (`nm.param`), or "".
std::string paramName(Value v) {
  auto arg = dyn_cast<BlockArgument>(v);
  if (!arg)
    return "";
  auto func = dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp());
  auto name = func ? func.getArgAttrOfType<StringAttr>(
                         arg.getArgNumber(), NmDialect::kParamAttrName)
                   : StringAttr();
  return name ? name.str() : "";
}

/// Takes a 'train'/'fadeout' layer's batch norm out of it: its bias becomes
/// zero (the normalisation would cancel it) and goes to the nm.batch_norm
/// that the caller builds after the pooling; returns gamma, b, mean, std.
template <typename LayerOp>
SmallVector<Value, 4> detachBatchNorm(OpBuilder &b, LayerOp layer) {
  SmallVector<Value, 4> parts{layer.getBn()[0], layer.getB(),
                              layer.getBn()[1], layer.getBn()[2]};
  OpBuilder before(layer);
  auto bt = cast<RankedTensorType>(layer.getB().getType());
  Value zero = arith::ConstantOp::create(
      before, layer.getLoc(),
      DenseElementsAttr::get(bt, before.getZeroAttr(bt.getElementType())));
  layer.getBMutable().assign(zero);
  layer.getBnMutable().clear();
  layer->removeAttr("batch_normalisation");
  return parts;
}

/// nm.batch_norm of `v` with the detached parts, recording the running
/// averages' updates.
Value batchNormAfter(OpBuilder &b, Location loc, Value v,
                     ArrayRef<Value> parts, RunningStats &running) {
  Value out = BatchNormOp::create(b, loc, v.getType(), v, parts[0], parts[1]);
  for (int k = 0; k < 2; ++k) {
    Value stat = parts[2 + k];
    running.values.push_back(BatchNormRunningOp::create(
        b, loc, stat.getType(), v, stat, k == 1 ? b.getUnitAttr() : nullptr));
    running.names.push_back(paramName(stat));
  }
  return out;
}

LogicalResult decomposeConv(ConvOp conv, SeedArgument &seed,
                            RunningStats &running) {
  ::nm::Activation act = activationOf(conv.getActivation());
  bool pool = pooled(conv), bn = trainBN(conv);
  double rate = conv.getDropoutRate().convertToDouble();
  if ((!pool && act.kind == ::nm::ActivationKind::Linear && rate == 0.0 &&
       !bn) ||
      (conv.getBatchNormalisation() && !bn) || conv.getMfp() ||
      conv.getDilation() || !appliable(act))
    return success();
  OpBuilder b(conv->getContext());
  b.setInsertionPointAfter(conv);
  Value out = conv.getResult();
  SmallVector<OpOperand *> uses;
  for (OpOperand &u : out.getUses())
    uses.push_back(&u);
  SmallVector<Value, 4> bnParts;
  if (bn)
    bnParts = detachBatchNorm(b, conv);
  Value v = out;
  if (pool) {
    DenseI64ArrayAttr window = conv.getPoolAttr();
    conv->removeAttr("pool");
    v = PoolOp::create(b, conv.getLoc(), out.getType(), v, window,
                       /*stride=*/nullptr, /*dilation=*/nullptr,
                       PoolModeAttr::get(b.getContext(), PoolMode::Max));
  }
  if (bn)
    v = batchNormAfter(b, conv.getLoc(), v, bnParts, running);
  v = applyAfter(b, conv, v, act);
  v = dropoutAfter(b, conv, v, rate, /*perFeature=*/false, seed);
  for (OpOperand *u : uses)
    u->set(v);
  return success();
}

LogicalResult decomposePerceptron(PerceptronOp layer, SeedArgument &seed,
                                  RunningStats &running) {
  ::nm::Activation act = activationOf(layer.getActivation());
  double rate = layer.getDropoutRate().convertToDouble();
  bool bn = trainBN(layer);
  if ((act.kind == ::nm::ActivationKind::Linear && rate == 0.0 && !bn) ||
      (layer.getBatchNormalisation() && !bn) || !appliable(act))
    return success();
  OpBuilder b(layer->getContext());
  b.setInsertionPointAfter(layer);
  Value out = layer.getResult();
  SmallVector<OpOperand *> uses;
  for (OpOperand &u : out.getUses())
    uses.push_back(&u);
  Value v = out;
  if (bn)
    v = batchNormAfter(b, layer.getLoc(), v, detachBatchNorm(b, layer),
                       running);
  v = applyAfter(b, layer, v, act);
  v = dropoutAfter(b, layer, v, rate, /*perFeature=*/true, seed);
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
  SeedArgument seed(func);
  RunningStats running;
  for (Operation *op : layers) {
    LogicalResult r =
        isa<ConvOp>(op)
            ? decomposeConv(cast<ConvOp>(op), seed, running)
            : decomposePerceptron(cast<PerceptronOp>(op), seed, running);
    if (failed(r))
      return failure();
  }
  for (const std::string &name : running.names)
    if (name.empty())
      return func.emitError() << "nm-decompose-layers: a batch-norm mean or "
                                 "std that is not a parameter argument";
  if (!running.values.empty())
    appendNamedResults(func, running.values, running.names);
  // The layers' results lost their pooling: types follow core's rules again.
  if (failed(reinferTypes(func)))
    return failure();
  return verify(func);
}

} // namespace nm::ir
