//===- Passes.td - target-independent codegen passes -------*- tablegen -*-===//
//
// Passes a CPU and a GPU pipeline share: the bufferization stage around
// upstream's one-shot bufferization.
//
//===----------------------------------------------------------------------===//
#ifndef NM_CODEGEN_COMMON_PASSES_TD
#define NM_CODEGEN_COMMON_PASSES_TD

include "mlir/Pass/PassBase.td"

def NmPadToDestinationStyle
    : Pass<"nm-pad-to-destination-style", "::mlir::ModuleOp"> {
  let summary = "Rewrite tensor.pad as a fill and an insert_slice";
  let description = [{
    Runs before bufferization. A pad that is then inserted into a bigger
    tensor (the weights of a conv, padded to whole vectors and given their
    unit dims back) is written in place there by empty-tensor elimination,
    instead of into a buffer of its own that is copied whole.
  }];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def NmLowerNonContiguousCopies
    : Pass<"nm-lower-noncontiguous-copies", "::mlir::ModuleOp"> {
  let summary = "Lower memref.copy between non-contiguous buffers to loops";
  let description = [{
    Runs after bufferization. A memref.copy between buffers that are not
    both contiguous lowers to a call of `memrefCopy` from MLIR's
    c_runner_utils, which neither JIT nor AOT objects link. Such copies go
    row by row (a loop nest of 1-D copies, inline memcpys) where the
    innermost dim is contiguous on both sides, else become linalg.copy.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect"
  ];
}

def NmSplitTransfersOfExpandedShapes
    : Pass<"nm-split-transfers-of-expanded-shapes", "::mlir::ModuleOp"> {
  let summary = "Unroll transfer_reads that upstream's alias folding would "
                "misread";
  let description = [{
    Runs right before fold-memref-alias-ops. Upstream's folding of a
    vector.transfer_read through a memref.expand_shape gives the read a
    minor identity map on the source, which is only right when every
    non-unit vector dim is the innermost dim of its own reassociation group
    and that group is the source dim at the same place from the end. A read
    of vector<2x3xf32> at [i, 0, 0] of memref<3x2x3xf32> expanded from
    memref<3x6xf32> would become a read of rows i and i + 1 (a softmax over
    independent class blocks, 'b,f', computed wrong numbers). Such reads are
    unrolled here into reads of their innermost dim, which fold correctly.
  }];
  let dependentDialects = ["::mlir::vector::VectorDialect"];
}

#endif // NM_CODEGEN_COMMON_PASSES_TD
