//===- Parallel.cpp - outermost scf.forall loops onto the thread pool -----===//
//
// After bufferization, every outermost scf.forall (the thread-level tile
// loop of a big op, see scheduleFor in KernelDispatch.cpp) is outlined:
//
//   scf.forall (%i, %j) in (A, B) { body }
//
// becomes a private function over a range of the linearised iteration
// space,
//
//   func.func private @f__par0(%cap0: memref<...>, ..., %begin: index,
//                              %end: index) {
//     scf.for %k = %begin to %end { %i = %k / B; %j = %k % B; body }
//   }
//
// and the loop itself a call of the declaration
//
//   func.call @nm_dispatch.f__par0(%cap0, ..., %n)   // n = A * B
//
// which Emit.cpp rewrites in LLVM IR into a context struct holding the
// captured values and a call of nm_runtime_parallel_for(trampoline, ctx, n)
// (runtime/ThreadPool.h); the trampoline unpacks the struct and calls the
// body. Captured values are memrefs with the identity layout (bare
// pointers), integers, indices and floats; constants and view-like ops
// (subview, expand/collapse_shape, ...) defined above the loop are cloned
// into the body instead. A loop whose captures do not fit stays serial
// (scf-forall-to-for lowers it later).
//
//===----------------------------------------------------------------------===//
#include "Internal.h"
#include "Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/DeviceMappingInterface.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/Transforms/RegionUtils.h"

#include "llvm/ADT/SetVector.h"

using namespace mlir;

