//===- Activations.h - activations on scalars -------------------*- C++ -*-===//
//
// ELEKTRONN2's activation functions (and the elementwise functions of
// ApplyFunc) as arith/math ops on one scalar, for the bodies of the epilogue
// and nm.apply linalg.generics.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_COMPILER_CONVERSION_ACTIVATIONS_H
#define NEUROMANCER_COMPILER_CONVERSION_ACTIVATIONS_H

#include "mlir/IR/Builders.h"

namespace nm::compiler::lowering {

/// log(1 + exp(x)), computed without overflow.
mlir::Value softplus(mlir::OpBuilder &b, mlir::Location l, mlir::Value x);

/// Applies a named activation (ELEKTRONN2's apply_activation) or an
/// ApplyFunc function to a scalar; `slope` is prelu's per-feature slope.
/// Fails for an unknown name (and for prelu without a slope).
mlir::FailureOr<mlir::Value> scalarFunction(mlir::OpBuilder &b,
                                            mlir::Location l,
                                            llvm::StringRef name, mlir::Value x,
                                            mlir::Value slope = {});

} // namespace nm::compiler::lowering

#endif // NEUROMANCER_COMPILER_CONVERSION_ACTIVATIONS_H
