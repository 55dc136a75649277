//===- JitLoader.h - load a compiled object into the process ----*- C++ -*-===//
//
// The one translation unit that includes ORC: an object file (from the
// compiler or from the disk cache) goes into its own LLJIT session, and each
// packed entry point `_mlir_<f>` becomes an nm::Executable that keeps the
// session alive.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_COMPILER_JIT_JITLOADER_H
#define NEUROMANCER_COMPILER_JIT_JITLOADER_H

#include "neuromancer/runtime/Executable.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <vector>

namespace nm::jit {

/// Links `object` into a fresh JIT session and looks up every function of
/// `functions`; the Executables share (and keep alive) the session.
llvm::Expected<std::vector<std::shared_ptr<const Executable>>>
loadObject(llvm::ArrayRef<char> object,
           const std::vector<FunctionSignature> &functions,
           llvm::StringRef bufferName = "neuromancer-object");

} // namespace nm::jit

#endif // NEUROMANCER_COMPILER_JIT_JITLOADER_H
