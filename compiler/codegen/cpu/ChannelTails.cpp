//===- ChannelTails.cpp - a conv's partial last vector of channels --------===//
//
// nm-cpu-channel-tails (Passes.td): where a conv's real output channels end
// a few channels into a vector, those channels are computed apart, as dot
// products whose lanes run over input channels.
//
//===----------------------------------------------------------------------===//
#include "ChannelGroups.h"
#include "LoweringConfig.h"
#include "OpGroups.h"
#include "Passes.h"
#include "neuromancer/compiler/codegen/CodeGen.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Utils/Utils.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;

namespace nm::codegen {

#define GEN_PASS_DEF_NMCPUCHANNELTAILS
#include "compiler/codegen/cpu/Passes.h.inc"

namespace cpu {
namespace {

/// A conv whose output channels are rounded up to whole vectors with zero
/// weights (NmToLinalg's internal layout: 100 channels computed as 112)
/// and whose last `tail` real channels fill only part of the last vector.
struct ChannelTail {
  linalg::LinalgOp conv;
  int64_t full = 0; // channels computed as whole vectors, before the tail
  int64_t tail = 0;
  Value weights; // [K..., C, full + tail]: the weights before the padding
};

/// Static offsets 0, unit strides and the source's sizes except in the
/// last dim: `slice` is the first channels of its source.
bool isLeadingChannelSlice(tensor::ExtractSliceOp slice) {
  RankedTensorType source = slice.getSourceType();
  int64_t rank = source.getRank();
  if (slice.getResultType().getRank() != rank || !source.hasStaticShape())
    return false;
  for (int64_t d = 0; d < rank; ++d)
    if (slice.getStaticOffsets()[d] != 0 || slice.getStaticStrides()[d] != 1 ||
        (d + 1 < rank && slice.getStaticSizes()[d] != source.getShape()[d]))
      return false;
  return true;
}

/// The conv's input with its channels padded to whole vectors: the input,
/// or the tensor whose first channels it is (through the full-size slices
/// that tiling adds).
Value vectorPaddedInput(linalg::LinalgOp conv) {
  Value x = conv.getDpsInputOperand(0)->get();
  while (cast<RankedTensorType>(x.getType()).getShape().back() % kVectorLanes !=
         0) {
    auto slice = x.getDefiningOp<tensor::ExtractSliceOp>();
    if (!slice || !isLeadingChannelSlice(slice))
      return nullptr;
    x = slice.getSource();
  }
  return x;
}

/// The channel tail of a conv (see splitChannelTails), if it has one worth
/// computing apart: at most o.channelTailMax channels after at least one
/// whole vector, unit strides (a register tile reads consecutive pixels),
/// and an input whose channels can be read in whole vectors.
std::optional<ChannelTail> channelTailOf(linalg::LinalgOp op,
                                         const CompileOptions &o) {
  int spatial = convSpatialDims(op);
  if (!spatial || o.channelTailMax <= 0 || !op.hasPureTensorSemantics() ||
      op->hasAttr(kLoweringConfig) ||
      llvm::any_of(op.getStaticLoopRanges(), ShapedType::isDynamic))
    return std::nullopt;
  if (auto strides = op->getAttrOfType<DenseIntElementsAttr>("strides"))
    if (llvm::any_of(strides.getValues<int64_t>(),
                     [](int64_t v) { return v != 1; }))
      return std::nullopt;
  auto pad = op.getDpsInputOperand(1)->get().getDefiningOp<tensor::PadOp>();
  if (!pad || !pad.getConstantPaddingValue() ||
      !matchPattern(pad.getConstantPaddingValue(), m_AnyZeroFloat()))
    return std::nullopt;
  RankedTensorType weights = pad.getSourceType();
  int64_t rank = weights.getRank();
  if (!weights.hasStaticShape() ||
      llvm::any_of(pad.getStaticLow(), [](int64_t v) { return v != 0; }) ||
      llvm::any_of(pad.getStaticHigh().drop_back(),
                   [](int64_t v) { return v != 0; }))
    return std::nullopt;
  ChannelTail t;
  int64_t real = weights.getShape()[rank - 1];
  t.tail = real % kVectorLanes;
  t.full = real - t.tail;
  if (t.tail == 0 || t.tail > o.channelTailMax || t.full < kVectorLanes ||
      real + pad.getStaticHigh().back() != t.full + kVectorLanes)
    return std::nullopt;
  t.conv = op;
  t.weights = pad.getSource();
  // The tail reads the lanes past C too (times zero weights), so they must
  // hold numbers: the whole result of a linalg op does (a conv's padded
  // channels hold the activation of 0).
  Value input = vectorPaddedInput(op);
  if (!input || (input != op.getDpsInputOperand(0)->get() &&
                 !input.getDefiningOp<linalg::LinalgOp>()))
    return std::nullopt;
  return t;
}

/// The weights of the tail in the tail conv's layout: [K..., C, full +
/// tail] -> [K..., Cp / 16, tail, 16], zero past C.
Value tailWeights(OpBuilder &b, Location loc, const ChannelTail &t,
                  int64_t cp) {
  auto type = cast<RankedTensorType>(t.weights.getType());
  Type elt = type.getElementType();
  int64_t rank = type.getRank(), spatial = rank - 2;
  SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)),
      strides(rank, b.getIndexAttr(1)), sizes;
  for (int64_t d : type.getShape())
    sizes.push_back(b.getIndexAttr(d));
  offsets.back() = b.getIndexAttr(t.full);
  sizes.back() = b.getIndexAttr(t.tail);
  Value w = tensor::ExtractSliceOp::create(b, loc, t.weights, offsets, sizes,
                                           strides);
  SmallVector<int64_t> shape(type.getShape());
  shape[spatial] = cp;
  shape.back() = t.tail;
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(elt));
  w = tensor::createPadHighOp(RankedTensorType::get(shape, elt), w, zero,
                              /*nofold=*/false, loc, b);
  SmallVector<int64_t> grouped(type.getShape().take_front(spatial));
  grouped.append({cp / kVectorLanes, kVectorLanes, t.tail});
  SmallVector<ReassociationIndices> groups;
  for (int64_t d = 0; d < spatial; ++d)
    groups.push_back({d});
  groups.push_back({spatial, spatial + 1});
  groups.push_back({spatial + 2});
  w = tensor::ExpandShapeOp::create(b, loc, RankedTensorType::get(grouped, elt),
                                    w, groups);
  SmallVector<int64_t> perm = llvm::to_vector(llvm::seq<int64_t>(0, rank + 1));
  std::swap(perm[rank - 1], perm[rank]);
  SmallVector<int64_t> transposed(grouped);
  std::swap(transposed[rank - 1], transposed[rank]);
  Value init = tensor::EmptyOp::create(b, loc, transposed, elt);
  return linalg::TransposeOp::create(b, loc, w, init, perm)->getResult(0);
}

