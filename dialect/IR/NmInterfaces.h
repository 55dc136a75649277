//===- NmInterfaces.h - nm op interfaces ------------------------*- C++ -*-===//
#ifndef NEUROMANCER_DIALECT_IR_NMINTERFACES_H
#define NEUROMANCER_DIALECT_IR_NMINTERFACES_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpDefinition.h"
#include "neuromancer/core/Error.h"
#include "neuromancer/core/TaggedShape.h"

namespace nm::ir {
/// ELEKTRONN2's default node cost: stripnone_prod of the first operand.
int64_t defaultCost(mlir::Operation *op);
/// Total number of elements of statically shaped tensors.
int64_t countElements(llvm::ArrayRef<mlir::Value> values);
/// Verifier of TaggedShapeInferenceInterface: the geometry rules must hold
/// and the declared result type must be the inferred one.
llvm::LogicalResult verifyTaggedShapeInference(mlir::Operation *op);

/// Marks loss ops.
template <typename ConcreteType>
class IsLoss : public mlir::OpTrait::TraitBase<ConcreteType, IsLoss> {};
} // namespace nm::ir

#include "neuromancer/dialect/IR/NmInterfaces.h.inc"

#endif // NEUROMANCER_DIALECT_IR_NMINTERFACES_H
