//===- GradientUtils.h - shared pieces of the op gradients ------*- C++ -*-===//
//
// Internal to the dialect: what the GradientInterface implementations of
// every op family (one file each in this folder) share.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_DIALECT_IR_GRADIENTS_GRADIENTUTILS_H
#define NEUROMANCER_DIALECT_IR_GRADIENTS_GRADIENTUTILS_H

#include "mlir/IR/Builders.h"
#include "neuromancer/dialect/IR/NmOps.h"

namespace nm::ir::grad {

/// `g` as a value of `type`: itself when the types agree, else an nm.retag
/// (the two differ only in their #nm.tagged encoding).
mlir::Value retag(mlir::OpBuilder &b, mlir::Location loc, mlir::Value g,
                  mlir::Type type);

/// "gradient of <what> is not implemented yet" at `op`.
mlir::LogicalResult notImplemented(mlir::Operation *op, llvm::StringRef what);

/// Fails at `op` when it received a gradient although no loss can depend
/// on it differentiably (classes, error rates, one-hot labels).
mlir::LogicalResult notDifferentiable(mlir::Operation *op);

/// The nm.softmax whose result `v` is (through nm.slice ops), if any.
SoftmaxOp softmaxOf(mlir::Value v);

} // namespace nm::ir::grad

#endif // NEUROMANCER_DIALECT_IR_GRADIENTS_GRADIENTUTILS_H
