//===- ConvertToLLVM.cpp - stage 4: to the LLVM dialect
//--------------------===//
//
// nm-convert-to-llvm (Passes.td) and the stage-4 pipeline around it
// (specific pass headers only, no umbrella Conversion/Passes.h).
//
//===----------------------------------------------------------------------===//
#include "Passes.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVM.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/LLVMCommon/ConversionTarget.h"
#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MathToLibm/MathToLibm.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/UBToLLVM/UBToLLVM.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVM.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

namespace nm::codegen {

#define GEN_PASS_DEF_NMCONVERTTOLLVM
#include "compiler/codegen/cpu/Passes.h.inc"

namespace {

/// Vector ops that the conversion below does not take (contractions,
/// transposes, masks, shape casts, ...) lowered to simpler vector ops, and
/// memref views expanded to base + offset arithmetic: the greedy steps of
/// upstream's convert-vector-to-llvm and expand-strided-metadata, in one
/// walk.
LogicalResult lowerForLLVMConversion(ModuleOp module) {
  RewritePatternSet patterns(module.getContext());
  vector::populateVectorToVectorCanonicalizationPatterns(patterns);
  vector::populateVectorBitCastLoweringPatterns(patterns);
  vector::populateVectorBroadcastLoweringPatterns(patterns);
  vector::populateVectorContractLoweringPatterns(
      patterns, vector::VectorContractLowering::Dot);
  vector::populateVectorMaskOpLoweringPatterns(patterns);
  vector::populateVectorShapeCastLoweringPatterns(patterns);
  vector::populateVectorInterleaveLoweringPatterns(patterns);
  vector::populateVectorTransposeLoweringPatterns(
      patterns, vector::VectorTransposeLowering::EltWise);
  vector::populateVectorTransferLoweringPatterns(patterns,
                                                 /*maxTransferRank=*/1);
  vector::populateVectorMaskMaterializationPatterns(
      patterns, /*force32BitVectorIndices=*/false);
  vector::populateVectorInsertExtractStridedSliceTransforms(patterns);
  vector::populateVectorStepLoweringPatterns(patterns);
  vector::populateVectorRankReducingFMAPattern(patterns);
  vector::populateVectorGatherLoweringPatterns(patterns);
  vector::populateVectorFromElementsUnrollPatterns(patterns);
  vector::populateVectorToElementsUnrollPatterns(patterns);
  memref::populateExpandStridedMetadataPatterns(patterns);
  return applyPatternsGreedily(module, std::move(patterns));
}

/// Everything to the LLVM dialect in one dialect conversion: one walk of
/// the module instead of one per source dialect (stage 4 of neuro3d's
/// forward: 0.46 s instead of 1.1 s). Memrefs of function arguments are
/// bare pointers.
/// Math ops without an LLVM intrinsic become libm calls (lower benefit).
LogicalResult convertToLLVMDialect(ModuleOp module) {
  MLIRContext *ctx = module.getContext();
  LowerToLLVMOptions options(ctx);
  options.useBarePtrCallConv = true;
  LLVMTypeConverter converter(ctx, options);
  RewritePatternSet patterns(ctx);
  SymbolTableCollection symbolTables;
  populateAffineToStdConversionPatterns(patterns);
  vector::populateVectorTransferLoweringPatterns(patterns);
  // Float sums across a vector's lanes (a channel tail's lane sums,
  // softmax denominators) as trees of shuffles and adds, not 16 dependent
  // adds in lane order (as IREE's CPU backend).
  populateVectorToLLVMConversionPatterns(converter, patterns,
                                         /*reassociateFPReductions=*/true);
  populateFinalizeMemRefToLLVMConversionPatterns(converter, patterns,
                                                 &symbolTables);
  populateMathToLLVMConversionPatterns(converter, patterns,
                                       /*approximateLog1p=*/true,
                                       /*benefit=*/2);
  populateMathToLibmConversionPatterns(patterns, /*benefit=*/1);
  arith::populateArithToLLVMConversionPatterns(converter, patterns);
  index::populateIndexToLLVMConversionPatterns(converter, patterns);
  ub::populateUBToLLVMConversionPatterns(converter, patterns);
  populateFuncToLLVMConversionPatterns(converter, patterns, &symbolTables);
  cf::populateControlFlowToLLVMConversionPatterns(converter, patterns);
  cf::populateAssertToLLVMConversionPattern(converter, patterns,
                                            /*abortOnFailure=*/true,
                                            &symbolTables);
  LLVMConversionTarget target(*ctx);
  return applyPartialConversion(module, target, std::move(patterns));
}

struct NmConvertToLLVM : impl::NmConvertToLLVMBase<NmConvertToLLVM> {
  void runOnOperation() override {
    if (failed(lowerForLLVMConversion(getOperation())) ||
        failed(convertToLLVMDialect(getOperation())))
      signalPassFailure();
  }
};

} // namespace

void buildCpuLLVMPipeline(OpPassManager &pm) {
  OpPassManager &fpm = pm.nest<func::FuncOp>();
  fpm.addPass(createForallToForLoopPass()); // loops not outlined
  fpm.addPass(createConvertLinalgToLoopsPass());
  fpm.addPass(createConvertVectorToSCFPass(
      VectorTransferToSCFOptions().enableFullUnroll(true)));
  fpm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createNmConvertToLLVM());
  pm.addPass(createReconcileUnrealizedCastsPass());
  // Every malloc and every called body tested; early return on failure.
  pm.addPass(createNmCpuCheckAllocations());
  // Each scalar access of an unrolled register tile computes its full
  // address (a multiply-add per memref dim); most of it is shared or
  // constant. Folding it here is cheaper than carrying it through LLVM.
  pm.addPass(createCSEPass());
}

} // namespace nm::codegen
