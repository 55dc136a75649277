//===- Utils.cpp - helpers shared by the code generators ------------------===//
#include "neuromancer/compiler/codegen/common/Utils.h"
#include "neuromancer/compiler/codegen/CodeGen.h"

#include "mlir/Dialect/Transform/IR/TransformOps.h"
#include "mlir/Dialect/Transform/Transforms/TransformInterpreterUtils.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace nm::codegen {

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

void addCanonicalizationPatterns(RewritePatternSet &patterns) {
  MLIRContext *ctx = patterns.getContext();
  for (Dialect *dialect : ctx->getLoadedDialects())
    dialect->getCanonicalizationPatterns(patterns);
  for (RegisteredOperationName op : ctx->getRegisteredOperations())
    op.getCanonicalizationPatterns(patterns, ctx);
}

LogicalResult runTransformScript(ModuleOp payload, llvm::StringRef script) {
  OwningOpRef<ModuleOp> lib =
      parseSourceString<ModuleOp>(script, payload.getContext());
  if (!lib)
    return failure();
  auto entry = lib->lookupSymbol<transform::NamedSequenceOp>(
      transform::TransformDialect::kTransformEntryPointSymbolName);
  if (!entry)
    return failure();
  return transform::applyTransformNamedSequence(payload, entry, *lib,
                                                transform::TransformOptions());
}

std::string printModule(Operation *op) {
  std::string text;
  llvm::raw_string_ostream os(text);
  op->print(os);
  return text;
}

std::string printForKey(ModuleOp module) {
  std::string text;
  llvm::raw_string_ostream os(text);
  module->print(os, OpPrintingFlags().printGenericOpForm());
  return text;
}

} // namespace nm::codegen
