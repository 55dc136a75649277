//===- Diagnostics.h - MLIR diagnostics as text for exceptions --*- C++ -*-===//
//
// Compiler entry points report failures as nm::Error exceptions whose
// message carries what MLIR said. A DiagnosticCollector records every
// diagnostic of a context while it is alive, one "loc: message" line each,
// followed by its notes.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_COMPILER_SUPPORT_DIAGNOSTICS_H
#define NEUROMANCER_COMPILER_SUPPORT_DIAGNOSTICS_H

#include "mlir/IR/Diagnostics.h"

#include <string>

namespace nm::compiler {

class DiagnosticCollector {
public:
  explicit DiagnosticCollector(mlir::MLIRContext &context);
  const std::string &text() const { return text_; }

private:
  std::string text_;
  mlir::ScopedDiagnosticHandler handler_;
};

} // namespace nm::compiler

#endif // NEUROMANCER_COMPILER_SUPPORT_DIAGNOSTICS_H
