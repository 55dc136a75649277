//===- NmOps.h - nm operations ----------------------------------*- C++ -*-===//
#ifndef NEUROMANCER_DIALECT_IR_NMOPS_H
#define NEUROMANCER_DIALECT_IR_NMOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "neuromancer/dialect/IR/NmAttrs.h"
#include "neuromancer/dialect/IR/NmDialect.h"
#include "neuromancer/dialect/IR/NmInterfaces.h"

#define GET_OP_CLASSES
#include "neuromancer/dialect/IR/NmOps.h.inc"

#endif // NEUROMANCER_DIALECT_IR_NMOPS_H
