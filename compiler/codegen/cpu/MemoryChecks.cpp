//===- MemoryChecks.cpp - out-of-memory safety of compiled code -----------===//
//
// Two passes (Passes.td) make compiled code safe when memory runs out:
//
//  * nm-cpu-check-temp-bytes (on buffers, after the parallel loops are
//    outlined): an upper bound of the intermediate buffers each public
//    function keeps alive at once, recorded as `nm.temp_bytes` (everything
//    alive at the worst point, each parallel body's own buffers counted
//    once) and `nm.temp_bytes_per_thread` (the largest parallel body's
//    buffers, which every further pool thread may hold too), and a call of
//    nm_runtime_check_temp_bytes at the function's entry that returns at
//    once when the runtime refuses it (over NEUROMANCER_MAX_TEMP_BYTES or
//    the physical memory). All shapes are static; a dynamically sized
//    allocation counts 0 bytes.
//
//  * nm-cpu-check-allocations (on the LLVM dialect): every call of malloc
//    (nm_runtime_alloc in the object) is followed by a null test, and every
//    call of a parallel dispatch or of another function of the module by a
//    test of nm_runtime_call_failed; either branches to a return. The
//    runtime records the failure and frees what the call had allocated
//    (runtime/ThreadPool.h).
//
// The estimate walks each function in program order: memref.alloc adds its
// bytes, a memref.dealloc of it (through views) removes them, the worst
// total is the peak. Ops with regions (serial loops, ifs) are walked once
// in order, i.e. one iteration of a loop (buffers allocated and freed in
// every iteration are counted once: they never coexist); a call adds the
// callee's own peak at the point of the call.
//
//===----------------------------------------------------------------------===//
#include "Internal.h"
#include "Passes.h"

#include "neuromancer/runtime/RuntimeSymbols.h"

#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Interfaces/DataLayoutInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

#include "llvm/ADT/DenseMap.h"

using namespace mlir;

