// nm-cpu-channel-tails: 100 output channels computed as 112 (weights padded
// with zeros to 7 vectors): the conv is split after 96 channels, and the 4
// channels of the tail become a lane-parallel conv (16 partial sums per
// channel, marked nm.codegen.channel_tail) whose lane sums are inserted
// into the result.
// RUN: nm-opt %s --nm-cpu-channel-tails | FileCheck %s
// RUN: nm-opt %s --nm-cpu-channel-tails=channel-tail-max=2 | FileCheck %s --check-prefix=SMALLER

// CHECK-LABEL: func.func @tail
// CHECK: linalg.conv_3d_ndhwc_dhwcf
// CHECK-SAME: tensor<3x4x4x112x96xf32>
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0, 0, 0, 0] [1, 3, 8, 17, 96]
// CHECK: %[[DOTS:.*]] = linalg.generic
// CHECK-SAME: ins(%{{.*}}, %{{.*}} : tensor<1x5x11x20x7x16xf32>, tensor<3x4x4x7x4x16xf32>)
// CHECK-SAME: outs(%{{.*}} : tensor<1x3x8x17x4x16xf32>) attrs = {nm.codegen.channel_tail}
// CHECK: math.fma
// CHECK: linalg.generic
// CHECK-SAME: ins(%[[DOTS]] : tensor<1x3x8x17x4x16xf32>)
// CHECK: arith.addf
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0, 0, 0, 96] [1, 3, 8, 17, 16]
// SMALLER-LABEL: func.func @tail
// SMALLER-NOT: nm.codegen.channel_tail
func.func @tail(%x: tensor<1x5x11x20x112xf32>, %w: tensor<3x4x4x112x100xf32>)
    -> tensor<1x3x8x17x112xf32> {
  %zero = arith.constant 0.0 : f32
  %wp = tensor.pad %w low[0, 0, 0, 0, 0] high[0, 0, 0, 0, 12] {
  ^bb0(%a: index, %b: index, %c: index, %d: index, %e: index):
    tensor.yield %zero : f32
  } : tensor<3x4x4x112x100xf32> to tensor<3x4x4x112x112xf32>
  %init = tensor.empty() : tensor<1x3x8x17x112xf32>
  %f = linalg.fill ins(%zero : f32) outs(%init : tensor<1x3x8x17x112xf32>) -> tensor<1x3x8x17x112xf32>
  %c = linalg.conv_3d_ndhwc_dhwcf {dilations = dense<1> : tensor<3xi64>, strides = dense<1> : tensor<3xi64>}
     ins(%x, %wp : tensor<1x5x11x20x112xf32>, tensor<3x4x4x112x112xf32>)
     outs(%f : tensor<1x3x8x17x112xf32>) -> tensor<1x3x8x17x112xf32>
  return %c : tensor<1x3x8x17x112xf32>
}
