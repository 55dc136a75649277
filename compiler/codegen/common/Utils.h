//===- Utils.h - helpers shared by the code generators ----------*- C++ -*-===//
//
// Error plumbing (diagnostics as text: compiler/support), the canonicalization
// pattern set and the transform-script runner: what a CPU and a GPU pipeline
// both need.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_COMPILER_CODEGEN_COMMON_UTILS_H
#define NEUROMANCER_COMPILER_CODEGEN_COMMON_UTILS_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/PatternMatch.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"

#include <string>

namespace nm::codegen {

llvm::Error makeError(const llvm::Twine &message);

/// The canonicalization patterns of every loaded dialect and registered op
/// (what --canonicalize applies), for greedy rewrites that mix them with
/// patterns of their own.
void addCanonicalizationPatterns(mlir::RewritePatternSet &patterns);

/// Parses `script` (a module with a transform.named_sequence
/// @__transform_main) and applies it to `payload`.
mlir::LogicalResult runTransformScript(mlir::ModuleOp payload,
                                       llvm::StringRef script);

/// `op` printed in custom form.
std::string printModule(mlir::Operation *op);

} // namespace nm::codegen

#endif // NEUROMANCER_COMPILER_CODEGEN_COMMON_UTILS_H
