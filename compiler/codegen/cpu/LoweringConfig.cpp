//===- LoweringConfig.cpp - how one structured op is tiled ----------------===//
#include "LoweringConfig.h"

#include "mlir/IR/Builders.h"

#include "llvm/ADT/Twine.h"

using namespace mlir;

namespace nm::codegen::cpu {

DictionaryAttr toAttr(MLIRContext *ctx, const OpSchedule &s) {
  Builder b(ctx);
  SmallVector<NamedAttribute> a{
      b.getNamedAttr("tile_sizes", b.getDenseI64ArrayAttr(s.tileSizes)),
      b.getNamedAttr("peel", b.getDenseBoolArrayAttr(s.peel)),
      b.getNamedAttr("generalize", b.getBoolAttr(s.generalize))};
  if (!s.threadTiles.empty()) {
    a.push_back(
        b.getNamedAttr("thread_tiles", b.getDenseI64ArrayAttr(s.threadTiles)));
    a.push_back(
        b.getNamedAttr("thread_order", b.getDenseI64ArrayAttr(s.threadOrder)));
  }
  if (s.channelTile) {
    a.push_back(
        b.getNamedAttr("channel_dim", b.getI64IntegerAttr(s.channelDim)));
    a.push_back(
        b.getNamedAttr("channel_tile", b.getI64IntegerAttr(s.channelTile)));
    a.push_back(b.getNamedAttr("channel_peel", b.getBoolAttr(s.channelPeel)));
  }
  // Fusion: the group a root leads, a member's place in it.
  if (!s.fused.empty()) {
    SmallVector<int64_t> fused(s.fused.begin(), s.fused.end());
    a.push_back(b.getNamedAttr("fused", b.getDenseI64ArrayAttr(fused)));
  }
  if (s.isFused)
    a.push_back(b.getNamedAttr("is_fused", b.getUnitAttr()));
  if (s.fuseInitFill) {
    a.push_back(b.getNamedAttr("fuse_init_fill", b.getUnitAttr()));
    a.push_back(b.getNamedAttr("reduction_dims",
                               b.getDenseBoolArrayAttr(s.reductionDims)));
  }
  if (s.inConsumerTile)
    a.push_back(b.getNamedAttr("in_consumer_tile", b.getUnitAttr()));
  if (s.remainder)
    a.push_back(b.getNamedAttr("remainder", toAttr(ctx, *s.remainder)));
  return b.getDictionaryAttr(a);
}

std::optional<OpSchedule> fromAttr(DictionaryAttr d, unsigned numLoops) {
  OpSchedule s;
  auto tiles = d.getAs<DenseI64ArrayAttr>("tile_sizes");
  if (!tiles || tiles.size() != static_cast<int64_t>(numLoops))
    return std::nullopt;
  s.tileSizes.assign(tiles.asArrayRef().begin(), tiles.asArrayRef().end());
  s.peel.assign(numLoops, false);
  if (auto peel = d.getAs<DenseBoolArrayAttr>("peel");
      peel && peel.size() == static_cast<int64_t>(numLoops))
    s.peel.assign(peel.asArrayRef().begin(), peel.asArrayRef().end());
  if (auto g = d.getAs<BoolAttr>("generalize"))
    s.generalize = g.getValue();
  if (auto t = d.getAs<DenseI64ArrayAttr>("thread_tiles");
      t && t.size() == static_cast<int64_t>(numLoops)) {
    s.threadTiles.assign(t.asArrayRef().begin(), t.asArrayRef().end());
    s.threadOrder.assign(numLoops, 0);
    if (auto order = d.getAs<DenseI64ArrayAttr>("thread_order");
        order && order.size() == static_cast<int64_t>(numLoops))
      s.threadOrder.assign(order.asArrayRef().begin(),
                           order.asArrayRef().end());
  }
  if (auto c = d.getAs<IntegerAttr>("channel_tile")) {
    s.channelTile = c.getInt();
    if (auto dim = d.getAs<IntegerAttr>("channel_dim"))
      s.channelDim = dim.getInt();
    if (auto p = d.getAs<BoolAttr>("channel_peel"))
      s.channelPeel = p.getValue();
    if (s.channelDim < 0 || s.channelDim >= static_cast<int64_t>(numLoops))
      s.channelTile = 0;
  }
  if (auto fused = d.getAs<DenseI64ArrayAttr>("fused"))
    s.fused.assign(fused.asArrayRef().begin(), fused.asArrayRef().end());
  s.isFused = d.get("is_fused") != nullptr;
  if (auto r = d.getAs<DenseBoolArrayAttr>("reduction_dims");
      r && d.get("fuse_init_fill") &&
      r.size() == static_cast<int64_t>(numLoops)) {
    s.fuseInitFill = true;
    s.reductionDims.assign(r.asArrayRef().begin(), r.asArrayRef().end());
  }
  s.inConsumerTile = d.get("in_consumer_tile") != nullptr;
  if (auto r = d.getAs<DictionaryAttr>("remainder"))
    if (std::optional<OpSchedule> rem = fromAttr(r, numLoops))
      s.remainder = std::make_shared<OpSchedule>(std::move(*rem));
  return s;
}

void attachSchedules(ModuleOp module, ArrayRef<Operation *> ops,
                     std::vector<OpSchedule> &schedules) {
  assert(ops.size() == schedules.size() && "one schedule per op");
  MLIRContext *ctx = module.getContext();
  SmallVector<Attribute> list;
  for (auto [op, s] : llvm::zip_equal(ops, schedules)) {
    DictionaryAttr config = toAttr(ctx, s);
    op->setAttr(s.tag, UnitAttr::get(ctx));
    op->setAttr(kLoweringConfig, config);
    list.push_back(DictionaryAttr::get(
        ctx, {NamedAttribute(StringAttr::get(ctx, "loops"),
                             IntegerAttr::get(IntegerType::get(ctx, 64),
                                              s.tileSizes.size())),
              NamedAttribute(StringAttr::get(ctx, "config"), config)}));
  }
  module->setAttr(kSchedules, ArrayAttr::get(ctx, list));
}

std::vector<OpSchedule> loadSchedules(ModuleOp module) {
  std::vector<OpSchedule> schedules;
  auto list = module->getAttrOfType<ArrayAttr>(kSchedules);
  if (!list)
    return schedules;
  for (auto [k, entry] : llvm::enumerate(list.getAsRange<DictionaryAttr>())) {
    auto loops = entry.getAs<IntegerAttr>("loops");
    auto config = entry.getAs<DictionaryAttr>("config");
    assert(loops && config && "malformed schedule list");
    std::optional<OpSchedule> s = fromAttr(config, loops.getInt());
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
