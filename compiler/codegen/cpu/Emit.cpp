//===- Emit.cpp - LLVM dialect to a PIC object for the host ---------------===//
//
// docs/mlir-notes.md §4 pitfalls: a TargetMachine with the real host CPU and
// features, PIC and the small code model, so the object loads into the JIT
// and links into a PIE (AOT) without text relocations.
//
//===----------------------------------------------------------------------===//
#include "Internal.h"

#include "neuromancer/runtime/RuntimeSymbols.h"

#include "mlir/IR/Operation.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/Bitcode/BitcodeWriter.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Object/ArchiveWriter.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"
#include "llvm/Transforms/Utils/SplitModule.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>

namespace nm::codegen {

namespace {

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

void initializeNativeTarget() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
  });
}

/// `void _mlir_<f>(void **args)`: loads each bare pointer from args[i] and
/// calls f (the same packing as mlir::ExecutionEngine's).
void addPackedWrapper(llvm::Function &func) {
  llvm::Module &module = *func.getParent();
  llvm::LLVMContext &ctx = module.getContext();
  llvm::IRBuilder<> b(ctx);
  auto *type = llvm::FunctionType::get(b.getVoidTy(), {b.getPtrTy()}, false);
  auto *wrapper = llvm::Function::Create(
      type, llvm::GlobalValue::ExternalLinkage,
      runtime_symbols::kPackedPrefix + func.getName(), module);
  b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", wrapper));
  llvm::Value *argList = wrapper->getArg(0);
  llvm::SmallVector<llvm::Value *> args;
  for (llvm::Argument &arg : func.args()) {
    llvm::Value *slot =
        b.CreateGEP(b.getPtrTy(), argList, b.getInt64(arg.getArgNo()));
    llvm::Value *ptr = b.CreateLoad(b.getPtrTy(), slot);
    args.push_back(b.CreateLoad(arg.getType(), ptr));
  }
  b.CreateCall(&func, args);
  b.CreateRetVoid();
}

/// The LLVM middle end at `optLevel`, without loop unrolling and loop/SLP
/// vectorisation: the MLIR pipeline emits register-tiled vector code
/// already, and LLVM's vectoriser and unroller would only multiply the
/// scalar copy loops into thousands of odd-width vector instructions
/// (seconds of code generation for nothing).
void optimizeModule(llvm::Module &module, llvm::TargetMachine &tm,
                    unsigned optLevel) {
  if (optLevel == 0)
    return;
  llvm::PipelineTuningOptions tuning;
  tuning.LoopUnrolling = false;
  tuning.LoopVectorization = false;
  tuning.SLPVectorization = false;
  tuning.LoopInterleaving = false;
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(&tm, tuning);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::OptimizationLevel level = optLevel >= 3   ? llvm::OptimizationLevel::O3
                                  : optLevel == 2 ? llvm::OptimizationLevel::O2
                                                  : llvm::OptimizationLevel::O1;
  llvm::ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(level);
  mpm.run(module, mam);
}

} // namespace

void detail::lowerParallelDispatch(llvm::Module &module) {
  llvm::LLVMContext &ctx = module.getContext();
  llvm::IRBuilder<> b(ctx);
  llvm::Type *i64 = b.getInt64Ty();
  llvm::Type *ptr = b.getPtrTy();
  llvm::StringRef prefix(kDispatchPrefix);
  llvm::SmallVector<llvm::Function *> dispatches;
  for (llvm::Function &f : module)
    if (f.isDeclaration() && f.getName().starts_with(prefix))
      dispatches.push_back(&f);
  if (dispatches.empty())
    return;
  llvm::FunctionCallee runtime = module.getOrInsertFunction(
      runtime_symbols::kParallelFor,
      llvm::FunctionType::get(b.getVoidTy(), {ptr, ptr, i64}, false));
  for (llvm::Function *dispatch : dispatches) {
    llvm::Function *body =
        module.getFunction(dispatch->getName().drop_front(prefix.size()));
    if (!body)
      continue; // the verifier below reports the dangling call
    body->setLinkage(llvm::GlobalValue::InternalLinkage);
    // The context: one field per captured value (all but the count).
    llvm::SmallVector<llvm::Type *> fields;
    for (llvm::Argument &a : dispatch->args())
      fields.push_back(a.getType());
    fields.pop_back();
    auto *context = llvm::StructType::get(ctx, fields);

    // void trampoline(ptr ctx, i64 begin, i64 end)
    auto *trampoline = llvm::Function::Create(
        llvm::FunctionType::get(b.getVoidTy(), {ptr, i64, i64}, false),
        llvm::GlobalValue::InternalLinkage, body->getName() + ".trampoline",
        module);
    b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", trampoline));
    llvm::SmallVector<llvm::Value *> args;
    for (auto [i, type] : llvm::enumerate(fields))
      args.push_back(b.CreateLoad(
          type, b.CreateStructGEP(context, trampoline->getArg(0), i)));
    args.push_back(trampoline->getArg(1));
    args.push_back(trampoline->getArg(2));
    b.CreateCall(body, args);
    b.CreateRetVoid();

    for (llvm::User *user : llvm::make_early_inc_range(dispatch->users())) {
      auto *call = llvm::cast<llvm::CallInst>(user);
      llvm::Function *caller = call->getFunction();
      llvm::IRBuilder<> entry(&caller->getEntryBlock(),
                              caller->getEntryBlock().begin());
      llvm::AllocaInst *slot = entry.CreateAlloca(context);
      b.SetInsertPoint(call);
      for (unsigned i = 0; i < fields.size(); ++i)
        b.CreateStore(call->getArgOperand(i),
                      b.CreateStructGEP(context, slot, i));
      b.CreateCall(runtime,
                   {trampoline, slot, call->getArgOperand(fields.size())});
      call->eraseFromParent();
    }
    dispatch->eraseFromParent();
  }
}

