//===- TileAndFuse.cpp - applying the selected schedules ------------------===//
//
// nm-cpu-tile-and-fuse (script A: channel and thread-level loops with the
// groups' producers fused in) and nm-cpu-tile-registers (register tiles:
// convs with their init fill fused, then script B), both driven by the
// schedules nm-cpu-select-lowering-config stored (LoweringConfig.h).
//
//===----------------------------------------------------------------------===//
#include "LoweringConfig.h"
#include "Passes.h"
#include "TransformSchedule.h"
#include "neuromancer/compiler/codegen/common/Utils.h"

#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace nm::codegen {

#define GEN_PASS_DEF_NMCPUTILEANDFUSE
#define GEN_PASS_DEF_NMCPUTILEREGISTERS
#include "compiler/codegen/cpu/Passes.h.inc"

namespace cpu {
namespace {

/// The schedule of a tagged payload op: its op's, or that of the copies in
/// a peeled channel remainder.
const OpSchedule *scheduleOf(Operation *op,
                             const std::vector<OpSchedule> &ops) {
  for (NamedAttribute a : op->getDiscardableAttrs()) {
    StringRef name = a.getName().getValue();
    unsigned k;
    if (!name.consume_front(kTagPrefix) || name.getAsInteger(10, k) ||
        k >= ops.size())
      continue;
    if (op->hasAttr(kRemainderMark) && ops[k].remainder)
      return ops[k].remainder.get();
    return &ops[k];
  }
  return nullptr;
}

/// Register tiles of the parallel dims of the convs scheduled with
/// fuseInitFill, each with its own copy of the init fill, peeled as
/// scheduled (innermost first, as emitRegisterSchedule); script B tiles
/// their reduction dims. (transform.structured.fuse would fuse every
/// producer into the tiles: the weights' padding and transposes too.)
LogicalResult tileParallelFusingInitFill(ModuleOp module,
                                         const std::vector<OpSchedule> &ops) {
  SmallVector<std::pair<TilingInterface, const OpSchedule *>> convs;
  module.walk([&](TilingInterface op) {
    if (const OpSchedule *s = scheduleOf(op, ops); s && s->fuseInitFill)
      convs.push_back({op, s});
  });
  MLIRContext *ctx = module.getContext();
  IRRewriter rewriter(ctx);
  for (auto [conv, s] : convs) {
    SmallVector<int64_t> sizes(s->tileSizes);
    SmallVector<unsigned> tiledDims;
    for (auto [d, size] : llvm::enumerate(sizes)) {
      if (s->reductionDims[d])
        size = 0;
      if (size)
        tiledDims.push_back(d);
    }
    scf::SCFTileAndFuseOptions options;
    options.tilingOptions.setTileSizes(getAsIndexOpFoldResult(ctx, sizes));
    options.setFusionControlFn(
        [](tensor::ExtractSliceOp, OpResult producer,
           bool) -> std::optional<scf::SCFTileAndFuseOptions::ControlFnResult> {
          if (isa<linalg::FillOp>(producer.getOwner()))
            return scf::SCFTileAndFuseOptions::ControlFnResult{};
          return std::nullopt;
        });
    rewriter.setInsertionPoint(conv);
    FailureOr<scf::SCFTileAndFuseResult> tiled =
        scf::tileConsumerAndFuseProducersUsingSCF(rewriter, conv, options);
    if (failed(tiled))
      return conv.emitError("cannot tile the conv with its init fill");
    SmallVector<Operation *> replaced{conv};
    llvm::append_range(replaced, tiled->fusedProducers);
    for (Operation *op : replaced) {
      for (OpResult result : op->getResults())
        if (Value v = tiled->replacements.lookup(result))
          rewriter.replaceAllUsesWith(result, v);
      if (op->use_empty())
        rewriter.eraseOp(op);
    }
    for (int l = tiled->loops.size() - 1; l >= 0; --l) {
      auto loop = dyn_cast<scf::ForOp>(tiled->loops[l].getOperation());
      scf::ForOp remainder;
      if (loop && s->peel[tiledDims[l]] &&
          failed(scf::peelForLoopAndSimplifyBounds(rewriter, loop, remainder)))
        return loop.emitError("cannot peel the register tile loop");
    }
  }
  return success();
}

/// Runs `script`, printed first on request.
LogicalResult runSchedule(ModuleOp module, const std::string &script,
                          bool dump) {
  if (dump)
    llvm::errs() << script;
  return runTransformScript(module, script);
}

struct NmCpuTileAndFuse : impl::NmCpuTileAndFuseBase<NmCpuTileAndFuse> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::vector<OpSchedule> ops = loadSchedules(module);
    if (failed(runSchedule(module, scheduleScript(ops), dumpSchedule)))
      return signalPassFailure();
    RewritePatternSet patterns(module.getContext());
    tensor::populateFoldTensorEmptyPatterns(patterns);
    addCanonicalizationPatterns(patterns);
    if (failed(applyPatternsGreedily(module, std::move(patterns))))
      signalPassFailure();
  }
};

struct NmCpuTileRegisters : impl::NmCpuTileRegistersBase<NmCpuTileRegisters> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::vector<OpSchedule> ops = loadSchedules(module);
    if (failed(tileParallelFusingInitFill(module, ops)) ||
        failed(runSchedule(module, registerScript(ops), dumpSchedule)))
      signalPassFailure();
  }
};

} // namespace
} // namespace cpu
} // namespace nm::codegen
