//===- Bufferize.cpp - stage 2: tensors to buffers -----------------------===//
//
// Upstream's one-shot bufferization with the rewrites our IR needs around
// it (Passes.td). Target independent.
//
//===----------------------------------------------------------------------===//
#include "neuromancer/compiler/codegen/common/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/Utils/MemRefUtils.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

namespace nm::codegen {

#define GEN_PASS_DEF_NMPADTODESTINATIONSTYLE
#define GEN_PASS_DEF_NMLOWERNONCONTIGUOUSCOPIES
#include "compiler/codegen/common/Passes.h.inc"

namespace {

/// tensor.pad as a fill of an empty tensor and an insert_slice of the
/// source: a pad that is then inserted into a bigger tensor (the weights of
/// a conv, padded to whole vectors and given their unit dims back) is
/// written in place there by empty-tensor elimination, instead of into a
/// buffer of its own that is copied whole.
void padsInDestinationPassingStyle(ModuleOp module) {
  SmallVector<tensor::PadOp> pads;
  module.walk([&](tensor::PadOp pad) { pads.push_back(pad); });
  IRRewriter rewriter(module.getContext());
  for (tensor::PadOp pad : pads) {
    rewriter.setInsertionPoint(pad);
    (void)linalg::rewriteInDestinationPassingStyle(rewriter, pad);
  }
}

/// Copies `op`'s buffers row by row when the innermost dim is contiguous
/// on both sides (the copy into a channel-padded weight buffer): loops over
/// the outer dims and a 1-D copy per row, which lowers to an inline memcpy.
/// False if the shapes or layouts do not allow it.
bool copyByRows(memref::CopyOp op) {
  auto source = cast<MemRefType>(op.getSource().getType());
  auto target = cast<MemRefType>(op.getTarget().getType());
  int64_t rank = source.getRank();
  auto unitInnerStride = [](MemRefType type) {
    SmallVector<int64_t> strides;
    int64_t offset;
    return succeeded(type.getStridesAndOffset(strides, offset)) &&
           strides.back() == 1;
  };
  if (rank < 2 || !source.hasStaticShape() || !unitInnerStride(source) ||
      !unitInnerStride(target))
    return false;
  OpBuilder b(op);
  Location loc = op.getLoc();
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  SmallVector<Value> lbs, ubs, steps;
  for (int64_t d = 0; d + 1 < rank; ++d) {
    lbs.push_back(zero);
    ubs.push_back(arith::ConstantIndexOp::create(b, loc, source.getDimSize(d)));
    steps.push_back(one);
  }
  int64_t width = source.getDimSize(rank - 1);
  scf::buildLoopNest(
      b, loc, lbs, ubs, steps, [&](OpBuilder &nb, Location at, ValueRange ivs) {
        SmallVector<OpFoldResult> offsets(ivs.begin(), ivs.end());
        offsets.push_back(nb.getIndexAttr(0));
        SmallVector<OpFoldResult> sizes(rank - 1, nb.getIndexAttr(1));
        sizes.push_back(nb.getIndexAttr(width));
        SmallVector<OpFoldResult> strides(rank, nb.getIndexAttr(1));
        auto row = [&](Value buffer) -> Value {
          auto rowType = memref::SubViewOp::inferRankReducedResultType(
              {width}, cast<MemRefType>(buffer.getType()), offsets, sizes,
              strides);
          return memref::SubViewOp::create(nb, at, rowType, buffer, offsets,
                                           sizes, strides);
        };
        memref::CopyOp::create(nb, at, row(op.getSource()),
                               row(op.getTarget()));
      });
  op.erase();
  return true;
}

/// A memref.copy between buffers that are not both contiguous (tensor.pad,
/// strided or offset insert_slice) lowers to a call of `memrefCopy` from
/// MLIR's c_runner_utils, which neither JIT nor AOT objects link. Such
/// copies go row by row (copyByRows) or else become linalg.copy, i.e.
/// scalar loops (LLVM's loop vectoriser is off, see Emit.cpp).
void lowerNonContiguousCopies(ModuleOp module) {
  auto contiguous = [](Value v) {
    auto type = cast<MemRefType>(v.getType());
    return type.getLayout().isIdentity() ||
           memref::isStaticShapeAndContiguousRowMajor(type);
  };
  SmallVector<memref::CopyOp> copies;
  module.walk([&](memref::CopyOp op) {
    if (!contiguous(op.getSource()) || !contiguous(op.getTarget()))
      copies.push_back(op);
  });
  for (memref::CopyOp op : copies) {
    if (copyByRows(op))
      continue;
    OpBuilder b(op);
    linalg::CopyOp::create(b, op.getLoc(), op.getSource(), op.getTarget());
    op.erase();
  }
}

struct NmPadToDestinationStyle
    : impl::NmPadToDestinationStyleBase<NmPadToDestinationStyle> {
  void runOnOperation() override {
    padsInDestinationPassingStyle(getOperation());
  }
};

struct NmLowerNonContiguousCopies
    : impl::NmLowerNonContiguousCopiesBase<NmLowerNonContiguousCopies> {
  void runOnOperation() override { lowerNonContiguousCopies(getOperation()); }
};

} // namespace

void buildBufferizationPipeline(OpPassManager &pm) {
  pm.addPass(createNmPadToDestinationStyle());
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  // A tensor.empty that only becomes a slice of another tensor (a part of a
  // split conv group, see splitWideChannelGroups) is that slice: the part
  // writes into the whole result instead of a buffer copied there.
  pm.addPass(bufferization::createEmptyTensorEliminationPass());
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  bufferization::BufferResultsToOutParamsPassOptions outParams;
  outParams.hoistStaticAllocs = true;
  outParams.modifyPublicFunctions = true;
  pm.addPass(bufferization::createBufferResultsToOutParamsPass(outParams));
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createCanonicalizerPass());
  // Subviews folded into the transfers' indices: the accumulator of a tile
  // inside an scf.forall is then read and written at loop-invariant indices
  // of the base buffer, which hoisting needs.
  pm.addPass(createNmSplitTransfersOfExpandedShapes());
  pm.addPass(memref::createFoldMemRefAliasOpsPass());
  pm.addPass(createNmLowerNonContiguousCopies());
}

void registerNmCommonPipelines() {
  PassPipelineRegistration<>(
      "nm-bufferize",
      "Stage 2 of the code generator: tensors to buffers (CodeGen.h)",
      buildBufferizationPipeline);
}

} // namespace nm::codegen
