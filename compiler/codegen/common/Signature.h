//===- Signature.h - the ABI of a compiled function -------------*- C++ -*-===//
//
// The FunctionSignature (neuromancer/runtime/Executable.h) of a func.func on
// static tensors: argument and result names, shapes and dtypes from the
// function type and its `nm.name` / `nm.dtype` / `nm.parameter` attributes
// (see CodeGen.h). Target independent.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_COMPILER_CODEGEN_COMMON_SIGNATURE_H
#define NEUROMANCER_COMPILER_CODEGEN_COMMON_SIGNATURE_H

#include "neuromancer/runtime/Executable.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "llvm/Support/Error.h"

namespace nm::codegen {

llvm::Expected<FunctionSignature> signatureOf(mlir::func::FuncOp func);

} // namespace nm::codegen

#endif // NEUROMANCER_COMPILER_CODEGEN_COMMON_SIGNATURE_H
