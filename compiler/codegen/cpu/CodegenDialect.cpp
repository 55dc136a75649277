//===- CodegenDialect.cpp - attributes of the CPU code generator ----------===//
#include "CodegenDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"

#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace nm::codegen::cpu;

#include "compiler/codegen/cpu/CodegenDialect.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "compiler/codegen/cpu/CodegenAttrs.cpp.inc"

void NmCpuDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "compiler/codegen/cpu/CodegenAttrs.cpp.inc"
      >();
}
