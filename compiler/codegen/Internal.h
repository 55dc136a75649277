//===- Internal.h - between the MLIR and the LLVM half of codegen -*- C++
//-*-===//
#ifndef NEUROMANCER_COMPILER_CODEGEN_INTERNAL_H
#define NEUROMANCER_COMPILER_CODEGEN_INTERNAL_H

#include "CodeGen.h"

namespace mlir {
class Operation;
}

namespace nm::codegen::detail {

/// Translates an LLVM-dialect module to LLVM IR, adds the packed `_mlir_`
/// wrappers for `functions`, optimises and emits an object into `result`.
llvm::Error emitObject(mlir::Operation *llvmDialectModule,
                       const CompileOptions &options, CompiledObject &result);

/// `options.target` with empty fields filled from the host.
TargetInfo resolveTarget(const TargetInfo &target);

} // namespace nm::codegen::detail

#endif // NEUROMANCER_COMPILER_CODEGEN_INTERNAL_H
