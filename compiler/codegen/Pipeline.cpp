//===- Pipeline.cpp - linalg on tensors to the LLVM dialect ---------------===//
//
// Stages 1-4 of CodeGen.h. Tiling/vectorisation is a transform-dialect
// schedule generated per structured op (mlir-notes §2); bufferization and
// the conversion to LLVM are a C++-built pass pipeline (specific pass
// headers only, no umbrella Conversion/Passes.h).
//
//===----------------------------------------------------------------------===//
#include "Internal.h"
#include "neuromancer/compiler/codegen/Passes.h"

#include "neuromancer/core/DType.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVM.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/LLVMCommon/ConversionTarget.h"
#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MathToLibm/MathToLibm.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/UBToLLVM/UBToLLVM.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVM.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/Utils/MemRefUtils.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/Utils/Utils.h"
#include "mlir/Dialect/Transform/IR/TransformOps.h"
#include "mlir/Dialect/Transform/Transforms/TransformInterpreterUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorTransforms.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Matchers.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Transforms/CSE.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"
#include "mlir/Transforms/Passes.h"

#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cstdlib>
#include <mutex>

using namespace mlir;

namespace nm::codegen {

#define GEN_PASS_DEF_NMCONVERTTOLLVM
#include "compiler/codegen/Passes.h.inc"

namespace {

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// Collects diagnostics of a context into a string while alive.
class DiagnosticCollector {
public:
  explicit DiagnosticCollector(MLIRContext *ctx)
      : handler(ctx, [this](Diagnostic &diag) {
          llvm::raw_string_ostream os(text);
          os << "\n  " << diag;
          for (Diagnostic &note : diag.getNotes())
            os << "\n    note: " << note;
          return success();
        }) {}
  std::string text;

private:
  ScopedDiagnosticHandler handler;
};

//===----------------------------------------------------------------------===//
// Signatures
//===----------------------------------------------------------------------===//

llvm::Expected<DType> dtypeOf(Type type, DictionaryAttr attrs) {
  if (attrs)
    if (auto name = attrs.getAs<StringAttr>("nm.dtype")) {
      try {
        return parseDType(name.getValue());
      } catch (const std::exception &e) {
        return makeError(e.what());
      }
    }
  if (type.isF32())
    return DType::Float32;
  if (type.isF64())
    return DType::Float64;
  if (type.isInteger(1))
    return DType::Bool;
  if (auto it = dyn_cast<IntegerType>(type)) {
    bool u = it.isUnsigned();
    switch (it.getWidth()) {
    case 8:
      return u ? DType::UInt8 : DType::Int8;
    case 16:
      return u ? DType::UInt16 : DType::Int16;
    case 32:
      return u ? DType::UInt32 : DType::Int32;
    case 64:
      return u ? DType::UInt64 : DType::Int64;
    }
  }
  std::string s;
  llvm::raw_string_ostream(s) << type;
  return makeError("unsupported element type " + s);
}

llvm::Expected<ArgSpec> argSpec(Type type, DictionaryAttr attrs,
                                const std::string &defaultName) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || !tensor.hasStaticShape()) {
    std::string s;
    llvm::raw_string_ostream(s) << type;
    return makeError("'" + defaultName +
                     "': expected a statically shaped tensor, got " + s);
  }
  ArgSpec spec;
  spec.name = defaultName;
  if (attrs)
    if (auto name = attrs.getAs<StringAttr>("nm.name"))
      spec.name = name.str();
  spec.shape.assign(tensor.getShape().begin(), tensor.getShape().end());
  auto dtype = dtypeOf(tensor.getElementType(), attrs);
  if (!dtype)
    return dtype.takeError();
  spec.dtype = *dtype;
  return spec;
}

llvm::Expected<FunctionSignature> signatureOf(func::FuncOp func) {
  FunctionSignature sig;
  sig.entry = func.getSymName().str();
  FunctionType type = func.getFunctionType();
  for (unsigned i = 0; i < type.getNumInputs(); ++i) {
    DictionaryAttr attrs = func.getArgAttrDict(i);
    bool isParam = attrs && attrs.get("nm.parameter");
    auto spec = argSpec(type.getInput(i), attrs,
                        (isParam ? "param" : "arg") + std::to_string(i));
    if (!spec)
      return spec.takeError();
    if (!isParam && !sig.parameters.empty())
      return makeError("function '" + sig.entry +
                       "': parameters must follow the inputs");
    (isParam ? sig.parameters : sig.inputs).push_back(std::move(*spec));
  }
  for (unsigned i = 0; i < type.getNumResults(); ++i) {
    auto spec = argSpec(type.getResult(i), func.getResultAttrDict(i),
                        "result" + std::to_string(i));
    if (!spec)
      return spec.takeError();
    sig.outputs.push_back(std::move(*spec));
  }
  if (sig.outputs.empty())
    return makeError("function '" + sig.entry + "' has no results");
  return sig;
}

//===----------------------------------------------------------------------===//
// Stage 1: the transform schedule
//===----------------------------------------------------------------------===//

constexpr llvm::StringLiteral kTagPrefix = "nm.codegen.op";

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

/// How one structured op is tiled (IREE's lowering_config): chosen by
/// scheduleFor, carried on the op as the `nm.lowering_config` attribute
/// and turned into the transform script by scheduleScript. An op that
/// already carries the attribute keeps it (tests, tuning).
///
///   for c in channel tiles            (serial; the weights of one tile stay
///                                      in cache while all rows run)
///     forall t in thread tiles        (nm_runtime_parallel_for)
///       fused producers' tiles        (conv -> pool -> epilogue chains)
///       for r in register tiles       (vectorised, peeled remainders)
struct OpSchedule {
  std::string tag;
  /// Serial outer loop over the output-channel dim: `channelTile` channels
  /// per iteration (0: none); a remainder tile is peeled.
  int64_t channelDim = -1, channelTile = 0;
  bool channelPeel = false;
  /// Thread-level tiles (scf.forall); empty: the op runs on the calling
  /// thread. `threadOrder`: per dim, its rank in the linearised iteration
  /// space (0 = fastest varying), carried as the forall's mapping.
  SmallVector<int64_t> threadTiles, threadOrder;
  SmallVector<int64_t> tileSizes; // 0 = not tiled
  /// Per loop: the tile does not divide it; the tile loop is peeled into a
  /// main loop of full tiles and a remainder, both static.
  SmallVector<bool> peel;
  bool generalize = false; // contraction-like: becomes one contract
  /// Producers fused into this op's thread-level loop, consumer first (a
  /// conv's pooling and epilogue chain, see fusionGroup); their register
  /// schedules apply to the fused tiles.
  SmallVector<unsigned> fused;
  bool isFused = false; // scheduled inside another op's loops
  /// The register schedule of the copies in the peeled remainder of the
  /// channel loop (fewer channels: taller register tiles); null: the same.
  std::shared_ptr<OpSchedule> remainder;
  /// A fused conv whose init is a fill of the same group: the parallel dims
  /// are tiled first with the fill fused into each register tile, then the
  /// `reductionDims`. The accumulators then start from zero in registers
  /// instead of from a zero-filled buffer (memset plus a load per tile).
  bool fuseInitFill = false;
  SmallVector<bool> reductionDims;
  /// The fill of such a conv: scheduled with it, no schedule of its own.
  bool inConsumerTile = false;
};

constexpr llvm::StringLiteral kLoweringConfig = "nm.lowering_config";
/// Marks of the copies of a fused group in its peeled channel loop (main
/// and remainder); removed with the tags (same prefix).
constexpr const char *kMainMark = "nm.codegen.op_main";
constexpr const char *kRemainderMark = "nm.codegen.op_rem";

/// Marks the lane-parallel conv that computes a channel tail (scheduleFor).
constexpr llvm::StringLiteral kChannelTailMark = "nm.codegen.channel_tail";
/// Carries a conv's tail split point to the copies splitGroupAt makes.
constexpr llvm::StringLiteral kTailSplitMark = "nm.codegen.tail_split";
/// Accumulators of a channel-tail register tile (rows x tail channels).
constexpr int64_t kTailAccumulators = 24;

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
  return s;
}

/// Ops with fewer loop iterations stay on the calling thread: a dispatch
/// costs a few microseconds.
constexpr int64_t kMinParallelWork = int64_t(1) << 16;

/// Enough thread-level iterations to balance any thread count we expect;
/// further loops stay inside each iteration (fewer, bigger tasks).
constexpr int64_t kParallelIterations = 256;

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

/// Lanes of the target's widest float vector (AVX-512: 16 x f32).
constexpr int64_t kVectorLanes = 16;

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

/// Number of spatial dims of a pooling op (0: not a pooling op).
int poolingSpatialDims(linalg::LinalgOp op) {
  if (isa<linalg::PoolingNwcMaxOp, linalg::PoolingNwcSumOp,
          linalg::PoolingNwcMinOp>(op))
    return 1;
  if (isa<linalg::PoolingNhwcMaxOp, linalg::PoolingNhwcSumOp,
          linalg::PoolingNhwcMinOp>(op))
    return 2;
  if (isa<linalg::PoolingNdhwcMaxOp, linalg::PoolingNdhwcSumOp,
          linalg::PoolingNdhwcMinOp>(op))
    return 3;
  return 0;
}

