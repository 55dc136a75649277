//===- Vectorize.cpp - register tiles to vectors
//---------------------------===//
//
// nm-cpu-vectorize (Passes.td): the last pass of stage 1, on tensors.
//
//===----------------------------------------------------------------------===//
#include "LoweringConfig.h"
#include "Passes.h"
#include "neuromancer/compiler/codegen/common/Utils.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorTransforms.h"
#include "mlir/IR/Dominance.h"
#include "mlir/Interfaces/VectorInterfaces.h"
#include "mlir/Transforms/CSE.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"

#include "llvm/ADT/SmallBitVector.h"

using namespace mlir;

namespace nm::codegen {

#define GEN_PASS_DEF_NMCPUVECTORIZE
#include "compiler/codegen/cpu/Passes.h.inc"

namespace cpu {
namespace {

/// The vectorisation of transform.structured.vectorize_children_and_apply_
/// patterns, minus one upstream bug: tensor.insert_slice is vectorised as
/// "read the whole source, write it minor-identity at the offsets", which
/// ignores non-unit strides and misplaces a rank-reducing insert whose
/// dropped dims are not the leading ones (the source lands in the wrong
/// place, silently). Such inserts are left to bufferization (in place, or
/// a copy into a strided subview).
bool safeToVectorize(tensor::InsertSliceOp op) {
  if (!op.hasUnitStride())
    return false;
  llvm::SmallBitVector dropped = op.getDroppedDims();
  int64_t rankDiff = op.getDestType().getRank() - op.getSourceType().getRank();
  return dropped.find_last() < rankDiff; // -1 when nothing is dropped
}

/// The largest iteration space vectorised as one piece (a conv register
/// tile: 14 rows x 32 channels x 16 input channels); anything larger was
/// not tiled and would unroll into tens of thousands of instructions.
constexpr int64_t kMaxVectorElements = 1 << 13;
/// The largest insert_slice vectorised: a register tile written back into
/// its accumulator. Bigger inserts are in place after bufferization (or a
/// copy loop); vectorising them would only unroll a copy.
constexpr int64_t kMaxInsertElements = 1 << 10;

struct VectorizeStructuredOps : public RewritePattern {
  explicit VectorizeStructuredOps(MLIRContext *ctx)
      : RewritePattern(MatchAnyOpTypeTag(), /*benefit=*/1, ctx) {}
  LogicalResult matchAndRewrite(Operation *op,
                                PatternRewriter &rewriter) const override {
    if (auto insert = dyn_cast<tensor::InsertSliceOp>(op)) {
      if (!safeToVectorize(insert) ||
          !insert.getSourceType().hasStaticShape() ||
          insert.getSourceType().getNumElements() > kMaxInsertElements)
        return failure();
    } else if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op)) {
      if (isa<linalg::ConvolutionOpInterface>(op))
        return failure();
      // An op the schedule did not tile would become one huge vector
      // (minutes of compile time, gigabytes of memory): leave it to loops.
      int64_t size = 1;
      for (int64_t r : linalgOp.getStaticLoopRanges())
        size = ShapedType::isDynamic(r) ? kMaxVectorElements + 1 : size * r;
      if (size > kMaxVectorElements)
        return failure();
    } else {
      return failure();
    }
    FailureOr<linalg::VectorizationResult> result =
        linalg::vectorize(rewriter, op);
    if (failed(result))
      return failure();
    rewriter.replaceOp(op, result->replacements);
    return success();
  }
};

/// acc + column(a) * row(b) on vector<MxN> -> vector.outerproduct a, b, acc.
/// A conv tile with one input channel (first layers) has no reduction dim
/// left after unit dims are folded, so it vectorises to broadcasts, a
/// transpose, mulf and addf instead of a contraction; as an outer product
/// it lowers to M broadcasts and M FMAs, like the contraction path.
struct OuterProductFromBroadcasts : public OpRewritePattern<arith::AddFOp> {
  using OpRewritePattern::OpRewritePattern;

  /// v = broadcast(x : vector<N>) : vector<MxN>  ->  x
  static Value row(Value v) {
    auto bc = v.getDefiningOp<vector::BroadcastOp>();
    auto src = bc ? dyn_cast<VectorType>(bc.getSourceType()) : VectorType();
    auto res = cast<VectorType>(v.getType());
    if (!src || src.getRank() != 1 || res.getRank() != 2 ||
        src.getDimSize(0) != res.getDimSize(1))
      return {};
    return bc.getSource();
  }
  /// v = transpose(broadcast(x : vector<M>) : vector<NxM>, [1, 0]) -> x
  static Value column(Value v) {
    auto tr = v.getDefiningOp<vector::TransposeOp>();
    if (!tr || tr.getPermutation() != ArrayRef<int64_t>{1, 0})
      return {};
    return row(tr.getVector());
  }

