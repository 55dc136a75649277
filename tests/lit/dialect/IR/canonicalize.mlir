// Folds: pooling by ones with stride one, crop/pad by zeros.
// RUN: nm-opt %s --canonicalize | FileCheck %s

!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y, fov = [3, 3, 3], strides = [1, 2, 2]>>

// CHECK-LABEL: func.func @identity_folds
// CHECK-SAME: (%[[X:.*]]: tensor
// CHECK-NOT: nm.pool
// CHECK-NOT: nm.crop
// CHECK-NOT: nm.pad
// CHECK: return %[[X]], %[[X]], %[[X]], %[[X]]
func.func @identity_folds(%x: !x) -> (!x, !x, !x, !x) {
  %0 = nm.pool %x {pool = array<i64: 1, 1, 1>} : (!x) -> !x
  %1 = nm.pool %x {pool = array<i64: 1, 1, 1>, stride = array<i64: 1, 1, 1>, mode = #nm<pool_mode average>} : (!x) -> !x
  %2 = nm.crop %x {crop = array<i64: 0, 0, 0>} : (!x) -> !x
  %3 = nm.pad %x {pad = array<i64: 0, 0, 0>} : (!x) -> !x
  return %0, %1, %2, %3 : !x, !x, !x, !x
}

// Non-trivial ones stay; unused pure ops are erased.
// CHECK-LABEL: func.func @kept
// CHECK: %[[P:.*]] = nm.pool %{{.*}} {pool = array<i64: 1, 2, 2>, stride = array<i64: 1, 1, 1>}
// CHECK: %[[C:.*]] = nm.crop %{{.*}} {crop = array<i64: 0, 1, 1>}
// CHECK: return %[[P]], %[[C]]
// CHECK-NOT: nm.pad
func.func @kept(%x: !x) -> (tensor<1x4x6x9x9xf32, #nm.tagged<b,f,z,x,y, fov = [3, 5, 5], strides = [1, 2, 2]>>, tensor<1x4x6x8x8xf32, #nm.tagged<b,f,z,x,y, fov = [3, 3, 3], strides = [1, 2, 2]>>) {
  %0 = nm.pool %x {pool = array<i64: 1, 2, 2>, stride = array<i64: 1, 1, 1>} : (!x) -> tensor<1x4x6x9x9xf32, #nm.tagged<b,f,z,x,y, fov = [3, 5, 5], strides = [1, 2, 2]>>
  %1 = nm.crop %x {crop = array<i64: 0, 1, 1>} : (!x) -> tensor<1x4x6x8x8xf32, #nm.tagged<b,f,z,x,y, fov = [3, 3, 3], strides = [1, 2, 2]>>
  %2 = nm.pad %x {pad = array<i64: 0, 1, 1>} : (!x) -> tensor<1x4x6x12x12xf32, #nm.tagged<b,f,z,x,y, fov = [3, 3, 3], strides = [1, 2, 2]>>
  return %0, %1 : tensor<1x4x6x9x9xf32, #nm.tagged<b,f,z,x,y, fov = [3, 5, 5], strides = [1, 2, 2]>>, tensor<1x4x6x8x8xf32, #nm.tagged<b,f,z,x,y, fov = [3, 3, 3], strides = [1, 2, 2]>>
}
