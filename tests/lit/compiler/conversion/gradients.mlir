// The backward ops and the optimiser update in linalg: conv gradients as
// named convs (the weight gradient's "batch" is the input channels), a
// non-overlapping max-pool gradient as an argmax per window and one
// elementwise generic over (window, offset) axes, Adam's update as one generic with the parameter
// and both moments as results.
// RUN: nm-opt %s --split-input-file --convert-nm-to-linalg | FileCheck %s

!x = tensor<1x2x4x6x6xf32, #nm.tagged<b,f,z,x,y>>
!y = tensor<1x3x3x4x4xf32, #nm.tagged<b,f,z,x,y, fov = [2, 3, 3]>>
// CHECK-LABEL: func.func @conv_grads(
// CHECK: linalg.conv_3d_ndhwc_dhwcf {{.*}} ins({{.*}} : tensor<1x5x8x8x3xf32>, tensor<2x3x3x3x2xf32>) {{.*}} -> tensor<1x4x6x6x2xf32>
// CHECK: linalg.conv_3d_ndhwc_dhwcf {{.*}} ins({{.*}} : tensor<2x4x6x6x1xf32>, tensor<3x4x4x1x3xf32>) {{.*}} -> tensor<2x2x3x3x3xf32>
func.func @conv_grads(%x: !x {nm.input = "x"}, %dy: !y {nm.input = "dy"},
                      %w: tensor<3x2x2x3x3xf32> {nm.param = "c_w"})
    -> (!x, tensor<3x2x2x3x3xf32>) {
  %dx = nm.conv_grad_input %dy, %w : (!y, tensor<3x2x2x3x3xf32>) -> !x
  %dw = nm.conv_grad_weight %x, %dy : (!x, !y) -> tensor<3x2x2x3x3xf32>
  return %dx, %dw : !x, tensor<3x2x2x3x3xf32>
}

// -----

!x = tensor<1x2x4x5x5xf32, #nm.tagged<b,f,z,x,y>>
!y = tensor<1x2x2x2x2xf32, #nm.tagged<b,f,z,x,y, fov = [2, 2, 2], strides = [2, 2, 2]>>
// CHECK-LABEL: func.func @max_pool_grad(
// CHECK: tensor.extract_slice {{.*}} to tensor<1x2x4x4x4xf32>
// CHECK: tensor.expand_shape {{.*}} into tensor<1x2x2x2x2x2x2x2xf32>
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction", "parallel", "reduction", "parallel", "reduction"]
// CHECK-SAME: outs({{.*}} : tensor<1x2x2x2x2xf32>, tensor<1x2x2x2x2xi8>)
// CHECK: arith.cmpf ogt
// CHECK: linalg.generic
// CHECK: arith.cmpi eq
// CHECK: tensor.collapse_shape
// CHECK: tensor.pad
func.func @max_pool_grad(%x: !x {nm.input = "x"}, %y: !y {nm.input = "y"},
                         %dy: !y {nm.input = "dy"}) -> !x {
  %dx = nm.pool_grad %x, %y, %dy {pool = array<i64: 2, 2, 2>} : (!x, !y, !y) -> !x
  return %dx : !x
}

// -----

// CHECK-LABEL: func.func @adam(
// CHECK: math.powf
// CHECK: linalg.generic {{.*}} outs({{.*}} : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
// CHECK: math.sqrt
func.func @adam(%p: tensor<4xf32> {nm.param = "d_w"}, %g: tensor<4xf32> {nm.param = "g"},
                %m: tensor<4xf32> {nm.param = "d_w:m"}, %s: tensor<4xf32> {nm.param = "d_w:s"},
                %h: tensor<8xf64> {nm.param = "hyper"}) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %np, %ns:2 = nm.optimizer_update %p, %g, state(%m, %s), %h {optimiser = "Adam", decay = 1.0}
      : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<8xf64>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  return %np, %ns#0, %ns#1 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}
