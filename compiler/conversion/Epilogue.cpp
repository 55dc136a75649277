//===- Epilogue.cpp - bias, batch norm and activation of a layer ----------===//
//
// The elementwise tail of every weight layer, in ELEKTRONN2's order
// bias -> batch norm -> activation, as one linalg.generic over the
// channels-last output (maxout then reduces groups of r channels). In
// training mode the batch mean and std are computed first.
//
//===----------------------------------------------------------------------===//
#include "Activations.h"
#include "LoweringContext.h"
#include "TensorUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>
#include <type_traits>

using namespace mlir;

namespace nm::compiler::lowering {

/// prelu's bias [F, 2] split into the bias and the slope, each [F].
static FailureOr<std::pair<Value, Value>>
splitPreluBias(OpBuilder &b, Operation *op, Location loc, Value bias) {
  auto bt = cast<RankedTensorType>(bias.getType());
  if (bt.getRank() != 2 || bt.getDimSize(1) != 2) {
    op->emitError() << "prelu needs a bias of shape [n_f, 2]";
    return failure();
  }
  int64_t nf = bt.getDimSize(0);
  auto vecT = RankedTensorType::get({nf}, bt.getElementType());
  SmallVector<OpFoldResult> sizes{b.getIndexAttr(nf), b.getIndexAttr(1)};
  SmallVector<OpFoldResult> strides{b.getIndexAttr(1), b.getIndexAttr(1)};
  Value b0 = tensor::ExtractSliceOp::create(
      b, loc, vecT, bias, {b.getIndexAttr(0), b.getIndexAttr(0)}, sizes,
      strides);
  Value slope = tensor::ExtractSliceOp::create(
      b, loc, vecT, bias, {b.getIndexAttr(0), b.getIndexAttr(1)}, sizes,
      strides);
  return std::make_pair(b0, slope);
}

/// Batch norm of one element: (gamma/std)·x + b − gamma·mean/std.
static Value normalise(OpBuilder &b, Location l, Value x, Value bias,
                       Value gamma, Value mean, Value sd) {
  Value g = arith::DivFOp::create(b, l, gamma, sd);
  Value gm =
      arith::DivFOp::create(b, l, arith::MulFOp::create(b, l, gamma, mean), sd);
  return arith::SubFOp::create(
      b, l,
      arith::AddFOp::create(b, l, arith::MulFOp::create(b, l, g, x), bias), gm);
}

/// maxout: out[j] = max_i x[i + r*j] over the last axis (F -> F/r): the
/// axis viewed as [F/r, r], the last one reduced.
static Value maxoutReduce(OpBuilder &b, Location loc, Value x, int64_t r) {
  SmallVector<int64_t> shape = shapeOf(x);
  int64_t rank = shape.size();
  Type elt = eltOf(x);
  Value split = splitAxis(b, loc, x, rank - 1, shape.back() / r, r);
  return reduceAxis(b, loc, split, rank, elt,
                    fcst(b, loc, elt, -std::numeric_limits<double>::infinity()),
                    maxF);
}

FailureOr<Value> epilogue(OpBuilder &b, Operation *op, Location loc, Value y,
                          Value bias, ValueRange bn,
                          std::optional<ir::BatchNormMode> bnMode,
                          const ::nm::Activation &act) {
  SmallVector<int64_t> shape = shapeOf(y);
  int64_t rank = shape.size();
  int64_t F = shape.back();
  Type elt = eltOf(y);
  // The maxout factor, 0 for the other activations.
  int64_t r = act.kind == ::nm::ActivationKind::Maxout ? act.maxout : 0;
  if (r > 0 && F % r != 0) {
    op->emitError() << "invalid maxout activation '"
                    << ::nm::activationText(act) << "' for " << F
                    << " features";
    return failure();
  }
  if (bnMode && *bnMode != ir::BatchNormMode::Predict)
    return notImplemented(op, ("batch_normalisation = '" +
                               ir::stringifyBatchNormMode(*bnMode) + "'")
                                  .str());
  Value slope;
  if (act.kind == ::nm::ActivationKind::PRelu) {
    auto split = splitPreluBias(b, op, loc, bias);
    if (failed(split))
      return failure();
    std::tie(bias, slope) = *split;
  }
  // y may have padded channels (LoweringContext::paddedChannels): the
  // per-channel vectors are padded so that the padded channels stay finite
  // (std 1).
  SmallVector<Value> bnPadded;
  if (r == 0) {
    bias = padLastTo(b, loc, bias, F, 0.0);
    if (slope)
      slope = padLastTo(b, loc, slope, F, 0.0);
    for (auto [i, v] : llvm::enumerate(bn))
      bnPadded.push_back(padLastTo(b, loc, v, F, i == 2 ? 1.0 : 0.0));
    bn = bnPadded;
  }
  // One generic: y, bias, [slope], [gamma, mean, std], the last three read
  // per channel.
  AffineMap id = b.getMultiDimIdentityMap(rank);
  AffineMap fmap =
      AffineMap::get(rank, 0, {b.getAffineDimExpr(rank - 1)}, b.getContext());
  SmallVector<Value> inputs{y, bias};
  SmallVector<AffineMap> maps{id, fmap};
  if (slope) {
    inputs.push_back(slope);
    maps.push_back(fmap);
  }
  bool useBn = bnMode.has_value();
  if (useBn)
    for (Value v : bn) {
      inputs.push_back(v);
      maps.push_back(fmap);
    }
  // The element function by its ELEKTRONN2 name (ApplyFunc's vocabulary).
  StringRef elemAct =
      r > 0 ? StringRef("lin") : StringRef(::nm::activationName(act.kind));
  bool bad = false;
  SmallVector<IT> its(rank, IT::parallel);
  Value out = generic(
      b, loc, inputs, maps, emptyT(b, loc, shape, elt), id, its,
      [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        unsigned k = 2;
        Value sl = slope ? a[k++] : Value();
        Value v = useBn ? normalise(nb, l, a[0], a[1], a[k], a[k + 1], a[k + 2])
                        : arith::AddFOp::create(nb, l, a[0], a[1]);
        FailureOr<Value> res = scalarFunction(nb, l, elemAct, v, sl);
        if (failed(res)) {
          bad = true;
          return v;
        }
        return *res;
      });
  if (bad) {
    op->emitError() << "unknown activation function '"
                    << ::nm::activationText(act) << "'";
    return failure();
  }
  return r > 0 ? maxoutReduce(b, loc, out, r) : out;
}

FailureOr<Value> trainEpilogue(OpBuilder &b, Operation *op, Location loc,
                               Value y, Value bias, Value gamma,
                               const ::nm::Activation &act) {
  SmallVector<int64_t> shape = shapeOf(y);
  int64_t rank = shape.size();
  int64_t F = shape.back();
  Type elt = eltOf(y);
  double m = static_cast<double>(numElements(shape) / F);
  SmallVector<IT> its(rank, IT::reduction);
  its.back() = IT::parallel;
  AffineMap id = b.getMultiDimIdentityMap(rank);
  AffineMap fmap =
      AffineMap::get(rank, 0, {b.getAffineDimExpr(rank - 1)}, b.getContext());
  Value sum = generic(
      b, loc, {y}, {id}, filled(b, loc, {F}, elt, fcst(b, loc, elt, 0.0)), fmap,
      its, [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
        return arith::AddFOp::create(nb, l, a[1], a[0]);
      });
  Value mean = elementwise(
      b, loc, {sum}, {F}, elt, [&](OpBuilder &nb, Location l, ValueRange a) {
        return Value(arith::DivFOp::create(nb, l, a[0], fcst(nb, l, elt, m)));
      });
  Value sq =
      generic(b, loc, {y, mean}, {id, fmap},
              filled(b, loc, {F}, elt, fcst(b, loc, elt, 0.0)), fmap, its,
              [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                Value d = arith::SubFOp::create(nb, l, a[0], a[1]);
                return arith::AddFOp::create(
                    nb, l, a[2], arith::MulFOp::create(nb, l, d, d));
              });
  // std over every axis but f (population), + 1e-6.
  Value sd = elementwise(
      b, loc, {sq}, {F}, elt, [&](OpBuilder &nb, Location l, ValueRange a) {
        Value var = arith::DivFOp::create(nb, l, a[0], fcst(nb, l, elt, m));
        return Value(arith::AddFOp::create(
            nb, l, math::SqrtOp::create(nb, l, var), fcst(nb, l, elt, 1e-6)));
      });
  SmallVector<Value> bn{gamma, mean, sd};
  return epilogue(b, op, loc, y, bias, bn, ir::BatchNormMode::Predict, act);
}

template <typename LayerOp>
static LogicalResult lowerTrainBNImpl(LayerOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  ::nm::TaggedShape out = tagged(op.getOutput());
  Type elt = cast<RankedTensorType>(op.getType()).getElementType();
  SmallVector<int64_t> wsh(
      cast<RankedTensorType>(op.getW().getType()).getShape());
  int64_t nf = std::is_same_v<LayerOp, ir::PerceptronOp> ? wsh[1] : wsh[0];
  if (op.getBn().size() != 3)
    return op.emitError() << "batch normalisation needs gamma, mean and std";
  // The layer without BN, bias and activation (lin), lowered as usual, gives
  // the pre-BN output; a temporary op in the old IR.
  OpBuilder ob(op.getOperation());
  auto zt = RankedTensorType::get({nf}, elt);
  auto zero = arith::ConstantOp::create(
      ob, loc,
      DenseElementsAttr::get(zt,
                             ArrayRef<Attribute>{ob.getFloatAttr(elt, 0.0)}));
  auto tmp = cast<LayerOp>(ob.clone(*op.getOperation()));
  tmp.getBMutable().assign(zero.getResult());
  tmp.getBnMutable().clear();
  tmp.removeBatchNormalisationAttr();
  tmp.setActivationAttr(ir::ActivationAttr::get(
      ob.getContext(), ::nm::Activation{::nm::ActivationKind::Linear, 1}));
  tmp.getOutput().setType(
      ir::getTaggedTensorType(out.updateShape('f', nf), elt));
  LogicalResult r = ctx.lowerOp(zero);
  if (succeeded(r))
    r = ctx.lowerOp(tmp);
  Value lin = succeeded(r) ? ctx.get(tmp.getOutput()) : Value();
  ctx.forget(tmp.getOutput());
  ctx.forget(zero.getResult());
  tmp->erase();
  zero->erase();
  if (failed(r))
    return failure();
  // f last, batch statistics, the predict-mode epilogue with them.
  ::nm::TaggedShape ls = out.updateShape('f', nf);
  int64_t fI = ls.tagIndex('f');
  SmallVector<int64_t> perm;
  for (int64_t i = 0; i < ls.ndim(); ++i)
    if (i != fI)
      perm.push_back(i);
  perm.push_back(fI);
  Value ycl = transposeT(b, loc, lin, perm);
  auto ep =
      trainEpilogue(b, op, loc, ycl, ctx.get(op.getB()), ctx.get(op.getBn()[0]),
                    ir::activationOf(op.getActivation()));
  if (failed(ep))
    return failure();
  return ctx.set(op, transposeT(b, loc, *ep, inversePerm(perm)));
}

LogicalResult lowerTrainBN(ir::ConvOp op, LoweringContext &ctx) {
  return lowerTrainBNImpl(op, ctx);
}

LogicalResult lowerTrainBN(ir::PerceptronOp op, LoweringContext &ctx) {
  return lowerTrainBNImpl(op, ctx);
}

} // namespace nm::compiler::lowering

namespace nm::compiler::lowering {

/// The permutation tag order -> (every other axis..., f).
static SmallVector<int64_t> featuresLast(const ::nm::TaggedShape &s) {
  int64_t fI = s.tagIndex('f');
  SmallVector<int64_t> perm;
  for (int64_t i = 0; i < s.ndim(); ++i)
    if (i != fI)
      perm.push_back(i);
  perm.push_back(fI);
  return perm;
}

LogicalResult lower(ir::BiasActivationOp op, LoweringContext &ctx) {
  OpBuilder &b = ctx.builder();
  Location loc = op.getLoc();
  SmallVector<int64_t> perm = featuresLast(tagged(op.getInput()));
  Value y = transposeT(b, loc, ctx.get(op.getInput()), perm);
  FailureOr<Value> ep =
      epilogue(b, op, loc, y, ctx.get(op.getB()), {}, std::nullopt,
               ir::activationOf(op.getActivation()));
  if (failed(ep))
    return failure();
  return ctx.set(op, transposeT(b, loc, *ep, inversePerm(perm)));
}

} // namespace nm::compiler::lowering
