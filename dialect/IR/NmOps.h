//===- NmOps.h - nm operations ----------------------------------*- C++ -*-===//
#ifndef NEUROMANCER_DIALECT_IR_NMOPS_H
#define NEUROMANCER_DIALECT_IR_NMOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "neuromancer/core/Geometry.h"
#include "neuromancer/dialect/IR/NmAttrs.h"
#include "neuromancer/dialect/IR/NmDialect.h"
#include "neuromancer/dialect/IR/NmInterfaces.h"

#define GET_OP_CLASSES
#include "neuromancer/dialect/IR/NmOps.h.inc"

namespace nm::ir {

/// A weight layer's activation: its attribute's value, relu (ELEKTRONN2's
/// default) when absent.
inline ::nm::Activation activationOf(ActivationAttr attr) {
  return attr ? attr.getValue() : ::nm::Activation{};
}
inline ::nm::Activation activationOf(std::optional<ActivationAttr> attr) {
  return attr ? activationOf(*attr) : ::nm::Activation{};
}

/// The geometry rules' spelling of a conv mode (same numbering).
inline ::nm::ConvMode toCore(ConvMode mode) {
  switch (mode) {
  case ConvMode::Valid:
    return ::nm::ConvMode::Valid;
  case ConvMode::Same:
    return ::nm::ConvMode::Same;
  case ConvMode::Full:
    return ::nm::ConvMode::Full;
  }
  llvm_unreachable("unknown conv mode");
}

} // namespace nm::ir

#endif // NEUROMANCER_DIALECT_IR_NMOPS_H
