//===- NmDialect.h - the nm dialect -----------------------------*- C++ -*-===//
#ifndef NEUROMANCER_DIALECT_IR_NMDIALECT_H
#define NEUROMANCER_DIALECT_IR_NMDIALECT_H

#include "mlir/IR/Dialect.h"

#include "neuromancer/dialect/IR/NmDialect.h.inc"

#endif // NEUROMANCER_DIALECT_IR_NMDIALECT_H
