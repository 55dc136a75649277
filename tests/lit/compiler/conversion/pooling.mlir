// nm -> linalg, pooling: channels-last linalg.pooling_ndhwc_{max,sum}
// (average = sum * 1/n), pooling of a conv's padded internal layout, and
// max-fragment-pooling with fragments_to_dense.
// RUN: nm-opt %s --split-input-file --convert-nm-to-linalg | FileCheck %s

!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
!p = tensor<1x4x6x5x5xf32, #nm.tagged<b,f,z,x,y, fov = [1, 2, 2], strides = [1, 2, 2]>>
// CHECK-LABEL: func.func @pool_max
// CHECK: %[[XT:.*]] = linalg.transpose ins(%arg0 : tensor<1x4x6x10x10xf32>) {{.*}} permutation = [0, 2, 3, 4, 1]
// CHECK: %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK: %[[INIT:.*]] = linalg.fill ins(%[[NEGINF]] : f32) {{.*}} -> tensor<1x6x5x5x4xf32>
// CHECK: %[[P:.*]] = linalg.pooling_ndhwc_max {dilations = dense<1> : tensor<3xi64>, strides = dense<[1, 2, 2]> : tensor<3xi64>} ins(%[[XT]], %{{.*}} : tensor<1x6x10x10x4xf32>, tensor<1x2x2xf32>) outs(%[[INIT]] : tensor<1x6x5x5x4xf32>)
// CHECK: linalg.transpose ins(%[[P]] : tensor<1x6x5x5x4xf32>) {{.*}} permutation = [0, 4, 1, 2, 3]
func.func @pool_max(%x: !x) -> !p {
  %0 = nm.pool %x {pool = array<i64: 1, 2, 2>} : (!x) -> !p
  return %0 : !p
}

// -----

