//===- Passes.td - nm -> linalg conversion pass ------------*- tablegen -*-===//
#ifndef NM_CONVERSION_PASSES_TD
#define NM_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertNmToLinalg : Pass<"convert-nm-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Lower the nm dialect to linalg/tensor/arith/math on static "
                "tensors (the input of the CPU code generator)";
  let description = [{
    Rewrites every func.func that uses nm ops or tagged tensors into plain,
    statically shaped ranked tensors (NmToLinalg.h). Each function is
    rebuilt op by op; a function with an op that cannot be lowered is left
    unchanged and the pass fails.

    The options are the target's layout decisions; their defaults are the
    CPU back end's. With `channel-alignment=16`, a conv with 20 output
    channels computes 32 (linalg.conv_3d_ndhwc_dhwcf into a
    `tensor<...x32xf32>`) and hands them on to the next conv or pool.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::func::FuncDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::tensor::TensorDialect",
  ];
  let options = [
    Option<"channelAlignment", "channel-alignment", "int64_t",
           /*default=*/"16",
           "Round the channels of conv outputs up to a multiple of this "
           "(1: no padding)">,
    Option<"maxUnpaddedChannels", "max-unpadded-channels", "int64_t",
           /*default=*/"4",
           "Conv outputs with at most this many channels are not padded">,
    Option<"keepChannelsLast", "keep-channels-last", "bool",
           /*default=*/"true",
           "Hand conv and pool outputs to the next conv or pool in their "
           "internal channels-last layout">,
  ];
}

#endif // NM_CONVERSION_PASSES_TD
