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

/// The C++ entry of --nm-densify (see Passes.td); `shapes` may be empty
/// (keep the inputs' shapes) or hold one shape per `nm.input` argument.
mlir::LogicalResult densify(mlir::func::FuncOp func,
                            const std::vector<std::vector<int64_t>> &shapes);

/// The C++ entries of --nm-decompose-layers, --nm-autodiff and
/// --nm-optimizer-step (see Passes.td); on failure a diagnostic names the op.
mlir::LogicalResult decomposeLayers(mlir::func::FuncOp func);
mlir::LogicalResult differentiate(mlir::func::FuncOp func);
mlir::LogicalResult addOptimizerStep(mlir::func::FuncOp func,
                                     llvm::StringRef optimiser);

/// Appends `values` to the results of `func` (one block), named
/// `nm.name = names[i]`.
void appendNamedResults(mlir::func::FuncOp func,
                        llvm::ArrayRef<mlir::Value> values,
                        llvm::ArrayRef<std::string> names);

/// The state tensors `optimiser` keeps per parameter, in order ("d" for
/// SGD; "h"; "s", "d"; "m", "s"); empty for an unknown name.
std::vector<std::string> optimizerStateNames(llvm::StringRef optimiser);

/// Re-derives the result type of every nm op of `func` (one block) from its
/// operands, in order, then the function type; what specializeShapes and
/// densify do after changing argument types or op attributes.
mlir::LogicalResult reinferTypes(mlir::func::FuncOp func);

/// Parses pass options of sizes joined by 'x' ("1x1x23x185x185").
mlir::FailureOr<std::vector<std::vector<int64_t>>>
parseShapeOptions(mlir::Operation *op, llvm::ArrayRef<std::string> shapes,
                  llvm::StringRef passName);

#define GEN_PASS_REGISTRATION
#include "neuromancer/dialect/Transforms/Passes.h.inc"

} // namespace nm::ir

#endif // NEUROMANCER_DIALECT_TRANSFORMS_PASSES_H
