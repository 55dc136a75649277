//===- LowerVectors.cpp - stage 3: vectors on buffers ---------------------===//
//
// nm-cpu-lower-vectors (Passes.td).
//
//===----------------------------------------------------------------------===//
#include "Passes.h"
#include "neuromancer/compiler/codegen/common/Utils.h"

#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorTransforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;

namespace nm::codegen {

#define GEN_PASS_DEF_NMCPULOWERVECTORS
#include "compiler/codegen/cpu/Passes.h.inc"

namespace cpu {
namespace {

/// Stage 3 (buffers): keep accumulators in registers across the window
/// loops, contractions to outer-product FMAs, everything to 1-D vectors.
/// Transposes and shape casts are lowered in pattern sets of their own: in
/// one set with canonicalization, a transpose that only moves unit dims
/// (canonicalised to a shape_cast, lowered, re-folded) never converges.
constexpr llvm::StringLiteral kBufferScript = R"(
module attributes {transform.with_named_sequence} {
transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
  %funcs = transform.structured.match ops{["func.func"]} in %root : (!transform.any_op) -> !transform.any_op
  %h = transform.structured.hoist_redundant_vector_transfers %funcs : (!transform.any_op) -> !transform.any_op
  transform.apply_patterns to %h {
    transform.apply_patterns.vector.lower_contraction lowering_strategy = "outerproduct"
    transform.apply_patterns.vector.transfer_permutation_patterns
    transform.apply_patterns.vector.lower_multi_reduction lowering_strategy = "innerreduction"
    transform.apply_patterns.vector.lower_transfer max_transfer_rank = 1
    transform.apply_patterns.vector.lower_outerproduct
    transform.apply_patterns.canonicalization
  } : !transform.any_op
  transform.apply_patterns to %h {
    transform.apply_patterns.vector.lower_transpose lowering_strategy = "shuffle_1d"
  } : !transform.any_op
  transform.apply_patterns to %h {
    transform.apply_patterns.vector.lower_shape_cast
  } : !transform.any_op
  transform.apply_patterns to %h {
    transform.apply_patterns.canonicalization
  } : !transform.any_op
  transform.yield
}
}
)";

/// Elements extracted from a vector read (the broadcast operand of an
/// outer product: one input pixel per row of a register tile) are loaded
/// one by one instead: `vbroadcastss mem` per row, rather than a vector load
/// plus a permute per element (with 28 accumulators there is no register
/// left for the permute indices).
/// vector.extract %r[i] of %r = vector.transfer_read %m[idx] (1-D, in
/// bounds, the vector along memref dim k, e.g. a permuted read of the input
/// row of a one-channel conv) -> memref.load %m[idx with idx_k + i].
struct ScalarExtractOfPermutedRead : OpRewritePattern<vector::ExtractOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(vector::ExtractOp extract,
                                PatternRewriter &rewriter) const override {
    auto read = extract.getSource().getDefiningOp<vector::TransferReadOp>();
    if (!read || read.getVectorType().getRank() != 1 || read.getMask() ||
        !isa<MemRefType>(read.getShapedType()) ||
        !read.getInBoundsValues()[0] || extract.hasDynamicPosition() ||
        !isa<FloatType, IntegerType>(extract.getType()))
      return failure();
    AffineMap map = read.getPermutationMap();
    if (map.getNumResults() != 1)
      return failure();
    auto dim = dyn_cast<AffineDimExpr>(map.getResult(0));
    if (!dim)
      return failure();
    int64_t pos = extract.getStaticPosition()[0];
    SmallVector<Value> indices(read.getIndices());
    Location loc = extract.getLoc();
    Value &idx = indices[dim.getPosition()];
    idx = arith::AddIOp::create(
        rewriter, loc, idx, arith::ConstantIndexOp::create(rewriter, loc, pos));
    rewriter.replaceOpWithNewOp<memref::LoadOp>(extract, read.getBase(),
                                                indices);
    return success();
  }
};

LogicalResult loadBroadcastOperands(ModuleOp module) {
  RewritePatternSet patterns(module.getContext());
  vector::populateScalarVectorTransferLoweringPatterns(
      patterns, /*benefit=*/1, /*allowMultipleUses=*/true);
  patterns.add<ScalarExtractOfPermutedRead>(module.getContext());
  return applyPatternsGreedily(module, std::move(patterns));
}

struct NmCpuLowerVectors : impl::NmCpuLowerVectorsBase<NmCpuLowerVectors> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (failed(runTransformScript(module, kBufferScript)))
      return signalPassFailure();
    // Accumulators that a register tile zero-fills (its fused init fill)
    // and then reads: the reads become zeros and the fill's stores die.
    IRRewriter rewriter(module.getContext());
    vector::transferOpflowOpt(rewriter, module);
    if (failed(loadBroadcastOperands(module)))
      signalPassFailure();
  }
};

} // namespace
} // namespace cpu
} // namespace nm::codegen
