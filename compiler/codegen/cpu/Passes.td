//===- Passes.td - CPU code generation passes --------------*- tablegen -*-===//
//
// One pass per stage of the CPU pipeline (CodeGen.h), in pipeline order;
// buildCpuCodegenPipeline (Passes.h) strings them together. The options
// carry the fields of CompileOptions each pass reads (defaults: those of
// CompileOptions).
//
//===----------------------------------------------------------------------===//
#ifndef NM_CODEGEN_CPU_PASSES_TD
#define NM_CODEGEN_CPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def NmCpuChannelTails : Pass<"nm-cpu-channel-tails", "::mlir::ModuleOp"> {
  let summary = "Compute the last, partial vector of a conv's channels apart";
  let description = [{
    Where a conv's real output channels end `tail` channels into a vector
    (100 = 6 x 16 + 4, computed as 112 with zero weights), its group is
    split after the whole vectors and the part with the tail becomes a conv
    that runs its lanes over input channels (16 partial sums per channel,
    summed across lanes at the end): 4 channels then cost 4 / 16 of a
    vector column's FMAs.
  }];
  let options = [
    Option<"channelTailMax", "channel-tail-max", "int64_t", "8",
           "Largest tail computed apart (0: never)">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def NmCpuSplitChannelGroups
    : Pass<"nm-cpu-split-channel-groups", "::mlir::ModuleOp"> {
  let summary = "Cut convs whose channel tile's weights exceed the L2 budget";
  let description = [{
    A conv (with its fused pooling, fills and epilogue) whose serial channel
    tile of 4 or 5 vectors reads more weights than weight-tile-bytes is cut
    before its last 3 vectors of output channels; the two parts are then
    scheduled apart.
  }];
  let options = [
    Option<"tileCols", "tile-cols", "int64_t", "48",
           "Register tile columns (output channels)">,
    Option<"weightTileBytes", "weight-tile-bytes", "int64_t", "1048576",
           "Largest weights of one serial channel tile (0: never cut)">
  ];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def NmCpuSelectLoweringConfig
    : Pass<"nm-cpu-select-lowering-config", "::mlir::ModuleOp"> {
  let summary = "Choose each structured op's tiling (nm.lowering_config)";
  let description = [{
    Runs the heuristics of KernelDispatch.cpp on every linalg op on static
    tensors: register tiles, serial channel tiles, thread-level tiles and
    the fused conv -> pooling -> epilogue groups. Each op gets its schedule
    as `nm.lowering_config` and a tag `nm.codegen.op<K>`; the module gets
    the list (`nm.codegen.schedules`) that the tiling passes apply. The
    config is a #nm_cpu.lowering_config (CodegenAttrs.td). An op that
    already carries a `nm.lowering_config` keeps it (a dictionary with the
    same fields is accepted too).
  }];
  let options = [
    Option<"tileRows", "tile-rows", "int64_t", "8",
           "Register tile rows (output width)">,
    Option<"tileCols", "tile-cols", "int64_t", "48",
           "Register tile columns (output channels)">,
    Option<"tileReduction", "tile-reduction", "int64_t", "2",
           "Largest reduction chunk vectorised at once">,
    Option<"tileInner", "tile-inner", "int64_t", "64",
           "Largest innermost chunk of other linalg ops">,
    Option<"weightTileBytes", "weight-tile-bytes", "int64_t", "1048576",
           "Largest weights of one serial channel tile">,
    Option<"parallel", "parallel", "bool", "true",
           "Thread-level tiles for big ops">
  ];
  let dependentDialects = ["::nm::codegen::cpu::NmCpuDialect"];
}

def NmCpuTileAndFuse : Pass<"nm-cpu-tile-and-fuse", "::mlir::ModuleOp"> {
  let summary = "Channel and thread-level loops, producers fused in";
  let description = [{
    Applies the outer levels of the selected schedules (transform script A,
    TransformSchedule.cpp): the serial channel loop, the thread-level
    scf.forall with the group's producers fused into each tile, the peeled
    channel remainder; register tiles of ops outside any group. Then folds
    tensor.empty and canonicalises, which makes the peeled tiles static.
  }];
  let options = [
    Option<"dumpSchedule", "dump-schedule", "bool", "false",
           "Print the transform script on stderr">
  ];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::transform::TransformDialect",
    "::nm::codegen::cpu::NmCpuDialect"
  ];
}

def NmCpuPackWeightTiles
    : Pass<"nm-cpu-pack-weight-tiles", "::mlir::ModuleOp"> {
  let summary = "Copy a channel tile's weights where its rows alias in cache";
  let description = [{
    Where the rows of a conv's channel tile of weights fall on a fraction of
    the cache's sets (the row stride's largest power-of-two divisor is
    larger than the tile's row), the tile is copied into a buffer of its
    own (bufferization.alloc_tensor) before its thread-level loop.
  }];
  let dependentDialects = ["::mlir::bufferization::BufferizationDialect"];
}

def NmCpuTileRegisters : Pass<"nm-cpu-tile-registers", "::mlir::ModuleOp"> {
  let summary = "Register tiles inside the loops of nm-cpu-tile-and-fuse";
  let description = [{
    Tiles the parallel dims of convs whose init fill is fused into their
    register tiles (the accumulators start from zero in registers), then
    applies transform script B: the register tiles of the grouped ops (the
    copies in a peeled channel remainder get theirs), generalisation,
    peeling and unit-dim folding.
  }];
  let options = [
    Option<"dumpSchedule", "dump-schedule", "bool", "false",
           "Print the transform script on stderr">
  ];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::transform::TransformDialect",
    "::nm::codegen::cpu::NmCpuDialect"
  ];
}

