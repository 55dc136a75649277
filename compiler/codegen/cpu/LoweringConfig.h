//===- LoweringConfig.h - how one structured op is tiled --------*- C++ -*-===//
//
// The lowering configuration (IREE's lowering_config) that
// nm-cpu-select-lowering-config chooses per structured op (KernelDispatch.h)
// and the tiling passes apply (TransformSchedule.h, TileAndFuse.cpp), and
// the attributes that carry it between those passes:
//   - `nm.lowering_config` on each op: its schedule, a typed attribute
//     #nm_cpu.lowering_config (CodegenAttrs.td), readable in the IR (an op
//     that already carries one, or a dictionary with its fields, keeps
//     it: tests, tuning);
//   - `nm.codegen.op<K>` (unit) on each op: its index K in the schedule
//     list, which transform scripts match on;
//   - `nm.codegen.schedules` on the module: the list of configs, indexed
//     by K (ops fused into a group reference each other by index).
// nm-cpu-vectorize removes them all.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_COMPILER_CODEGEN_CPU_LOWERINGCONFIG_H
#define NEUROMANCER_COMPILER_CODEGEN_CPU_LOWERINGCONFIG_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nm::codegen::cpu {

class LoweringConfigAttr;
using llvm::SmallVector;

/// Lanes of the target's widest float vector (AVX-512: 16 x f32).
constexpr int64_t kVectorLanes = 16;

/// Prefix of the tag that names an op's schedule (`nm.codegen.op<K>`).
constexpr llvm::StringLiteral kTagPrefix = "nm.codegen.op";
constexpr llvm::StringLiteral kLoweringConfig = "nm.lowering_config";
/// The module's list of schedules (see the file comment).
constexpr llvm::StringLiteral kSchedules = "nm.codegen.schedules";
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

/// The schedule as #nm_cpu.lowering_config, every field.
LoweringConfigAttr toAttr(mlir::MLIRContext *ctx, const OpSchedule &s);
/// The schedule of an op with `numLoops` loops from its
/// #nm_cpu.lowering_config or from a dictionary with the same fields
/// (`tile_sizes` required, the channel and thread fields optional); fields
/// not given keep their defaults. Null if the tile sizes do not fit the op.
std::optional<OpSchedule> fromAttr(mlir::Attribute config, unsigned numLoops);

/// Tags each op of `ops` (in order: the op of schedule K gets tag K), sets
/// its `nm.lowering_config` and stores the list on `module`.
void attachSchedules(mlir::ModuleOp module,
                     llvm::ArrayRef<mlir::Operation *> ops,
                     std::vector<OpSchedule> &schedules);
/// The list attachSchedules stored (empty if there is none).
std::vector<OpSchedule> loadSchedules(mlir::ModuleOp module);
/// Removes the list, the tags, marks and configs.
void clearSchedules(mlir::ModuleOp module);

} // namespace nm::codegen::cpu

#endif // NEUROMANCER_COMPILER_CODEGEN_CPU_LOWERINGCONFIG_H