namespace nm::codegen {

#define GEN_PASS_DEF_NMCPUCHECKTEMPBYTES
#define GEN_PASS_DEF_NMCPUCHECKALLOCATIONS
#include "compiler/codegen/cpu/Passes.h.inc"

namespace {

/// Attribute names of the estimate on a public function.
constexpr const char *kTempBytesAttr = "nm.temp_bytes";
constexpr const char *kTempBytesPerThreadAttr = "nm.temp_bytes_per_thread";

/// Bytes of a statically shaped allocation; 0 when its size is dynamic.
int64_t allocationBytes(memref::AllocOp alloc, const DataLayout &layout) {
  MemRefType type = alloc.getType();
  if (!type.hasStaticShape())
    return 0;
  int64_t bytes = layout.getTypeSize(type.getElementType()).getFixedValue();
  for (int64_t d : type.getShape())
    bytes = d > 0 && bytes > INT64_MAX / d ? INT64_MAX : bytes * d;
  return bytes;
}

/// The buffer a memref value is a view of.
Value bufferOf(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (auto view = dyn_cast<ViewLikeOpInterface>(def))
      v = view.getViewSource();
    else if (auto meta = dyn_cast<memref::ExtractStridedMetadataOp>(def))
      v = meta.getSource();
    else
      break;
  }
  return v;
}

int64_t saturatingAdd(int64_t a, int64_t b) {
  return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/// The peak estimate of every function of a module (see the file comment).
class TempBytes {
public:
  struct Estimate {
    int64_t peak = 0;      // alive at once, each body counted once
    int64_t perThread = 0; // largest parallel body called
  };

  explicit TempBytes(ModuleOp module) : module(module), layout(module) {}

  Estimate of(func::FuncOp func) {
    if (auto it = done.find(func); it != done.end())
      return it->second;
    done[func] = Estimate(); // a recursive call counts 0
    Walk walk(*this);
    for (Block &block : func.getBody())
      walk.block(block);
    Estimate e{walk.peak, walk.perThread};
    done[func] = e;
    return e;
  }

private:
  struct Walk {
    explicit Walk(TempBytes &self) : self(self) {}
    TempBytes &self;
    llvm::DenseMap<Value, int64_t> live;
    int64_t current = 0, peak = 0, perThread = 0;

    void block(Block &b) {
      for (Operation &op : b)
        visit(op);
    }
    void visit(Operation &op) {
      if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
        int64_t bytes = allocationBytes(alloc, self.layout);
        live[alloc.getResult()] = bytes;
        current = saturatingAdd(current, bytes);
        peak = std::max(peak, current);
      } else if (auto dealloc = dyn_cast<memref::DeallocOp>(op)) {
        auto it = live.find(bufferOf(dealloc.getMemref()));
        if (it != live.end()) {
          current -= it->second;
          live.erase(it);
        }
      } else if (auto call = dyn_cast<func::CallOp>(op)) {
        callee(call);
      }
      for (Region &region : op.getRegions())
        for (Block &b : region)
          block(b);
    }
    /// A body behind a parallel dispatch, or a function of the module.
    void callee(func::CallOp call) {
      StringRef name = call.getCallee();
      bool dispatch = name.consume_front(detail::kDispatchPrefix);
      auto func = self.module.lookupSymbol<func::FuncOp>(name);
      if (!func || func.isExternal())
        return;
      Estimate e = self.of(func);
      peak = std::max(peak, saturatingAdd(current, e.peak));
      perThread = std::max(perThread, dispatch ? e.peak : e.perThread);
    }
  };

  ModuleOp module;
  DataLayout layout;
  llvm::DenseMap<Operation *, Estimate> done;
};

/// The declaration of a runtime function, added to `module` if missing.
func::FuncOp runtimeFunction(ModuleOp module, StringRef name,
                             FunctionType type) {
  if (auto f = module.lookupSymbol<func::FuncOp>(name))
    return f;
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  auto f = func::FuncOp::create(b, module.getLoc(), name, type);
  f.setPrivate();
  return f;
}

/// At the entry of `func`: ask the runtime, return at once if refused.
void guardEntry(func::FuncOp func, TempBytes::Estimate e, func::FuncOp check) {
  Block *entry = &func.getBody().front();
  Block *body = entry->splitBlock(entry->begin());
  Location loc = func.getLoc();
  OpBuilder b = OpBuilder::atBlockEnd(entry);
  Value bytes = arith::ConstantIntOp::create(b, loc, e.peak, 64);
  Value perThread = arith::ConstantIntOp::create(b, loc, e.perThread, 64);
  Value status =
      func::CallOp::create(b, loc, check, ValueRange{bytes, perThread})
          .getResult(0);
  Value zero = arith::ConstantIntOp::create(b, loc, 0, 32);
  Value ok =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, status, zero);
  Block *refused = b.createBlock(&func.getBody(), func.getBody().end());
  func::ReturnOp::create(b, loc);
  b.setInsertionPointToEnd(entry);
  cf::CondBranchOp::create(b, loc, ok, body, refused);
}

struct NmCpuCheckTempBytes
    : impl::NmCpuCheckTempBytesBase<NmCpuCheckTempBytes> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    TempBytes estimate(module);
    SmallVector<func::FuncOp> publics;
    for (auto func : module.getOps<func::FuncOp>())
      if (func.isPublic() && !func.isExternal())
        publics.push_back(func);
    Builder b(module.getContext());
    for (func::FuncOp func : publics) {
      TempBytes::Estimate e = estimate.of(func);
      func->setAttr(kTempBytesAttr, b.getI64IntegerAttr(e.peak));
      func->setAttr(kTempBytesPerThreadAttr, b.getI64IntegerAttr(e.perThread));
      // Functions with results (not the out-param ABI) cannot return early
      // without values; the allocation checks still cover them.
      if (func.getNumResults() != 0)
        continue;
      func::FuncOp check =
          runtimeFunction(module, runtime_symbols::kCheckTempBytes,
                          b.getFunctionType({b.getI64Type(), b.getI64Type()},
                                            {b.getI32Type()}));
      guardEntry(func, e, check);
    }
  }
};