def NmCpuVectorize : Pass<"nm-cpu-vectorize", "::mlir::ModuleOp"> {
  let summary = "Vectorise the register tiles and clean up";
  let description = [{
    Vectorises the tiled linalg ops and small, safe insert_slices,
    unrolls vectors whose width is not a power of two into vectors of 16
    lanes (contractions into single FMAs in outer-product order), hoists
    accumulators out of the reduction loops, canonicalises and CSEs. Ends
    stage 1: removes the schedules, tags and marks.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def NmCpuLowerVectors : Pass<"nm-cpu-lower-vectors", "::mlir::ModuleOp"> {
  let summary = "Keep accumulators in registers; contractions to FMAs";
  let description = [{
    Stage 3 (buffers): hoists redundant transfers (accumulators across the
    window loops), lowers contractions to outer-product FMAs, transfers,
    reductions, transposes and shape casts to 1-D vectors; forwards stores
    to loads (a fused init fill's zeros); loads the broadcast operands of
    outer products element by element.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::transform::TransformDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def NmCpuOutlineParallel
    : Pass<"nm-cpu-outline-parallel", "::mlir::ModuleOp"> {
  let summary = "Outline outermost scf.forall loops into parallel bodies";
  let description = [{
    Every outermost scf.forall (on buffers) becomes a private body function
    over a range of its iterations, called through a declaration
    `nm_dispatch.<body>` that the LLVM half turns into a call of
    nm_runtime_parallel_for (Parallel.cpp, Emit.cpp).
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::func::FuncDialect",
    "::mlir::scf::SCFDialect"
  ];
}

def NmCpuCheckTempBytes
    : Pass<"nm-cpu-check-temp-bytes", "::mlir::ModuleOp"> {
  let summary = "Estimate each function's intermediate buffers; check them "
                "against the runtime's limit at entry";
  let description = [{
    On buffers, after nm-cpu-outline-parallel. Every public function gets an
    upper bound of the bytes of the buffers it allocates that are alive at
    once (`nm.temp_bytes`: allocs and deallocs walked in program order, one
    iteration of each serial loop, a call or parallel dispatch adding its
    callee's own peak) and of the largest parallel body's
    (`nm.temp_bytes_per_thread`, which every further pool thread may hold
    at once). Its entry calls nm_runtime_check_temp_bytes(bytes,
    per_thread) and returns at once when the runtime refuses (more than
    NEUROMANCER_MAX_TEMP_BYTES or the physical memory; the caller gets the
    reason from nm_runtime_call_status). MemoryChecks.cpp.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::cf::ControlFlowDialect",
    "::mlir::func::FuncDialect"
  ];
}

def NmConvertToLLVM : Pass<"nm-convert-to-llvm", "::mlir::ModuleOp"> {
  let summary = "Lower vector, memref, arith, math, index, ub, func, cf and "
                "affine ops to the LLVM dialect in one dialect conversion";
  let description = [{
    Stage 4 of the CPU pipeline (CodeGen.h). First one greedy rewrite: the
    vector-to-vector lowerings that upstream's convert-vector-to-llvm
    applies before its conversion, and expand-strided-metadata (memref
    views to base + offset arithmetic). Then a single partial conversion
    with the patterns of convert-vector-to-llvm, finalize-memref-to-llvm,
    convert-math-to-llvm, convert-math-to-libm (lower benefit: only for math
    ops without an LLVM intrinsic), convert-arith/index/ub-to-llvm,
    convert-func-to-llvm with bare-pointer memref arguments,
    convert-cf-to-llvm and lower-affine.

    Same result as running those passes one after another, in one walk of
    the module instead of nine: on neuro3d's forward (about 30k LLVM ops)
    stage 4 takes 0.46 s instead of 1.1 s.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def NmCpuCheckAllocations
    : Pass<"nm-cpu-check-allocations", "::mlir::ModuleOp"> {
  let summary = "Return early when an allocation or a called body failed";
  let description = [{
    On the LLVM dialect, after nm-convert-to-llvm. Each call of malloc
    (nm_runtime_alloc in the object) is followed by a null test, and each
    call of a parallel dispatch or of another function defined in the
    module by a test of nm_runtime_call_failed(); either branches to a block
    that returns. The runtime has recorded the failure and frees what the
    call allocated when the caller takes its status (runtime/ThreadPool.h).
    MemoryChecks.cpp.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

#endif // NM_CODEGEN_CPU_PASSES_TD
