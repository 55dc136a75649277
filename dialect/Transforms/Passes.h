//===- Passes.h - nm passes -------------------------------------*- C++ -*-===//
#ifndef NEUROMANCER_DIALECT_TRANSFORMS_PASSES_H
#define NEUROMANCER_DIALECT_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"

#include <cstdint>
#include <vector>

namespace nm::ir {

#define GEN_PASS_DECL
#include "neuromancer/dialect/Transforms/Passes.h.inc"

/// The C++ entry of --nm-specialize-shapes: `shapes` holds one shape per
/// `nm.input` argument of `func`, in order. On failure, a diagnostic names
/// the input and axis (or the op whose geometry rule rejects the sizes) and
/// `func` may be partly updated; callers discard it.
mlir::LogicalResult
specializeShapes(mlir::func::FuncOp func,
                 const std::vector<std::vector<int64_t>> &shapes);

#define GEN_PASS_REGISTRATION
#include "neuromancer/dialect/Transforms/Passes.h.inc"

} // namespace nm::ir

#endif // NEUROMANCER_DIALECT_TRANSFORMS_PASSES_H