void detail::useRuntimeAllocator(llvm::Module &module) {
  llvm::LLVMContext &ctx = module.getContext();
  llvm::Type *ptr = llvm::PointerType::get(ctx, 0);
  llvm::Type *i64 = llvm::Type::getInt64Ty(ctx);
  auto retarget = [&](llvm::StringRef from, llvm::StringRef to,
                      llvm::FunctionType *type) {
    llvm::Function *f = module.getFunction(from);
    if (!f || !f->isDeclaration() || f->getFunctionType() != type)
      return;
    llvm::FunctionCallee callee = module.getOrInsertFunction(to, type);
    f->replaceAllUsesWith(callee.getCallee());
    f->eraseFromParent();
  };
  retarget("malloc", runtime_symbols::kAlloc,
           llvm::FunctionType::get(ptr, {i64}, false));
  retarget("free", runtime_symbols::kFree,
           llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptr}, false));
}

TargetInfo hostTarget() {
  static const TargetInfo host = [] {
    TargetInfo t;
    t.triple = llvm::sys::getProcessTriple();
    t.cpu = llvm::sys::getHostCPUName().str();
    std::vector<std::string> features;
    for (const auto &f : llvm::sys::getHostCPUFeatures())
      features.push_back((f.second ? "+" : "-") + f.first().str());
    std::sort(features.begin(), features.end());
    for (const auto &f : features)
      t.features += (t.features.empty() ? "" : ",") + f;
    return t;
  }();
  return host;
}

TargetInfo detail::resolveTarget(const TargetInfo &target) {
  TargetInfo host = hostTarget();
  TargetInfo t = target;
  if (t.triple.empty())
    t.triple = host.triple;
  if (t.cpu.empty()) {
    t.cpu = host.cpu;
    if (t.features.empty())
      t.features = host.features;
  }
  return t;
}

namespace {

llvm::CodeGenOptLevel codegenLevel(unsigned optLevel) {
  return optLevel >= 3   ? llvm::CodeGenOptLevel::Aggressive
         : optLevel == 2 ? llvm::CodeGenOptLevel::Default
         : optLevel == 1 ? llvm::CodeGenOptLevel::Less
                         : llvm::CodeGenOptLevel::None;
}

/// A target machine for `target` (each thread of a split compile needs its
/// own).
llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
createTargetMachine(const TargetInfo &target, unsigned optLevel) {
  llvm::Triple triple(target.triple);
  std::string error;
  const llvm::Target *llvmTarget =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!llvmTarget)
    return makeError("codegen: no LLVM target for " + target.triple + ": " +
                     error);
  std::unique_ptr<llvm::TargetMachine> tm(llvmTarget->createTargetMachine(
      triple, target.cpu, target.features, llvm::TargetOptions(),
      llvm::Reloc::PIC_, llvm::CodeModel::Small, codegenLevel(optLevel)));
  if (!tm)
    return makeError("codegen: cannot create a target machine for " +
                     target.triple + " " + target.cpu);
  return tm;
}

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

/// The LLVM middle end and code generation of one module: the object, and
/// the optimised IR where `ir` is given.
llvm::Error optimizeAndEmit(llvm::Module &module, llvm::TargetMachine &tm,
                            unsigned optLevel, std::vector<char> &object,
                            std::string *ir) {
  optimizeModule(module, tm, optLevel);
  if (ir) {
    llvm::raw_string_ostream os(*ir);
    module.print(os, nullptr);
  }
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream os(buffer);
  llvm::legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, os, nullptr,
                             llvm::CodeGenFileType::ObjectFile))
    return makeError("codegen: the target cannot emit object files");
  pm.run(module);
  object.assign(buffer.begin(), buffer.end());
  return llvm::Error::success();
}

