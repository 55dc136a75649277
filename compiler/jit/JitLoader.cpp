//===- JitLoader.cpp - ORC LLJIT over relocatable objects -----------------===//
#include "neuromancer/compiler/jit/JitLoader.h"

#include "neuromancer/runtime/RuntimeSymbols.h"
#include "neuromancer/runtime/ThreadPool.h"

#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/ExecutionEngine/Orc/Mangling.h"
#include "llvm/Object/Archive.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/TargetSelect.h"

#include <mutex>

namespace nm::jit {

namespace {

/// Adds an ELF object, or every member of an ar archive of them (a compile
/// split over threads, see CompileOptions::codegenThreads).
llvm::Error addObjects(llvm::orc::LLJIT &jit, llvm::ArrayRef<char> object,
                       llvm::StringRef bufferName) {
  llvm::StringRef bytes(object.data(), object.size());
  if (!bytes.starts_with(llvm::object::ArchiveMagic))
    return jit.addObjectFile(
        llvm::MemoryBuffer::getMemBufferCopy(bytes, bufferName));
  auto archive =
      llvm::object::Archive::create(llvm::MemoryBufferRef(bytes, bufferName));
  if (!archive)
    return archive.takeError();
  llvm::Error error = llvm::Error::success();
  for (const llvm::object::Archive::Child &child :
       (*archive)->children(error)) {
    llvm::Error added = [&]() -> llvm::Error {
      auto member = child.getMemoryBufferRef();
      if (!member)
        return member.takeError();
      return jit.addObjectFile(llvm::MemoryBuffer::getMemBufferCopy(
          member->getBuffer(),
          (bufferName + ":" + member->getBufferIdentifier()).str()));
    }();
    if (added)
      return llvm::joinErrors(std::move(error), std::move(added));
  }
  return error;
}

} // namespace

llvm::Expected<std::vector<std::shared_ptr<const Executable>>>
loadObject(llvm::ArrayRef<char> object,
           const std::vector<FunctionSignature> &functions,
           llvm::StringRef bufferName) {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
  auto jit = llvm::orc::LLJITBuilder().create();
  if (!jit)
    return jit.takeError();
  // Compiled code calls malloc/free/memcpy and libm from this process.
  auto generator =
      llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
          (*jit)->getDataLayout().getGlobalPrefix());
  if (!generator)
    return generator.takeError();
  (*jit)->getMainJITDylib().addGenerator(std::move(*generator));
  // The runtime entry points compiled code calls, from this binary (they
  // need not be in the dynamic symbol table of a static executable).
  llvm::orc::MangleAndInterner mangle((*jit)->getExecutionSession(),
                                      (*jit)->getDataLayout());
  llvm::orc::SymbolMap runtime;
  auto define = [&](const char *name, auto *fn) {
    runtime[mangle(name)] = llvm::orc::ExecutorSymbolDef(
        llvm::orc::ExecutorAddr::fromPtr(fn), llvm::JITSymbolFlags::Exported);
  };
  define(runtime_symbols::kParallelFor, &nm_runtime_parallel_for);
  define(runtime_symbols::kAlloc, &nm_runtime_alloc);
  define(runtime_symbols::kFree, &nm_runtime_free);
  define(runtime_symbols::kCheckTempBytes, &nm_runtime_check_temp_bytes);
  define(runtime_symbols::kCallFailed, &nm_runtime_call_failed);
  if (llvm::Error e = (*jit)->getMainJITDylib().define(
          llvm::orc::absoluteSymbols(std::move(runtime))))
    return std::move(e);
  if (llvm::Error e = addObjects(**jit, object, bufferName))
    return std::move(e);

  std::shared_ptr<llvm::orc::LLJIT> session(std::move(*jit));
  std::vector<std::shared_ptr<const Executable>> result;
  for (const FunctionSignature &sig : functions) {
    auto address = session->lookup(sig.packedSymbol());
    if (!address)
      return address.takeError();
    result.push_back(std::make_shared<const Executable>(
        sig, address->toPtr<PackedFunction>(), session));
  }
  return result;
}

} // namespace nm::jit