/// Number of spatial dims of a conv (0: not one of the convs we tile).
int convSpatialDims(linalg::LinalgOp op) {
  if (isa<linalg::Conv1DNwcWcfOp>(op))
    return 1;
  if (isa<linalg::Conv2DNhwcHwcfOp>(op))
    return 2;
  if (isa<linalg::Conv3DNdhwcDhwcfOp>(op))
    return 3;
  return 0;
}

/// The output-channel loop of an op that can lead a channel-tiled group.
int64_t channelLoop(linalg::LinalgOp op) {
  if (int s = convSpatialDims(op))
    return s + 1;
  if (int s = poolingSpatialDims(op))
    return s + 1;
  if (isa<linalg::MatmulOp>(op))
    return 1;
  return -1;
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
  if (auto config = op->getAttrOfType<DictionaryAttr>(kLoweringConfig))
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

/// Register tiling (tile_using_for), generalisation and peeling of the ops
/// behind `handle`.
void emitRegisterSchedule(llvm::raw_ostream &os, const std::string &name,
                          std::string handle, const OpSchedule &s) {
  if (s.inConsumerTile)
    return;
  // A conv with a fused init fill has its parallel dims tiled and peeled
  // (tileParallelFusingInitFill): its reduction dims are left.
  auto tiled = [&](size_t d) {
    return s.tileSizes[d] != 0 && (!s.fuseInitFill || s.reductionDims[d]);
  };
  SmallVector<int64_t> sizes;
  SmallVector<unsigned> tiledDims;
  for (size_t d = 0; d < s.tileSizes.size(); ++d) {
    sizes.push_back(tiled(d) ? s.tileSizes[d] : 0);
    if (tiled(d))
      tiledDims.push_back(d);
  }
  if (!tiledDims.empty()) {
    os << "  %t" << name;
    for (unsigned l = 0; l < tiledDims.size(); ++l)
      os << ", %l" << name << "_" << l;
    os << " = transform.structured.tile_using_for " << handle
       << " tile_sizes [";
    llvm::interleaveComma(sizes, os);
    os << "] : (!transform.any_op) -> (!transform.any_op";
    for (unsigned l = 0; l < tiledDims.size(); ++l)
      os << ", !transform.any_op";
    os << ")\n";
    handle = "%t" + name;
  }
  if (s.generalize)
    os << "  %g" << name << " = transform.structured.generalize " << handle
       << " : (!transform.any_op) -> !transform.any_op\n";
  // Innermost first, so that peeling an outer loop clones inner loops that
  // are already peeled.
  for (int l = tiledDims.size() - 1; l >= 0; --l) {
    if (!s.peel[tiledDims[l]])
      continue;
    std::string loop = name + "_" + std::to_string(l);
    os << "  %c" << loop << " = transform.cast %l" << loop
       << " : !transform.any_op to !transform.op<\"scf.for\">\n";
    os << "  %m" << loop << ", %r" << loop << " = transform.loop.peel %c"
       << loop
       << " : (!transform.op<\"scf.for\">) -> (!transform.any_op, "
          "!transform.any_op)\n";
  }
}

/// Opens a transform script: the named sequence the interpreter runs on
/// the payload module (%root).
void beginTransformScript(llvm::raw_ostream &os) {
  os << "module attributes {transform.with_named_sequence} {\n"
        "transform.named_sequence @__transform_main(%root: !transform.any_op "
        "{transform.readonly}) {\n";
}

std::string scheduleScript(const std::vector<OpSchedule> &ops) {
  std::string text;
  llvm::raw_string_ostream os(text);
  beginTransformScript(os);
  auto match = [&](unsigned i, const std::string &h) {
    os << "  " << h << " = transform.structured.match attributes{" << ops[i].tag
       << "} in %root : (!transform.any_op) -> !transform.any_op\n";
    return h;
  };
  for (auto [i, s] : llvm::enumerate(ops)) {
    if (s.isFused)
      continue;
    std::string n = std::to_string(i);
    std::string handle = match(i, "%op" + n);
    bool grouped = s.channelTile ||
                   llvm::any_of(s.threadTiles, [](int64_t t) { return t; });
    // Producer handles to fuse into the next loop level.
    SmallVector<std::string> producers;
    for (unsigned j : s.fused)
      producers.push_back(match(j, "%p" + std::to_string(j)));
    // Fuses every producer into `loop` (consumer first: each fused tile
    // computes just what the tiles after it read).
    auto fuseInto = [&](std::string loop, const std::string &level) {
      for (auto [k, j] : llvm::enumerate(s.fused)) {
        std::string fusedHandle = "%" + level + std::to_string(j);
        std::string next = loop + "_" + std::to_string(j);
        os << "  " << fusedHandle << ", " << next
           << " = transform.structured.fuse_into_containing_op " << producers[k]
           << " into " << loop
           << " : (!transform.any_op, !transform.any_op) -> "
              "(!transform.any_op, !transform.any_op)\n";
        producers[k] = fusedHandle;
        loop = next;
      }
    };
    if (s.channelTile) {
      SmallVector<int64_t> tiles(s.tileSizes.size(), 0);
      tiles[s.channelDim] = s.channelTile;
      os << "  %ct" << n << ", %cl" << n
         << " = transform.structured.tile_using_for " << handle
         << " tile_sizes [";
      llvm::interleaveComma(tiles, os);
      os << "] : (!transform.any_op) -> (!transform.any_op, "
            "!transform.any_op)\n";
      handle = "%ct" + n;
      fuseInto("%cl" + n, "cfu");
    }
    if (llvm::any_of(s.threadTiles, [](int64_t t) { return t != 0; })) {
      std::string loop = "%forall" + n;
      // The mapping orders the dims of the linearised iteration space
      // (linear_dim_0 fastest, see Parallel.cpp).
      SmallVector<std::string> mapping;
      for (auto [d, t] : llvm::enumerate(s.threadTiles))
        if (t)
          mapping.push_back("#gpu.block<linear_dim_" +
                            std::to_string(s.threadOrder[d]) + ">");
      os << "  %d" << n << ", " << loop
         << " = transform.structured.tile_using_forall " << handle
         << " tile_sizes [";
      llvm::interleaveComma(s.threadTiles, os);
      os << "] (mapping = [";
      llvm::interleaveComma(mapping, os);
      os << "]) : (!transform.any_op) -> (!transform.any_op, "
            "!transform.any_op)\n";
      handle = "%d" + n;
      fuseInto(loop, "tfu");
    }
    if (s.channelPeel) {
      os << "  %cc" << n << " = transform.cast %cl" << n
         << " : !transform.any_op to !transform.op<\"scf.for\">\n";
      os << "  %cm" << n << ", %cr" << n << " = transform.loop.peel %cc" << n
         << " : (!transform.op<\"scf.for\">) -> (!transform.any_op, "
            "!transform.any_op)\n";
      // Marks the copies in the main loop and in the remainder, which get
      // different register schedules (script B).
      SmallVector<unsigned> members{static_cast<unsigned>(i)};
      members.append(s.fused.begin(), s.fused.end());
      for (unsigned k : members)
        for (auto [scope, mark] :
             {std::pair{"%cm", kMainMark}, std::pair{"%cr", kRemainderMark}}) {
          std::string h = "%mk" + std::string(scope + 1) + std::to_string(k);
          os << "  " << h << " = transform.structured.match attributes{"
             << ops[k].tag << "} in " << scope << n
             << " : (!transform.any_op) -> !transform.any_op\n"
             << "  transform.annotate " << h << " \"" << mark
             << "\" : !transform.any_op\n";
        }
    }
    if (!grouped)
      emitRegisterSchedule(os, n, handle, s);
  }
  os << "  transform.yield\n}\n}\n";
  return text;
}

/// Script B: the register schedules of the ops in loop nests built by
/// script A (found by tag; copies in a peeled channel remainder by mark),
/// then unit-dim folding. Between the two scripts the IR is canonicalised,
/// which makes the peeled tiles static (and would invalidate script A's
/// handles).
std::string registerScript(const std::vector<OpSchedule> &ops) {
  std::string text;
  llvm::raw_string_ostream os(text);
  beginTransformScript(os);
  auto match = [&](unsigned k, const std::string &h, const char *mark) {
    os << "  " << h << " = transform.structured.match attributes{" << ops[k].tag
       << (mark ? ", " : "") << (mark ? mark : "")
       << "} in %root : (!transform.any_op) -> !transform.any_op\n";
    return h;
  };
  for (auto [i, s] : llvm::enumerate(ops)) {
    if (s.isFused)
      continue;
    bool grouped = s.channelTile ||
                   llvm::any_of(s.threadTiles, [](int64_t t) { return t; });
    if (!grouped)
      continue;
    SmallVector<unsigned> members{static_cast<unsigned>(i)};
    members.append(s.fused.begin(), s.fused.end());
    for (unsigned k : members) {
      std::string m = std::to_string(k);
      const OpSchedule &main = ops[k];
      if (!s.channelPeel) {
        emitRegisterSchedule(os, m, match(k, "%rm" + m, nullptr), main);
        continue;
      }
      const OpSchedule &rem = main.remainder ? *main.remainder : main;
      emitRegisterSchedule(os, m, match(k, "%rm" + m, kMainMark), main);
      emitRegisterSchedule(os, m + "r", match(k, "%rr" + m, kRemainderMark),
                           rem);
    }
  }
  os << R"(  %funcs = transform.structured.match ops{["func.func"]} in %root : (!transform.any_op) -> !transform.any_op
  transform.apply_patterns to %funcs {
    transform.apply_patterns.linalg.fold_unit_extent_dims_via_slices
    transform.apply_patterns.tensor.fold_tensor_empty
    transform.apply_patterns.canonicalization
  } : !transform.any_op
  transform.yield
}
}
)";
  return text;
}

