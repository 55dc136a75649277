//===- Passes.h - nm passes -------------------------------------*- C++ -*-===//
#ifndef NEUROMANCER_DIALECT_TRANSFORMS_PASSES_H
#define NEUROMANCER_DIALECT_TRANSFORMS_PASSES_H

#include "mlir/Pass/Pass.h"

namespace nm::ir {

#define GEN_PASS_DECL
#include "neuromancer/dialect/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "neuromancer/dialect/Transforms/Passes.h.inc"

} // namespace nm::ir

#endif // NEUROMANCER_DIALECT_TRANSFORMS_PASSES_H
