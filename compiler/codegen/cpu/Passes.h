//===- Passes.h - CPU code generation passes and pipeline -------*- C++ -*-===//
#ifndef NEUROMANCER_COMPILER_CODEGEN_CPU_PASSES_H
#define NEUROMANCER_COMPILER_CODEGEN_CPU_PASSES_H

#include "neuromancer/compiler/codegen/cpu/CodegenDialect.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Transform/IR/TransformDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

#include "llvm/ADT/STLFunctionalExtras.h"

namespace nm::codegen {

struct CompileOptions;

#define GEN_PASS_DECL
#include "compiler/codegen/cpu/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "compiler/codegen/cpu/Passes.h.inc"

/// Where a stage of CodeGen.h ends in the pipeline (for snapshots of the
/// intermediate IR).
enum class CodegenStage {
  Vectorized, // stage 1: tiled and vectorised, on tensors
  Bufferized, // stage 2: on buffers
  Lowered,    // stage 3: vectors lowered, parallel loops outlined
};

/// Stages 0-4 of CodeGen.h: everything compileToObject runs before the
/// translation to LLVM IR, from linalg on tensors to the LLVM dialect.
/// `afterStage`, if given, may add passes at the end of each stage.
void buildCpuCodegenPipeline(
    mlir::OpPassManager &pm, const CompileOptions &options,
    llvm::function_ref<void(mlir::OpPassManager &, CodegenStage)> afterStage =
        nullptr);

/// Stage 4: loops for what was not vectorised, then nm-convert-to-llvm.
void buildCpuLLVMPipeline(mlir::OpPassManager &pm);

/// `nm-cpu-codegen` (the whole pipeline with CompileOptions' defaults) for
/// nm-opt.
void registerNmCpuPipelines();

} // namespace nm::codegen

#endif // NEUROMANCER_COMPILER_CODEGEN_CPU_PASSES_H