/// The vectorisation of transform.structured.vectorize_children_and_apply_
/// patterns, minus one upstream bug: tensor.insert_slice is vectorised as
/// "read the whole source, write it minor-identity at the offsets", which
/// ignores non-unit strides and misplaces a rank-reducing insert whose
/// dropped dims are not the leading ones (the source lands in the wrong
/// place, silently). Such inserts are left to bufferization (in place, or
/// a copy into a strided subview).
bool safeToVectorize(tensor::InsertSliceOp op) {
  if (!op.hasUnitStride())
    return false;
  llvm::SmallBitVector dropped = op.getDroppedDims();
  int64_t rankDiff = op.getDestType().getRank() - op.getSourceType().getRank();
  return dropped.find_last() < rankDiff; // -1 when nothing is dropped
}

/// The largest iteration space vectorised as one piece (a conv register
/// tile: 14 rows x 32 channels x 16 input channels); anything larger was
/// not tiled and would unroll into tens of thousands of instructions.
constexpr int64_t kMaxVectorElements = 1 << 13;
/// The largest insert_slice vectorised: a register tile written back into
/// its accumulator. Bigger inserts are in place after bufferization (or a
/// copy loop); vectorising them would only unroll a copy.
constexpr int64_t kMaxInsertElements = 1 << 10;

struct VectorizeStructuredOps : public RewritePattern {
  explicit VectorizeStructuredOps(MLIRContext *ctx)
      : RewritePattern(MatchAnyOpTypeTag(), /*benefit=*/1, ctx) {}
  LogicalResult matchAndRewrite(Operation *op,
                                PatternRewriter &rewriter) const override {
    if (auto insert = dyn_cast<tensor::InsertSliceOp>(op)) {
      if (!safeToVectorize(insert) ||
          !insert.getSourceType().hasStaticShape() ||
          insert.getSourceType().getNumElements() > kMaxInsertElements)
        return failure();
    } else if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op)) {
      if (isa<linalg::ConvolutionOpInterface>(op))
        return failure();
      // An op the schedule did not tile would become one huge vector
      // (minutes of compile time, gigabytes of memory): leave it to loops.
      int64_t size = 1;
      for (int64_t r : linalgOp.getStaticLoopRanges())
        size = ShapedType::isDynamic(r) ? kMaxVectorElements + 1 : size * r;
      if (size > kMaxVectorElements)
        return failure();
    } else {
      return failure();
    }
    FailureOr<linalg::VectorizationResult> result =
        linalg::vectorize(rewriter, op);
    if (failed(result))
      return failure();
    rewriter.replaceOp(op, result->replacements);
    return success();
  }
};

/// acc + column(a) * row(b) on vector<MxN> -> vector.outerproduct a, b, acc.
/// A conv tile with one input channel (first layers) has no reduction dim
/// left after unit dims are folded, so it vectorises to broadcasts, a
/// transpose, mulf and addf instead of a contraction; as an outer product
/// it lowers to M broadcasts and M FMAs, like the contraction path.
struct OuterProductFromBroadcasts : public OpRewritePattern<arith::AddFOp> {
  using OpRewritePattern::OpRewritePattern;

  /// v = broadcast(x : vector<N>) : vector<MxN>  ->  x
  static Value row(Value v) {
    auto bc = v.getDefiningOp<vector::BroadcastOp>();
    auto src = bc ? dyn_cast<VectorType>(bc.getSourceType()) : VectorType();
    auto res = cast<VectorType>(v.getType());
    if (!src || src.getRank() != 1 || res.getRank() != 2 ||
        src.getDimSize(0) != res.getDimSize(1))
      return {};
    return bc.getSource();
  }
  /// v = transpose(broadcast(x : vector<M>) : vector<NxM>, [1, 0]) -> x
  static Value column(Value v) {
    auto tr = v.getDefiningOp<vector::TransposeOp>();
    if (!tr || tr.getPermutation() != ArrayRef<int64_t>{1, 0})
      return {};
    return row(tr.getVector());
  }

  LogicalResult matchAndRewrite(arith::AddFOp add,
                                PatternRewriter &rewriter) const override {
    auto type = dyn_cast<VectorType>(add.getType());
    if (!type || type.getRank() != 2 || type.isScalable())
      return failure();
    for (int accIdx : {0, 1}) {
      Value acc = add->getOperand(accIdx);
      auto mul = add->getOperand(1 - accIdx).getDefiningOp<arith::MulFOp>();
      if (!mul || !mul->hasOneUse())
        continue;
      for (int colIdx : {0, 1}) {
        Value a = column(mul->getOperand(colIdx));
        Value b = row(mul->getOperand(1 - colIdx));
        if (!a || !b)
          continue;
        rewriter.replaceOpWithNewOp<vector::OuterProductOp>(add, a, b, acc);
        return success();
      }
    }
    return failure();
  }
};

/// The iteration dim of a contraction that is the innermost dim of its
/// result (the columns of a register tile).
std::optional<unsigned> contractionColumnDim(vector::ContractionOp contract) {
  AffineMap acc = contract.getIndexingMapsArray()[2];
  if (acc.getNumResults() == 0)
    return std::nullopt;
  auto last = dyn_cast<AffineDimExpr>(acc.getResults().back());
  if (!last)
    return std::nullopt;
  return last.getPosition();
}

/// The shape a vector op is unrolled to: its innermost dim (for a
/// contraction, the result's innermost iteration dim) cut into vectors of
/// kVectorLanes when it is a multiple of them but not a power of two. LLVM
/// legalises a vector<48xf32> by widening it to vector<64xf32>: a register
/// tile of 3 zmm columns would use 4 per row and spill.
std::optional<SmallVector<int64_t>> nativeVectorShape(Operation *op) {
  auto unrollable = dyn_cast<VectorUnrollOpInterface>(op);
  if (!unrollable)
    return std::nullopt;
  std::optional<SmallVector<int64_t>> shape = unrollable.getShapeForUnroll();
  if (!shape || shape->empty())
    return std::nullopt;
  std::optional<unsigned> dim = shape->size() - 1;
  auto contract = dyn_cast<vector::ContractionOp>(op);
  if (contract)
    dim = contractionColumnDim(contract);
  if (!dim)
    return std::nullopt;
  int64_t n = (*shape)[*dim];
  if (n <= kVectorLanes || n % kVectorLanes != 0 || llvm::isPowerOf2_64(n))
    return std::nullopt;
  if (contract) {
    // One FMA per piece (1 row x one vector of columns x 1 reduction step),
    // visited in the order of unrollOrder.
    shape->assign(shape->size(), 1);
  }
  (*shape)[*dim] = kVectorLanes;
  return shape;
}

/// Pieces of an unrolled contraction in the order of an outer-product
/// register tile: reduction steps outermost, then rows, then the column
/// vectors of a row, so that one broadcast row element is live at a time
/// (unrolled column slice by column slice, every row element would stay
/// live across the slices and the accumulators would spill).
std::optional<SmallVector<int64_t>> unrollOrder(Operation *op) {
  auto contract = dyn_cast<vector::ContractionOp>(op);
  std::optional<unsigned> column =
      contract ? contractionColumnDim(contract) : std::nullopt;
  if (!column)
    return std::nullopt;
  SmallVector<int64_t> order;
  SmallVector<vector::IteratorType> its = contract.getIteratorTypesArray();
  for (auto [d, it] : llvm::enumerate(its))
    if (it == vector::IteratorType::reduction)
      order.push_back(d);
  for (auto [d, it] : llvm::enumerate(its))
    if (it == vector::IteratorType::parallel && d != *column)
      order.push_back(d);
  order.push_back(*column);
  return order;
}

void addCanonicalizationPatterns(RewritePatternSet &patterns) {
  MLIRContext *ctx = patterns.getContext();
  for (Dialect *dialect : ctx->getLoadedDialects())
    dialect->getCanonicalizationPatterns(patterns);
  for (RegisteredOperationName op : ctx->getRegisteredOperations())
    op.getCanonicalizationPatterns(patterns, ctx);
}

LogicalResult vectorizeAndCleanUp(ModuleOp module) {
  MLIRContext *ctx = module.getContext();
  {
    RewritePatternSet patterns(ctx);
    patterns.add<VectorizeStructuredOps>(ctx);
    patterns.add<OuterProductFromBroadcasts>(ctx, /*benefit=*/2);
    vector::populateVectorTransferPermutationMapLoweringPatterns(patterns);
    vector::populateVectorReductionToContractPatterns(patterns);
    vector::populateSinkVectorOpsPatterns(patterns);
    tensor::populateFoldTensorSubsetIntoVectorTransferPatterns(patterns);
    addCanonicalizationPatterns(patterns);
    if (failed(applyPatternsGreedily(module, std::move(patterns))))
      return failure();
  }
  {
    RewritePatternSet patterns(ctx);
    vector::populateVectorUnrollPatterns(
        patterns, vector::UnrollVectorOptions()
                      .setNativeShapeFn(nativeVectorShape)
                      .setUnrollTraversalOrderFn(unrollOrder));
    addCanonicalizationPatterns(patterns);
    if (failed(applyPatternsGreedily(module, std::move(patterns))))
      return failure();
  }
  {
    RewritePatternSet patterns(ctx);
    tensor::populateFoldTensorSubsetIntoVectorTransferPatterns(patterns);
    vector::populateCastAwayVectorLeadingOneDimPatterns(patterns);
    addCanonicalizationPatterns(patterns);
    if (failed(applyPatternsGreedily(module, std::move(patterns))))
      return failure();
  }
  // Accumulators out of the reduction loops while still on tensors (inner
  // loops first): a register tile's zero fill then reaches its read
  // directly, which folds to a zero vector, and the tile never goes
  // through a buffer of its own.
  IRRewriter rewriter(ctx);
  SmallVector<scf::ForOp> loops;
  module.walk([&](scf::ForOp loop) { loops.push_back(loop); });
  for (scf::ForOp loop : loops)
    hoistLoopInvariantSubsets(rewriter, loop);
  RewritePatternSet patterns(ctx);
  addCanonicalizationPatterns(patterns);
  if (failed(applyPatternsGreedily(module, std::move(patterns))))
    return failure();
  DominanceInfo dominance;
  for (auto func : module.getOps<func::FuncOp>())
    eliminateCommonSubExpressions(rewriter, dominance, func);
  return success();
}