!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
!p = tensor<1x4x6x8x8xf32, #nm.tagged<b,f,z,x,y, fov = [1, 3, 3]>>
// CHECK-LABEL: func.func @pool_average
// CHECK: %[[P:.*]] = linalg.pooling_ndhwc_sum {dilations = dense<1> : tensor<3xi64>, strides = dense<1> : tensor<3xi64>} {{.*}} tensor<1x3x3xf32>
// CHECK: %[[NINTH:.*]] = arith.constant 0.111111112 : f32
// CHECK: linalg.generic {{.*}} ins(%[[P]] : tensor<1x6x8x8x4xf32>)
// CHECK: arith.mulf %{{.*}}, %[[NINTH]]
func.func @pool_average(%x: !x) -> !p {
  %0 = nm.pool %x {pool = array<i64: 1, 3, 3>, stride = array<i64: 1, 1, 1>, mode = #nm<pool_mode average>} : (!x) -> !p
  return %0 : !p
}

// -----

// The pool reads the conv's internal layout with its 32 (padded) channels;
// only the pool's output is sliced to 20 and transposed.
!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
!y = tensor<1x20x6x8x8xf32, #nm.tagged<b,f,z,x,y, fov = [1, 3, 3]>>
!p = tensor<1x20x6x4x4xf32, #nm.tagged<b,f,z,x,y, fov = [1, 4, 4], strides = [1, 2, 2]>>
// CHECK-LABEL: func.func @conv_then_pool
// CHECK: linalg.conv_3d_ndhwc_dhwcf {{.*}} -> tensor<1x6x8x8x32xf32>
// CHECK: %[[E:.*]] = linalg.generic
// CHECK: arith.maximumf
// CHECK: %[[P:.*]] = linalg.pooling_ndhwc_max {{.*}} ins(%[[E]], %{{.*}} : tensor<1x6x8x8x32xf32>, tensor<1x2x2xf32>)
// CHECK: %[[S:.*]] = tensor.extract_slice %[[P]][0, 0, 0, 0, 0] [1, 6, 4, 4, 20]
// CHECK: linalg.transpose ins(%[[S]] : tensor<1x6x4x4x20xf32>)
// CHECK-NOT: linalg.transpose
func.func @conv_then_pool(%x: !x, %w: tensor<20x4x1x3x3xf32>, %b: tensor<20xf32>) -> !p {
  %0 = nm.conv %x, %w, %b {activation = #nm.activation<relu>} : (!x, tensor<20x4x1x3x3xf32>, tensor<20xf32>) -> !y
  %1 = nm.pool %0 {pool = array<i64: 1, 2, 2>} : (!y) -> !p
  return %1 : !p
}

// -----

// MFP: fragment ix pools conv[ix : ix + L - 1] with stride 2, the four
// fragments stacked on the batch axis; bias and activation after pooling;
// fragments_to_dense writes each fragment with stride 2 at its phase.
!xm = tensor<1x4x6x11x11xf32, #nm.tagged<b,f,z,x,y>>
!frag = tensor<4x8x6x4x4xf32, #nm.tagged<b,f,z,x,y, fov = [1, 4, 4], strides = [1, 2, 2], mfp_offsets = [[0, 0, 0], [0, 0, 1], [0, 1, 0], [0, 1, 1]]>>
!dense = tensor<1x8x6x8x8xf32, #nm.tagged<b,f,z,x,y, fov = [1, 4, 4]>>
// CHECK-LABEL: func.func @mfp
// CHECK: %[[C:.*]] = linalg.conv_3d_ndhwc_dhwcf {{.*}} -> tensor<1x6x9x9x16xf32>
// CHECK: tensor.extract_slice %[[C]][0, 0, 0, 0, 0] [1, 6, 8, 8, 16]
// CHECK: linalg.pooling_ndhwc_max
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0, 0, 0, 0] [1, 6, 4, 4, 16] {{.*}} into tensor<4x6x4x4x16xf32>
// CHECK: tensor.extract_slice %[[C]][0, 0, 0, 1, 0]
// CHECK: tensor.insert_slice %{{.*}}[1, 0, 0, 0, 0]
// CHECK: tensor.extract_slice %[[C]][0, 0, 1, 0, 0]
// CHECK: tensor.insert_slice %{{.*}}[2, 0, 0, 0, 0]
// CHECK: tensor.extract_slice %[[C]][0, 0, 1, 1, 0]
// CHECK: %[[FR:.*]] = tensor.insert_slice %{{.*}}[3, 0, 0, 0, 0]
// CHECK: linalg.generic {{.*}} ins(%[[FR]], %{{.*}} : tensor<4x6x4x4x16xf32>, tensor<16xf32>)
// CHECK: %[[T:.*]] = linalg.transpose {{.*}} outs(%{{.*}} : tensor<4x8x6x4x4xf32>)
// CHECK: tensor.extract_slice %[[T]][0, 0, 0, 0, 0] [1, 8, 6, 4, 4]
// CHECK: tensor.insert_slice {{.*}}[0, 0, 0, 0, 0] [1, 8, 6, 4, 4] [1, 1, 1, 2, 2] : tensor<1x8x6x4x4xf32> into tensor<1x8x6x8x8xf32>
// CHECK: tensor.extract_slice %[[T]][1, 0, 0, 0, 0]
// CHECK: tensor.insert_slice {{.*}}[0, 0, 0, 0, 1] [1, 8, 6, 4, 4] [1, 1, 1, 2, 2]
// CHECK: tensor.extract_slice %[[T]][2, 0, 0, 0, 0]
// CHECK: tensor.insert_slice {{.*}}[0, 0, 0, 1, 0] [1, 8, 6, 4, 4] [1, 1, 1, 2, 2]
// CHECK: tensor.extract_slice %[[T]][3, 0, 0, 0, 0]
// CHECK: tensor.insert_slice {{.*}}[0, 0, 0, 1, 1] [1, 8, 6, 4, 4] [1, 1, 1, 2, 2]
func.func @mfp(%x: !xm, %w: tensor<8x4x1x3x3xf32>, %b: tensor<8xf32>) -> !dense {
  %0 = nm.conv %x, %w, %b {pool = array<i64: 1, 2, 2>, mfp, activation = #nm.activation<relu>} : (!xm, tensor<8x4x1x3x3xf32>, tensor<8xf32>) -> !frag
  %1 = nm.fragments_to_dense %0 : (!frag) -> !dense
  return %1 : !dense
}
