//===- CodeGen.h - linalg-on-tensors to a PIC object file -------*- C++ -*-===//
//
// The CPU back half of the compiler. Input: a module of `func.func`s on
// ranked, statically shaped tensors in linalg/tensor/arith/math. Output: the
// bytes of an ELF object for the host CPU (PIC, small code model) that
// exports, per function `f`, the packed entry `_mlir_f` of
// neuromancer/runtime/Executable.h, plus the FunctionSignature of each.
//
// Pipeline (see pipelineDescription() for the exact text):
//   1. tensors: a schedule per structured op, chosen by a heuristic and
//      carried on the op as `nm.lowering_config` (an op that already has
//      one keeps it), applied as a transform-dialect script:
//        - convs: a serial loop over channel tiles (the weights of one tile
//          stay in cache; tiles of 2-5 vectors of channels that leave no
//          single-vector remainder), a thread-level scf.forall over output
//          rows, and register tiles (rows x 2 or 3 vectors of channels,
//          peeled remainders) generalised,
//          unit dims folded and vectorised into vector.contract (or outer
//          products for one input channel). A conv's pooling and epilogue
//          (bias, activation) are fused into the same loops, tile by tile;
//        - pooling: one pixel x a vector of channels; transposes: 16 x 16
//          tiles; everything else: 1-D rows. Big ops get thread-level tiles.
//      Then vectorisation (linalg ops and small, safe insert_slices),
//      unrolling of vectors whose width is not a power of two into vectors
//      of 16 lanes (contractions into single FMAs in outer-product order),
//      and cleanup.
//   2. one-shot bufferization across function boundaries (identity layout;
//      inputs are never written), results to caller-allocated out-params,
//      buffer deallocation; non-contiguous copies become linalg.copy.
//   3. buffers: hoist the accumulators out of the window loops, lower
//      contractions to outer-product FMAs with broadcasts loaded from
//      memory, lower transfers/reductions/transposes; outermost scf.forall
//      loops are outlined into bodies run by nm_runtime_parallel_for
//      (runtime/ThreadPool.h, Parallel.cpp).
//   4. loops (fallback for anything not vectorised), then the LLVM dialect
//      in one conversion (--nm-convert-to-llvm, Passes.td) with
//      bare-pointer memrefs; LLVM IR; packed `_mlir_` wrappers, parallel
//      dispatch trampolines, malloc/free -> nm_runtime_alloc/free; O1
//      without LLVM's own unrolling/vectorisation; object.
// Every stage is a pass (common/Passes.td, cpu/Passes.td; nm-opt runs each
// alone), and the pipeline is built in one place, buildCpuCodegenPipeline
// (cpu/Passes.cpp); the lowering config comes from cpu/KernelDispatch.cpp.
// NEUROMANCER_CODEGEN_TIMING=1 prints the time of each pass on stderr,
// NEUROMANCER_CODEGEN_PRINT_IR=1 the IR after each pass;
// NEUROMANCER_CODEGEN_REPRODUCER=FILE writes a reproducer of a failing
// pipeline (nm-opt --run-reproducer FILE).
//
// Function signatures come from the func type. Optional argument/result
// attributes: `nm.name = "image"` (ArgSpec name), `nm.dtype = "uint8"`
// (dtype when the element type alone is ambiguous) and, on arguments,
// `nm.parameter` (unit: a trainable parameter; parameters must follow the
// inputs).
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_COMPILER_CODEGEN_CODEGEN_H
#define NEUROMANCER_COMPILER_CODEGEN_CODEGEN_H

#include "neuromancer/runtime/Executable.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mlir {
class ModuleOp;
class DialectRegistry;
} // namespace mlir

