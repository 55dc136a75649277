//===- Internal.h - between the MLIR and the LLVM half of codegen -*- C++
//-*-===//
#ifndef NEUROMANCER_COMPILER_CODEGEN_INTERNAL_H
#define NEUROMANCER_COMPILER_CODEGEN_INTERNAL_H

#include "neuromancer/compiler/codegen/CodeGen.h"

namespace mlir {
class Operation;
class ModuleOp;
} // namespace mlir

namespace llvm {
class Module;
}

namespace nm::codegen::detail {

/// Translates an LLVM-dialect module to LLVM IR, adds the packed `_mlir_`
/// wrappers for `functions`, optimises and emits an object into `result`.
llvm::Error emitObject(mlir::Operation *llvmDialectModule,
                       const CompileOptions &options, CompiledObject &result);

/// Prefix of the declarations that mark a parallel loop's dispatch (see
/// Parallel.cpp): `nm_dispatch.<body>(captures..., n)`.
inline constexpr const char *kDispatchPrefix = "nm_dispatch.";

/// Outlines every outermost scf.forall (on buffers) into a body function
/// over a range of its iterations, called through a dispatch declaration.
void outlineParallelLoops(mlir::ModuleOp module);

/// Replaces each call of a dispatch declaration by a context struct and a
/// call of nm_runtime_parallel_for with a trampoline into the body.
void lowerParallelDispatch(llvm::Module &module);

/// Intermediate buffers from the runtime (nm_runtime_alloc/free, which
/// cache large blocks across calls) instead of malloc/free.
void useRuntimeAllocator(llvm::Module &module);

/// `options.target` with empty fields filled from the host.
TargetInfo resolveTarget(const TargetInfo &target);

} // namespace nm::codegen::detail

#endif // NEUROMANCER_COMPILER_CODEGEN_INTERNAL_H
