// nm -> linalg, the densified forms nm-densify makes: a conv whose taps are
// `dilation` apart with its max-pool sliding by one and dilated alike, and a
// dilated stride-1 nm.pool (linalg's dilations attributes).
// RUN: nm-opt %s --split-input-file --convert-nm-to-linalg | FileCheck %s

!x = tensor<1x3x3x9x9xf32, #nm.tagged<b,f,z,x,y, fov = [3, 4, 4]>>
!y = tensor<1x2x3x5x5xf32, #nm.tagged<b,f,z,x,y, fov = [3, 8, 8]>>
// CHECK-LABEL: func.func @conv
// CHECK: linalg.conv_3d_ndhwc_dhwcf {dilations = dense<2> : tensor<3xi64>, strides = dense<1> : tensor<3xi64>} {{.*}} -> tensor<1x3x7x7x{{[0-9]+}}xf32>
// CHECK: linalg.pooling_ndhwc_max {dilations = dense<2> : tensor<3xi64>, strides = dense<1> : tensor<3xi64>} {{.*}} tensor<1x2x2xf32>) {{.*}} -> tensor<1x3x5x5x{{[0-9]+}}xf32>
func.func @conv(%x: !x, %w: tensor<2x3x1x2x2xf32>, %b: tensor<2xf32>) -> !y {
  %0 = nm.conv %x, %w, %b {pool = array<i64: 1, 2, 2>, dilation = array<i64: 2, 2, 2>, activation = #nm.activation<lin>} : (!x, tensor<2x3x1x2x2xf32>, tensor<2xf32>) -> !y
  return %0 : !y
}

// -----

!x = tensor<1x1x7x7xf32, #nm.tagged<b,f,x,y, fov = [2, 2]>>
!p = tensor<1x1x5x5xf32, #nm.tagged<b,f,x,y, fov = [4, 4]>>
// CHECK-LABEL: func.func @pool
// CHECK: linalg.pooling_nhwc_max {dilations = dense<2> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} {{.*}} -> tensor<1x5x5x1xf32>
func.func @pool(%x: !x) -> !p {
  %0 = nm.pool %x {pool = array<i64: 2, 2>, stride = array<i64: 1, 1>, dilation = array<i64: 2, 2>} : (!x) -> !p
  return %0 : !p
}
