// --nm-densify: the strided network (pool 2x2x2, then pool 1x2x2: strides
// [2, 4, 4]) becomes its dilated equivalent: pools slide by one, the second
// conv's taps and pool are 2 apart, the result has stride 1 and size
// input - fov + 1; optionally at new input sizes (predict_dense's tile).
// RUN: nm-opt %s --split-input-file --verify-diagnostics --nm-densify | FileCheck %s

!in = tensor<1x2x5x12x12xf32, #nm.tagged<b,f,z,x,y>>
!c1 = tensor<1x3x2x5x5xf32, #nm.tagged<b,f,z,x,y, fov = [3, 4, 4], strides = [2, 2, 2]>>
!c2 = tensor<1x2x2x2x2xf32, #nm.tagged<b,f,z,x,y, fov = [3, 8, 8], strides = [2, 4, 4]>>
!s = tensor<1x1x2x2x2xf32, #nm.tagged<b,f,z,x,y, fov = [3, 8, 8], strides = [2, 4, 4]>>
!u = tensor<1x1x2x2x2xui8, #nm.tagged<b,f,z,x,y, fov = [3, 8, 8], strides = [2, 4, 4]>>
// CHECK-LABEL: func.func @net(
// CHECK-SAME: -> tensor<1x1x3x5x5xui8, #nm.tagged<b,f,z,x,y, fov = [3, 8, 8]>>
// CHECK: nm.conv {{.*}}dilation = array<i64: 1, 1, 1>{{.*}} -> tensor<1x3x3x9x9xf32, #nm.tagged<b,f,z,x,y, fov = [3, 4, 4]>>
// CHECK: nm.conv {{.*}}dilation = array<i64: 2, 2, 2>{{.*}} -> tensor<1x2x3x5x5xf32, #nm.tagged<b,f,z,x,y, fov = [3, 8, 8]>>
// CHECK: nm.softmax {{.*}} -> tensor<1x2x3x5x5xf32
// The output epilogue is voxelwise: it keeps the dilated geometry.
// CHECK: nm.select_channels {{.*}} -> tensor<1x1x3x5x5xf32
// CHECK: nm.to_uint8 {{.*}} -> tensor<1x1x3x5x5xui8
func.func @net(%x: !in {nm.input = "raw"},
               %w1: tensor<3x2x2x3x3xf32>, %b1: tensor<3xf32>,
               %w2: tensor<2x3x1x2x2xf32>, %b2: tensor<2xf32>) -> !u {
  %c1 = nm.conv %x, %w1, %b1 {pool = array<i64: 2, 2, 2>} : (!in, tensor<3x2x2x3x3xf32>, tensor<3xf32>) -> !c1
  %c2 = nm.conv %c1, %w2, %b2 {pool = array<i64: 1, 2, 2>, activation = #nm.activation<lin>} : (!c1, tensor<2x3x1x2x2xf32>, tensor<2xf32>) -> !c2
  %p = nm.softmax %c2 : (!c2) -> !c2
  %s = nm.select_channels %p [1] : (!c2) -> !s
  %u = nm.to_uint8 %s : (!s) -> !u
  return %u : !u
}

// -----

// A strided nm.pool: stride 1 and the next pool dilated by its stride.
!in = tensor<1x1x8x8xf32, #nm.tagged<b,f,x,y>>
!p1 = tensor<1x1x4x4xf32, #nm.tagged<b,f,x,y, fov = [2, 2], strides = [2, 2]>>
!p2 = tensor<1x1x2x2xf32, #nm.tagged<b,f,x,y, fov = [4, 4], strides = [4, 4]>>
// CHECK-LABEL: func.func @pools(
// CHECK: nm.pool {{.*}}dilation = array<i64: 1, 1>{{.*}}stride = array<i64: 1, 1>{{.*}} -> tensor<1x1x7x7xf32, #nm.tagged<b,f,x,y, fov = [2, 2]>>
// CHECK: nm.pool {{.*}}dilation = array<i64: 2, 2>{{.*}}stride = array<i64: 1, 1>{{.*}} -> tensor<1x1x5x5xf32, #nm.tagged<b,f,x,y, fov = [4, 4]>>
func.func @pools(%x: !in {nm.input = "raw"}) -> !p2 {
  %a = nm.pool %x {pool = array<i64: 2, 2>} : (!in) -> !p1
  %b = nm.pool %a {pool = array<i64: 2, 2>} : (!p1) -> !p2
  return %b : !p2
}

// -----

!in = tensor<1x1x8x8xf32, #nm.tagged<b,f,x,y>>
!p1 = tensor<1x1x4x4xf32, #nm.tagged<b,f,x,y, fov = [2, 2], strides = [2, 2]>>
!c = tensor<1x1x2x2xf32, #nm.tagged<b,f,x,y, fov = [2, 2], strides = [2, 2]>>
func.func @crop(%x: !in {nm.input = "raw"}) -> !c {
  %a = nm.pool %x {pool = array<i64: 2, 2>} : (!in) -> !p1
  // expected-error @+1 {{mixes voxels of an input that is strided by [2, 2] in the original network}}
  %b = nm.crop %a {crop = array<i64: 1, 1>} : (!p1) -> !c
  return %b : !c
}
