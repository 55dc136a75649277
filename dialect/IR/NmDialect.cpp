//===- NmDialect.cpp - the nm dialect -------------------------------------===//
#include "neuromancer/dialect/IR/NmDialect.h"

#include "neuromancer/dialect/IR/NmAttrs.h"
#include "neuromancer/dialect/IR/NmOps.h"

using namespace mlir;

#include "neuromancer/dialect/IR/NmDialect.cpp.inc"

namespace nm::ir {
void NmDialect::initialize() {
  registerAttributes();
  addOperations<
#define GET_OP_LIST
#include "neuromancer/dialect/IR/NmOps.cpp.inc"
      >();
}
} // namespace nm::ir
