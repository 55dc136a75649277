// nm-cpu-split-channel-groups: 112 output channels (7 vectors) run in
// serial tiles of 64 channels; with a 3x4x4 window over 100 input channels
// such a tile's weights (1.2 MB) exceed weight-tile-bytes (1 MiB), so the
// conv and its bias + relu epilogue are cut at channel 64: two groups, each
// writing its slice of the result. A larger budget leaves the group whole.
// RUN: nm-opt %s --nm-cpu-split-channel-groups | FileCheck %s
// RUN: nm-opt %s --nm-cpu-split-channel-groups=weight-tile-bytes=2000000 | FileCheck %s --check-prefix=WHOLE

// CHECK-LABEL: func.func @conv_wide_weights
// CHECK: linalg.conv_3d_ndhwc_dhwcf
// CHECK-SAME: tensor<3x4x4x100x64xf32>
// CHECK: linalg.generic
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0, 0, 0, 0] [1, 3, 8, 17, 64]
// CHECK: linalg.conv_3d_ndhwc_dhwcf
// CHECK-SAME: tensor<3x4x4x100x48xf32>
// CHECK: linalg.generic
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0, 0, 0, 64] [1, 3, 8, 17, 48]
// WHOLE-LABEL: func.func @conv_wide_weights
// WHOLE: linalg.conv_3d_ndhwc_dhwcf
// WHOLE-SAME: tensor<3x4x4x100x112xf32>
// WHOLE-NOT: linalg.conv_3d_ndhwc_dhwcf
#id = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#ch = affine_map<(d0, d1, d2, d3, d4) -> (d4)>
func.func @conv_wide_weights(%x: tensor<1x5x11x20x100xf32>, %w: tensor<3x4x4x100x112xf32>,
                             %b: tensor<112xf32>) -> tensor<1x3x8x17x112xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x3x8x17x112xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x3x8x17x112xf32>) -> tensor<1x3x8x17x112xf32>
  %c = linalg.conv_3d_ndhwc_dhwcf {dilations = dense<1> : tensor<3xi64>, strides = dense<1> : tensor<3xi64>}
     ins(%x, %w : tensor<1x5x11x20x100xf32>, tensor<3x4x4x100x112xf32>)
     outs(%f : tensor<1x3x8x17x112xf32>) -> tensor<1x3x8x17x112xf32>
  %e2 = tensor.empty() : tensor<1x3x8x17x112xf32>
  %r = linalg.generic {indexing_maps = [#id, #ch, #id],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]}
     ins(%c, %b : tensor<1x3x8x17x112xf32>, tensor<112xf32>) outs(%e2 : tensor<1x3x8x17x112xf32>) {
  ^bb0(%v: f32, %bias: f32, %o: f32):
    %s = arith.addf %v, %bias : f32
    %m = arith.maximumf %s, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x3x8x17x112xf32>
  return %r : tensor<1x3x8x17x112xf32>
}
