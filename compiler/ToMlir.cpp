//===- ToMlir.cpp - Node::to_mlir and Model::to_mlir ----------------------===//
//
// The frontend declares these so users can print any model or node as nm IR;
// they live here because they need MLIR and the importer, which the
// frontend library itself does not link.
//
//===----------------------------------------------------------------------===//
#include "neuromancer/compiler/Importer.h"
#include "neuromancer/core/Error.h"
#include "neuromancer/frontend/Model.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "llvm/Support/raw_ostream.h"

#include <functional>
#include <utility>

namespace nm {
namespace {

using FunctionList = std::vector<std::pair<std::string, std::vector<Node>>>;

/// Imports `functions` into a fresh module and prints it with locations
/// (node names) inline; ValueError carrying the diagnostics on failure.
std::string printFunctions(const FunctionList &functions,
                           const std::string &what) {
  mlir::MLIRContext context;
  compiler::loadImporterDialects(context);
  compiler::DiagnosticCollector diagnostics(context);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::ModuleOp::create(mlir::UnknownLoc::get(&context));
  for (const auto &[name, outputs] : functions)
    if (mlir::failed(compiler::importFunction(*module, outputs, name)))
      throw ValueError("Cannot lower " + what + " to nm IR:\n" +
                       diagnostics.text());
  std::string text;
  llvm::raw_string_ostream os(text);
  module->print(os, mlir::OpPrintingFlags().enableDebugInfo(
                        /*enable=*/true, /*prettyForm=*/false));
  return text;
}

} // namespace

std::string Node::to_mlir() const {
  return printFunctions({{name(), {*this}}}, "node '" + name() + "'");
}

std::string Model::to_mlir() const {
  FunctionList functions;
  if (prediction_node_)
    functions.push_back({"prediction", {prediction_node_}});
  if (!prediction_ext_.empty())
    functions.push_back({"prediction_ext", prediction_ext_});
  if (loss_node_)
    functions.push_back({"loss", {loss_node_}});
  if (functions.empty())
    throw ValueError("Model '" + name_ +
                     "' has no designated prediction or loss node; call "
                     "designate_nodes first, or print a node's "
                     "node.to_mlir()");
  return printFunctions(functions, "model '" + name_ + "'");
}

} // namespace nm
