//===- CodegenDialect.h - attributes of the CPU code generator --*- C++ -*-===//
//
// The nm_cpu dialect (CodegenAttrs.td): only #nm_cpu.lowering_config.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_COMPILER_CODEGEN_CPU_CODEGENDIALECT_H
#define NEUROMANCER_COMPILER_CODEGEN_CPU_CODEGENDIALECT_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dialect.h"

#include "compiler/codegen/cpu/CodegenDialect.h.inc"

#define GET_ATTRDEF_CLASSES
#include "compiler/codegen/cpu/CodegenAttrs.h.inc"

#endif // NEUROMANCER_COMPILER_CODEGEN_CPU_CODEGENDIALECT_H
