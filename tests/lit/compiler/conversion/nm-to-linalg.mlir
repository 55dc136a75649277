// nm -> linalg: encodings stripped, names and parameters marked for codegen,
// convs channels-last through linalg's named conv, unsupported ops reported.
// RUN: nm-opt %s --split-input-file --convert-nm-to-linalg --verify-diagnostics | FileCheck %s

!x = tensor<1x2x3x6x6xf32, #nm.tagged<b,f,z,x,y>>
!y = tensor<1x4x3x2x2xf32, #nm.tagged<b,f,z,x,y, fov = [1, 4, 4], strides = [1, 2, 2]>>

// CHECK-LABEL: func.func @conv
// CHECK-SAME: (%{{.*}}: tensor<1x2x3x6x6xf32> {nm.name = "image"}
// CHECK-SAME: %{{.*}}: tensor<4x2x1x3x3xf32> {nm.name = "conv_w", nm.parameter}
// CHECK-SAME: -> (tensor<1x4x3x2x2xf32> {nm.name = "conv"})
// CHECK-NOT: nm.
// CHECK: linalg.conv_3d_ndhwc_dhwcf
// CHECK: linalg.pooling_ndhwc_max
// CHECK: math.tanh
// CHECK-NOT: #nm.tagged
func.func @conv(%x: !x {nm.input = "image"},
                %w: tensor<4x2x1x3x3xf32> {nm.param = "conv_w", nm.trainable},
                %b: tensor<4xf32> {nm.param = "conv_b", nm.trainable}) -> !y {
  %0 = nm.conv %x, %w, %b {pool = array<i64: 1, 2, 2>, activation = #nm.activation<tanh>}
      : (!x, tensor<4x2x1x3x3xf32>, tensor<4xf32>) -> !y loc("conv")
  return %0 : !y
}

// -----

// LRN: the squares summed over the window, x / (k + alpha * mean)^beta.
!x = tensor<1x2x3x6x6xf32, #nm.tagged<b,f,z,x,y>>
// CHECK-LABEL: func.func @lrn
// CHECK-NOT: nm.lrn
// CHECK: linalg.generic
// CHECK: math.powf
func.func @lrn(%x: !x) -> !x {
  %0 = nm.lrn %x {filter_shape = array<i64: 1, 3, 3>} : (!x) -> !x
  return %0 : !x
}

// -----

// 'fadeout' needs the gradnet rate, a training schedule outside the graph.
!x = tensor<1x2x3x6x6xf32, #nm.tagged<b,f,z,x,y>>
!y = tensor<1x2x3x5x5xf32, #nm.tagged<b,f,z,x,y, fov = [1, 2, 2]>>
!v = tensor<2xf32>
func.func @bn_fadeout(%x: !x, %w: tensor<2x2x1x2x2xf32>, %b: !v, %g: !v,
                      %m: !v, %s: !v) -> !y {
  // expected-error @+1 {{lowering of 'nm.conv' to linalg is not implemented yet (batch_normalisation = 'fadeout')}}
  %0 = nm.conv %x, %w, %b bn(%g, %m, %s) {batch_normalisation = #nm<batch_norm fadeout>}
      : (!x, tensor<2x2x1x2x2xf32>, !v, !v, !v, !v) -> !y
  return %0 : !y
}
