//===- Passes.h - target-independent codegen passes -------------*- C++ -*-===//
#ifndef NEUROMANCER_COMPILER_CODEGEN_COMMON_PASSES_H
#define NEUROMANCER_COMPILER_CODEGEN_COMMON_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

namespace nm::codegen {

#define GEN_PASS_DECL
#include "compiler/codegen/common/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "compiler/codegen/common/Passes.h.inc"

/// Stage 2 of CodeGen.h: one-shot bufferization across function boundaries
/// (identity layout), results to out-params, buffer deallocation, with
/// nm-pad-to-destination-style before and nm-lower-noncontiguous-copies
/// after. Registered as `nm-bufferize`.
void buildBufferizationPipeline(mlir::OpPassManager &pm);

/// The pipelines above, for nm-opt.
void registerNmCommonPipelines();

} // namespace nm::codegen

#endif // NEUROMANCER_COMPILER_CODEGEN_COMMON_PASSES_H