/// The result of `conv` (one vector of output channels: the tail and zero
/// weights) computed from the tail's real channels only. Each output
/// channel is a dot product over window x input channels; the lanes of a
/// vector hold 16 input channels of one output channel (partial sums
/// [N, O..., tail, 16], a register tile of rows x tail channels, one FMA
/// per lane group and window position), summed across lanes at the end.
Value buildChannelTail(OpBuilder &b, linalg::LinalgOp conv,
                       const ChannelTail &t) {
  Location loc = conv.getLoc();
  int64_t spatial = convSpatialDims(conv);
  // (Not kept from channelTailOf: splitting the producer's group has
  // replaced it since.)
  Value input = vectorPaddedInput(conv);
  auto inType = cast<RankedTensorType>(input.getType());
  Type elt = inType.getElementType();
  int64_t cp = inType.getShape().back();
  SmallVector<int64_t> grouped(inType.getShape());
  grouped.back() = cp / kVectorLanes;
  grouped.push_back(kVectorLanes);
  SmallVector<ReassociationIndices> groups;
  for (int64_t d = 0; d + 1 < inType.getRank(); ++d)
    groups.push_back({d});
  groups.push_back({inType.getRank() - 1, inType.getRank()});
  Value in = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get(grouped, elt), input, groups);
  Value w = tailWeights(b, loc, t, cp);

  auto outType = cast<RankedTensorType>(conv->getResult(0).getType());
  SmallVector<int64_t> partialShape(outType.getShape().drop_back());
  int64_t pixels = partialShape.size(); // N, O...
  partialShape.append({t.tail, kVectorLanes});
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(elt));
  Value partial =
      linalg::FillOp::create(
          b, loc, ValueRange{zero},
          ValueRange{tensor::EmptyOp::create(b, loc, partialShape, elt)})
          .getResult(0);
  // Loops: n, o_1..o_S, k, l, w_1..w_S, g.
  MLIRContext *ctx = b.getContext();
  int64_t loops = 2 * spatial + 4;
  auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
  SmallVector<int64_t> dilations(spatial, 1);
  if (auto attr = conv->getAttrOfType<DenseIntElementsAttr>("dilations"))
    dilations = llvm::to_vector(attr.getValues<int64_t>());
  int64_t k = spatial + 1, l = spatial + 2, g = 2 * spatial + 3;
  SmallVector<AffineExpr> inExprs{d(0)}, wExprs, outExprs{d(0)};
  for (int64_t i = 1; i <= spatial; ++i) {
    inExprs.push_back(d(i) + d(l + i) * dilations[i - 1]);
    wExprs.push_back(d(l + i));
    outExprs.push_back(d(i));
  }
  inExprs.append({d(g), d(l)});
  wExprs.append({d(g), d(k), d(l)});
  outExprs.append({d(k), d(l)});
  SmallVector<AffineMap> maps{AffineMap::get(loops, 0, inExprs, ctx),
                              AffineMap::get(loops, 0, wExprs, ctx),
                              AffineMap::get(loops, 0, outExprs, ctx)};
  SmallVector<utils::IteratorType> iterators(pixels + 2,
                                             utils::IteratorType::parallel);
  iterators.append(spatial + 1, utils::IteratorType::reduction);
  auto dots = linalg::GenericOp::create(
      b, loc, partial.getType(), ValueRange{in, w}, ValueRange{partial}, maps,
      iterators, [](OpBuilder &nb, Location nl, ValueRange a) {
        Value r = math::FmaOp::create(nb, nl, a[0], a[1], a[2]);
        linalg::YieldOp::create(nb, nl, r);
      });
  dots->setAttr(kChannelTailMark, UnitAttr::get(ctx));

  // Lane sums onto the conv's init: [N, O..., tail].
  Value init = conv.getDpsInitOperand(0)->get();
  int64_t rank = outType.getRank();
  SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)),
      strides(rank, b.getIndexAttr(1)), sizes;
  for (int64_t e : outType.getShape())
    sizes.push_back(b.getIndexAttr(e));
  sizes.back() = b.getIndexAttr(t.tail);
  Value initTail =
      tensor::ExtractSliceOp::create(b, loc, init, offsets, sizes, strides);
  SmallVector<AffineMap> sumMaps{
      AffineMap::getMultiDimIdentityMap(rank + 1, ctx),
      AffineMap::getMultiDimIdentityMap(rank + 1, ctx).dropResult(rank)};
  SmallVector<utils::IteratorType> sumIterators(rank,
                                                utils::IteratorType::parallel);
  sumIterators.push_back(utils::IteratorType::reduction);
  Value sums = linalg::GenericOp::create(
                   b, loc, initTail.getType(), ValueRange{dots.getResult(0)},
                   ValueRange{initTail}, sumMaps, sumIterators,
                   [](OpBuilder &nb, Location nl, ValueRange a) {
                     Value r = arith::AddFOp::create(nb, nl, a[1], a[0]);
                     linalg::YieldOp::create(nb, nl, r);
                   })
                   .getResult(0);
  return tensor::InsertSliceOp::create(b, loc, sums, init, offsets, sizes,
                                       strides);
}