/// Stage 3 (buffers): keep accumulators in registers across the window
/// loops, contractions to outer-product FMAs, everything to 1-D vectors.
/// Transposes and shape casts are lowered in pattern sets of their own: in
/// one set with canonicalization, a transpose that only moves unit dims
/// (canonicalised to a shape_cast, lowered, re-folded) never converges.
constexpr llvm::StringLiteral kBufferScript = R"(
module attributes {transform.with_named_sequence} {
transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
  %funcs = transform.structured.match ops{["func.func"]} in %root : (!transform.any_op) -> !transform.any_op
  %h = transform.structured.hoist_redundant_vector_transfers %funcs : (!transform.any_op) -> !transform.any_op
  transform.apply_patterns to %h {
    transform.apply_patterns.vector.lower_contraction lowering_strategy = "outerproduct"
    transform.apply_patterns.vector.transfer_permutation_patterns
    transform.apply_patterns.vector.lower_multi_reduction lowering_strategy = "innerreduction"
    transform.apply_patterns.vector.lower_transfer max_transfer_rank = 1
    transform.apply_patterns.vector.lower_outerproduct
    transform.apply_patterns.canonicalization
  } : !transform.any_op
  transform.apply_patterns to %h {
    transform.apply_patterns.vector.lower_transpose lowering_strategy = "shuffle_1d"
  } : !transform.any_op
  transform.apply_patterns to %h {
    transform.apply_patterns.vector.lower_shape_cast
  } : !transform.any_op
  transform.apply_patterns to %h {
    transform.apply_patterns.canonicalization
  } : !transform.any_op
  transform.yield
}
}
)";

/// Elements extracted from a vector read (the broadcast operand of an
/// outer product: one input pixel per row of a register tile) are loaded
/// one by one instead: `vbroadcastss mem` per row, rather than a vector load
/// plus a permute per element (with 28 accumulators there is no register
/// left for the permute indices).
/// vector.extract %r[i] of %r = vector.transfer_read %m[idx] (1-D, in
/// bounds, the vector along memref dim k, e.g. a permuted read of the input
/// row of a one-channel conv) -> memref.load %m[idx with idx_k + i].
struct ScalarExtractOfPermutedRead : OpRewritePattern<vector::ExtractOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(vector::ExtractOp extract,
                                PatternRewriter &rewriter) const override {
    auto read = extract.getSource().getDefiningOp<vector::TransferReadOp>();
    if (!read || read.getVectorType().getRank() != 1 || read.getMask() ||
        !isa<MemRefType>(read.getShapedType()) ||
        !read.getInBoundsValues()[0] || extract.hasDynamicPosition() ||
        !isa<FloatType, IntegerType>(extract.getType()))
      return failure();
    AffineMap map = read.getPermutationMap();
    if (map.getNumResults() != 1)
      return failure();
    auto dim = dyn_cast<AffineDimExpr>(map.getResult(0));
    if (!dim)
      return failure();
    int64_t pos = extract.getStaticPosition()[0];
    SmallVector<Value> indices(read.getIndices());
    Location loc = extract.getLoc();
    Value &idx = indices[dim.getPosition()];
    idx = arith::AddIOp::create(
        rewriter, loc, idx, arith::ConstantIndexOp::create(rewriter, loc, pos));
    rewriter.replaceOpWithNewOp<memref::LoadOp>(extract, read.getBase(),
                                                indices);
    return success();
  }
};

LogicalResult loadBroadcastOperands(ModuleOp module) {
  RewritePatternSet patterns(module.getContext());
  vector::populateScalarVectorTransferLoweringPatterns(
      patterns, /*benefit=*/1, /*allowMultipleUses=*/true);
  patterns.add<ScalarExtractOfPermutedRead>(module.getContext());
  return applyPatternsGreedily(module, std::move(patterns));
}

LogicalResult runScript(ModuleOp payload, llvm::StringRef script) {
  OwningOpRef<ModuleOp> lib =
      parseSourceString<ModuleOp>(script, payload.getContext());
  if (!lib)
    return failure();
  auto entry = lib->lookupSymbol<transform::NamedSequenceOp>(
      transform::TransformDialect::kTransformEntryPointSymbolName);
  if (!entry)
    return failure();
  return transform::applyTransformNamedSequence(payload, entry, *lib,
                                                transform::TransformOptions());
}

/// The only user of `v`, if it has one use.
Operation *onlyUser(Value v) {
  return v.hasOneUse() ? *v.getUsers().begin() : nullptr;
}

/// An all-parallel linalg.generic that reads `v` elementwise (same shape,
/// identity maps) and writes one result of that shape.
bool isElementwiseConsumerOf(Operation *user, Value v) {
  auto g = dyn_cast_or_null<linalg::GenericOp>(user);
  if (!g || g.getNumDpsInits() != 1 || g.getNumReductionLoops() != 0 ||
      g.getResult(0).getType() != v.getType())
    return false;
  if (!g.getMatchingIndexingMap(g.getDpsInitOperand(0)).isIdentity())
    return false;
  for (OpOperand *in : g.getDpsInputOperands())
    if (in->get() == v)
      return g.getMatchingIndexingMap(in).isIdentity();
  return false;
}

/// A channel-tail conv's group (buildChannelTail): its lane sums lead,
/// then the conv and the fill of its partial sums, which stay in the
/// thread's tile (no full-size buffer of 16 partial sums per channel).
SmallVector<Operation *> channelTailGroup(linalg::LinalgOp tail) {
  auto sums = dyn_cast_or_null<linalg::GenericOp>(onlyUser(tail->getResult(0)));
  if (!sums)
    return {};
  SmallVector<Operation *> group{sums, tail};
  if (auto fill =
          tail.getDpsInitOperand(0)->get().getDefiningOp<linalg::FillOp>();
      fill && fill->hasOneUse())
    group.push_back(fill);
  return group;
}

/// A conv's chain: conv -> [pooling] -> [elementwise epilogue], each op the
/// only user of the previous one, plus the fills that initialise the conv
/// and the pooling. Returned root first, then the producers consumer
/// first; empty if the conv has no such consumer.
SmallVector<Operation *> fusionGroup(linalg::LinalgOp conv) {
  if (conv->hasAttr(kChannelTailMark))
    return channelTailGroup(conv);
  if (!isa<linalg::ConvolutionOpInterface>(conv.getOperation()) ||
      poolingSpatialDims(conv) || conv->getNumResults() != 1)
    return {};
  SmallVector<Operation *> chain{conv}; // producer first for now
  auto addFill = [&](Operation *op) {
    auto ls = cast<linalg::LinalgOp>(op);
    Value init = ls.getDpsInitOperand(0)->get();
    if (auto fill = init.getDefiningOp<linalg::FillOp>();
        fill && fill->hasOneUse())
      chain.insert(chain.begin(), fill);
  };
  addFill(conv);
  Value v = conv->getResult(0);
  Operation *user = onlyUser(v);
  if (auto pool = dyn_cast_or_null<linalg::LinalgOp>(user);
      pool && poolingSpatialDims(pool) &&
      pool.getDpsInputOperand(0)->get() == v) {
    addFill(pool);
    chain.push_back(pool);
    v = pool->getResult(0);
    user = onlyUser(v);
  }
  if (isElementwiseConsumerOf(user, v))
    chain.push_back(user);
  if (chain.back() == conv.getOperation())
    return {};
  std::reverse(chain.begin(), chain.end());
  return chain;
}

/// Bytes of the weights that a tile of `channels` output channels of a
/// conv reads: window x input channels x channels.
int64_t weightTileBytes(linalg::LinalgOp conv, int64_t channels) {
  int spatial = convSpatialDims(conv);
  SmallVector<int64_t> ranges = conv.getStaticLoopRanges();
  auto weights = cast<ShapedType>(conv.getDpsInputOperand(1)->get().getType());
  int64_t bytes = channels * weights.getElementTypeBitWidth() / 8;
  // Loops: n, o_1..o_S, f, k_1..k_S, c.
  for (int l = spatial + 2; l <= 2 * spatial + 2; ++l)
    bytes *= ranges[l];
  return bytes;
}

