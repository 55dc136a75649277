//===- OpGroups.h - the structured ops codegen recognises -------*- C++ -*-===//
//
// Which linalg ops are convs and poolings (and their loop layout), and the
// groups of ops that are scheduled as one loop nest: a conv with its
// pooling and elementwise epilogue, a channel tail with its lane sums.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_COMPILER_CODEGEN_CPU_OPGROUPS_H
#define NEUROMANCER_COMPILER_CODEGEN_CPU_OPGROUPS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace nm::codegen::cpu {

/// Number of spatial dims of a pooling op (0: not a pooling op).
int poolingSpatialDims(mlir::linalg::LinalgOp op);

/// Number of spatial dims of a conv (0: not one of the convs we tile).
/// Loops: n, o_1..o_S, f, k_1..k_S, c.
int convSpatialDims(mlir::linalg::LinalgOp op);

/// The output-channel loop of an op that can lead a channel-tiled group
/// (-1: none).
int64_t channelLoop(mlir::linalg::LinalgOp op);

/// A conv's chain: conv -> [pooling] -> [elementwise epilogue], each op the
/// only user of the previous one, plus the fills that initialise the conv
/// and the pooling. Returned root first, then the producers consumer
/// first; empty if the conv has no such consumer. For a channel-tail conv:
/// its lane sums, the conv and the fill of its partial sums.
llvm::SmallVector<mlir::Operation *> fusionGroup(mlir::linalg::LinalgOp conv);

} // namespace nm::codegen::cpu

#endif // NEUROMANCER_COMPILER_CODEGEN_CPU_OPGROUPS_H
