//===- KernelDispatch.cpp - lowering-config selection ---------------------===//
//
// How each structured op is tiled: per-op tiles (scheduleFor) and the
// groups that run as one loop nest (selectLoweringConfigs). The numbers
// behind the choices are in the comments and CodeGen.h.
//
//===----------------------------------------------------------------------===//
#include "KernelDispatch.h"
#include "OpGroups.h"
#include "Passes.h"

#include "llvm/ADT/DenseMap.h"

#include <tuple>

using namespace mlir;

namespace nm::codegen {

#define GEN_PASS_DEF_NMCPUSELECTLOWERINGCONFIG
#include "compiler/codegen/cpu/Passes.h.inc"

namespace cpu {

namespace {

/// Largest divisor of n that is <= cap (>= 1).
int64_t divisorAtMost(int64_t n, int64_t cap) {
  for (int64_t d = std::min(n, std::max<int64_t>(cap, 1)); d > 1; --d)
    if (n % d == 0)
      return d;
  return 1;
}

/// Tile of each of the two inner dims of a transpose.
constexpr int64_t kTransposeTile = 16;

/// For an all-parallel op that writes its outputs in loop order and reads
/// an input whose innermost dim is indexed by a loop other than the
/// innermost one: that loop.
std::optional<unsigned> transposedInputDim(linalg::LinalgOp op) {
  unsigned n = op.getNumLoops();
  if (n < 2 || op.getNumReductionLoops() != 0)
    return std::nullopt;
  for (OpOperand &out : op.getDpsInitsMutable())
    if (!op.getMatchingIndexingMap(&out).isIdentity())
      return std::nullopt;
  for (OpOperand *in : op.getDpsInputOperands()) {
    AffineMap map = op.getMatchingIndexingMap(in);
    if (map.getNumResults() < 2)
      continue;
    auto last = dyn_cast<AffineDimExpr>(map.getResults().back());
    if (last && last.getPosition() != n - 1)
      return last.getPosition();
  }
  return std::nullopt;
}

/// Thread-level tiles of one iteration over the parallel loops that the
/// register schedule leaves at tile 1 (batch, outer spatial dims; never the
/// innermost loop, which the vectoriser works on), outermost first, until
/// there are kParallelIterations tasks. The last of them varies fastest.
void distribute(linalg::LinalgOp op, ArrayRef<int64_t> ranges, OpSchedule &s) {
  int64_t work = 1, outer = 1;
  for (int64_t r : ranges)
    work *= r;
  if (work < kMinParallelWork)
    return;
  SmallVector<utils::IteratorType> its = op.getIteratorTypesArray();
  SmallVector<int64_t> threads(ranges.size(), 0);
  SmallVector<unsigned> dims;
  for (size_t i = 0; i + 1 < ranges.size() && outer < kParallelIterations;
       ++i) {
    if (its[i] != utils::IteratorType::parallel || s.tileSizes[i] != 1 ||
        ranges[i] < 2 || static_cast<int64_t>(i) == s.channelDim)
      continue;
    threads[i] = 1;
    s.tileSizes[i] = 0;
    outer *= ranges[i];
    dims.push_back(i);
  }
  if (outer < 2)
    return;
  s.threadTiles = std::move(threads);
  s.threadOrder.assign(ranges.size(), 0);
  for (auto [k, d] : llvm::enumerate(llvm::reverse(dims)))
    s.threadOrder[d] = k;
}

/// Register-tile columns (output channels) for a tile of `channels`
/// channels: all of them up to tileCols, else vectors of 2 (an even count)
/// or 3 (an odd one; the loop peels a last tile of 2). Measured on conv
/// tiles (rows x 2 or 3 vectors, 28 or 27 accumulators): both run at the
/// same speed, a tile of one vector (one FMA per broadcast input) at two
/// thirds of it, and one of 4 vectors (7 rows) slower still.
int64_t columnTile(int64_t channels, const CompileOptions &o) {
  int64_t widest = std::max<int64_t>(o.tileCols / kVectorLanes, 1);
  if (channels <= o.tileCols)
    return channels;
  if (channels % kVectorLanes != 0 || widest < 3)
    return o.tileCols;
  int64_t vectors = channels / kVectorLanes;
  return (vectors % 2 == 0 ? 2 : 3) * kVectorLanes;
}

} // namespace

/// Channels per iteration of the serial channel loop over `channels`
/// output channels (0: no loop). Tiles of 2 or 3 vectors, chosen so that
/// no tile of a single vector is left: 2 for an even vector count; 3 when
/// the remainder is 0 or 2; else 4 (register tiles 2 + 2) when that leaves
/// 3, or 5 (register tiles 3 + 2), leaving 2 to 4. With tileCols below 3
/// vectors: tileCols.
int64_t channelTile(int64_t channels, const CompileOptions &o) {
  if (channels <= o.tileCols)
    return 0;
  int64_t widest = std::max<int64_t>(o.tileCols / kVectorLanes, 1);
  if (channels % kVectorLanes != 0 || widest < 3)
    return o.tileCols;
  int64_t vectors = channels / kVectorLanes;
  if (vectors % 2 == 0)
    return 2 * kVectorLanes;
  if (vectors % 3 != 1)
    return 3 * kVectorLanes;
  return (vectors % 4 == 3 ? 4 : 5) * kVectorLanes;
}

namespace {

/// Rows of a register tile over a loop of n output rows, `vectors` wide:
/// tileRows, or a nearby count (between 3/4 and 7/4 of it, at most 28
/// accumulators) that needs fewer tile passes, preferring one that divides
/// n (no remainder tile) and then the one whose remainder tile is fullest.
int64_t rowTile(int64_t n, int64_t vectors, const CompileOptions &o) {
  int64_t base = std::max<int64_t>(o.tileRows, 1);
  if (n <= base)
    return n;
  int64_t zmm = std::max<int64_t>(vectors, 1);
  int64_t hi = std::min<int64_t>(base * 7 / 4, 28 / zmm);
  int64_t lo = std::max<int64_t>(base * 3 / 4, 1);
  int64_t best = base;
  auto key = [&](int64_t r) {
    int64_t passes = (n + r - 1) / r, rem = n % r;
    return std::make_tuple(passes, rem == 0 ? 0 : 1, -rem, -r);
  };
  for (int64_t r = lo; r <= std::max(hi, lo); ++r)
    if (key(r) < key(best))
      best = r;
  // A tile that divides n needs no remainder copy of the kernel (less code
  // to compile): worth up to a quarter more passes.
  int64_t passes = (n + best - 1) / best;
  for (int64_t r = std::max(hi, lo); r >= lo; --r)
    if (n % r == 0 && 4 * (n / r) <= 5 * passes)
      return r;
  return best;
}

/// A conv with a 1x1x1 window whose weights for all output channels fit
/// in a quarter of the weight-tile budget. Its rows are too short for the
/// hardware prefetcher (one input pixel's channels per row of the register
/// tile, each element used once per column tile), so a serial channel loop
/// outside the rows would stream every input row from L3 once per channel
/// tile; without it a task reads its rows once and runs all the channels'
/// column tiles on them while they are in L1.
bool pointwiseConvWithSmallWeights(linalg::LinalgOp op,
                                   const CompileOptions &o) {
  int spatial = convSpatialDims(op);
  if (!spatial)
    return false;
  // Loops: n, o_1..o_S, f, k_1..k_S, c.
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  for (int l = spatial + 2; l < 2 * spatial + 2; ++l)
    if (ranges[l] != 1)
      return false;
  auto weights = cast<ShapedType>(op.getDpsInputOperand(1)->get().getType());
  int64_t bytes = ranges[spatial + 1] * ranges[2 * spatial + 2] *
                  weights.getElementTypeBitWidth() / 8;
  return bytes <= o.weightTileBytes / 4;
}

/// How the schedule is used: `Alone` (its own loops), `Root` (leads a
/// fused group), `Fused` (inside a group whose loops already tile the
/// channel dim `fusedChannelDim` and the thread-level dims).
enum class Role { Alone, Fused };

/// Per-op tiles: window dims and leading output dims 1, a register tile of
/// (rows x cols) outputs and a reduction chunk for convs and matmuls, one
/// pixel x a vector of channels for pooling, 2-D tiles for transposes, 1-D
/// rows of at most tileInner elements for everything else.
std::optional<OpSchedule> scheduleFor(linalg::LinalgOp op,
                                      const CompileOptions &o,
                                      Role role = Role::Alone,
                                      int64_t fusedChannelDim = -1,
                                      int64_t fusedChannels = 0) {
  if (!op.hasPureTensorSemantics() || op.getNumLoops() == 0)
    return std::nullopt;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (llvm::any_of(ranges, ShapedType::isDynamic))
    return std::nullopt;
  if (Attribute config = op->getAttr(kLoweringConfig))
    return fromAttr(config, ranges.size());
  OpSchedule s;
  s.tileSizes.assign(ranges.size(), 1);
  s.peel.assign(ranges.size(), false);
  // A tile that divides the loop.
  auto set = [&](unsigned loop, int64_t cap) {
    s.tileSizes[loop] = divisorAtMost(ranges[loop], cap);
  };
  // A register tile: full tiles plus one peeled remainder.
  auto setPeeled = [&](unsigned loop, int64_t cap) {
    s.tileSizes[loop] = std::min(ranges[loop], std::max<int64_t>(cap, 1));
    s.peel[loop] = ranges[loop] % s.tileSizes[loop] != 0;
  };
  // The reduction chunk: a divisor of the loop near tileReduction (no
  // remainder copy of the unrolled contraction), else full chunks and a
  // peeled remainder.
  auto setReduction = [&](unsigned loop) {
    // A few input channels (first layers: RGB) in one chunk, not a chunk
    // and a peeled remainder of one channel.
    if (ranges[loop] <= 2 * o.tileReduction) {
      s.tileSizes[loop] = ranges[loop];
      return;
    }
    int64_t d = divisorAtMost(ranges[loop], o.tileReduction);
    if (d * 2 > std::min(ranges[loop], o.tileReduction))
      set(loop, o.tileReduction);
    else
      setPeeled(loop, o.tileReduction);
  };
  // The channel loop of a conv or matmul: a serial loop over tiles of
  // channels (channelTile) outside the thread-level loop, and register
  // tiles of columns (columnTile) inside. Returns the vectors of a
  // register tile's row. In a fused group the group's loop tiles the
  // channels already: `fusedChannels` is the extent of this copy's tile.
  bool columnTiled = false; // a conv's or matmul's register columns
  auto setChannels = [&](unsigned loop) -> int64_t {
    columnTiled = true;
    int64_t extent = ranges[loop];
    if (role == Role::Fused && fusedChannels > 0) {
      extent = fusedChannels;
    } else if (int64_t tile = pointwiseConvWithSmallWeights(op, o)
                                  ? 0
                                  : channelTile(ranges[loop], o)) {
      s.channelDim = loop;
      s.channelTile = tile;
      s.channelPeel = ranges[loop] % tile != 0;
      extent = tile;
      if (s.channelPeel)
        s.remainder = std::make_shared<OpSchedule>(
            *scheduleFor(op, o, Role::Fused, loop, ranges[loop] % tile));
    }
    int64_t cols = columnTile(extent, o);
    s.tileSizes[loop] = cols < extent ? cols : 0;
    s.peel[loop] = cols < extent && extent % cols != 0;
    return std::max<int64_t>(cols / kVectorLanes, 1);
  };
  if (op->hasAttr(kChannelTailMark)) {
    // Loops: n, o_1..o_S, k, l, w_1..w_S, g (buildChannelTail). A register
    // tile of rows x all tail channels x the lanes; window positions and
    // lane groups one at a time (unit dims, folded; the accumulators stay
    // in registers across their loops).
    int64_t spatial = (static_cast<int64_t>(ranges.size()) - 4) / 2;
    s.tileSizes[spatial + 1] = 0;
    s.tileSizes[spatial + 2] = 0;
    setPeeled(spatial, kTailAccumulators / ranges[spatial + 1]);
    columnTiled = true; // (in its group: the lane groups stay tiles of 1)
  } else if (int spatial = convSpatialDims(op)) {
    // Loops: n, o_1..o_S, f, k_1..k_S, c. A strided conv reads its rows
    // with a stride the vectoriser cannot express as one contraction
    // operand, so its tile is one row (still vectorised over f and c).
    bool strided = false;
    if (auto strides = op->getAttrOfType<DenseIntElementsAttr>("strides"))
      strided = llvm::any_of(strides.getValues<int64_t>(),
                             [](int64_t v) { return v != 1; });
    int64_t vectors = setChannels(spatial + 1);
    setPeeled(spatial, strided ? 1 : rowTile(ranges[spatial], vectors, o));
    setReduction(2 * spatial + 2);
    s.generalize = true;
  } else if (int pooled = poolingSpatialDims(op)) {
    // Loops: n, o_1..o_S, c, k_1..k_S. One output pixel at a time, a vector
    // of channels, the window loops outside (the accumulator is hoisted).
    setPeeled(pooled + 1, o.tileInner);
    s.generalize = true;
  } else if (isa<linalg::MatmulOp>(op)) {
    int64_t vectors = setChannels(1);
    setPeeled(0, rowTile(ranges[0], vectors, o));
    setReduction(2);
    s.generalize = true;
  } else if (isa<linalg::BatchMatmulOp>(op)) {
    setPeeled(1, rowTile(ranges[1], o.tileCols / kVectorLanes, o));
    setPeeled(2, o.tileCols);
    setPeeled(3, o.tileReduction);
    s.generalize = true;
  } else if (std::optional<unsigned> across = transposedInputDim(op)) {
    // A transpose (or an op reading an input transposed): 2-D tiles of the
    // two inner dims, read and written contiguously, transposed in
    // registers. A 1-D row would read its input with a stride.
    set(ranges.size() - 1, kTransposeTile);
    set(*across, kTransposeTile);
  } else {
    set(ranges.size() - 1, o.tileInner);
  }
  if (role == Role::Fused) {
    // The group's loops tile the channel dim already; the rest of the
    // register schedule applies inside.
    s.channelTile = 0;
    s.channelDim = -1;
    // (A tile chosen from the whole op's channel count, e.g. 40 of 80,
    // would not divide the group's channel tile, e.g. 48, and leave a
    // dynamic remainder that is neither vectorised nor hoistable.)
    if (fusedChannelDim >= 0 &&
        fusedChannelDim < static_cast<int64_t>(ranges.size()) && !columnTiled) {
      s.tileSizes[fusedChannelDim] = 0;
      s.peel[fusedChannelDim] = false;
    }
  } else if (o.parallel) {
    distribute(op, ranges, s);
  }
  if (role == Role::Fused) {
    // Tile sizes refer to the fused tile, whose thread-level dims have
    // extent 1 (or the pooling window's): keep tiles of 1 there.
  } else {
    // A tile as large as its loop (or a loop of 1) needs no tiling.
    for (size_t i = 0; i < ranges.size(); ++i)
      if (s.tileSizes[i] >= ranges[i]) {
        s.tileSizes[i] = 0;
        s.peel[i] = false;
      }
  }
  return s;
}

/// Marks the fill that initialises a fused conv (and the conv, in its
/// main and remainder schedules) for fusion into the conv's register tiles.
void markInitFillFusion(linalg::LinalgOp conv, std::vector<OpSchedule> &ops,
                        const DenseMap<Operation *, unsigned> &index) {
  auto fill = conv.getDpsInitOperand(0)->get().getDefiningOp<linalg::FillOp>();
  auto convAt = index.find(conv), fillAt = index.find(fill);
  if (!fill || convAt == index.end() || fillAt == index.end() ||
      !ops[convAt->second].isFused || !ops[fillAt->second].isFused)
    return;
  SmallVector<bool> reduction;
  for (utils::IteratorType t : conv.getIteratorTypesArray())
    reduction.push_back(t == utils::IteratorType::reduction);
  // The fill is fused into the loops over the parallel dims: there must be
  // some (main and remainder schedule).
  for (OpSchedule *s = &ops[convAt->second]; s; s = s->remainder.get())
    if (llvm::none_of(llvm::enumerate(s->tileSizes), [&](auto t) {
          return t.value() != 0 && !reduction[t.index()];
        }))
      return;
  for (OpSchedule *s = &ops[convAt->second]; s; s = s->remainder.get()) {
    s->fuseInitFill = true;
    s->reductionDims = reduction;
  }
  for (OpSchedule *s = &ops[fillAt->second]; s; s = s->remainder.get())
    s->inConsumerTile = true;
}

/// Most pooled rows a thread-level tile of a conv -> pool group holds when
/// the pooling windows overlap.
constexpr int64_t kOverlapRows = 8;

/// The thread-level tile of dim `d` (an output row dim of `pool`, loops n,
/// o_1..o_S, c, k_1..k_S) in a conv -> pool group: 1, or when windows
/// overlap along it (window extent > stride: a densified pool slides by
/// one) the largest divisor of the dim up to kOverlapRows. The conv is
/// fused into each tile and computes every row its pooled rows read, so a
/// tile of one pooled row recomputes the conv rows of the overlap (the
/// whole conv twice for a 2-voxel window); T rows recompute (T + overlap)
/// / T. A divisor keeps the tiles static.
int64_t pooledRowTile(linalg::LinalgOp pool, unsigned d) {
  int s = poolingSpatialDims(pool);
  if (d < 1 || d > static_cast<unsigned>(s))
    return 1;
  SmallVector<int64_t> ranges = pool.getStaticLoopRanges();
  int64_t window = ranges[s + 1 + d];
  int64_t stride = 1, dilation = 1;
  if (auto a = pool->getAttrOfType<DenseIntElementsAttr>("strides"))
    stride = a.getValues<int64_t>()[d - 1];
  if (auto a = pool->getAttrOfType<DenseIntElementsAttr>("dilations"))
    dilation = a.getValues<int64_t>()[d - 1];
  int64_t extent = (window - 1) * dilation + 1;
  if (ShapedType::isDynamic(window) || ShapedType::isDynamic(ranges[d]) ||
      extent <= stride)
    return 1;
  for (int64_t t = std::min(kOverlapRows, ranges[d]); t > 1; --t)
    if (ranges[d] % t == 0)
      return t;
  return 1;
}

} // namespace

void selectLoweringConfigs(ModuleOp module, const CompileOptions &o,
                           SmallVectorImpl<Operation *> &linalgOps,
                           std::vector<OpSchedule> &ops) {
  DenseMap<Operation *, unsigned> index;
  module.walk([&](linalg::LinalgOp op) {
    std::optional<OpSchedule> s = scheduleFor(op, o);
    if (!s)
      return;
    s->tag = (kTagPrefix + llvm::Twine(ops.size())).str();
    index[op] = ops.size();
    ops.push_back(std::move(*s));
    linalgOps.push_back(op);
  });
  // Conv -> pool -> epilogue chains run as one loop nest led by the last
  // op: channel tiles, thread-level rows, and in each the conv, pool and
  // epilogue tiles (no full-size intermediates; the conv tile is still in
  // cache when the pool and the epilogue read it).
  for (Operation *operation : linalgOps) {
    auto op = cast<linalg::LinalgOp>(operation);
    SmallVector<Operation *> group = fusionGroup(op);
    if (group.empty() ||
        !llvm::all_of(group, [&](Operation *g) { return index.count(g); }))
      continue;
    const OpSchedule &conv = ops[index[op]];
    if (conv.threadTiles.empty())
      continue;
    auto root = cast<linalg::LinalgOp>(group[0]);
    OpSchedule &r = ops[index[root]];
    SmallVector<int64_t> ranges = root.getStaticLoopRanges();
    int64_t rootChannels = channelLoop(root);
    if (rootChannels < 0)
      rootChannels = ranges.size() - 1; // elementwise epilogue: [.., f]
    // Thread-level dims: the conv's (batch, outer output rows), which lead
    // the pooling's and the epilogue's loops too.
    r.threadTiles.assign(ranges.size(), 0);
    r.threadOrder.assign(ranges.size(), 0);
    auto pool = llvm::find_if(group, [](Operation *g) {
      return poolingSpatialDims(cast<linalg::LinalgOp>(g)) != 0;
    });
    for (unsigned d = 0; d < conv.threadTiles.size() && d < ranges.size(); ++d)
      if (conv.threadTiles[d] && static_cast<int64_t>(d) != rootChannels) {
        r.threadTiles[d] =
            pool == group.end()
                ? 1
                : pooledRowTile(cast<linalg::LinalgOp>(*pool), d);
        r.threadOrder[d] = conv.threadOrder[d];
        r.tileSizes[d] = 0;
      }
    // Channel tiles as the conv's.
    r.channelTile = conv.channelTile;
    r.channelPeel = conv.channelPeel;
    r.channelDim = conv.channelTile ? rootChannels : -1;
    if (r.channelTile || ranges[rootChannels] <= o.tileCols) {
      r.tileSizes[rootChannels] = 0;
      r.peel[rootChannels] = false;
    }
    for (Operation *member : ArrayRef(group).drop_front()) {
      auto m = cast<linalg::LinalgOp>(member);
      int64_t channels = channelLoop(m);
      if (channels < 0)
        channels = m.getNumLoops() - 1; // fill: [.., f]
      // The register schedules of the copies in the channel loop's main
      // tiles and in its peeled remainder (fewer columns, more rows).
      int64_t mainChannels =
          r.channelTile ? r.channelTile : ranges[rootChannels];
      std::optional<OpSchedule> inner =
          scheduleFor(m, o, Role::Fused, channels, mainChannels);
      unsigned j = index[member];
      inner->tag = ops[j].tag;
      inner->isFused = true;
      inner->remainder = nullptr;
      if (r.channelPeel) {
        int64_t rest = ranges[rootChannels] % r.channelTile;
        if (std::optional<OpSchedule> rem =
                scheduleFor(m, o, Role::Fused, channels, rest))
          inner->remainder = std::make_shared<OpSchedule>(std::move(*rem));
      }
      ops[j] = std::move(*inner);
      r.fused.push_back(j);
    }
    markInitFillFusion(op, ops, index);
  }
}

namespace {

struct NmCpuSelectLoweringConfig
    : impl::NmCpuSelectLoweringConfigBase<NmCpuSelectLoweringConfig> {
  using Base::Base;
  void runOnOperation() override {
    CompileOptions o;
    o.tileRows = tileRows;
    o.tileCols = tileCols;
    o.tileReduction = tileReduction;
    o.tileInner = tileInner;
    o.weightTileBytes = weightTileBytes;
    o.parallel = parallel;
    SmallVector<Operation *> ops;
    std::vector<OpSchedule> schedules;
    selectLoweringConfigs(getOperation(), o, ops, schedules);
    attachSchedules(getOperation(), ops, schedules);
  }
};

} // namespace
} // namespace cpu
} // namespace nm::codegen
