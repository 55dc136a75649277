// --nm-densify="shapes=...": the dilated network at predict_dense's tile
// (patch + strides - 1 = 6x15x15) gives the dense tile (out * strides =
// 4x8x8) in one call. Static sizes may change: any size covering the fov.
// RUN: nm-opt %s --nm-densify="shapes=1x2x6x15x15" | FileCheck %s
// RUN: not nm-opt %s --nm-densify="shapes=1x2x6x15" -o /dev/null 2>&1 | FileCheck %s --check-prefix=RANK
// RUN: not nm-opt %s --nm-densify="shapes=1x2x2x15x15" -o /dev/null 2>&1 | FileCheck %s --check-prefix=SMALL

// CHECK-LABEL: func.func @net(
// CHECK-SAME: tensor<1x2x6x15x15xf32, #nm.tagged<b,f,z,x,y>> {nm.input = "raw"}
// CHECK-SAME: -> tensor<1x2x4x8x8xf32, #nm.tagged<b,f,z,x,y, fov = [3, 8, 8]>>
// RANK: error: nm-densify: input #0 needs a shape of 5 sizes
// SMALL: error: 'nm.conv' op Cannot convolve spatial axis 'z' of length 2 with kernel of size 2 and pool 2 dilated by 1 (output would be empty).

!in = tensor<1x2x5x12x12xf32, #nm.tagged<b,f,z,x,y>>
!c1 = tensor<1x3x2x5x5xf32, #nm.tagged<b,f,z,x,y, fov = [3, 4, 4], strides = [2, 2, 2]>>
!c2 = tensor<1x2x2x2x2xf32, #nm.tagged<b,f,z,x,y, fov = [3, 8, 8], strides = [2, 4, 4]>>
func.func @net(%x: !in {nm.input = "raw"},
               %w1: tensor<3x2x2x3x3xf32>, %b1: tensor<3xf32>,
               %w2: tensor<2x3x1x2x2xf32>, %b2: tensor<2xf32>) -> !c2 {
  %c1 = nm.conv %x, %w1, %b1 {pool = array<i64: 2, 2, 2>} : (!in, tensor<3x2x2x3x3xf32>, tensor<3xf32>) -> !c1
  %c2 = nm.conv %c1, %w2, %b2 {pool = array<i64: 1, 2, 2>, activation = #nm.activation<lin>} : (!c1, tensor<2x3x1x2x2xf32>, tensor<2xf32>) -> !c2
  %p = nm.softmax %c2 : (!c2) -> !c2
  return %p : !c2
}