namespace nm::codegen {

/// The host as LLVM sees it; part of every cache key.
struct TargetInfo {
  std::string triple;
  std::string cpu;
  std::string features; // "+avx2,+fma,-avx512f,..." sorted
};
TargetInfo hostTarget();

/// The internal layout this back end wants from the nm -> linalg
/// conversion (the options of --convert-nm-to-linalg, NmToLinalg.h): a CPU
/// decision, so it lives here and the driver hands it to the conversion.
struct LayoutOptions {
  /// Conv output channels rounded up to a multiple of the AVX-512 vector
  /// (16 floats) so register tiles are full.
  int64_t channelAlignment = 16;
  /// Convs with at most this many output channels are not padded.
  int64_t maxUnpaddedChannels = 4;
  /// Convs and pools hand their channels-last values to the next one.
  bool keepChannelsLast = true;
};

struct CompileOptions {
  /// LLVM optimisation level of the final O-pipeline and codegen (0-3).
  /// 1: the MLIR pipeline hands LLVM register-tiled vector code, on which
  /// O3 (and codegen at Aggressive) gave kernels of the same speed
  /// (neuro3d_pred per loop within 1 %) for 0.3-0.4 s more compile time.
  unsigned optLevel = 1;
  /// Register tile of convs and matmuls: output-width (rows) x filters
  /// (columns). Rows are adapted to the loop and to the column count (see
  /// rowTile in cpu/KernelDispatch.cpp); columns are at most tileCols, in tiles
  /// of 2 or 3 vectors that leave no single-vector tile where the channel count
  /// allows (columnTile, channelTile). A tile that does not divide its loop
  /// leaves a peeled remainder tile, so every tile is static.
  int64_t tileRows = 8;
  int64_t tileCols = 48;
  /// Largest reduction (input-channel / K) chunk vectorised (unrolled) at
  /// once; a divisor of the channel count near it is preferred.
  int64_t tileReduction = 2;
  /// Largest innermost-dimension chunk of other linalg ops.
  int64_t tileInner = 64;
  /// Largest weights (bytes) of one serial output-channel tile of a conv,
  /// which should stay in L2 while all its rows run (half the 2 MiB L2 of
  /// the cores we measure on). A conv whose 4- or 5-vector channel tile is
  /// larger is cut into two parts scheduled apart (channelSplitPoint in
  /// cpu/ChannelGroups.cpp); 0: never cut.
  int64_t weightTileBytes = int64_t(1) << 20;
  /// Largest channel tail computed apart: where a conv's real output
  /// channels end `tail` channels into a vector (100 = 6 x 16 + 4), those
  /// channels are computed as dot products over the input channels instead
  /// of as a 16-lane column (cpu/ChannelTails.cpp); 0: never.
  /// Measured on neuro3d at prediction size (sums of per-loop minima):
  /// tails up to 8 channels 2189 -> 2126 ms per forward at 1 thread, 1141
  /// -> 1071 ms at 2; up to 6 (leaving the 8-channel tails of layers 3, 8
  /// and 9 in columns) 2143 and 1109 ms.
  int64_t channelTailMax = 8;
  /// false: no tiling/vectorisation schedule; every structured op becomes
  /// scalar loops (a slow reference for differential tests).
  bool vectorize = true;
  /// Run the outermost parallel tile loop of each big op on the runtime's
  /// thread pool (nm_runtime_parallel_for, runtime/ThreadPool.h).
  bool parallel = true;
  /// Threads of the LLVM middle end and code generation: the module is
  /// split into that many parts by function, each optimised and emitted on
  /// its own thread, and CompiledObject::object is then an ar archive of
  /// their objects (jit::loadObject adds every member). 0: one per hardware
  /// thread, at most 4; 1: one ELF object (ahead-of-time objects). Small
  /// modules are never split.
  unsigned codegenThreads = 0;
  /// Target; empty fields mean the host.
  TargetInfo target;
  /// What the conversion to linalg produces for this back end.
  LayoutOptions layout;
  /// Keep the intermediate IR in CompiledObject (tests, debugging).
  bool keepIntermediates = false;
};

/// Text of the pipeline and options that fully determines code generation
/// (cache key material).
std::string pipelineDescription(const CompileOptions &options);

struct CompiledObject {
  std::vector<char> object; // ELF relocatable object
  std::vector<FunctionSignature> functions;
  TargetInfo target;
  double seconds = 0; // wall time of the compilation
  // With keepIntermediates only:
  std::string vectorizedIR; // MLIR after stage 1 (tensors, vectorised)
  std::string bufferizedIR; // MLIR after stage 2 (buffers)
  std::string loweredIR;    // MLIR after stage 3 (buffers, vector lowered)
  std::string llvmIR;       // optimised LLVM IR
};

/// Dialects, interfaces and translations the pipeline needs.
void registerCodegenDialects(mlir::DialectRegistry &registry);

/// Compiles every public func.func of `module`. The module is not modified:
/// it is printed and compiled in a private context.
llvm::Expected<CompiledObject> compileToObject(mlir::ModuleOp module,
                                               const CompileOptions &options);
/// Same, from MLIR text (generic or custom form).
llvm::Expected<CompiledObject> compileToObject(llvm::StringRef moduleText,
                                               const CompileOptions &options);

/// The module in generic form with no locations: stable cache-key text.
std::string printForKey(mlir::ModuleOp module);

} // namespace nm::codegen

#endif // NEUROMANCER_COMPILER_CODEGEN_CODEGEN_H
