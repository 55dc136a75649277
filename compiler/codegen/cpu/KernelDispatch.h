//===- KernelDispatch.h - lowering-config selection -------------*- C++ -*-===//
//
// The heuristics that choose each structured op's schedule (LoweringConfig.h)
// from its shapes and the CompileOptions: register tiles of convs and
// matmuls, serial channel tiles, thread-level tiles, fused groups. Apart
// from the passes (as IREE's KernelDispatch.cpp), so tuning them does not
// touch the transformations.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_COMPILER_CODEGEN_CPU_KERNELDISPATCH_H
#define NEUROMANCER_COMPILER_CODEGEN_CPU_KERNELDISPATCH_H

#include "LoweringConfig.h"
#include "neuromancer/compiler/codegen/CodeGen.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/BuiltinOps.h"

namespace nm::codegen::cpu {

/// Ops with fewer loop iterations stay on the calling thread: a dispatch
/// costs a few microseconds.
constexpr int64_t kMinParallelWork = int64_t(1) << 16;

/// Enough thread-level iterations to balance any thread count we expect;
/// further loops stay inside each iteration (fewer, bigger tasks).
constexpr int64_t kParallelIterations = 256;

/// Channels per iteration of the serial channel loop over `channels`
/// output channels (0: no loop).
int64_t channelTile(int64_t channels, const CompileOptions &o);

/// Chooses the schedule of every structured op of `module` on static
/// tensors and forms the fused groups; returns the ops and, in the same
/// order, their schedules (tags set, see LoweringConfig.h).
void selectLoweringConfigs(mlir::ModuleOp module, const CompileOptions &o,
                           llvm::SmallVectorImpl<mlir::Operation *> &ops,
                           std::vector<OpSchedule> &schedules);

} // namespace nm::codegen::cpu

#endif // NEUROMANCER_COMPILER_CODEGEN_CPU_KERNELDISPATCH_H
