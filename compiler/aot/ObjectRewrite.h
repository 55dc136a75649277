//===- ObjectRewrite.h - symbol surgery on compiled objects -----*- C++ -*-===//
//
// The one translation unit of compiler/aot that reads and writes object
// files (llvm::object, llvm::objcopy): AOT objects are the compile cache's
// objects with symbols renamed, nothing else changed.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_COMPILER_AOT_OBJECTREWRITE_H
#define NEUROMANCER_COMPILER_AOT_OBJECTREWRITE_H

#include "neuromancer/compiler/codegen/CodeGen.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <map>
#include <string>
#include <vector>

namespace nm::aot {

struct ObjectSymbols {
  std::vector<std::string> defined;   // global or weak definitions
  std::vector<std::string> undefined; // references to other objects
};

llvm::Expected<ObjectSymbols> listSymbols(llvm::ArrayRef<char> object);

/// The object with symbols renamed (old name -> new name), as
/// `llvm-objcopy --redefine-sym` does, and the global absolute symbols
/// `markers` added (value 0, `--add-symbol`): section contents are
/// unchanged.
llvm::Expected<std::vector<char>>
renameSymbols(llvm::ArrayRef<char> object,
              const std::map<std::string, std::string> &renames,
              const std::vector<std::string> &markers = {});

/// The libm functions libneuromancer_runtime forwards as
/// `nm_runtime_libm_<name>` (runtime/CApi.c).
const std::vector<std::string> &runtimeLibmFunctions();

/// The x86 features nm_runtime_check_cpu knows (runtime/CApi.c) that
/// `target` (empty fields: the host) enables, comma-separated.
std::string checkedCpuFeatures(const codegen::TargetInfo &target);

/// ValueError unless `cpu` is a CPU name LLVM knows for the host's triple
/// (the message names the closest known names).
void checkCpuName(const std::string &cpu);

} // namespace nm::aot

#endif // NEUROMANCER_COMPILER_AOT_OBJECTREWRITE_H
