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

#endif // NM_CODEGEN_COMMON_PASSES_TD
