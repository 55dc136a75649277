//===- Passes.cpp - the CPU code generation pipeline
//-----------------------===//
//
// The one place where the stages of CodeGen.h are put together: every
// stage a pass (Passes.td), options from CompileOptions.
//
//===----------------------------------------------------------------------===//
#include "Passes.h"
#include "neuromancer/compiler/codegen/CodeGen.h"
#include "neuromancer/compiler/codegen/common/Passes.h"

#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

namespace nm::codegen {

namespace {

/// Stage 1: tiling and vectorisation on tensors.
void buildTileAndVectorizePipeline(OpPassManager &pm, const CompileOptions &o) {
  NmCpuChannelTailsOptions tails;
  tails.channelTailMax = o.channelTailMax;
  pm.addPass(createNmCpuChannelTails(tails));
  NmCpuSplitChannelGroupsOptions groups;
  groups.tileCols = o.tileCols;
  groups.weightTileBytes = o.weightTileBytes;
  pm.addPass(createNmCpuSplitChannelGroups(groups));
  NmCpuSelectLoweringConfigOptions config;
  config.tileRows = o.tileRows;
  config.tileCols = o.tileCols;
  config.tileReduction = o.tileReduction;
  config.tileInner = o.tileInner;
  config.weightTileBytes = o.weightTileBytes;
  config.parallel = o.parallel;
  pm.addPass(createNmCpuSelectLoweringConfig(config));
  pm.addPass(createNmCpuTileAndFuse());
  pm.addPass(createNmCpuPackWeightTiles());
  pm.addPass(createNmCpuTileRegisters());
  pm.addPass(createNmCpuVectorize());
}

} // namespace

void buildCpuCodegenPipeline(
    OpPassManager &pm, const CompileOptions &o,
    llvm::function_ref<void(OpPassManager &, CodegenStage)> afterStage) {
  auto stageEnd = [&](CodegenStage stage) {
    if (afterStage)
      afterStage(pm, stage);
  };
  // Dead values of the lowering (e.g. tag-order copies of channels-last
  // values that no one reads) are dropped before they are scheduled. (No
  // CSE here: it would merge the tensor.empty of a conv's accumulator with
  // its epilogue's, and the fused tiles would then share a buffer.)
  pm.addPass(createCanonicalizerPass());
  // vectorize = false: every structured op becomes scalar loops in stage 4.
  if (o.vectorize)
    buildTileAndVectorizePipeline(pm, o);
  stageEnd(CodegenStage::Vectorized);
  buildBufferizationPipeline(pm);
  stageEnd(CodegenStage::Bufferized);
  if (o.vectorize)
    pm.addPass(createNmCpuLowerVectors());
  if (o.parallel)
    pm.addPass(createNmCpuOutlineParallel());
  stageEnd(CodegenStage::Lowered);
  // Out-of-memory safety (MemoryChecks.cpp): the estimate of the
  // intermediate buffers checked at entry; every allocation checked after
  // the conversion to the LLVM dialect (in buildCpuLLVMPipeline).
  pm.addPass(createNmCpuCheckTempBytes());
  buildCpuLLVMPipeline(pm);
}

void registerNmCpuPipelines() {
  PassPipelineRegistration<>(
      "nm-cpu-codegen",
      "The CPU code generator with the default CompileOptions: linalg on "
      "tensors to the LLVM dialect (CodeGen.h)",
      [](OpPassManager &pm) { buildCpuCodegenPipeline(pm, CompileOptions()); });
}

} // namespace nm::codegen
