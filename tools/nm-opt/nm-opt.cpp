//===- nm-opt.cpp - mlir-opt with the nm dialect --------------------------===//
//
// MlirOptMain with the nm dialect and its passes, plus the upstream dialects,
// extensions and passes we lower to (func, arith, math, tensor, linalg, scf,
// memref, bufferization, vector, llvm, ...). The InitAll* headers only
// declare registration functions, so this TU stays cheap to compile.
//
//===----------------------------------------------------------------------===//
#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "neuromancer/compiler/codegen/Passes.h"
#include "neuromancer/compiler/conversion/NmToLinalg.h"
#include "neuromancer/dialect/IR/NmDialect.h"
#include "neuromancer/dialect/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<nm::ir::NmDialect>();
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllPasses();
  nm::ir::registerNmPasses();
  nm::compiler::registerNmToLinalgPass();
  nm::codegen::registerNmCodegenPasses();
  nm::codegen::registerNmCodegenDialects(registry);
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "neuromancer nm dialect optimizer\n", registry));
}