/// Where a conv's output channels are cut in two parts that are scheduled
/// apart (0: not cut). A serial channel tile's weights stay in L2 while all
/// rows run; a tile of 4 or 5 vectors (channelTile for 7, 13, ... vectors)
/// whose weights exceed o.weightTileBytes does not: neuro3d's 100 -> 112
/// channel layer ran its 64-channel tile at 0.040 ms per channel and input
/// channel, its 48-channel tile at 0.032. Cut before the last 3 vectors,
/// the first part has an even vector count (tiles of 2 vectors) and the
/// second is one 3-vector tile.
int64_t channelSplitPoint(linalg::LinalgOp conv, const CompileOptions &o) {
  int spatial = convSpatialDims(conv);
  if (!spatial || o.weightTileBytes <= 0)
    return 0;
  int64_t channels = conv.getStaticLoopRanges()[spatial + 1];
  int64_t tile = channelTile(channels, o);
  if (tile <= 3 * kVectorLanes ||
      weightTileBytes(conv, tile) <= o.weightTileBytes)
    return 0;
  return channels - 3 * kVectorLanes;
}

/// Replaces every operand of `op` that is a slice of a result of one of
/// `members` by that member computing just the slice, recursively (the
/// producers of a split group, each restricted to its part's channels).
void fuseSlicedProducers(RewriterBase &rewriter, Operation *op,
                         const llvm::SmallPtrSetImpl<Operation *> &members) {
  SmallVector<Operation *> worklist{op};
  while (!worklist.empty()) {
    Operation *consumer = worklist.pop_back_val();
    for (Value operand : consumer->getOperands()) {
      auto slice = operand.getDefiningOp<tensor::ExtractSliceOp>();
      if (!slice)
        continue;
      auto producer = dyn_cast<OpResult>(slice.getSource());
      if (!producer || !members.contains(producer.getOwner()))
        continue;
      rewriter.setInsertionPoint(slice);
      FailureOr<TilingResult> tiled =
          tensor::replaceExtractSliceWithTiledProducer(rewriter, slice,
                                                       producer);
      if (failed(tiled))
        continue;
      rewriter.replaceOp(slice, tiled->tiledValues);
      worklist.append(tiled->tiledOps.begin(), tiled->tiledOps.end());
    }
  }
}

/// Splits the fusion group of `conv` (or the conv alone) at output channel
/// `at`: the group's last op is split (linalg::splitOp: each part writes
/// its slice of the result), and each part gets its own copy of the conv,
/// pooling, fills and epilogue restricted to its channels. The parts then
/// form groups of their own.
LogicalResult splitGroupAt(RewriterBase &rewriter, linalg::LinalgOp conv,
                           int64_t at) {
  SmallVector<Operation *> group = fusionGroup(conv);
  if (group.empty())
    group.push_back(conv);
  auto root = cast<linalg::LinalgOp>(group.front());
  int64_t channels = channelLoop(root);
  if (channels < 0)
    channels = root.getNumLoops() - 1; // elementwise epilogue: [.., f]
  llvm::SmallPtrSet<Operation *, 8> members(group.begin(), group.end());
  if (auto fill =
          conv.getDpsInitOperand(0)->get().getDefiningOp<linalg::FillOp>())
    members.insert(fill);
  rewriter.setInsertionPoint(root);
  auto [low, high] =
      linalg::splitOp(rewriter, cast<TilingInterface>(root.getOperation()),
                      channels, rewriter.getIndexAttr(at));
  if (!low || !high)
    return root.emitError("cannot split the output channels at ") << at;
  members.erase(root);
  fuseSlicedProducers(rewriter, low, members);
  fuseSlicedProducers(rewriter, high, members);
  // The whole-channel producers are dead now (consumers first).
  for (Operation *member : ArrayRef(group).drop_front())
    if (member->use_empty())
      rewriter.eraseOp(member);
  return success();
}

/// Cuts conv groups at channelSplitPoint (splitGroupAt).
LogicalResult splitWideChannelGroups(ModuleOp module, const CompileOptions &o) {
  SmallVector<std::pair<linalg::LinalgOp, int64_t>> cuts;
  module.walk([&](linalg::LinalgOp op) {
    if (!op.hasPureTensorSemantics() ||
        llvm::any_of(op.getStaticLoopRanges(), ShapedType::isDynamic) ||
        op->hasAttr(kLoweringConfig))
      return;
    if (int64_t at = channelSplitPoint(op, o))
      cuts.push_back({op, at});
  });
  if (cuts.empty())
    return success();
  IRRewriter rewriter(module.getContext());
  for (auto [conv, at] : cuts)
    if (failed(splitGroupAt(rewriter, conv, at)))
      return failure();
  RewritePatternSet patterns(module.getContext());
  addCanonicalizationPatterns(patterns);
  return applyPatternsGreedily(module, std::move(patterns));
}

//===----------------------------------------------------------------------===//
// Channel tails
//===----------------------------------------------------------------------===//

/// A conv whose output channels are rounded up to whole vectors with zero
/// weights (NmToLinalg's internal layout: 100 channels computed as 112)
/// and whose last `tail` real channels fill only part of the last vector.
struct ChannelTail {
  linalg::LinalgOp conv;
  int64_t full = 0; // channels computed as whole vectors, before the tail
  int64_t tail = 0;
  Value weights; // [K..., C, full + tail]: the weights before the padding
};

/// Static offsets 0, unit strides and the source's sizes except in the
/// last dim: `slice` is the first channels of its source.
bool isLeadingChannelSlice(tensor::ExtractSliceOp slice) {
  RankedTensorType source = slice.getSourceType();
  int64_t rank = source.getRank();
  if (slice.getResultType().getRank() != rank || !source.hasStaticShape())
    return false;
  for (int64_t d = 0; d < rank; ++d)
    if (slice.getStaticOffsets()[d] != 0 || slice.getStaticStrides()[d] != 1 ||
        (d + 1 < rank && slice.getStaticSizes()[d] != source.getShape()[d]))
      return false;
  return true;
}

/// The conv's input with its channels padded to whole vectors: the input,
/// or the tensor whose first channels it is (through the full-size slices
/// that tiling adds).
Value vectorPaddedInput(linalg::LinalgOp conv) {
  Value x = conv.getDpsInputOperand(0)->get();
  while (cast<RankedTensorType>(x.getType()).getShape().back() % kVectorLanes !=
         0) {
    auto slice = x.getDefiningOp<tensor::ExtractSliceOp>();
    if (!slice || !isLeadingChannelSlice(slice))
      return nullptr;
    x = slice.getSource();
  }
  return x;
}

/// The channel tail of a conv (see splitChannelTails), if it has one worth
/// computing apart: at most o.channelTailMax channels after at least one
/// whole vector, unit strides (a register tile reads consecutive pixels),
/// and an input whose channels can be read in whole vectors.
std::optional<ChannelTail> channelTailOf(linalg::LinalgOp op,
                                         const CompileOptions &o) {
  int spatial = convSpatialDims(op);
  if (!spatial || o.channelTailMax <= 0 || !op.hasPureTensorSemantics() ||
      op->hasAttr(kLoweringConfig) ||
      llvm::any_of(op.getStaticLoopRanges(), ShapedType::isDynamic))
    return std::nullopt;
  if (auto strides = op->getAttrOfType<DenseIntElementsAttr>("strides"))
    if (llvm::any_of(strides.getValues<int64_t>(),
                     [](int64_t v) { return v != 1; }))
      return std::nullopt;
  auto pad = op.getDpsInputOperand(1)->get().getDefiningOp<tensor::PadOp>();
  if (!pad || !pad.getConstantPaddingValue() ||
      !matchPattern(pad.getConstantPaddingValue(), m_AnyZeroFloat()))
    return std::nullopt;
  RankedTensorType weights = pad.getSourceType();
  int64_t rank = weights.getRank();
  if (!weights.hasStaticShape() ||
      llvm::any_of(pad.getStaticLow(), [](int64_t v) { return v != 0; }) ||
      llvm::any_of(pad.getStaticHigh().drop_back(),
                   [](int64_t v) { return v != 0; }))
    return std::nullopt;
  ChannelTail t;
  int64_t real = weights.getShape()[rank - 1];
  t.tail = real % kVectorLanes;
  t.full = real - t.tail;
  if (t.tail == 0 || t.tail > o.channelTailMax || t.full < kVectorLanes ||
      real + pad.getStaticHigh().back() != t.full + kVectorLanes)
    return std::nullopt;
  t.conv = op;
  t.weights = pad.getSource();
  // The tail reads the lanes past C too (times zero weights), so they must
  // hold numbers: the whole result of a linalg op does (a conv's padded
  // channels hold the activation of 0).
  Value input = vectorPaddedInput(op);
  if (!input || (input != op.getDpsInputOperand(0)->get() &&
                 !input.getDefiningOp<linalg::LinalgOp>()))
    return std::nullopt;
  return t;
}