namespace nm::codegen::detail {

namespace {

/// Ops defined above a parallel loop that are cheaper to recompute in the
/// body than to pass in: constants and pure view-like ops.
bool rematerializable(Operation *op) {
  if (!op || op->getNumRegions() != 0 || op->getNumResults() != 1)
    return false;
  if (op->hasTrait<OpTrait::ConstantLike>())
    return true;
  if (!isPure(op))
    return false;
  return isa<ViewLikeOpInterface, memref::ExpandShapeOp,
             memref::CollapseShapeOp, memref::ReinterpretCastOp>(op) ||
         isa<arith::ArithDialect, affine::AffineDialect>(op->getDialect());
}

bool passable(Type type) {
  if (auto m = dyn_cast<MemRefType>(type))
    return m.hasStaticShape() && m.getLayout().isIdentity() &&
           m.getMemorySpace() == nullptr;
  return type.isIntOrIndexOrFloat();
}

/// The values the body must receive, and the ops to clone into it, in
/// dominance order. Fails if a capture cannot be passed.
LogicalResult collectCaptures(scf::ForallOp loop,
                              SmallVectorImpl<Value> &captures,
                              SmallVectorImpl<Operation *> &clones) {
  llvm::SetVector<Value> above;
  getUsedValuesDefinedAbove(loop.getRegion(), loop.getRegion(), above);
  llvm::SetVector<Operation *> toClone;
  llvm::SetVector<Value> passed;
  SmallVector<Value> work(above.begin(), above.end());
  while (!work.empty()) {
    Value v = work.pop_back_val();
    Operation *def = v.getDefiningOp();
    if (rematerializable(def)) {
      if (toClone.insert(def))
        for (Value operand : def->getOperands())
          work.push_back(operand);
      continue;
    }
    if (!passable(v.getType()))
      return failure();
    passed.insert(v);
  }
  captures.assign(passed.begin(), passed.end());
  clones.assign(toClone.begin(), toClone.end());
  // Dominance order: all clones are in the same block chain above the
  // loop; sort by position (ops in enclosing blocks come first).
  llvm::sort(clones, [](Operation *a, Operation *b) {
    if (a->getBlock() == b->getBlock())
      return a->isBeforeInBlock(b);
    return b->getParentRegion()->isProperAncestor(a->getParentRegion());
  });
  return success();
}

/// A static buffer allocated and freed in every iteration of a body's task
/// loop (the tile of a fused producer) is allocated once per body call
/// instead: the body runs on one thread, so its tasks can share it.
void hoistTaskBuffers(scf::ForOp loop) {
  Block *body = loop.getBody();
  SmallVector<memref::AllocOp> allocs;
  for (Operation &op : *body)
    if (auto alloc = dyn_cast<memref::AllocOp>(op);
        alloc && alloc.getType().hasStaticShape() &&
        alloc.getDynamicSizes().empty() && alloc.getSymbolOperands().empty())
      allocs.push_back(alloc);
  for (memref::AllocOp alloc : allocs) {
    memref::DeallocOp dealloc;
    bool ok = true;
    for (Operation *user : alloc->getUsers()) {
      if (auto d = dyn_cast<memref::DeallocOp>(user)) {
        if (dealloc || d->getBlock() != body)
          ok = false;
        dealloc = d;
      } else if (!loop->isAncestor(user)) {
        ok = false;
      }
    }
    if (!ok || !dealloc)
      continue;
    alloc->moveBefore(loop);
    dealloc->moveAfter(loop);
  }
}

/// Outlines one loop; false if it must stay serial.
bool outline(scf::ForallOp loop, func::FuncOp parent, unsigned index,
             ModuleOp module) {
  ArrayRef<int64_t> lbs = loop.getStaticLowerBound(),
                    ubs = loop.getStaticUpperBound(),
                    steps = loop.getStaticStep();
  if (llvm::any_of(llvm::concat<const int64_t>(lbs, ubs, steps),
                   ShapedType::isDynamic) ||
      !loop.getOutputs().empty())
    return false;
  SmallVector<int64_t> counts;
  int64_t total = 1;
  for (size_t d = 0; d < lbs.size(); ++d) {
    int64_t c = steps[d] > 0 ? (ubs[d] - lbs[d] + steps[d] - 1) / steps[d] : 0;
    counts.push_back(std::max<int64_t>(c, 0));
    total *= counts.back();
  }
  if (total < 2)
    return false;
  SmallVector<Value> captures;
  SmallVector<Operation *> clones;
  if (failed(collectCaptures(loop, captures, clones)))
    return false;

  MLIRContext *ctx = module.getContext();
  std::string name = (parent.getSymName() + "__par" + llvm::Twine(index)).str();
  OpBuilder mb(ctx);
  mb.setInsertionPointAfter(parent);
  Location loc = loop.getLoc();
  IndexType indexType = mb.getIndexType();

  // The body: (captures..., begin, end).
  SmallVector<Type> argTypes;
  for (Value v : captures)
    argTypes.push_back(v.getType());
  argTypes.push_back(indexType);
  argTypes.push_back(indexType);
  auto body = func::FuncOp::create(mb, loc, name,
                                   mb.getFunctionType(argTypes, TypeRange{}));
  body.setPrivate();
  Block *entry = body.addEntryBlock();
  OpBuilder b = OpBuilder::atBlockBegin(entry);
  IRMapping map;
  for (auto [i, v] : llvm::enumerate(captures))
    map.map(v, entry->getArgument(i));
  for (Operation *op : clones)
    b.clone(*op, map);
  Value begin = entry->getArgument(captures.size());
  Value end = entry->getArgument(captures.size() + 1);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  auto forOp = scf::ForOp::create(b, loc, begin, end, one);
  func::ReturnOp::create(b, loc);
  b.setInsertionPointToStart(forOp.getBody());
  // Delinearise: the last dim varies fastest, unless the loop's mapping
  // orders the dims (mapping ids ascending = fastest first, e.g.
  // #gpu.block<linear_dim_0> fastest).
  SmallVector<int64_t> order; // fastest first
  for (int64_t d = lbs.size() - 1; d >= 0; --d)
    order.push_back(d);
  if (std::optional<ArrayAttr> mapping = loop.getMapping();
      mapping && mapping->size() == lbs.size()) {
    SmallVector<int64_t> ids;
    for (Attribute a : *mapping)
      if (auto m = dyn_cast<DeviceMappingAttrInterface>(a))
        ids.push_back(m.getMappingId());
    if (ids.size() == lbs.size())
      llvm::stable_sort(order,
                        [&](int64_t x, int64_t y) { return ids[x] < ids[y]; });
  }
  Value rest = forOp.getInductionVar();
  SmallVector<Value> ivs(lbs.size());
  for (auto [k, d] : llvm::enumerate(order)) {
    bool last = k + 1 == order.size();
    Value c = arith::ConstantIndexOp::create(b, loc, counts[d]);
    Value idx = last ? rest : arith::RemUIOp::create(b, loc, rest, c);
    if (!last)
      rest = arith::DivUIOp::create(b, loc, rest, c);
    Value iv = idx;
    if (steps[d] != 1)
      iv = arith::MulIOp::create(
          b, loc, iv, arith::ConstantIndexOp::create(b, loc, steps[d]));
    if (lbs[d] != 0)
      iv = arith::AddIOp::create(
          b, loc, iv, arith::ConstantIndexOp::create(b, loc, lbs[d]));
    ivs[d] = iv;
  }
  for (auto [iv, arg] : llvm::zip(loop.getInductionVars(), ivs))
    map.map(iv, arg);
  for (Operation &op : loop.getBody()->without_terminator())
    b.clone(op, map);
  hoistTaskBuffers(forOp);

  // The dispatch declaration and the call that replaces the loop.
  SmallVector<Type> dispatchTypes;
  for (Value v : captures)
    dispatchTypes.push_back(v.getType());
  dispatchTypes.push_back(indexType);
  auto dispatch =
      func::FuncOp::create(mb, loc, (llvm::Twine(kDispatchPrefix) + name).str(),
                           mb.getFunctionType(dispatchTypes, TypeRange{}));
  dispatch.setPrivate();
  OpBuilder cb(loop);
  SmallVector<Value> operands(captures.begin(), captures.end());
  operands.push_back(arith::ConstantIndexOp::create(cb, loc, total));
  func::CallOp::create(cb, loc, dispatch, operands);
  loop.erase();
  return true;
}

} // namespace

void outlineParallelLoops(ModuleOp module) {
  SmallVector<func::FuncOp> funcs(module.getOps<func::FuncOp>());
  for (func::FuncOp func : funcs) {
    if (func.isExternal())
      continue;
    SmallVector<scf::ForallOp> loops;
    func.walk<WalkOrder::PreOrder>([&](scf::ForallOp loop) {
      loops.push_back(loop);
      return WalkResult::skip(); // nested loops stay in their body
    });
    unsigned index = 0;
    for (scf::ForallOp loop : loops)
      if (outline(loop, func, index, module))
        ++index;
  }
}

} // namespace nm::codegen::detail

namespace nm::codegen {

#define GEN_PASS_DEF_NMCPUOUTLINEPARALLEL
#include "compiler/codegen/cpu/Passes.h.inc"

namespace {

struct NmCpuOutlineParallel
    : impl::NmCpuOutlineParallelBase<NmCpuOutlineParallel> {
  void runOnOperation() override {
    detail::outlineParallelLoops(getOperation());
  }
};

} // namespace
} // namespace nm::codegen