/// Computes the channel tails of convs apart. Where 100 channels are
/// computed as 112 (7 vectors), the last vector spends 16 lanes per FMA on
/// 4 channels. Here the conv's group is split after the whole vectors
/// (splitGroupAt), and the part with the tail gets a conv that runs its
/// lanes over input channels instead (buildChannelTail): 4 channels cost 4
/// / 16 of a vector column's FMAs (plus the input's channel padding).
LogicalResult splitChannelTails(ModuleOp module, const CompileOptions &o) {
  SmallVector<ChannelTail> tails;
  module.walk([&](linalg::LinalgOp op) {
    if (std::optional<ChannelTail> t = channelTailOf(op, o))
      tails.push_back(*t);
  });
  IRRewriter rewriter(module.getContext());
  for (const ChannelTail &t : tails) {
    t.conv->setAttr(kTailSplitMark, rewriter.getI64IntegerAttr(t.full));
    if (failed(splitGroupAt(rewriter, t.conv, t.full)))
      return failure();
    // The copy of the conv with the tail reads the weights from `full` on.
    linalg::LinalgOp high;
    module.walk([&](linalg::LinalgOp op) {
      if (!op->hasAttr(kTailSplitMark))
        return;
      op->removeAttr(kTailSplitMark);
      auto w = op.getDpsInputOperand(1)
                   ->get()
                   .getDefiningOp<tensor::ExtractSliceOp>();
      if (w && w.getStaticOffsets().back() == t.full)
        high = op;
    });
    if (!high || !vectorPaddedInput(high))
      return module.emitError("channel tail: no conv part from channel ")
             << t.full;
    rewriter.setInsertionPoint(high);
    rewriter.replaceOp(high, buildChannelTail(rewriter, high, t));
  }
  return success();
}

struct NmCpuChannelTails : impl::NmCpuChannelTailsBase<NmCpuChannelTails> {
  using Base::Base;
  void runOnOperation() override {
    CompileOptions o;
    o.channelTailMax = channelTailMax;
    if (failed(splitChannelTails(getOperation(), o)))
      signalPassFailure();
  }
};

} // namespace
} // namespace cpu
} // namespace nm::codegen
