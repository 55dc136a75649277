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
//     activation;
//   * how conv outputs are laid out between layers (channel padding, whether
//     they stay channels-last) is the target's choice: NmToLinalgOptions,
//     whose defaults are the CPU back end's.
// An op that has no lowering yet gets the diagnostic
// "lowering of 'nm.<op>' to linalg is not implemented yet" and the function
// is left unchanged.
//
// The pass is declared in Passes.td (`--convert-nm-to-linalg`); the sources
// are split by op family behind LoweringContext.h.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_COMPILER_CONVERSION_NMTOLINALG_H
#define NEUROMANCER_COMPILER_CONVERSION_NMTOLINALG_H

#include "mlir/Support/LLVM.h"

#include <cstdint>
#include <memory>

namespace mlir {
class ModuleOp;
class Pass;
class DialectRegistry;
} // namespace mlir

namespace nm::compiler {

/// Target-specific layout decisions of the conversion. The defaults are the
/// CPU back end's (compiler/codegen); the pass options of
/// `--convert-nm-to-linalg` (Passes.td) set the same fields.
struct NmToLinalgOptions {
  /// Conv outputs are computed with their channel count rounded up to a
  /// multiple of this (the CPU's 16-float vector, so register tiles are
  /// full); the padded channels hold finite junk that the next layer's zero
  /// weight rows cancel. 1 turns padding off.
  int64_t channelAlignment = 16;
  /// Conv outputs with at most this many channels are never padded (the
  /// padding would cost more than it saves).
  int64_t maxUnpaddedChannels = 4;
  /// Hand conv and pool outputs to the next conv or pool in their internal
  /// channels-last layout ([b, spatial..., f], channels maybe padded), with
  /// no transposes in between. When false, every consumer reads the
  /// tag-order value.
  bool keepChannelsLast = true;
};

/// Rewrites every func.func of `module` that uses nm ops or tagged tensors.
/// On failure, diagnostics have been emitted at the offending ops.
mlir::LogicalResult lowerNmToLinalg(mlir::ModuleOp module,
                                    const NmToLinalgOptions &options = {});

/// The pass `--convert-nm-to-linalg` (on builtin.module).
std::unique_ptr<mlir::Pass> createNmToLinalgPass();
std::unique_ptr<mlir::Pass>
createNmToLinalgPass(const NmToLinalgOptions &options);

/// Registers `--convert-nm-to-linalg` with the global pass registry (for
/// nm-opt).
void registerNmToLinalgPass();

/// Dialects the lowering creates (linalg, tensor, arith, math, func).
void registerNmToLinalgDialects(mlir::DialectRegistry &registry);

} // namespace nm::compiler

#endif // NEUROMANCER_COMPILER_CONVERSION_NMTOLINALG_H