  LogicalResult matchAndRewrite(arith::AddFOp add,
                                PatternRewriter &rewriter) const override {
    auto type = dyn_cast<VectorType>(add.getType());
    if (!type || type.getRank() != 2 || type.isScalable())
      return failure();
    for (int accIdx : {0, 1}) {
      Value acc = add->getOperand(accIdx);
      auto mul = add->getOperand(1 - accIdx).getDefiningOp<arith::MulFOp>();
      if (!mul || !mul->hasOneUse())
        continue;
      for (int colIdx : {0, 1}) {
        Value a = column(mul->getOperand(colIdx));
        Value b = row(mul->getOperand(1 - colIdx));
        if (!a || !b)
          continue;
        rewriter.replaceOpWithNewOp<vector::OuterProductOp>(add, a, b, acc);
        return success();
      }
    }
    return failure();
  }
};

/// The iteration dim of a contraction that is the innermost dim of its
/// result (the columns of a register tile).
std::optional<unsigned> contractionColumnDim(vector::ContractionOp contract) {
  AffineMap acc = contract.getIndexingMapsArray()[2];
  if (acc.getNumResults() == 0)
    return std::nullopt;
  auto last = dyn_cast<AffineDimExpr>(acc.getResults().back());
  if (!last)
    return std::nullopt;
  return last.getPosition();
}

/// The shape a vector op is unrolled to: its innermost dim (for a
/// contraction, the result's innermost iteration dim) cut into vectors of
/// kVectorLanes when it is a multiple of them but not a power of two. LLVM
/// legalises a vector<48xf32> by widening it to vector<64xf32>: a register
/// tile of 3 zmm columns would use 4 per row and spill.
std::optional<SmallVector<int64_t>> nativeVectorShape(Operation *op) {
  auto unrollable = dyn_cast<VectorUnrollOpInterface>(op);
  if (!unrollable)
    return std::nullopt;
  std::optional<SmallVector<int64_t>> shape = unrollable.getShapeForUnroll();
  if (!shape || shape->empty())
    return std::nullopt;
  std::optional<unsigned> dim = shape->size() - 1;
  auto contract = dyn_cast<vector::ContractionOp>(op);
  if (contract)
    dim = contractionColumnDim(contract);
  if (!dim)
    return std::nullopt;
  int64_t n = (*shape)[*dim];
  if (n <= kVectorLanes || n % kVectorLanes != 0 || llvm::isPowerOf2_64(n))
    return std::nullopt;
  if (contract) {
    // One FMA per piece (1 row x one vector of columns x 1 reduction step),
    // visited in the order of unrollOrder.
    shape->assign(shape->size(), 1);
  }
  (*shape)[*dim] = kVectorLanes;
  return shape;
}

/// Pieces of an unrolled contraction in the order of an outer-product
/// register tile: reduction steps outermost, then rows, then the column
/// vectors of a row, so that one broadcast row element is live at a time
/// (unrolled column slice by column slice, every row element would stay
/// live across the slices and the accumulators would spill).
std::optional<SmallVector<int64_t>> unrollOrder(Operation *op) {
  auto contract = dyn_cast<vector::ContractionOp>(op);
  std::optional<unsigned> column =
      contract ? contractionColumnDim(contract) : std::nullopt;
  if (!column)
    return std::nullopt;
  SmallVector<int64_t> order;
  SmallVector<vector::IteratorType> its = contract.getIteratorTypesArray();
  for (auto [d, it] : llvm::enumerate(its))
    if (it == vector::IteratorType::reduction)
      order.push_back(d);
  for (auto [d, it] : llvm::enumerate(its))
    if (it == vector::IteratorType::parallel && d != *column)
      order.push_back(d);
  order.push_back(*column);
  return order;
}

LogicalResult vectorizeAndCleanUp(ModuleOp module) {
  MLIRContext *ctx = module.getContext();
  {
    RewritePatternSet patterns(ctx);
    patterns.add<VectorizeStructuredOps>(ctx);
    patterns.add<OuterProductFromBroadcasts>(ctx, /*benefit=*/2);
    vector::populateVectorTransferPermutationMapLoweringPatterns(patterns);
    vector::populateVectorReductionToContractPatterns(patterns);
    vector::populateSinkVectorOpsPatterns(patterns);
    tensor::populateFoldTensorSubsetIntoVectorTransferPatterns(patterns);
    addCanonicalizationPatterns(patterns);
    if (failed(applyPatternsGreedily(module, std::move(patterns))))
      return failure();
  }
  {
    RewritePatternSet patterns(ctx);
    vector::populateVectorUnrollPatterns(
        patterns, vector::UnrollVectorOptions()
                      .setNativeShapeFn(nativeVectorShape)
                      .setUnrollTraversalOrderFn(unrollOrder));
    addCanonicalizationPatterns(patterns);
    if (failed(applyPatternsGreedily(module, std::move(patterns))))
      return failure();
  }
  {
    RewritePatternSet patterns(ctx);
    tensor::populateFoldTensorSubsetIntoVectorTransferPatterns(patterns);
    vector::populateCastAwayVectorLeadingOneDimPatterns(patterns);
    addCanonicalizationPatterns(patterns);
    if (failed(applyPatternsGreedily(module, std::move(patterns))))
      return failure();
  }
  // Accumulators out of the reduction loops while still on tensors (inner
  // loops first): a register tile's zero fill then reaches its read
  // directly, which folds to a zero vector, and the tile never goes
  // through a buffer of its own.
  IRRewriter rewriter(ctx);
  SmallVector<scf::ForOp> loops;
  module.walk([&](scf::ForOp loop) { loops.push_back(loop); });
  for (scf::ForOp loop : loops)
    hoistLoopInvariantSubsets(rewriter, loop);
  RewritePatternSet patterns(ctx);
  addCanonicalizationPatterns(patterns);
  if (failed(applyPatternsGreedily(module, std::move(patterns))))
    return failure();
  DominanceInfo dominance;
  for (auto func : module.getOps<func::FuncOp>())
    eliminateCommonSubExpressions(rewriter, dominance, func);
  return success();
}

struct NmCpuVectorize : impl::NmCpuVectorizeBase<NmCpuVectorize> {
  void runOnOperation() override {
    LogicalResult result = vectorizeAndCleanUp(getOperation());
    // The schedules are consumed: their tags must not keep equal ops apart
    // in later CSE.
    clearSchedules(getOperation());
    if (failed(result))
      signalPassFailure();
  }
};

} // namespace
} // namespace cpu
} // namespace nm::codegen