/// The weights of the tail in the tail conv's layout: [K..., C, full +
/// tail] -> [K..., Cp / 16, tail, 16], zero past C.
Value tailWeights(OpBuilder &b, Location loc, const ChannelTail &t,
                  int64_t cp) {
  auto type = cast<RankedTensorType>(t.weights.getType());
  Type elt = type.getElementType();
  int64_t rank = type.getRank(), spatial = rank - 2;
  SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)),
      strides(rank, b.getIndexAttr(1)), sizes;
  for (int64_t d : type.getShape())
    sizes.push_back(b.getIndexAttr(d));
  offsets.back() = b.getIndexAttr(t.full);
  sizes.back() = b.getIndexAttr(t.tail);
  Value w = tensor::ExtractSliceOp::create(b, loc, t.weights, offsets, sizes,
                                           strides);
  SmallVector<int64_t> shape(type.getShape());
  shape[spatial] = cp;
  shape.back() = t.tail;
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(elt));
  w = tensor::createPadHighOp(RankedTensorType::get(shape, elt), w, zero,
                              /*nofold=*/false, loc, b);
  SmallVector<int64_t> grouped(type.getShape().take_front(spatial));
  grouped.append({cp / kVectorLanes, kVectorLanes, t.tail});
  SmallVector<ReassociationIndices> groups;
  for (int64_t d = 0; d < spatial; ++d)
    groups.push_back({d});
  groups.push_back({spatial, spatial + 1});
  groups.push_back({spatial + 2});
  w = tensor::ExpandShapeOp::create(b, loc, RankedTensorType::get(grouped, elt),
                                    w, groups);
  SmallVector<int64_t> perm = llvm::to_vector(llvm::seq<int64_t>(0, rank + 1));
  std::swap(perm[rank - 1], perm[rank]);
  SmallVector<int64_t> transposed(grouped);
  std::swap(transposed[rank - 1], transposed[rank]);
  Value init = tensor::EmptyOp::create(b, loc, transposed, elt);
  return linalg::TransposeOp::create(b, loc, w, init, perm)->getResult(0);
}

/// The result of `conv` (one vector of output channels: the tail and zero
/// weights) computed from the tail's real channels only. Each output
/// channel is a dot product over window x input channels; the lanes of a
/// vector hold 16 input channels of one output channel (partial sums
/// [N, O..., tail, 16], a register tile of rows x tail channels, one FMA
/// per lane group and window position), summed across lanes at the end.
Value buildChannelTail(OpBuilder &b, linalg::LinalgOp conv,
                       const ChannelTail &t) {
  Location loc = conv.getLoc();
  int64_t spatial = convSpatialDims(conv);
  // (Not kept from channelTailOf: splitting the producer's group has
  // replaced it since.)
  Value input = vectorPaddedInput(conv);
  auto inType = cast<RankedTensorType>(input.getType());
  Type elt = inType.getElementType();
  int64_t cp = inType.getShape().back();
  SmallVector<int64_t> grouped(inType.getShape());
  grouped.back() = cp / kVectorLanes;
  grouped.push_back(kVectorLanes);
  SmallVector<ReassociationIndices> groups;
  for (int64_t d = 0; d + 1 < inType.getRank(); ++d)
    groups.push_back({d});
  groups.push_back({inType.getRank() - 1, inType.getRank()});
  Value in = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get(grouped, elt), input, groups);
  Value w = tailWeights(b, loc, t, cp);

  auto outType = cast<RankedTensorType>(conv->getResult(0).getType());
  SmallVector<int64_t> partialShape(outType.getShape().drop_back());
  int64_t pixels = partialShape.size(); // N, O...
  partialShape.append({t.tail, kVectorLanes});
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(elt));
  Value partial =
      linalg::FillOp::create(
          b, loc, ValueRange{zero},
          ValueRange{tensor::EmptyOp::create(b, loc, partialShape, elt)})
          .getResult(0);
  // Loops: n, o_1..o_S, k, l, w_1..w_S, g.
  MLIRContext *ctx = b.getContext();
  int64_t loops = 2 * spatial + 4;
  auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
  SmallVector<int64_t> dilations(spatial, 1);
  if (auto attr = conv->getAttrOfType<DenseIntElementsAttr>("dilations"))
    dilations = llvm::to_vector(attr.getValues<int64_t>());
  int64_t k = spatial + 1, l = spatial + 2, g = 2 * spatial + 3;
  SmallVector<AffineExpr> inExprs{d(0)}, wExprs, outExprs{d(0)};
  for (int64_t i = 1; i <= spatial; ++i) {
    inExprs.push_back(d(i) + d(l + i) * dilations[i - 1]);
    wExprs.push_back(d(l + i));
    outExprs.push_back(d(i));
  }
  inExprs.append({d(g), d(l)});
  wExprs.append({d(g), d(k), d(l)});
  outExprs.append({d(k), d(l)});
  SmallVector<AffineMap> maps{AffineMap::get(loops, 0, inExprs, ctx),
                              AffineMap::get(loops, 0, wExprs, ctx),
                              AffineMap::get(loops, 0, outExprs, ctx)};
  SmallVector<utils::IteratorType> iterators(pixels + 2,
                                             utils::IteratorType::parallel);
  iterators.append(spatial + 1, utils::IteratorType::reduction);
  auto dots = linalg::GenericOp::create(
      b, loc, partial.getType(), ValueRange{in, w}, ValueRange{partial}, maps,
      iterators, [](OpBuilder &nb, Location nl, ValueRange a) {
        Value r = math::FmaOp::create(nb, nl, a[0], a[1], a[2]);
        linalg::YieldOp::create(nb, nl, r);
      });
  dots->setAttr(kChannelTailMark, UnitAttr::get(ctx));

  // Lane sums onto the conv's init: [N, O..., tail].
  Value init = conv.getDpsInitOperand(0)->get();
  int64_t rank = outType.getRank();
  SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)),
      strides(rank, b.getIndexAttr(1)), sizes;
  for (int64_t e : outType.getShape())
    sizes.push_back(b.getIndexAttr(e));
  sizes.back() = b.getIndexAttr(t.tail);
  Value initTail =
      tensor::ExtractSliceOp::create(b, loc, init, offsets, sizes, strides);
  SmallVector<AffineMap> sumMaps{
      AffineMap::getMultiDimIdentityMap(rank + 1, ctx),
      AffineMap::getMultiDimIdentityMap(rank + 1, ctx).dropResult(rank)};
  SmallVector<utils::IteratorType> sumIterators(rank,
                                                utils::IteratorType::parallel);
  sumIterators.push_back(utils::IteratorType::reduction);
  Value sums = linalg::GenericOp::create(
                   b, loc, initTail.getType(), ValueRange{dots.getResult(0)},
                   ValueRange{initTail}, sumMaps, sumIterators,
                   [](OpBuilder &nb, Location nl, ValueRange a) {
                     Value r = arith::AddFOp::create(nb, nl, a[1], a[0]);
                     linalg::YieldOp::create(nb, nl, r);
                   })
                   .getResult(0);
  return tensor::InsertSliceOp::create(b, loc, sums, init, offsets, sizes,
                                       strides);
}

/// Computes the channel tails of convs apart. Where 100 channels are
/// computed as 112 (7 vectors), the last vector spends 16 lanes per FMA on
/// 4 channels. Here the conv's group is split after the whole vectors
/// (splitGroupAt), and the part with the tail gets a conv that runs its
/// lanes over input channels instead (buildChannelTail): 4 channels cost 4
/// / 16 of a vector column's FMAs (plus the input's channel padding).
LogicalResult splitChannelTails(ModuleOp module, const CompileOptions &o) {
  SmallVector<ChannelTail> tails;
  module.walk([&](linalg::LinalgOp op) {
    if (std::optional<ChannelTail> t = channelTailOf(op, o))
      tails.push_back(*t);
  });
  IRRewriter rewriter(module.getContext());
  for (const ChannelTail &t : tails) {
    t.conv->setAttr(kTailSplitMark, rewriter.getI64IntegerAttr(t.full));
    if (failed(splitGroupAt(rewriter, t.conv, t.full)))
      return failure();
    // The copy of the conv with the tail reads the weights from `full` on.
    linalg::LinalgOp high;
    module.walk([&](linalg::LinalgOp op) {
      if (!op->hasAttr(kTailSplitMark))
        return;
      op->removeAttr(kTailSplitMark);
      auto w = op.getDpsInputOperand(1)
                   ->get()
                   .getDefiningOp<tensor::ExtractSliceOp>();
      if (w && w.getStaticOffsets().back() == t.full)
        high = op;
    });
    if (!high || !vectorPaddedInput(high))
      return module.emitError("channel tail: no conv part from channel ")
             << t.full;
    rewriter.setInsertionPoint(high);
    rewriter.replaceOp(high, buildChannelTail(rewriter, high, t));
  }
  return success();
}

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

/// Whether the rows of a tile of `tileChannels` channels, cut out of rows of
/// `channels` channels, fall on a fraction of the cache's sets: rows
/// `rowBytes` apart start at the same offset modulo the largest power of two
/// dividing rowBytes, so a tile narrower than that power reaches only
/// tileBytes / power of the sets of every cache level.
bool tileRowsAliasInCache(int64_t channels, int64_t tileChannels,
                          int64_t elementBytes) {
  int64_t rowBytes = channels * elementBytes;
  int64_t period = rowBytes & -rowBytes;
  return tileChannels * elementBytes < period;
}

