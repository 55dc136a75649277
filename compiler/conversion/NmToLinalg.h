//===- NmToLinalg.h - nm dialect -> linalg on static tensors ----*- C++ -*-===//
//
// Lowers every func.func that uses the nm dialect to plain, statically shaped
// ranked tensors in linalg/tensor/arith/math, the input form of
// nm::codegen::compileToObject:
//   * tensor encodings (#nm.tagged) are stripped; tensors keep the tag order
//     of their axes at function boundaries; a dynamic size is rejected
//     ("dynamic sizes (None) must be fixed before compiling");
//   * `nm.input = "x"` becomes `nm.name = "x"`; `nm.param = "conv_w"`
//     becomes `nm.name = "conv_w"` + `nm.parameter`; results are named after
//     the node that produces them (its NameLoc) where it has one;
//   * convs and pools run channels-last ([b, spatial..., f]) through
//     linalg.conv_{1,2,3}d_n*c_*cf and linalg.pooling_n*_{max,sum}, followed
//     by one epilogue linalg.generic (bias, batch norm in predict mode,
//     activation), in ELEKTRONN2's order conv -> pool/MFP -> bias -> BN ->
//     activation.
// An op that has no lowering yet gets the diagnostic
// "lowering of 'nm.<op>' to linalg is not implemented yet" and the function
// is left unchanged.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_COMPILER_CONVERSION_NMTOLINALG_H
#define NEUROMANCER_COMPILER_CONVERSION_NMTOLINALG_H

#include "mlir/Support/LLVM.h"

#include <memory>

namespace mlir {
class ModuleOp;
class Pass;
class DialectRegistry;
} // namespace mlir

namespace nm::compiler {

/// Rewrites every func.func of `module` that uses nm ops or tagged tensors.
/// On failure, diagnostics have been emitted at the offending ops.
mlir::LogicalResult lowerNmToLinalg(mlir::ModuleOp module);

/// The pass `--nm-to-linalg` (on builtin.module).
std::unique_ptr<mlir::Pass> createNmToLinalgPass();

/// Registers `--nm-to-linalg` with the global pass registry (for nm-opt).
void registerNmToLinalgPass();

/// Dialects the lowering creates (linalg, tensor, arith, math, func).
void registerNmToLinalgDialects(mlir::DialectRegistry &registry);

} // namespace nm::compiler

#endif // NEUROMANCER_COMPILER_CONVERSION_NMTOLINALG_H
