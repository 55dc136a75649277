//===- Passes.h - code generation passes ------------------------*- C++ -*-===//
//
// The passes of the CPU pipeline that are ours (Passes.td), for nm-opt and
// the lit tests; the pipeline itself (CodeGen.h) adds them directly.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_COMPILER_CODEGEN_PASSES_H
#define NEUROMANCER_COMPILER_CODEGEN_PASSES_H

#include "mlir/Pass/Pass.h"

namespace nm::codegen {

#define GEN_PASS_DECL
#include "compiler/codegen/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "compiler/codegen/Passes.h.inc"

} // namespace nm::codegen

#endif // NEUROMANCER_COMPILER_CODEGEN_PASSES_H
