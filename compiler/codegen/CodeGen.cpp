//===- CodeGen.cpp - the code generator's driver --------------------------===//
//
// compileToObject (CodeGen.h): parse, read the signatures, run the pass
// pipeline of cpu/Passes.cpp, emit the object (cpu/Emit.cpp).
//
//===----------------------------------------------------------------------===//
#include "neuromancer/compiler/codegen/CodeGen.h"
#include "neuromancer/compiler/codegen/common/Signature.h"
#include "neuromancer/compiler/codegen/common/Utils.h"
#include "neuromancer/compiler/codegen/cpu/CodegenDialect.h"
#include "neuromancer/compiler/codegen/cpu/Internal.h"
#include "neuromancer/compiler/codegen/cpu/KernelDispatch.h"
#include "neuromancer/compiler/codegen/cpu/Passes.h"
#include "neuromancer/compiler/support/Diagnostics.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassInstrumentation.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>

using namespace mlir;

namespace nm::codegen {

namespace {

/// Prints the module into `out` (CompileOptions::keepIntermediates).
struct SnapshotPass
    : public PassWrapper<SnapshotPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(SnapshotPass)
  explicit SnapshotPass(std::string *out) : out(out) {}
  StringRef getArgument() const override { return "nm-snapshot"; }
  void runOnOperation() override {
    *out = printModule(getOperation());
    markAllAnalysesPreserved();
  }
  std::string *out;
};

/// Remembers the first pass that failed, for the error message.
struct FailedPassName : public PassInstrumentation {
  explicit FailedPassName(std::string &name) : name(name) {}
  void runAfterPassFailed(Pass *pass, Operation *) override {
    if (name.empty())
      name = pass->getArgument().str();
  }
  std::string &name;
};

/// The textual pipeline for `o`.
std::string textualPipeline(const CompileOptions &o) {
  DialectRegistry registry;
  registerCodegenDialects(registry);
  MLIRContext ctx(registry, MLIRContext::Threading::DISABLED);
  PassManager pm(&ctx);
  buildCpuCodegenPipeline(pm, o);
  std::string text;
  llvm::raw_string_ostream os(text);
  pm.printAsTextualPipeline(os);
  return text;
}

/// Prints the LLVM dialect op counts (NEUROMANCER_CODEGEN_TIMING).
void printOpCounts(ModuleOp module) {
  llvm::StringMap<int64_t> counts;
  int64_t total = 0;
  module->walk([&](Operation *op) {
    ++counts[op->getName().getStringRef()];
    ++total;
  });
  llvm::errs() << "codegen LLVM dialect ops: " << total << "\n";
  SmallVector<std::pair<int64_t, StringRef>> top;
  for (auto &e : counts)
    top.push_back({e.second, e.first()});
  llvm::sort(top, std::greater<>());
  for (auto &[n, name] : ArrayRef(top).take_front(12))
    llvm::errs() << "  " << n << " " << name << "\n";
}

} // namespace

void registerCodegenDialects(DialectRegistry &registry) {
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registry.insert<cpu::NmCpuDialect>();
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
}

std::string pipelineDescription(const CompileOptions &o) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "schedule-v1 tile_rows=" << o.tileRows << " tile_cols=" << o.tileCols
     << " tile_reduction=" << o.tileReduction << " tile_inner=" << o.tileInner
     << " vectorize=" << o.vectorize << " parallel=" << o.parallel
     << " min_parallel_work=" << cpu::kMinParallelWork
     << " parallel_iterations=" << cpu::kParallelIterations
     << " weight_tile_bytes=" << o.weightTileBytes
     << " channel_tail_max=" << o.channelTailMax
     << " codegen_threads=" << o.codegenThreads
     << " layout: channel_alignment=" << o.layout.channelAlignment
     << " max_unpadded_channels=" << o.layout.maxUnpaddedChannels
     << " keep_channels_last=" << o.layout.keepChannelsLast << "\n";
  // The pipeline text depends on the options only; build it once per set.
  static std::mutex mutex;
  static std::map<std::string, std::string> pipelines;
  {
    std::lock_guard<std::mutex> lock(mutex);
    std::string &pipeline = pipelines[text];
    if (pipeline.empty())
      pipeline = textualPipeline(o);
    os << "pipeline: " << pipeline;
  }
  os << "\nllvm-opt=O" << o.optLevel << " reloc=pic code-model=small";
  return text;
}