/// Copies the weights of a conv's channel tile into a buffer of their own
/// before the tile's thread-level loop (oneDNN packs its weights in blocks
/// of output channels for the same reason), where the tile's rows alias in
/// the cache (tileRowsAliasInCache): the seed's 64-channel conv, cut into
/// 32-channel tiles, used half of L2 for a 590 KB tile. Measured (forward
/// passes alternating with the unpacked build, this host): seed CNN 5464 ->
/// 5296 ms at 1 thread by the fastest run, 5706 -> 5608 by the median;
/// 2815 -> 2769 and 2965 -> 2888 ms at 2 threads; a layer of 256 channels
/// in 32-channel tiles ran twice as fast. Where the rows do not alias
/// (neuro3d's 80 to 208 channels) packing measured no change, so it is left
/// out there. The copy (rows of the tile, see copyByRows) runs once per tile
/// on the calling thread.
void packAliasingWeightTiles(ModuleOp module) {
  SmallVector<std::pair<linalg::LinalgOp, tensor::ExtractSliceOp>> convs;
  module.walk([&](linalg::LinalgOp op) {
    if (!convSpatialDims(op) || !op.hasPureTensorSemantics())
      return;
    auto slice =
        op.getDpsInputOperand(1)->get().getDefiningOp<tensor::ExtractSliceOp>();
    auto threads = op->getParentOfType<scf::ForallOp>();
    if (!slice || !threads || threads->isAncestor(slice))
      return;
    // The rows' stride is that of the tensor the slices are cut from (a
    // part of a split group slices a slice).
    RankedTensorType whole = slice.getSourceType();
    for (auto outer = slice.getSource().getDefiningOp<tensor::ExtractSliceOp>();
         outer;
         outer = outer.getSource().getDefiningOp<tensor::ExtractSliceOp>())
      whole = outer.getSourceType();
    if (!whole.hasStaticShape() ||
        !tileRowsAliasInCache(whole.getShape().back(),
                              slice.getResultType().getShape().back(),
                              whole.getElementTypeBitWidth() / 8))
      return;
    convs.push_back({op, slice});
  });
  DenseMap<Operation *, Value> packed;
  for (auto [conv, slice] : convs) {
    Value &copy = packed[slice];
    if (!copy) {
      OpBuilder b(slice->getContext());
      b.setInsertionPointAfter(slice);
      copy = bufferization::AllocTensorOp::create(
          b, slice.getLoc(), slice.getResultType(), ValueRange{}, slice);
    }
    conv.getDpsInputOperand(1)->set(copy);
  }
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

LogicalResult vectorizeOnTensors(ModuleOp module, const CompileOptions &o) {
  if (failed(splitChannelTails(module, o)) ||
      failed(splitWideChannelGroups(module, o)))
    return failure();
  std::vector<OpSchedule> ops;
  DenseMap<Operation *, unsigned> index;
  SmallVector<linalg::LinalgOp> linalgOps;
  module.walk([&](linalg::LinalgOp op) {
    std::optional<OpSchedule> s = scheduleFor(op, o);
    if (!s)
      return;
    s->tag = (kTagPrefix + llvm::Twine(ops.size())).str();
    op->setAttr(s->tag, UnitAttr::get(op->getContext()));
    index[op] = ops.size();
    ops.push_back(std::move(*s));
    linalgOps.push_back(op);
  });
  // Conv -> pool -> epilogue chains run as one loop nest led by the last
  // op: channel tiles, thread-level rows, and in each the conv, pool and
  // epilogue tiles (no full-size intermediates; the conv tile is still in
  // cache when the pool and the epilogue read it).
  for (linalg::LinalgOp op : linalgOps) {
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
    for (unsigned d = 0; d < conv.threadTiles.size() && d < ranges.size(); ++d)
      if (conv.threadTiles[d] && static_cast<int64_t>(d) != rootChannels) {
        r.threadTiles[d] = 1;
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
  // The lowering configuration travels on the ops (visible in
  // CompiledObject::vectorizedIR until the schedule consumes it).
  for (auto [op, i] : index)
    op->setAttr(kLoweringConfig, toAttr(op->getContext(), ops[i]));
  LogicalResult result = runScript(module, scheduleScript(ops));
  if (succeeded(result)) {
    RewritePatternSet patterns(module.getContext());
    tensor::populateFoldTensorEmptyPatterns(patterns);
    addCanonicalizationPatterns(patterns);
    result = applyPatternsGreedily(module, std::move(patterns));
  }
  if (succeeded(result)) {
    packAliasingWeightTiles(module);
    result = tileParallelFusingInitFill(module, ops);
  }
  if (succeeded(result))
    result = runScript(module, registerScript(ops));
  if (succeeded(result))
    result = vectorizeAndCleanUp(module);
  module.walk([&](Operation *op) {
    SmallVector<StringAttr> tags;
    for (NamedAttribute a : op->getDiscardableAttrs())
      if (a.getName().getValue().starts_with(kTagPrefix) ||
          a.getName() == kLoweringConfig)
        tags.push_back(a.getName());
    for (StringAttr t : tags)
      op->removeAttr(t);
  });
  return result;
}

//===----------------------------------------------------------------------===//
// Stages 2 and 4: pass pipelines
//===----------------------------------------------------------------------===//

void buildBufferizationPipeline(OpPassManager &pm) {
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  // A tensor.empty that only becomes a slice of another tensor (a part of a
  // split conv group, see splitWideChannelGroups) is that slice: the part
  // writes into the whole result instead of a buffer copied there.
  pm.addPass(bufferization::createEmptyTensorEliminationPass());
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  bufferization::BufferResultsToOutParamsPassOptions outParams;
  outParams.hoistStaticAllocs = true;
  outParams.modifyPublicFunctions = true;
  pm.addPass(bufferization::createBufferResultsToOutParamsPass(outParams));
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createCanonicalizerPass());
  // Subviews folded into the transfers' indices: the accumulator of a tile
  // inside an scf.forall is then read and written at loop-invariant indices
  // of the base buffer, which hoisting needs.
  pm.addPass(memref::createFoldMemRefAliasOpsPass());
}

/// tensor.pad as a fill of an empty tensor and an insert_slice of the
/// source: a pad that is then inserted into a bigger tensor (the weights of
/// a conv, padded to whole vectors and given their unit dims back) is
/// written in place there by empty-tensor elimination, instead of into a
/// buffer of its own that is copied whole.
void padsInDestinationPassingStyle(ModuleOp module) {
  SmallVector<tensor::PadOp> pads;
  module.walk([&](tensor::PadOp pad) { pads.push_back(pad); });
  IRRewriter rewriter(module.getContext());
  for (tensor::PadOp pad : pads) {
    rewriter.setInsertionPoint(pad);
    (void)linalg::rewriteInDestinationPassingStyle(rewriter, pad);
  }
}

/// Copies `op`'s buffers row by row when the innermost dim is contiguous
/// on both sides (the copy into a channel-padded weight buffer): loops over
/// the outer dims and a 1-D copy per row, which lowers to an inline memcpy.
/// False if the shapes or layouts do not allow it.
bool copyByRows(memref::CopyOp op) {
  auto source = cast<MemRefType>(op.getSource().getType());
  auto target = cast<MemRefType>(op.getTarget().getType());
  int64_t rank = source.getRank();
  auto unitInnerStride = [](MemRefType type) {
    SmallVector<int64_t> strides;
    int64_t offset;
    return succeeded(type.getStridesAndOffset(strides, offset)) &&
           strides.back() == 1;
  };
  if (rank < 2 || !source.hasStaticShape() || !unitInnerStride(source) ||
      !unitInnerStride(target))
    return false;
  OpBuilder b(op);
  Location loc = op.getLoc();
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  SmallVector<Value> lbs, ubs, steps;
  for (int64_t d = 0; d + 1 < rank; ++d) {
    lbs.push_back(zero);
    ubs.push_back(arith::ConstantIndexOp::create(b, loc, source.getDimSize(d)));
    steps.push_back(one);
  }
  int64_t width = source.getDimSize(rank - 1);
  scf::buildLoopNest(
      b, loc, lbs, ubs, steps, [&](OpBuilder &nb, Location at, ValueRange ivs) {
        SmallVector<OpFoldResult> offsets(ivs.begin(), ivs.end());
        offsets.push_back(nb.getIndexAttr(0));
        SmallVector<OpFoldResult> sizes(rank - 1, nb.getIndexAttr(1));
        sizes.push_back(nb.getIndexAttr(width));
        SmallVector<OpFoldResult> strides(rank, nb.getIndexAttr(1));
        auto row = [&](Value buffer) -> Value {
          auto rowType = memref::SubViewOp::inferRankReducedResultType(
              {width}, cast<MemRefType>(buffer.getType()), offsets, sizes,
              strides);
          return memref::SubViewOp::create(nb, at, rowType, buffer, offsets,
                                           sizes, strides);
        };
        memref::CopyOp::create(nb, at, row(op.getSource()),
                               row(op.getTarget()));
      });
  op.erase();
  return true;
}

/// A memref.copy between buffers that are not both contiguous (tensor.pad,
/// strided or offset insert_slice) lowers to a call of `memrefCopy` from
/// MLIR's c_runner_utils, which neither JIT nor AOT objects link. Such
/// copies go row by row (copyByRows) or else become linalg.copy, i.e.
/// scalar loops (LLVM's loop vectoriser is off, see Emit.cpp).
void lowerNonContiguousCopies(ModuleOp module) {
  auto contiguous = [](Value v) {
    auto type = cast<MemRefType>(v.getType());
    return type.getLayout().isIdentity() ||
           memref::isStaticShapeAndContiguousRowMajor(type);
  };
  SmallVector<memref::CopyOp> copies;
  module.walk([&](memref::CopyOp op) {
    if (!contiguous(op.getSource()) || !contiguous(op.getTarget()))
      copies.push_back(op);
  });
  for (memref::CopyOp op : copies) {
    if (copyByRows(op))
      continue;
    OpBuilder b(op);
    linalg::CopyOp::create(b, op.getLoc(), op.getSource(), op.getTarget());
    op.erase();
  }
}

/// Vector ops that the conversion below does not take (contractions,
/// transposes, masks, shape casts, ...) lowered to simpler vector ops, and
/// memref views expanded to base + offset arithmetic: the greedy steps of
/// upstream's convert-vector-to-llvm and expand-strided-metadata, in one
/// walk.
LogicalResult lowerForLLVMConversion(ModuleOp module) {
  RewritePatternSet patterns(module.getContext());
  vector::populateVectorToVectorCanonicalizationPatterns(patterns);
  vector::populateVectorBitCastLoweringPatterns(patterns);
  vector::populateVectorBroadcastLoweringPatterns(patterns);
  vector::populateVectorContractLoweringPatterns(
      patterns, vector::VectorContractLowering::Dot);
  vector::populateVectorMaskOpLoweringPatterns(patterns);
  vector::populateVectorShapeCastLoweringPatterns(patterns);
  vector::populateVectorInterleaveLoweringPatterns(patterns);
  vector::populateVectorTransposeLoweringPatterns(
      patterns, vector::VectorTransposeLowering::EltWise);
  vector::populateVectorTransferLoweringPatterns(patterns,
                                                 /*maxTransferRank=*/1);
  vector::populateVectorMaskMaterializationPatterns(
      patterns, /*force32BitVectorIndices=*/false);
  vector::populateVectorInsertExtractStridedSliceTransforms(patterns);
  vector::populateVectorStepLoweringPatterns(patterns);
  vector::populateVectorRankReducingFMAPattern(patterns);
  vector::populateVectorGatherLoweringPatterns(patterns);
  vector::populateVectorFromElementsUnrollPatterns(patterns);
  vector::populateVectorToElementsUnrollPatterns(patterns);
  memref::populateExpandStridedMetadataPatterns(patterns);
  return applyPatternsGreedily(module, std::move(patterns));
}

/// Everything to the LLVM dialect in one dialect conversion: one walk of
/// the module instead of one per source dialect (stage 4 of neuro3d's
/// forward: 0.46 s instead of 1.1 s). Memrefs of function arguments are
/// bare pointers.
/// Math ops without an LLVM intrinsic become libm calls (lower benefit).
LogicalResult convertToLLVMDialect(ModuleOp module) {
  MLIRContext *ctx = module.getContext();
  LowerToLLVMOptions options(ctx);
  options.useBarePtrCallConv = true;
  LLVMTypeConverter converter(ctx, options);
  RewritePatternSet patterns(ctx);
  SymbolTableCollection symbolTables;
  populateAffineToStdConversionPatterns(patterns);
  vector::populateVectorTransferLoweringPatterns(patterns);
  // Float sums across a vector's lanes (a channel tail's lane sums,
  // softmax denominators) as trees of shuffles and adds, not 16 dependent
  // adds in lane order (as IREE's CPU backend).
  populateVectorToLLVMConversionPatterns(converter, patterns,
                                         /*reassociateFPReductions=*/true);
  populateFinalizeMemRefToLLVMConversionPatterns(converter, patterns,
                                                 &symbolTables);
  populateMathToLLVMConversionPatterns(converter, patterns,
                                       /*approximateLog1p=*/true,
                                       /*benefit=*/2);
  populateMathToLibmConversionPatterns(patterns, /*benefit=*/1);
  arith::populateArithToLLVMConversionPatterns(converter, patterns);
  index::populateIndexToLLVMConversionPatterns(converter, patterns);
  ub::populateUBToLLVMConversionPatterns(converter, patterns);
  populateFuncToLLVMConversionPatterns(converter, patterns, &symbolTables);
  cf::populateControlFlowToLLVMConversionPatterns(converter, patterns);
  cf::populateAssertToLLVMConversionPattern(converter, patterns,
                                            /*abortOnFailure=*/true,
                                            &symbolTables);
  LLVMConversionTarget target(*ctx);
  return applyPartialConversion(module, target, std::move(patterns));
}

struct NmConvertToLLVM : impl::NmConvertToLLVMBase<NmConvertToLLVM> {
  void runOnOperation() override {
    if (failed(lowerForLLVMConversion(getOperation())) ||
        failed(convertToLLVMDialect(getOperation())))
      signalPassFailure();
  }
};

void buildLLVMPipeline(OpPassManager &pm) {
  OpPassManager &fpm = pm.nest<func::FuncOp>();
  fpm.addPass(createForallToForLoopPass()); // loops not outlined
  fpm.addPass(createConvertLinalgToLoopsPass());
  fpm.addPass(createConvertVectorToSCFPass(
      VectorTransferToSCFOptions().enableFullUnroll(true)));
  fpm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createNmConvertToLLVM());
  pm.addPass(createReconcileUnrealizedCastsPass());
  // Each scalar access of an unrolled register tile computes its full
  // address (a multiply-add per memref dim); most of it is shared or
  // constant. Folding it here is cheaper than carrying it through LLVM.
  pm.addPass(createCSEPass());
}

std::string printModule(Operation *op) {
  std::string text;
  llvm::raw_string_ostream os(text);
  op->print(os);
  return text;
}

std::string textualPipeline(void (*build)(OpPassManager &)) {
  DialectRegistry registry;
  registerCodegenDialects(registry);
  MLIRContext ctx(registry, MLIRContext::Threading::DISABLED);
  PassManager pm(&ctx);
  build(pm);
  std::string text;
  llvm::raw_string_ostream os(text);
  pm.printAsTextualPipeline(os);
  return text;
}

} // namespace

