//===- SplitExpandedTransfers.cpp - reads alias folding gets right --------===//
//
// nm-split-transfers-of-expanded-shapes (Passes.td): unrolls the
// vector.transfer_reads of a memref.expand_shape that upstream's
// fold-memref-alias-ops would fold into a read of the wrong elements.
//
//===----------------------------------------------------------------------===//
#include "neuromancer/compiler/codegen/common/Passes.h"

#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;

namespace nm::codegen {

#define GEN_PASS_DEF_NMSPLITTRANSFERSOFEXPANDEDSHAPES
#include "compiler/codegen/common/Passes.h.inc"

namespace {

/// Whether folding `read` through the expand_shape it reads keeps its
/// meaning: the folded read has a minor identity map on the source, so
/// vector dim k (counted from the end) must step source dim k (from the
/// end) by one, i.e. every non-unit vector dim must be the innermost dim of
/// a reassociation group that is the k-th group from the end.
bool foldsCorrectly(vector::TransferReadOp read, memref::ExpandShapeOp expand) {
  if (!read.getPermutationMap().isMinorIdentity())
    return true; // upstream does not fold it
  ArrayRef<int64_t> vector = read.getVectorType().getShape();
  SmallVector<ReassociationIndices> groups = expand.getReassociationIndices();
  int64_t rank = expand.getResultType().getRank();
  int64_t sourceRank = static_cast<int64_t>(groups.size());
  int64_t vectorRank = static_cast<int64_t>(vector.size());
  for (int64_t k = 0; k < vectorRank; ++k) {
    if (vector[k] == 1)
      continue;
    int64_t dim = rank - vectorRank + k;
    int64_t sourceDim = sourceRank - vectorRank + k;
    if (sourceDim < 0 || groups[sourceDim].back() != dim)
      return false;
  }
  return true;
}

/// The reads to unroll: on an expand_shape, rank >= 2, not folding right.
bool needsSplit(Operation *op) {
  auto read = dyn_cast<vector::TransferReadOp>(op);
  if (!read || read.getVectorType().getRank() < 2)
    return false;
  auto expand = read.getBase().getDefiningOp<memref::ExpandShapeOp>();
  return expand && !foldsCorrectly(read, expand);
}

struct NmSplitTransfersOfExpandedShapes
    : impl::NmSplitTransfersOfExpandedShapesBase<
          NmSplitTransfersOfExpandedShapes> {
  void runOnOperation() override {
    vector::UnrollVectorOptions options;
    options.setFilterConstraint(
        [](Operation *op) { return success(needsSplit(op)); });
    // Reads of the innermost dim alone: every other vector dim has size 1.
    options.setNativeShapeFn(
        [](Operation *op) -> std::optional<SmallVector<int64_t>> {
          auto read = cast<vector::TransferReadOp>(op);
          SmallVector<int64_t> shape(read.getVectorType().getRank(), 1);
          shape.back() = read.getVectorType().getShape().back();
          return shape;
        });
    RewritePatternSet patterns(&getContext());
    vector::populateVectorUnrollPatterns(patterns, options);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

} // namespace nm::codegen
