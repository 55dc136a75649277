//===- Driver.h - graph -> nm -> linalg -> object, in one place -*- C++ -*-===//
//
// The one road from a frontend graph to compiled code, shared by node calls
// (the CPU backend), `neuromancer compile` (aot/) and `to_mlir()`:
//
//   import (graph -> nm) -> specialise None sizes -> [caller's nm rewrites,
//   e.g. frozen parameters] -> compile cache keyed by the nm IR -> on a
//   miss: convert-nm-to-linalg -> CPU code generation
//
// A Compilation owns the MLIR context (every dialect from nm to LLVM), the
// module and the diagnostics; each step throws nm::ValueError carrying the
// diagnostics when it fails.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_COMPILER_DRIVER_DRIVER_H
#define NEUROMANCER_COMPILER_DRIVER_DRIVER_H

#include "neuromancer/compiler/codegen/CodeGen.h"
#include "neuromancer/compiler/jit/CompileCache.h"
#include "neuromancer/core/TaggedShape.h"
#include "neuromancer/frontend/Backend.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"

#include <memory>
#include <string>
#include <vector>

namespace nm::compiler {
class DiagnosticCollector;
}

namespace nm::driver {

class Compilation {
public:
  /// `what` names the compiled thing in error messages ("node 'conv'").
  explicit Compilation(std::string what);
  ~Compilation();
  Compilation(const Compilation &) = delete;
  Compilation &operator=(const Compilation &) = delete;

  mlir::MLIRContext &context() { return *context_; }
  mlir::ModuleOp module() { return *module_; }
  /// What MLIR reported so far, one "loc: message" line per diagnostic.
  const std::string &diagnostics() const;

  /// Adds `func.func @<name>` computing the function's outputs.
  /// "Cannot compile <what>:" and the diagnostics on failure.
  mlir::func::FuncOp import(const GraphFunction &function);
  /// Fixes the None sizes of `func`'s sources to `shapes` (one per source)
  /// and re-infers every type. "Cannot compile <what> for input shapes
  /// (...):" on failure (e.g. a size the conv/pool rules reject).
  void specialise(mlir::func::FuncOp func, const std::vector<Sizes> &shapes);
  /// Rewrites `func` into its dilated equivalent (nm-densify) for inputs of
  /// `shapes` (any sizes covering the field of view). "Cannot densify
  /// <what>:" and the diagnostics on failure (an op the pass cannot rewrite).
  void densify(mlir::func::FuncOp func, const std::vector<Sizes> &shapes);

  /// Turns `func` (whose first result is the loss) into its training form:
  /// training == kGradients appends the parameters' gradients
  /// (nm-decompose-layers, nm-autodiff); an optimiser name ("Adam") returns
  /// the updated parameters and optimiser state instead
  /// (+ nm-optimizer-step). "Cannot compile the Adam step of <what>:" and
  /// the diagnostics on failure (an op without a gradient).
  void differentiate(mlir::func::FuncOp func, const std::string &training);

  /// The module as nm IR, node names inline as locations (to_mlir()).
  std::string printNm();

  /// Loaded code for the module through the process-wide compile cache:
  /// the key is the nm IR, lowering and code generation run on a miss.
  jit::CacheResult compileLoaded(const codegen::CompileOptions &options = {},
                                 const std::string &entry = "");
  /// The cache entry's object bytes (ahead-of-time compilation).
  jit::ObjectResult compileObject(const codegen::CompileOptions &options);

private:
  /// Lowers the module to linalg in the back end's layout; the text code
  /// generation compiles. The layout is part of the options, hence of the
  /// cache key.
  std::string lowerToLinalg(const codegen::LayoutOptions &layout);
  [[noreturn]] void fail(const std::string &lead) const;

  std::string what_;
  std::unique_ptr<mlir::MLIRContext> context_;
  std::unique_ptr<compiler::DiagnosticCollector> diagnostics_;
  mlir::OwningOpRef<mlir::ModuleOp> module_;
};

/// `functions` imported and printed as nm IR; "Cannot lower <what> to nm
/// IR:" and the diagnostics on failure.
std::string printGraph(const std::vector<GraphFunction> &functions,
                       const std::string &what);

} // namespace nm::driver

#endif // NEUROMANCER_COMPILER_DRIVER_DRIVER_H