//===----------------------------------------------------------------------===//
// Public entry points
//===----------------------------------------------------------------------===//

void registerCodegenDialects(DialectRegistry &registry) {
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
}

std::string pipelineDescription(const CompileOptions &o) {
  // The pass pipelines are fixed for a given build; print them once.
  static const std::string passes =
      "bufferize: " + textualPipeline(buildBufferizationPipeline) +
      "\nllvm: " + textualPipeline(buildLLVMPipeline);
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "schedule-v1 tile_rows=" << o.tileRows << " tile_cols=" << o.tileCols
     << " tile_reduction=" << o.tileReduction << " tile_inner=" << o.tileInner
     << " vectorize=" << o.vectorize << " parallel=" << o.parallel
     << " min_parallel_work=" << kMinParallelWork
     << " parallel_iterations=" << kParallelIterations
     << " weight_tile_bytes=" << o.weightTileBytes
     << " channel_tail_max=" << o.channelTailMax
     << " codegen_threads=" << o.codegenThreads << " schedule=v5\n"
     << kBufferScript << "\n"
     << passes << "\nllvm-opt=O" << o.optLevel << " reloc=pic code-model=small";
  return text;
}

std::string printForKey(ModuleOp module) {
  std::string text;
  llvm::raw_string_ostream os(text);
  module->print(os, OpPrintingFlags().printGenericOpForm());
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
  // NEUROMANCER_CODEGEN_TIMING=1: seconds per stage on stderr.
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
  DiagnosticCollector diags(&ctx);

  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(moduleText, &ctx);
  if (!module)
    return makeError("codegen: cannot parse the module:" + diags.text);

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

  auto fail = [&](const char *stage) {
    return makeError(llvm::Twine("codegen: ") + stage +
                     " failed:" + diags.text);
  };
  // Dead values of the lowering (e.g. tag-order copies of channels-last
  // values that no one reads) are dropped before they are scheduled.
  PassManager cleanupPM(&ctx);
  // (No CSE here: it would merge the tensor.empty of a conv's accumulator
  // with its epilogue's, and the fused tiles would then share a buffer.)
  cleanupPM.addPass(createCanonicalizerPass());
  if (failed(cleanupPM.run(*module)))
    return fail("canonicalization");
  if (options.vectorize && failed(vectorizeOnTensors(*module, options)))
    return fail("tiling and vectorization");
  lap("stage 1 (tile, vectorize)");
  if (options.keepIntermediates)
    result.vectorizedIR = printModule(*module);

  padsInDestinationPassingStyle(*module);
  PassManager bufferizePM(&ctx);
  buildBufferizationPipeline(bufferizePM);
  if (failed(bufferizePM.run(*module)))
    return fail("bufferization");
  lap("stage 2 (bufferize)");
  lowerNonContiguousCopies(*module);
  if (options.keepIntermediates)
    result.bufferizedIR = printModule(*module);
  if (options.vectorize && failed(runScript(*module, kBufferScript)))
    return fail("vector lowering");
  if (options.vectorize) {
    // Accumulators that a register tile zero-fills (its fused init fill)
    // and then reads: the reads become zeros and the fill's stores die.
    IRRewriter rewriter(&ctx);
    vector::transferOpflowOpt(rewriter, *module);
  }
  if (options.vectorize && failed(loadBroadcastOperands(*module)))
    return fail("vector lowering");
  lap("stage 3 (vector lowering)");
  if (options.parallel)
    detail::outlineParallelLoops(*module);
  if (options.keepIntermediates)
    result.loweredIR = printModule(*module);

  PassManager llvmPM(&ctx);
  buildLLVMPipeline(llvmPM);
  if (timing)
    llvmPM.enableTiming();
  if (failed(llvmPM.run(*module)))
    return fail("conversion to the LLVM dialect");
  lap("stage 4 (LLVM dialect)");
  if (timing) {
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

  if (llvm::Error e = detail::emitObject(*module, options, result))
    return std::move(e);
  lap("LLVM IR, middle end, object");
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  return result;
}

} // namespace nm::codegen
