//===- ChannelGroups.h - cutting conv groups by output channel --*- C++ -*-===//
#ifndef NEUROMANCER_COMPILER_CODEGEN_CPU_CHANNELGROUPS_H
#define NEUROMANCER_COMPILER_CODEGEN_CPU_CHANNELGROUPS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/PatternMatch.h"

namespace nm::codegen::cpu {

/// Splits the fusion group of `conv` (or the conv alone) at output channel
/// `at`: the group's last op is split (linalg::splitOp: each part writes
/// its slice of the result), and each part gets its own copy of the conv,
/// pooling, fills and epilogue restricted to its channels. The parts then
/// form groups of their own.
mlir::LogicalResult splitGroupAt(mlir::RewriterBase &rewriter,
                                 mlir::linalg::LinalgOp conv, int64_t at);

} // namespace nm::codegen::cpu

#endif // NEUROMANCER_COMPILER_CODEGEN_CPU_CHANNELGROUPS_H
