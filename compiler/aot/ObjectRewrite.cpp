//===- ObjectRewrite.cpp - symbol surgery on compiled objects -------------===//
#include "ObjectRewrite.h"

#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/ObjCopy/ConfigManager.h"
#include "llvm/ObjCopy/ObjCopy.h"
#include "llvm/Object/Binary.h"
#include "llvm/Object/ObjectFile.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

#include "neuromancer/core/Error.h"

#include <algorithm>
#include <memory>
#include <mutex>

namespace nm::aot {
namespace {

llvm::StringRef bytes(llvm::ArrayRef<char> object) {
  return llvm::StringRef(object.data(), object.size());
}

} // namespace

llvm::Expected<ObjectSymbols> listSymbols(llvm::ArrayRef<char> object) {
  auto file = llvm::object::ObjectFile::createObjectFile(
      llvm::MemoryBufferRef(bytes(object), "object"));
  if (!file)
    return file.takeError();
  ObjectSymbols symbols;
  for (const llvm::object::SymbolRef &sym : (*file)->symbols()) {
    auto flags = sym.getFlags();
    if (!flags)
      return flags.takeError();
    auto name = sym.getName();
    if (!name)
      return name.takeError();
    if (name->empty() || (*flags & llvm::object::SymbolRef::SF_FormatSpecific))
      continue;
    if (*flags & llvm::object::SymbolRef::SF_Undefined)
      symbols.undefined.push_back(name->str());
    else if (*flags & (llvm::object::SymbolRef::SF_Global |
                       llvm::object::SymbolRef::SF_Weak))
      symbols.defined.push_back(name->str());
  }
  return symbols;
}

llvm::Expected<std::vector<char>>
renameSymbols(llvm::ArrayRef<char> object,
              const std::map<std::string, std::string> &renames,
              const std::vector<std::string> &markers) {
  auto binary = llvm::object::createBinary(
      llvm::MemoryBufferRef(bytes(object), "object"));
  if (!binary)
    return binary.takeError();
  llvm::objcopy::ConfigManager config;
  for (const auto &[from, to] : renames)
    config.Common.SymbolsToRename.insert({from, to});
  for (const std::string &name : markers) {
    llvm::objcopy::NewSymbolInfo symbol;
    symbol.SymbolName = name;
    symbol.Flags.push_back(llvm::objcopy::SymbolFlag::Global);
    config.Common.SymbolsToAdd.push_back(std::move(symbol));
  }
  llvm::SmallVector<char, 0> out;
  llvm::raw_svector_ostream os(out);
  if (llvm::Error e =
          llvm::objcopy::executeObjcopyOnBinary(config, **binary, os))
    return std::move(e);
  return std::vector<char>(out.begin(), out.end());
}

const std::vector<std::string> &runtimeLibmFunctions() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const char *f :
         {"exp",   "exp2",  "expm1",     "log",   "log2",  "log10",
          "log1p", "sqrt",  "cbrt",      "sin",   "cos",   "tan",
          "asin",  "acos",  "atan",      "sinh",  "cosh",  "tanh",
          "asinh", "acosh", "atanh",     "erf",   "erfc",  "floor",
          "ceil",  "round", "roundeven", "trunc", "rint",  "nearbyint",
          "fabs",  "pow",   "atan2",     "fmod",  "hypot", "copysign",
          "fmin",  "fmax",  "fma"}) {
      n.push_back(f);
      n.push_back(std::string(f) + "f");
    }
    return n;
  }();
  return names;
}

namespace {

void initializeNativeTarget() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
}

} // namespace

void checkCpuName(const std::string &cpu) {
  initializeNativeTarget();
  llvm::Triple triple(codegen::hostTarget().triple);
  std::string error;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    throw ValueError("--cpu " + cpu + ": no LLVM target for " + triple.str() +
                     " (" + error + ")");
  std::unique_ptr<llvm::MCSubtargetInfo> sti(
      target->createMCSubtargetInfo(triple, "", ""));
  if (sti && sti->isCPUStringValid(cpu))
    return;
  std::vector<std::pair<unsigned, std::string>> nearest;
  if (sti)
    for (const llvm::SubtargetSubTypeKV &kv :
         sti->getAllProcessorDescriptions())
      nearest.push_back({llvm::StringRef(kv.Key).edit_distance(cpu), kv.Key});
  std::sort(nearest.begin(), nearest.end());
  std::string closest;
  for (size_t i = 0; i < nearest.size() && i < 3; ++i)
    closest += (i ? ", " : "") + nearest[i].second;
  throw ValueError("--cpu '" + cpu + "' is not a CPU LLVM knows for " +
                   triple.str() +
                   (closest.empty() ? "" : "; closest: " + closest) +
                   " (`llc -mcpu=help` lists them)");
}

std::string checkedCpuFeatures(const codegen::TargetInfo &target) {
  initializeNativeTarget();
  codegen::TargetInfo host = codegen::hostTarget();
  std::string triple = target.triple.empty() ? host.triple : target.triple;
  std::string cpu = target.cpu.empty() ? host.cpu : target.cpu;
  std::string features = target.cpu.empty() ? host.features : target.features;
  llvm::Triple t(triple);
  if (!t.isX86())
    return "";
  std::string error;
  const llvm::Target *llvmTarget = llvm::TargetRegistry::lookupTarget(t, error);
  if (!llvmTarget)
    return "";
  std::unique_ptr<llvm::MCSubtargetInfo> sti(
      llvmTarget->createMCSubtargetInfo(t, cpu, features));
  if (!sti)
    return "";
  std::string checked;
  for (const char *f :
       {"sse4.1",      "sse4.2",     "avx",          "avx2",
        "fma",         "bmi",        "bmi2",         "avx512f",
        "avx512bw",    "avx512vl",   "avx512dq",     "avx512cd",
        "avx512vnni",  "avx512bf16", "avx512fp16",   "avx512vbmi",
        "avx512vbmi2", "avx512ifma", "avx512bitalg", "avx512vpopcntdq"})
    if (sti->checkFeatures(std::string("+") + f))
      checked += (checked.empty() ? "" : ",") + std::string(f);
  return checked;
}

} // namespace nm::aot
