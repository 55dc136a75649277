//===- Diagnostics.cpp - MLIR diagnostics as text for exceptions ----------===//
#include "neuromancer/compiler/support/Diagnostics.h"

#include "llvm/Support/raw_ostream.h"

namespace nm::compiler {

DiagnosticCollector::DiagnosticCollector(mlir::MLIRContext &context)
    : handler_(&context, [this](mlir::Diagnostic &d) {
        llvm::raw_string_ostream os(text_);
        os << d.getLocation() << ": " << d << "\n";
        for (mlir::Diagnostic &note : d.getNotes())
          os << "  note: " << note.getLocation() << ": " << note << "\n";
        return mlir::success();
      }) {}

} // namespace nm::compiler
