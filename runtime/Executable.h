//===- Executable.h - the ABI of compiled functions -------------*- C++ -*-===//
//
// What the compiler produces and the runtime calls, for JIT and AOT alike.
// No MLIR or LLVM here: an AOT object plus this library links anywhere.
//
// ABI of an entry point `<name>` (docs/design.md, "Compiled functions"):
//
//   void _mlir_<name>(void **args);
//
// `args[i]` points to a variable holding the i-th *bare data pointer*
// (MLIR's bare-pointer memref calling convention, packed the way
// mlir::ExecutionEngine packs arguments). Argument order: inputs, then
// parameters, then outputs. Every buffer is dense, row-major, with the
// static shape and dtype recorded in the FunctionSignature. Outputs are
// allocated by the caller (destination-passing style); the function writes
// every element of them and returns nothing. The unpacked function
// `<name>(T0 *in0, ..., T *out0, ...)` is exported from the object as well.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_RUNTIME_EXECUTABLE_H
#define NEUROMANCER_RUNTIME_EXECUTABLE_H

#include "neuromancer/core/DType.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace nm {

class Array;

/// The packed entry of compiled function `f` is `_mlir_f` (MLIR's
/// ExecutionEngine convention, kept so mlir-cpu-runner style tools work).
inline constexpr const char kPackedEntryPrefix[] = "_mlir_";

/// One argument or result of a compiled function.
struct ArgSpec {
  std::string name;
  std::vector<int64_t> shape;
  DType dtype = DType::Float32;

  int64_t size() const;
  bool operator==(const ArgSpec &other) const = default;
};

/// The static signature of one entry point.
struct FunctionSignature {
  /// The function's name; the packed symbol is `_mlir_` + entry.
  std::string entry;
  std::vector<ArgSpec> inputs;
  /// Trainable parameters: passed after the inputs, never counted as inputs
  /// in error messages (ELEKTRONN2 binds them to the function).
  std::vector<ArgSpec> parameters;
  std::vector<ArgSpec> outputs;

  std::string packedSymbol() const { return kPackedEntryPrefix + entry; }
  bool operator==(const FunctionSignature &other) const = default;
};

/// The packed entry point, see the ABI above.
using PackedFunction = void (*)(void **args);

/// A callable compiled function: a packed entry point plus its signature.
/// `owner` keeps whatever holds the code (a JIT session, a dlopen handle)
/// alive for as long as the Executable lives.
class Executable {
public:
  Executable(FunctionSignature signature, PackedFunction function,
             std::shared_ptr<void> owner = nullptr);

  const FunctionSignature &signature() const { return signature_; }
  PackedFunction function() const { return function_; }

  /// Checks count, shape and dtype of every array, then runs the function.
  /// Throws nm::TypeError with ELEKTRONN2's text on a mismatch:
  ///   "\n %i inputs required, %i were given."
  ///   "\nShapes (required - given):\n %s %s\t%s %s\n..." (one line per
  ///   input: required shape, required dtype, given shape, given dtype).
  /// Outputs and parameters are checked the same way ("outputs" and
  /// "parameters" in place of "inputs").
  void call(const std::vector<const Array *> &inputs,
            const std::vector<Array *> &outputs) const;
  void call(const std::vector<const Array *> &inputs,
            const std::vector<const Array *> &parameters,
            const std::vector<Array *> &outputs) const;

  /// No checks: `args` are the bare data pointers in ABI order.
  void callUnchecked(const std::vector<void *> &args) const;

private:
  FunctionSignature signature_;
  PackedFunction function_;
  std::shared_ptr<void> owner_;
};

} // namespace nm

#endif // NEUROMANCER_RUNTIME_EXECUTABLE_H