/// How many modules the LLVM part of a compile is split into.
unsigned codegenParts(const CompileOptions &options, const llvm::Module &m) {
  unsigned threads = options.codegenThreads;
  if (threads == 0)
    threads = std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
  unsigned functions = 0;
  for (const llvm::Function &f : m)
    functions += !f.isDeclaration();
  // Tiny modules (tests, single ops) are not worth a thread each.
  return m.getInstructionCount() < 1000 ? 1 : std::min(threads, functions);
}

/// Splits `module` into `parts` modules (functions round robin, locals
/// made hidden globals so that the parts link), optimises and emits each
/// on its own thread in its own LLVMContext, and returns the objects as
/// one ar archive (JitLoader adds every member).
llvm::Error emitSplit(llvm::Module &module, unsigned parts,
                      const TargetInfo &target, const CompileOptions &options,
                      CompiledObject &result) {
  std::vector<llvm::SmallString<0>> bitcode;
  llvm::SplitModule(
      module, parts,
      [&](std::unique_ptr<llvm::Module> part) {
        llvm::raw_svector_ostream os(bitcode.emplace_back());
        llvm::WriteBitcodeToFile(*part, os);
      },
      /*PreserveLocals=*/false, /*RoundRobin=*/true);
  std::vector<std::vector<char>> objects(bitcode.size());
  std::vector<std::string> irs(bitcode.size()), failures(bitcode.size());
  auto compilePart = [&](size_t i) -> llvm::Error {
    llvm::LLVMContext context;
    auto part = llvm::parseBitcodeFile(
        llvm::MemoryBufferRef(bitcode[i].str(), "part"), context);
    if (!part)
      return part.takeError();
    auto tm = createTargetMachine(target, options.optLevel);
    if (!tm)
      return tm.takeError();
    return optimizeAndEmit(**part, **tm, options.optLevel, objects[i],
                           options.keepIntermediates ? &irs[i] : nullptr);
  };
  std::vector<std::thread> workers;
  for (size_t i = 0; i < bitcode.size(); ++i)
    workers.emplace_back([&, i] {
      if (llvm::Error e = compilePart(i))
        failures[i] = llvm::toString(std::move(e));
    });
  for (std::thread &w : workers)
    w.join();
  for (const std::string &failure : failures)
    if (!failure.empty())
      return makeError(failure);
  std::vector<std::string> names;
  for (size_t i = 0; i < objects.size(); ++i)
    names.push_back("part" + std::to_string(i) + ".o");
  std::vector<llvm::NewArchiveMember> members;
  for (size_t i = 0; i < objects.size(); ++i) {
    members.emplace_back(llvm::MemoryBufferRef(
        llvm::StringRef(objects[i].data(), objects[i].size()), names[i]));
    result.llvmIR += irs[i];
  }
  auto archive = llvm::writeArchiveToBuffer(
      members, llvm::SymtabWritingMode::NormalSymtab,
      llvm::object::Archive::K_GNU, /*Deterministic=*/true, /*Thin=*/false);
  if (!archive)
    return archive.takeError();
  result.object.assign((*archive)->getBufferStart(),
                       (*archive)->getBufferEnd());
  return llvm::Error::success();
}

} // namespace

llvm::Error detail::emitObject(mlir::Operation *llvmDialectModule,
                               const CompileOptions &options,
                               CompiledObject &result) {
  initializeNativeTarget();
  const TargetInfo &target = result.target;
  auto tm = createTargetMachine(target, options.optLevel);
  if (!tm)
    return tm.takeError();

  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> module =
      mlir::translateModuleToLLVMIR(llvmDialectModule, llvmContext);
  if (!module)
    return makeError("codegen: translation to LLVM IR failed");
  module->setTargetTriple(llvm::Triple(target.triple));
  module->setDataLayout((*tm)->createDataLayout());
  lowerParallelDispatch(*module);
  useRuntimeAllocator(*module);

  for (const FunctionSignature &sig : result.functions) {
    llvm::Function *func = module->getFunction(sig.entry);
    if (!func)
      return makeError("codegen: function '" + sig.entry +
                       "' vanished during lowering");
    size_t expected =
        sig.inputs.size() + sig.parameters.size() + sig.outputs.size();
    if (func->arg_size() != expected || !func->getReturnType()->isVoidTy())
      return makeError("codegen: '" + sig.entry +
                       "' does not have the bare-pointer out-param ABI");
    addPackedWrapper(*func);
  }

  auto start = std::chrono::steady_clock::now();
  unsigned parts = codegenParts(options, *module);
  llvm::Error error =
      parts > 1 ? emitSplit(*module, parts, target, options, result)
                : optimizeAndEmit(
                      *module, **tm, options.optLevel, result.object,
                      options.keepIntermediates ? &result.llvmIR : nullptr);
  static const bool timing = std::getenv("NEUROMANCER_CODEGEN_TIMING");
  if (timing)
    llvm::errs() << "codegen LLVM O" << options.optLevel
                 << " and object emission (" << parts
                 << " part(s)): " << secondsSince(start) << " s\n";
  return error;
}

} // namespace nm::codegen