llvm::Expected<CompiledObject> compileToObject(ModuleOp module,
                                               const CompileOptions &options) {
  std::string text = printForKey(module);
  return compileToObject(llvm::StringRef(text), options);
}

llvm::Expected<CompiledObject> compileToObject(llvm::StringRef moduleText,
                                               const CompileOptions &options) {
  auto start = std::chrono::steady_clock::now();
  // NEUROMANCER_CODEGEN_TIMING=1: seconds per pass and stage on stderr.
  static const bool timing = std::getenv("NEUROMANCER_CODEGEN_TIMING");
  auto last = start;
  auto lap = [&](const char *stage) {
    if (!timing)
      return;
    auto now = std::chrono::steady_clock::now();
    llvm::errs() << "codegen " << stage << ": "
                 << std::chrono::duration<double>(now - last).count() << " s\n";
    last = now;
  };
  DialectRegistry registry;
  registerCodegenDialects(registry);
  MLIRContext ctx(registry, MLIRContext::Threading::DISABLED);
  compiler::DiagnosticCollector diags(ctx);

  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(moduleText, &ctx);
  if (!module)
    return makeError("codegen: cannot parse the module:\n" + diags.text());

  CompiledObject result;
  result.target = detail::resolveTarget(options.target);
  for (auto func : module->getOps<func::FuncOp>()) {
    if (func.isPrivate() || func.isExternal())
      continue;
    auto sig = signatureOf(func);
    if (!sig)
      return sig.takeError();
    result.functions.push_back(std::move(*sig));
    // Inputs and parameters belong to the caller: bufferization copies
    // instead of writing into them.
    for (unsigned i = 0; i < func.getNumArguments(); ++i)
      if (isa<TensorType>(func.getArgument(i).getType()))
        func.setArgAttr(i, "bufferization.writable",
                        BoolAttr::get(&ctx, false));
  }
  if (result.functions.empty())
    return makeError("codegen: the module has no public function");

  PassManager pm(&ctx);
  buildCpuCodegenPipeline(
      pm, options, [&](OpPassManager &stagePM, CodegenStage stage) {
        if (!options.keepIntermediates)
          return;
        std::string *out = &result.vectorizedIR;
        if (stage == CodegenStage::Bufferized)
          out = &result.bufferizedIR;
        else if (stage == CodegenStage::Lowered)
          out = &result.loweredIR;
        stagePM.addPass(std::make_unique<SnapshotPass>(out));
      });
  std::string failedPass;
  pm.addInstrumentation(std::make_unique<FailedPassName>(failedPass));
  if (timing)
    pm.enableTiming();
  // What --mlir-print-ir-after-all and --mlir-pass-pipeline-crash-reproducer
  // give nm-opt, for the models the API and the CLI compile:
  // NEUROMANCER_CODEGEN_PRINT_IR=1 prints the IR after every pass on
  // stderr; NEUROMANCER_CODEGEN_REPRODUCER=FILE writes the input and the
  // pipeline to FILE when a pass fails (`nm-opt --run-reproducer FILE`).
  if (std::getenv("NEUROMANCER_CODEGEN_PRINT_IR"))
    pm.enableIRPrinting();
  if (const char *path = std::getenv("NEUROMANCER_CODEGEN_REPRODUCER"))
    pm.enableCrashReproducerGeneration(path);
  if (failed(pm.run(*module)))
    return makeError("codegen: pass " + failedPass + " failed:\n" +
                     diags.text());
  lap("passes (linalg on tensors to the LLVM dialect)");
  if (timing)
    printOpCounts(*module);

  if (llvm::Error e = detail::emitObject(*module, options, result))
    return std::move(e);
  lap("LLVM IR, middle end, object");
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  return result;
}

} // namespace nm::codegen
