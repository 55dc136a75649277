//===- OpGroups.cpp - the structured ops codegen recognises ---------------===//
#include "OpGroups.h"
#include "LoweringConfig.h"

using namespace mlir;

namespace nm::codegen::cpu {

/// Number of spatial dims of a pooling op (0: not a pooling op).
int poolingSpatialDims(linalg::LinalgOp op) {
  if (isa<linalg::PoolingNwcMaxOp, linalg::PoolingNwcSumOp,
          linalg::PoolingNwcMinOp>(op))
    return 1;
  if (isa<linalg::PoolingNhwcMaxOp, linalg::PoolingNhwcSumOp,
          linalg::PoolingNhwcMinOp>(op))
    return 2;
  if (isa<linalg::PoolingNdhwcMaxOp, linalg::PoolingNdhwcSumOp,
          linalg::PoolingNdhwcMinOp>(op))
    return 3;
  return 0;
}

/// Number of spatial dims of a conv (0: not one of the convs we tile).
int convSpatialDims(linalg::LinalgOp op) {
  if (isa<linalg::Conv1DNwcWcfOp>(op))
    return 1;
  if (isa<linalg::Conv2DNhwcHwcfOp>(op))
    return 2;
  if (isa<linalg::Conv3DNdhwcDhwcfOp>(op))
    return 3;
  return 0;
}

/// The output-channel loop of an op that can lead a channel-tiled group.
int64_t channelLoop(linalg::LinalgOp op) {
  if (int s = convSpatialDims(op))
    return s + 1;
  if (int s = poolingSpatialDims(op))
    return s + 1;
  if (isa<linalg::MatmulOp>(op))
    return 1;
  return -1;
}

namespace {

/// The only user of `v`, if it has one use.
Operation *onlyUser(Value v) {
  return v.hasOneUse() ? *v.getUsers().begin() : nullptr;
}

/// An all-parallel linalg.generic that reads `v` elementwise (same shape,
/// identity maps) and writes one result of that shape.
bool isElementwiseConsumerOf(Operation *user, Value v) {
  auto g = dyn_cast_or_null<linalg::GenericOp>(user);
  if (!g || g.getNumDpsInits() != 1 || g.getNumReductionLoops() != 0 ||
      g.getResult(0).getType() != v.getType())
    return false;
  if (!g.getMatchingIndexingMap(g.getDpsInitOperand(0)).isIdentity())
    return false;
  for (OpOperand *in : g.getDpsInputOperands())
    if (in->get() == v)
      return g.getMatchingIndexingMap(in).isIdentity();
  return false;
}

/// A channel-tail conv's group (buildChannelTail): its lane sums lead,
/// then the conv and the fill of its partial sums, which stay in the
/// thread's tile (no full-size buffer of 16 partial sums per channel).
SmallVector<Operation *> channelTailGroup(linalg::LinalgOp tail) {
  auto sums = dyn_cast_or_null<linalg::GenericOp>(onlyUser(tail->getResult(0)));
  if (!sums)
    return {};
  SmallVector<Operation *> group{sums, tail};
  if (auto fill =
          tail.getDpsInitOperand(0)->get().getDefiningOp<linalg::FillOp>();
      fill && fill->hasOneUse())
    group.push_back(fill);
  return group;
}

} // namespace

/// A conv's chain: conv -> [pooling] -> [elementwise epilogue], each op the
/// only user of the previous one, plus the fills that initialise the conv
/// and the pooling. Returned root first, then the producers consumer
/// first; empty if the conv has no such consumer.
SmallVector<Operation *> fusionGroup(linalg::LinalgOp conv) {
  if (conv->hasAttr(kChannelTailMark))
    return channelTailGroup(conv);
  if (!isa<linalg::ConvolutionOpInterface>(conv.getOperation()) ||
      poolingSpatialDims(conv) || conv->getNumResults() != 1)
    return {};
  SmallVector<Operation *> chain{conv}; // producer first for now
  auto addFill = [&](Operation *op) {
    auto ls = cast<linalg::LinalgOp>(op);
    Value init = ls.getDpsInitOperand(0)->get();
    if (auto fill = init.getDefiningOp<linalg::FillOp>();
        fill && fill->hasOneUse())
      chain.insert(chain.begin(), fill);
  };
  addFill(conv);
  Value v = conv->getResult(0);
  Operation *user = onlyUser(v);
  if (auto pool = dyn_cast_or_null<linalg::LinalgOp>(user);
      pool && poolingSpatialDims(pool) &&
      pool.getDpsInputOperand(0)->get() == v) {
    addFill(pool);
    chain.push_back(pool);
    v = pool->getResult(0);
    user = onlyUser(v);
  }
  if (isElementwiseConsumerOf(user, v))
    chain.push_back(user);
  if (chain.back() == conv.getOperation())
    return {};
  std::reverse(chain.begin(), chain.end());
  return chain;
}

} // namespace nm::codegen::cpu
