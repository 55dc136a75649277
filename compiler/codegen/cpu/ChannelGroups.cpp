//===- ChannelGroups.cpp - conv groups by output channel
//-------------------===//
//
// nm-cpu-split-channel-groups (a conv group whose channel tile's weights do
// not stay in L2 is cut in two) and nm-cpu-pack-weight-tiles (a channel
// tile's weights copied where their rows alias in the cache).
//
//===----------------------------------------------------------------------===//
#include "ChannelGroups.h"
#include "KernelDispatch.h"
#include "OpGroups.h"
#include "Passes.h"
#include "neuromancer/compiler/codegen/common/Utils.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "llvm/ADT/SmallPtrSet.h"

using namespace mlir;

namespace nm::codegen {

#define GEN_PASS_DEF_NMCPUSPLITCHANNELGROUPS
#define GEN_PASS_DEF_NMCPUPACKWEIGHTTILES
#include "compiler/codegen/cpu/Passes.h.inc"

namespace cpu {

namespace {

/// Bytes of the weights that a tile of `channels` output channels of a
/// conv reads: window x input channels x channels.
int64_t weightTileBytes(linalg::LinalgOp conv, int64_t channels) {
  int spatial = convSpatialDims(conv);
  SmallVector<int64_t> ranges = conv.getStaticLoopRanges();
  auto weights = cast<ShapedType>(conv.getDpsInputOperand(1)->get().getType());
  int64_t bytes = channels * weights.getElementTypeBitWidth() / 8;
  // Loops: n, o_1..o_S, f, k_1..k_S, c.
  for (int l = spatial + 2; l <= 2 * spatial + 2; ++l)
    bytes *= ranges[l];
  return bytes;
}

/// Where a conv's output channels are cut in two parts that are scheduled
/// apart (0: not cut). A serial channel tile's weights stay in L2 while all
/// rows run; a tile of 4 or 5 vectors (channelTile for 7, 13, ... vectors)
/// whose weights exceed o.weightTileBytes does not: neuro3d's 100 -> 112
/// channel layer ran its 64-channel tile at 0.040 ms per channel and input
/// channel, its 48-channel tile at 0.032. Cut before the last 3 vectors,
/// the first part has an even vector count (tiles of 2 vectors) and the
/// second is one 3-vector tile.
int64_t channelSplitPoint(linalg::LinalgOp conv, const CompileOptions &o) {
  int spatial = convSpatialDims(conv);
  if (!spatial || o.weightTileBytes <= 0)
    return 0;
  int64_t channels = conv.getStaticLoopRanges()[spatial + 1];
  int64_t tile = channelTile(channels, o);
  if (tile <= 3 * kVectorLanes ||
      weightTileBytes(conv, tile) <= o.weightTileBytes)
    return 0;
  return channels - 3 * kVectorLanes;
}

/// Replaces every operand of `op` that is a slice of a result of one of
/// `members` by that member computing just the slice, recursively (the
/// producers of a split group, each restricted to its part's channels).
void fuseSlicedProducers(RewriterBase &rewriter, Operation *op,
                         const llvm::SmallPtrSetImpl<Operation *> &members) {
  SmallVector<Operation *> worklist{op};
  while (!worklist.empty()) {
    Operation *consumer = worklist.pop_back_val();
    for (Value operand : consumer->getOperands()) {
      auto slice = operand.getDefiningOp<tensor::ExtractSliceOp>();
      if (!slice)
        continue;
      auto producer = dyn_cast<OpResult>(slice.getSource());
      if (!producer || !members.contains(producer.getOwner()))
        continue;
      rewriter.setInsertionPoint(slice);
      FailureOr<TilingResult> tiled =
          tensor::replaceExtractSliceWithTiledProducer(rewriter, slice,
                                                       producer);
      if (failed(tiled))
        continue;
      rewriter.replaceOp(slice, tiled->tiledValues);
      worklist.append(tiled->tiledOps.begin(), tiled->tiledOps.end());
    }
  }
}

} // namespace

/// Splits the fusion group of `conv` (or the conv alone) at output channel
/// `at`: the group's last op is split (linalg::splitOp: each part writes
/// its slice of the result), and each part gets its own copy of the conv,
/// pooling, fills and epilogue restricted to its channels. The parts then
/// form groups of their own.
LogicalResult splitGroupAt(RewriterBase &rewriter, linalg::LinalgOp conv,
                           int64_t at) {
  SmallVector<Operation *> group = fusionGroup(conv);
  if (group.empty())
    group.push_back(conv);
  auto root = cast<linalg::LinalgOp>(group.front());
  int64_t channels = channelLoop(root);
  if (channels < 0)
    channels = root.getNumLoops() - 1; // elementwise epilogue: [.., f]
  llvm::SmallPtrSet<Operation *, 8> members(group.begin(), group.end());
  if (auto fill =
          conv.getDpsInitOperand(0)->get().getDefiningOp<linalg::FillOp>())
    members.insert(fill);
  rewriter.setInsertionPoint(root);
  auto [low, high] =
      linalg::splitOp(rewriter, cast<TilingInterface>(root.getOperation()),
                      channels, rewriter.getIndexAttr(at));
  if (!low || !high)
    return root.emitError("cannot split the output channels at ") << at;
  members.erase(root);
  fuseSlicedProducers(rewriter, low, members);
  fuseSlicedProducers(rewriter, high, members);
  // The whole-channel producers are dead now (consumers first).
  for (Operation *member : ArrayRef(group).drop_front())
    if (member->use_empty())
      rewriter.eraseOp(member);
  return success();
}

namespace {

/// Cuts conv groups at channelSplitPoint (splitGroupAt).
LogicalResult splitWideChannelGroups(ModuleOp module, const CompileOptions &o) {
  SmallVector<std::pair<linalg::LinalgOp, int64_t>> cuts;
  module.walk([&](linalg::LinalgOp op) {
    if (!op.hasPureTensorSemantics() ||
        llvm::any_of(op.getStaticLoopRanges(), ShapedType::isDynamic) ||
        op->hasAttr(kLoweringConfig))
      return;
    if (int64_t at = channelSplitPoint(op, o))
      cuts.push_back({op, at});
  });
  if (cuts.empty())
    return success();
  IRRewriter rewriter(module.getContext());
  for (auto [conv, at] : cuts)
    if (failed(splitGroupAt(rewriter, conv, at)))
      return failure();
  RewritePatternSet patterns(module.getContext());
  addCanonicalizationPatterns(patterns);
  return applyPatternsGreedily(module, std::move(patterns));
}

/// Whether the rows of a tile of `tileChannels` channels, cut out of rows of
/// `channels` channels, fall on a fraction of the cache's sets: rows
/// `rowBytes` apart start at the same offset modulo the largest power of two
/// dividing rowBytes, so a tile narrower than that power reaches only
/// tileBytes / power of the sets of every cache level.
bool tileRowsAliasInCache(int64_t channels, int64_t tileChannels,
                          int64_t elementBytes) {
  int64_t rowBytes = channels * elementBytes;
  int64_t period = rowBytes & -rowBytes;
  return tileChannels * elementBytes < period;
}

/// Copies the weights of a conv's channel tile into a buffer of their own
/// before the tile's thread-level loop (oneDNN packs its weights in blocks
/// of output channels for the same reason), where the tile's rows alias in
/// the cache (tileRowsAliasInCache): the seed's 64-channel conv, cut into
/// 32-channel tiles, used half of L2 for a 590 KB tile. Measured (forward
/// passes alternating with the unpacked build, this host): seed CNN 5464 ->
/// 5296 ms at 1 thread by the fastest run, 5706 -> 5608 by the median;
/// 2815 -> 2769 and 2965 -> 2888 ms at 2 threads; a layer of 256 channels
/// in 32-channel tiles ran twice as fast. Where the rows do not alias
/// (neuro3d's 80 to 208 channels) packing measured no change, so it is left
/// out there. The copy (rows of the tile, see copyByRows) runs once per tile
/// on the calling thread.
void packAliasingWeightTiles(ModuleOp module) {
  SmallVector<std::pair<linalg::LinalgOp, tensor::ExtractSliceOp>> convs;
  module.walk([&](linalg::LinalgOp op) {
    if (!convSpatialDims(op) || !op.hasPureTensorSemantics())
      return;
    auto slice =
        op.getDpsInputOperand(1)->get().getDefiningOp<tensor::ExtractSliceOp>();
    auto threads = op->getParentOfType<scf::ForallOp>();
    if (!slice || !threads || threads->isAncestor(slice))
      return;
    // The rows' stride is that of the tensor the slices are cut from (a
    // part of a split group slices a slice).
    RankedTensorType whole = slice.getSourceType();
    for (auto outer = slice.getSource().getDefiningOp<tensor::ExtractSliceOp>();
         outer;
         outer = outer.getSource().getDefiningOp<tensor::ExtractSliceOp>())
      whole = outer.getSourceType();
    if (!whole.hasStaticShape() ||
        !tileRowsAliasInCache(whole.getShape().back(),
                              slice.getResultType().getShape().back(),
                              whole.getElementTypeBitWidth() / 8))
      return;
    convs.push_back({op, slice});
  });
  DenseMap<Operation *, Value> packed;
  for (auto [conv, slice] : convs) {
    Value &copy = packed[slice];
    if (!copy) {
      OpBuilder b(slice->getContext());
      b.setInsertionPointAfter(slice);
      copy = bufferization::AllocTensorOp::create(
          b, slice.getLoc(), slice.getResultType(), ValueRange{}, slice);
    }
    conv.getDpsInputOperand(1)->set(copy);
  }
}

struct NmCpuSplitChannelGroups
    : impl::NmCpuSplitChannelGroupsBase<NmCpuSplitChannelGroups> {
  using Base::Base;
  void runOnOperation() override {
    CompileOptions o;
    o.tileCols = tileCols;
    o.weightTileBytes = weightTileBytes;
    if (failed(splitWideChannelGroups(getOperation(), o)))
      signalPassFailure();
  }
};

struct NmCpuPackWeightTiles
    : impl::NmCpuPackWeightTilesBase<NmCpuPackWeightTiles> {
  void runOnOperation() override { packAliasingWeightTiles(getOperation()); }
};

} // namespace
} // namespace cpu
} // namespace nm::codegen
