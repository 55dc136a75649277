//===- LoweringConfig.cpp - how one structured op is tiled ----------------===//
#include "LoweringConfig.h"
#include "CodegenDialect.h"

#include "mlir/IR/Builders.h"

#include "llvm/ADT/Twine.h"

using namespace mlir;

namespace nm::codegen::cpu {

namespace {

/// The array, if it has one element per loop.
template <typename T>
std::optional<ArrayRef<T>> perLoop(mlir::detail::DenseArrayAttrImpl<T> a,
                                   unsigned numLoops) {
  if (!a || a.size() != static_cast<int64_t>(numLoops))
    return std::nullopt;
  return a.asArrayRef();
}

/// A hand-written `nm.lowering_config` dictionary (tests, tuning; nm-opt
/// does not parse #nm_cpu attributes in its input): `tile_sizes` and
/// optionally `peel`, `generalize`, `thread_tiles`, `thread_order`,
/// `channel_dim`, `channel_tile`, `channel_peel`.
std::optional<OpSchedule> fromDictionary(DictionaryAttr d, unsigned numLoops) {
  OpSchedule s;
  auto tiles = perLoop(d.getAs<DenseI64ArrayAttr>("tile_sizes"), numLoops);
  if (!tiles)
    return std::nullopt;
  s.tileSizes.assign(tiles->begin(), tiles->end());
  s.peel.assign(numLoops, false);
  if (auto peel = perLoop(d.getAs<DenseBoolArrayAttr>("peel"), numLoops))
    s.peel.assign(peel->begin(), peel->end());
  if (auto g = d.getAs<BoolAttr>("generalize"))
    s.generalize = g.getValue();
  if (auto t = perLoop(d.getAs<DenseI64ArrayAttr>("thread_tiles"), numLoops)) {
    s.threadTiles.assign(t->begin(), t->end());
    s.threadOrder.assign(numLoops, 0);
    if (auto order =
            perLoop(d.getAs<DenseI64ArrayAttr>("thread_order"), numLoops))
      s.threadOrder.assign(order->begin(), order->end());
  }
  if (auto c = d.getAs<IntegerAttr>("channel_tile")) {
    s.channelTile = c.getInt();
    if (auto dim = d.getAs<IntegerAttr>("channel_dim"))
      s.channelDim = dim.getInt();
    if (auto p = d.getAs<BoolAttr>("channel_peel"))
      s.channelPeel = p.getValue();
  }
  return s;
}

std::optional<OpSchedule> fromTyped(LoweringConfigAttr c, unsigned numLoops) {
  OpSchedule s;
  auto tiles = perLoop(c.getTileSizes(), numLoops);
  if (!tiles)
    return std::nullopt;
  s.tileSizes.assign(tiles->begin(), tiles->end());
  s.peel.assign(numLoops, false);
  if (auto peel = perLoop(c.getPeel(), numLoops))
    s.peel.assign(peel->begin(), peel->end());
  s.generalize = c.getGeneralize();
  if (auto t = perLoop(c.getThreadTiles(), numLoops)) {
    s.threadTiles.assign(t->begin(), t->end());
    s.threadOrder.assign(numLoops, 0);
    if (auto order = perLoop(c.getThreadOrder(), numLoops))
      s.threadOrder.assign(order->begin(), order->end());
  }
  s.channelTile = c.getChannelTile();
  s.channelDim = c.getChannelDim();
  s.channelPeel = c.getChannelPeel();
  if (DenseI64ArrayAttr fused = c.getFused())
    s.fused.assign(fused.asArrayRef().begin(), fused.asArrayRef().end());
  s.isFused = c.getIsFused();
  if (auto r = perLoop(c.getReductionDims(), numLoops)) {
    s.fuseInitFill = true;
    s.reductionDims.assign(r->begin(), r->end());
  }
  s.inConsumerTile = c.getInConsumerTile();
  if (Attribute r = c.getRemainder())
    if (std::optional<OpSchedule> rem = fromAttr(r, numLoops))
      s.remainder = std::make_shared<OpSchedule>(std::move(*rem));
  return s;
}

} // namespace

LoweringConfigAttr toAttr(MLIRContext *ctx, const OpSchedule &s) {
  Builder b(ctx);
  DenseI64ArrayAttr threadTiles, threadOrder, fused;
  if (!s.threadTiles.empty()) {
    threadTiles = b.getDenseI64ArrayAttr(s.threadTiles);
    threadOrder = b.getDenseI64ArrayAttr(s.threadOrder);
  }
  if (!s.fused.empty())
    fused = b.getDenseI64ArrayAttr(
        SmallVector<int64_t>(s.fused.begin(), s.fused.end()));
  DenseBoolArrayAttr reductionDims;
  if (s.fuseInitFill)
    reductionDims = b.getDenseBoolArrayAttr(s.reductionDims);
  Attribute remainder;
  if (s.remainder)
    remainder = toAttr(ctx, *s.remainder);
  // The channel loop's fields only where there is one.
  bool channels = s.channelTile != 0;
  return LoweringConfigAttr::get(
      ctx, b.getDenseI64ArrayAttr(s.tileSizes), b.getDenseBoolArrayAttr(s.peel),
      s.generalize, threadTiles, threadOrder, channels ? s.channelDim : -1,
      s.channelTile, channels && s.channelPeel, fused, s.isFused, reductionDims,
      s.inConsumerTile, remainder);
}

std::optional<OpSchedule> fromAttr(Attribute a, unsigned numLoops) {
  std::optional<OpSchedule> s;
  if (auto typed = dyn_cast_or_null<LoweringConfigAttr>(a))
    s = fromTyped(typed, numLoops);
  else if (auto dictionary = dyn_cast_or_null<DictionaryAttr>(a))
    s = fromDictionary(dictionary, numLoops);
  if (s && (s->channelDim < 0 || s->channelDim >= int64_t(numLoops)))
    s->channelTile = 0;
  return s;
}

void attachSchedules(ModuleOp module, ArrayRef<Operation *> ops,
                     std::vector<OpSchedule> &schedules) {
  assert(ops.size() == schedules.size() && "one schedule per op");
  MLIRContext *ctx = module.getContext();
  SmallVector<Attribute> list;
  for (auto [op, s] : llvm::zip_equal(ops, schedules)) {
    LoweringConfigAttr config = toAttr(ctx, s);
    op->setAttr(s.tag, UnitAttr::get(ctx));
    op->setAttr(kLoweringConfig, config);
    list.push_back(config);
  }
  module->setAttr(kSchedules, ArrayAttr::get(ctx, list));
}

std::vector<OpSchedule> loadSchedules(ModuleOp module) {
  std::vector<OpSchedule> schedules;
  auto list = module->getAttrOfType<ArrayAttr>(kSchedules);
  if (!list)
    return schedules;
  for (auto [k, config] :
       llvm::enumerate(list.getAsRange<LoweringConfigAttr>())) {
    assert(config && "malformed schedule list");
    std::optional<OpSchedule> s =
        fromAttr(config, config.getTileSizes().size());
    assert(s && "a stored schedule fits its op");
    s->tag = (kTagPrefix + llvm::Twine(k)).str();
    schedules.push_back(std::move(*s));
  }
  return schedules;
}

void clearSchedules(ModuleOp module) {
  module->removeAttr(kSchedules);
  module.walk([&](Operation *op) {
    SmallVector<StringAttr> tags;
    for (NamedAttribute a : op->getDiscardableAttrs())
      if (a.getName().getValue().starts_with(kTagPrefix) ||
          a.getName() == kLoweringConfig)
        tags.push_back(a.getName());
    for (StringAttr t : tags)
      op->removeAttr(t);
  });
}

} // namespace nm::codegen::cpu
