//===- DecomposeLayers.cpp - split a layer into its training stages -------===//
//
// --nm-decompose-layers (Passes.td): conv -> pool -> [BN] -> bias ->
// activation -> dropout becomes nm.conv {lin} -> nm.pool ->
// [nm.batch_norm] -> nm.apply -> nm.dropout, so that --nm-autodiff sees the
// values between the stages. Adding the bias before the pool instead of
// after changes nothing: a per-channel constant commutes with max and mean.
// prelu (its slope lives in the bias tensor) and maxout (which changes 'f')
// have no nm.apply form: the layer keeps a zero bias and the real one goes
// to an nm.bias_activation after the pool, in ELEKTRONN2's order (prelu
// with a negative slope does not commute with max). 'train'/'fadeout'
// batch normalisation takes the bias too (the normalisation would cancel
// it before), and its running averages become results of the function.
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

/// Whether the layer normalises with the batch's statistics.
template <typename LayerOp> bool trainBN(LayerOp layer) {
  auto mode = layer.getBatchNormalisation();
  return mode &&
         (*mode == BatchNormMode::Train || *mode == BatchNormMode::Fadeout);
}

/// Whether the layer cannot be split ('predict' batch norm, MFP, dilation,
/// batch norm with prelu/maxout): it keeps its fused form and its gradient
/// says why it has none.
template <typename LayerOp>
bool keepsFused(LayerOp layer, const ::nm::Activation &act) {
  Operation *op = layer.getOperation();
  return (layer.getBatchNormalisation() &&
          (!trainBN(layer) || !appliable(act))) ||
         op->hasAttr("mfp") || op->hasAttr("dilation");
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
        b.getDictionaryAttr(
            b.getNamedAttr(NmDialect::kParamAttrName, b.getStringAttr("seed"))),
        func_.getLoc());
    seed_ = func_.getArgument(index);
    return seed_;
  }

private:
  func::FuncOp func_;
  Value seed_;
};

/// Running averages of the batch-norm layers: the new mean and std, and
/// the parameters they replace.
struct RunningStats {
  SmallVector<Value> values;
  SmallVector<std::string> names;
};

/// What the layers' decomposition adds to the function.
struct Additions {
  SeedArgument seed;
  RunningStats running;
};

/// Makes `layer` linear.
void makeLinear(OpBuilder &b, Operation *layer) {
  layer->setAttr(
      "activation",
      ActivationAttr::get(b.getContext(),
                          ::nm::Activation{::nm::ActivationKind::Linear, 1}));
}

/// A zero tensor of `type` just before `layer`.
Value zerosBefore(OpBuilder &b, Operation *layer, Type type) {
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(layer);
  auto t = cast<RankedTensorType>(type);
  return arith::ConstantOp::create(
      b, layer->getLoc(),
      DenseElementsAttr::get(t, b.getZeroAttr(t.getElementType())));
}

/// For an activation without nm.apply form: gives `layer` (bias operand 2)
/// a zero bias of `nF` features and returns its real bias.
Value takeBias(OpBuilder &b, Operation *layer, int64_t nF) {
  Value bias = layer->getOperand(2);
  Type elt = cast<RankedTensorType>(bias.getType()).getElementType();
  layer->setOperand(2, zerosBefore(b, layer, RankedTensorType::get({nF}, elt)));
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
  SmallVector<Value, 4> parts{layer.getBn()[0], layer.getB(), layer.getBn()[1],
                              layer.getBn()[2]};
  layer.getBMutable().assign(zerosBefore(b, layer, layer.getB().getType()));
  layer.getBnMutable().clear();
  layer->removeAttr("batch_normalisation");
  return parts;
}

/// nm.batch_norm of `v` with the detached parts, recording the running
/// averages' updates.
Value batchNormAfter(OpBuilder &b, Location loc, Value v, ArrayRef<Value> parts,
                     RunningStats &running) {
  Value out = BatchNormOp::create(b, loc, v.getType(), v, parts[0], parts[1]);
  for (int k = 0; k < 2; ++k) {
    Value stat = parts[2 + k];
    running.values.push_back(BatchNormRunningOp::create(
        b, loc, stat.getType(), v, stat, k == 1 ? b.getUnitAttr() : nullptr));
    running.names.push_back(paramName(stat));
  }
  return out;
}

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

/// Splits `layer` (Conv, Perceptron or UpConv; n_f at weight dim `nfDim`)
/// into its stages; `pool` is a Conv's pooling window (null otherwise).
template <typename LayerOp>
void decompose(LayerOp layer, DenseI64ArrayAttr pool, int64_t nfDim,
               bool perFeatureDropout, Additions &add) {
  ::nm::Activation act = activationOf(layer.getActivation());
  bool bn = trainBN(layer);
  double rate = layer.getDropoutRate().convertToDouble();
  if ((!pool && act.kind == ::nm::ActivationKind::Linear && rate == 0.0 &&
       !bn) ||
      keepsFused(layer, act))
    return;
  OpBuilder b(layer->getContext());
  b.setInsertionPointAfter(layer);
  Value out = layer->getResult(0);
  SmallVector<OpOperand *> uses;
  for (OpOperand &u : out.getUses())
    uses.push_back(&u);
  SmallVector<Value, 4> bnParts;
  if (bn)
    bnParts = detachBatchNorm(b, layer);
  Value v = out;
  if (pool) {
    layer->removeAttr("pool");
    v = PoolOp::create(b, layer.getLoc(), out.getType(), v, pool,
                       /*stride=*/nullptr, /*dilation=*/nullptr,
                       PoolModeAttr::get(b.getContext(), PoolMode::Max));
  }
  if (bn)
    v = batchNormAfter(b, layer.getLoc(), v, bnParts, add.running);
  v = activateAfter(b, layer, v, act, nfDim);
  v = dropoutAfter(b, layer, v, rate, perFeatureDropout, add.seed);
  for (OpOperand *u : uses)
    u->set(v);
}

struct DecomposeLayersPass : impl::NmDecomposeLayersBase<DecomposeLayersPass> {
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
  Additions add{SeedArgument(func), {}};
  for (Operation *op : layers) {
    if (auto conv = dyn_cast<ConvOp>(op))
      decompose(conv, pooled(conv) ? conv.getPoolAttr() : nullptr,
                /*nfDim=*/0, /*perFeatureDropout=*/false, add);
    else if (auto dense = dyn_cast<PerceptronOp>(op))
      decompose(dense, nullptr, /*nfDim=*/1, /*perFeatureDropout=*/true, add);
    else
      decompose(cast<UpConvOp>(op), nullptr, /*nfDim=*/0,
                /*perFeatureDropout=*/false, add);
  }
  for (const std::string &name : add.running.names)
    if (name.empty())
      return func.emitError() << "nm-decompose-layers: a batch-norm mean or "
                                 "std that is not a parameter argument";
  if (!add.running.values.empty())
    appendNamedResults(func, add.running.values, add.running.names);
  // The layers' results lost their pooling: types follow core's rules again.
  if (failed(reinferTypes(func)))
    return failure();
  return verify(func);
}

} // namespace nm::ir
