//===- Passes.h - code generation passes ------------------------*- C++ -*-===//
//
// Every pass and pipeline of the code generator (common/Passes.td,
// cpu/Passes.td), for nm-opt and the lit tests; compileToObject runs the
// pipeline of buildCpuCodegenPipeline (cpu/Passes.h).
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_COMPILER_CODEGEN_PASSES_H
#define NEUROMANCER_COMPILER_CODEGEN_PASSES_H

#include "neuromancer/compiler/codegen/common/Passes.h"
#include "neuromancer/compiler/codegen/cpu/Passes.h"

namespace nm::codegen {

/// Registers the passes and the pipelines nm-bufferize and nm-cpu-codegen.
inline void registerNmCodegenPasses() {
  registerNmCommonPasses();
  registerNmCpuPasses();
  registerNmCommonPipelines();
  registerNmCpuPipelines();
}

/// The dialect of the code generator's own attributes
/// (#nm_cpu.lowering_config), for tools that parse IR taken between the
/// passes (nm-opt: the output of nm-cpu-select-lowering-config and later).
inline void registerNmCodegenDialects(mlir::DialectRegistry &registry) {
  registry.insert<cpu::NmCpuDialect>();
}

} // namespace nm::codegen

#endif // NEUROMANCER_COMPILER_CODEGEN_PASSES_H
