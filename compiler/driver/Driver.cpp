//===- Driver.cpp - graph -> nm -> linalg -> object, in one place ---------===//
#include "neuromancer/compiler/driver/Driver.h"

#include "neuromancer/compiler/Importer.h"
#include "neuromancer/compiler/conversion/NmToLinalg.h"
#include "neuromancer/compiler/support/Diagnostics.h"
#include "neuromancer/core/Error.h"
#include "neuromancer/core/Format.h"
#include "neuromancer/dialect/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/OperationSupport.h"
#include "llvm/Support/raw_ostream.h"

namespace nm::driver {
namespace {

std::unique_ptr<mlir::MLIRContext> makeContext() {
  mlir::DialectRegistry registry;
  codegen::registerCodegenDialects(registry);
  auto context = std::make_unique<mlir::MLIRContext>(registry);
  compiler::loadImporterDialects(*context);
  // Frozen parameters (aot/) become arith.constant ops of the nm function.
  context->getOrLoadDialect<mlir::arith::ArithDialect>();
  return context;
}

} // namespace

Compilation::Compilation(std::string what)
    : what_(std::move(what)), context_(makeContext()),
      diagnostics_(std::make_unique<compiler::DiagnosticCollector>(*context_)),
      module_(mlir::ModuleOp::create(mlir::UnknownLoc::get(context_.get()))) {}

Compilation::~Compilation() = default;

const std::string &Compilation::diagnostics() const {
  return diagnostics_->text();
}

void Compilation::fail(const std::string &lead) const {
  throw ValueError(lead + ":\n" + diagnostics_->text());
}

mlir::func::FuncOp Compilation::import(const GraphFunction &function) {
  mlir::FailureOr<mlir::func::FuncOp> func = compiler::importFunction(
      *module_, function.outputs, function.name, function.epilogue);
  if (mlir::failed(func))
    fail("Cannot compile " + what_);
  return *func;
}

void Compilation::specialise(mlir::func::FuncOp func,
                             const std::vector<Sizes> &shapes) {
  if (mlir::failed(ir::specializeShapes(func, shapes)))
    fail("Cannot compile " + what_ + " for input shapes " +
         formatTupleList(shapes));
}

void Compilation::densify(mlir::func::FuncOp func,
                          const std::vector<Sizes> &shapes) {
  if (mlir::failed(ir::densify(func, shapes)))
    fail("Cannot densify " + what_ + " for input shapes " +
         formatTupleList(shapes));
}

void Compilation::differentiate(mlir::func::FuncOp func,
                                const std::string &training) {
  bool step = training != kGradients;
  if (mlir::failed(ir::decomposeLayers(func)) ||
      mlir::failed(ir::differentiate(func)) ||
      (step && mlir::failed(ir::addOptimizerStep(func, training))))
    fail("Cannot compile " +
         (step ? "the " + training + " step of " : "the gradients of ") +
         what_);
}

std::string Compilation::printNm() {
  std::string text;
  llvm::raw_string_ostream os(text);
  module_->print(os, mlir::OpPrintingFlags().enableDebugInfo(
                         /*enable=*/true, /*prettyForm=*/false));
  return text;
}

std::string Compilation::lowerToLinalg(const codegen::LayoutOptions &layout) {
  compiler::NmToLinalgOptions conversion;
  conversion.channelAlignment = layout.channelAlignment;
  conversion.maxUnpaddedChannels = layout.maxUnpaddedChannels;
  conversion.keepChannelsLast = layout.keepChannelsLast;
  if (mlir::failed(compiler::lowerNmToLinalg(*module_, conversion)))
    fail("Cannot compile " + what_);
  return codegen::printForKey(*module_);
}

jit::CacheResult
Compilation::compileLoaded(const codegen::CompileOptions &options,
                           const std::string &entry) {
  return jit::CompileCache::global().getOrCompile(
      codegen::printForKey(*module_),
      [&] { return lowerToLinalg(options.layout); }, options, entry);
}

jit::ObjectResult
Compilation::compileObject(const codegen::CompileOptions &options) {
  return jit::CompileCache::global().getOrCompileObject(
      codegen::printForKey(*module_),
      [&] { return lowerToLinalg(options.layout); }, options);
}

std::string printGraph(const std::vector<GraphFunction> &functions,
                       const std::string &what) {
  Compilation compilation(what);
  for (const GraphFunction &f : functions)
    if (mlir::failed(
            compiler::importFunction(compilation.module(), f.outputs, f.name)))
      throw ValueError("Cannot lower " + what + " to nm IR:\n" +
                       compilation.diagnostics());
  return compilation.printNm();
}

} // namespace nm::driver