//===--- allocation checks (LLVM dialect) ---------------------------------===//

/// The block of `func` that returns (zero values when it has a result).
Block *failureBlock(LLVM::LLVMFuncOp func, Block *&cached) {
  if (cached)
    return cached;
  OpBuilder b(func.getContext());
  cached = b.createBlock(&func.getBody(), func.getBody().end());
  Location loc = func.getLoc();
  Type result = func.getFunctionType().getReturnType();
  if (isa<LLVM::LLVMVoidType>(result))
    LLVM::ReturnOp::create(b, loc, ValueRange{});
  else
    LLVM::ReturnOp::create(b, loc,
                           LLVM::ZeroOp::create(b, loc, result).getResult());
  return cached;
}

/// Splits the block after `call` and branches to `failed` when `bad`
/// (computed by `test` right after the call) is true.
void branchAfter(Operation *call, Block *failed,
                 llvm::function_ref<Value(OpBuilder &)> test) {
  Block *block = call->getBlock();
  Block *rest = block->splitBlock(call->getNextNode());
  OpBuilder b = OpBuilder::atBlockEnd(block);
  Value bad = test(b);
  LLVM::CondBrOp::create(b, call->getLoc(), bad, failed, rest);
}

bool isAllocation(StringRef callee) {
  return callee == "malloc" || callee == "aligned_alloc" ||
         callee == runtime_symbols::kAlloc;
}

struct NmCpuCheckAllocations
    : impl::NmCpuCheckAllocationsBase<NmCpuCheckAllocations> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = module.getContext();
    auto i32 = IntegerType::get(ctx, 32);
    LLVM::LLVMFuncOp failedFn;
    auto callFailed = [&]() {
      if (!failedFn)
        if (!(failedFn = module.lookupSymbol<LLVM::LLVMFuncOp>(
                  runtime_symbols::kCallFailed))) {
          OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
          failedFn = LLVM::LLVMFuncOp::create(
              b, module.getLoc(), runtime_symbols::kCallFailed,
              LLVM::LLVMFunctionType::get(i32, {}));
        }
      return failedFn;
    };
    SmallVector<LLVM::LLVMFuncOp> funcs(module.getOps<LLVM::LLVMFuncOp>());
    for (LLVM::LLVMFuncOp func : funcs) {
      if (func.isExternal())
        continue;
      SmallVector<LLVM::CallOp> allocs, calls;
      func.walk([&](LLVM::CallOp call) {
        std::optional<StringRef> name = call.getCallee();
        if (!name)
          return;
        if (isAllocation(*name))
          allocs.push_back(call);
        else if (name->starts_with(detail::kDispatchPrefix) ||
                 (!name->starts_with(runtime_symbols::kPrefix) && [&] {
                   auto f = module.lookupSymbol<LLVM::LLVMFuncOp>(*name);
                   return f && !f.isExternal();
                 }()))
          calls.push_back(call);
      });
      Block *failed = nullptr;
      for (LLVM::CallOp call : allocs)
        branchAfter(call, failureBlock(func, failed), [&](OpBuilder &b) {
          Location loc = call.getLoc();
          Value null = LLVM::ZeroOp::create(b, loc, call.getResult().getType());
          return LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::eq,
                                      call.getResult(), null)
              .getResult();
        });
      for (LLVM::CallOp call : calls)
        branchAfter(call, failureBlock(func, failed), [&](OpBuilder &b) {
          Location loc = call.getLoc();
          Value status =
              LLVM::CallOp::create(b, loc, callFailed(), ValueRange{})
                  .getResult();
          Value zero = LLVM::ConstantOp::create(b, loc, i32, 0);
          return LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::ne, status,
                                      zero)
              .getResult();
        });
    }
  }
};

} // namespace
} // namespace nm::codegen
