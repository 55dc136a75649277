// nm -> linalg, data movement: crop / slice as tensor.extract_slice, pad as
// tensor.pad, concat as insert_slices into one tensor, reshape through 1-D,
// value as its operand, initial_state as a broadcast, onehot as a compare
// with the class index.
// RUN: nm-opt %s --split-input-file --convert-nm-to-linalg | FileCheck %s

!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
// CHECK-LABEL: func.func @crop
// CHECK: %[[S:.*]] = tensor.extract_slice %arg0[0, 0, 1, 2, 2] [1, 4, 4, 6, 6] [1, 1, 1, 1, 1] : tensor<1x4x6x10x10xf32> to tensor<1x4x4x6x6xf32>
// CHECK-NEXT: return %[[S]]
func.func @crop(%x: !x) -> tensor<1x4x4x6x6xf32, #nm.tagged<b,f,z,x,y>> {
  %0 = nm.crop %x {crop = array<i64: 1, 2, 2>} : (!x) -> tensor<1x4x4x6x6xf32, #nm.tagged<b,f,z,x,y>>
  return %0 : tensor<1x4x4x6x6xf32, #nm.tagged<b,f,z,x,y>>
}

// -----

!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
// CHECK-LABEL: func.func @pad
// CHECK: %[[V:.*]] = arith.constant 1.000000e+00 : f32
// CHECK: tensor.pad %arg0 low[0, 0, 0, 1, 1] high[0, 0, 0, 1, 1]
// CHECK: tensor.yield %[[V]]
// CHECK: tensor<1x4x6x10x10xf32> to tensor<1x4x6x12x12xf32>
func.func @pad(%x: !x) -> tensor<1x4x6x12x12xf32, #nm.tagged<b,f,z,x,y>> {
  %0 = nm.pad %x {pad = array<i64: 0, 1, 1>, value = 1.0} : (!x) -> tensor<1x4x6x12x12xf32, #nm.tagged<b,f,z,x,y>>
  return %0 : tensor<1x4x6x12x12xf32, #nm.tagged<b,f,z,x,y>>
}

// -----

!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
// CHECK-LABEL: func.func @concat
// CHECK: %[[E:.*]] = tensor.empty() : tensor<1x4x12x10x10xf32>
// CHECK: %[[A:.*]] = tensor.insert_slice %arg0 into %[[E]][0, 0, 0, 0, 0] [1, 4, 6, 10, 10]
// CHECK: %[[B:.*]] = tensor.insert_slice %arg0 into %[[A]][0, 0, 6, 0, 0] [1, 4, 6, 10, 10]
// CHECK: return %[[B]]
func.func @concat(%x: !x) -> tensor<1x4x12x10x10xf32, #nm.tagged<b,f,z,x,y>> {
  %0 = nm.concat %x, %x {axis = "z"} : (!x, !x) -> tensor<1x4x12x10x10xf32, #nm.tagged<b,f,z,x,y>>
  return %0 : tensor<1x4x12x10x10xf32, #nm.tagged<b,f,z,x,y>>
}

// -----

!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
// CHECK-LABEL: func.func @slice
// CHECK: tensor.extract_slice %arg0[0, 1, 0, 0, 0] [1, 2, 6, 10, 10] [1, 1, 1, 1, 1] : tensor<1x4x6x10x10xf32> to tensor<1x2x6x10x10xf32>
func.func @slice(%x: !x) -> tensor<1x2x6x10x10xf32, #nm.tagged<b,f,z,x,y>> {
  %0 = nm.slice %x {start = 1, size = 2} : (!x) -> tensor<1x2x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
  return %0 : tensor<1x2x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
}

// -----

!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
// CHECK-LABEL: func.func @reshape
// CHECK: %[[F:.*]] = tensor.collapse_shape %arg0 {{\[}}[0, 1, 2, 3, 4]] : tensor<1x4x6x10x10xf32> into tensor<2400xf32>
// CHECK: tensor.expand_shape %[[F]] {{\[}}[0, 1]] output_shape [1, 2400] : tensor<2400xf32> into tensor<1x2400xf32>
func.func @reshape(%x: !x) -> tensor<1x2400xf32, #nm.tagged<b,f>> {
  %0 = nm.reshape %x : (!x) -> tensor<1x2400xf32, #nm.tagged<b,f>>
  return %0 : tensor<1x2400xf32, #nm.tagged<b,f>>
}

// -----

// nm.value is its operand; initial_state broadcasts the vector along f.
!xs2 = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y, fov = [1, 5, 5], strides = [1, 2, 2]>>
!st = tensor<1x7x6x10x10xf32, #nm.tagged<b,f,z,x,y, fov = [1, 5, 5], strides = [1, 2, 2]>>
// CHECK-DAG: #[[F:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d1)>
// CHECK-LABEL: func.func @value_initial_state
// CHECK: %[[B:.*]] = linalg.generic {indexing_maps = [#[[F]], #{{.*}}], {{.*}} ins(%arg2 : tensor<7xf32>) outs(%{{.*}} : tensor<1x7x6x10x10xf32>)
// CHECK: return %arg1, %[[B]] : tensor<1x3xf32>, tensor<1x7x6x10x10xf32>
func.func @value_initial_state(%x: !xs2, %p: tensor<1x3xf32>, %v: tensor<7xf32>)
    -> (tensor<1x3xf32, #nm.tagged<b,f>>, !st) {
  %0 = nm.value %p {apply_train} : (tensor<1x3xf32>) -> tensor<1x3xf32, #nm.tagged<b,f>>
  %1 = nm.initial_state %x, %v : (!xs2, tensor<7xf32>) -> !st
  return %0, %1 : tensor<1x3xf32, #nm.tagged<b,f>>, !st
}

// -----

!lbl = tensor<1x1x6x10x10xi16, #nm.tagged<b,f,z,x,y>>
!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
// CHECK-LABEL: func.func @onehot
// CHECK: %[[L:.*]] = tensor.collapse_shape %arg0 {{\[}}[0, 1], [2], [3], [4]] : tensor<1x1x6x10x10xi16> into tensor<1x6x10x10xi16>
// CHECK: linalg.generic {{.*}} ins(%[[L]] : tensor<1x6x10x10xi16>) outs(%{{.*}} : tensor<1x4x6x10x10xf32>)
// CHECK: %[[I:.*]] = linalg.index 1
// CHECK: %[[C:.*]] = arith.index_cast %[[I]] : index to i64
// CHECK: %[[LI:.*]] = arith.extsi %{{.*}} : i16 to i64
// CHECK: %[[EQ:.*]] = arith.cmpi eq, %[[LI]], %[[C]]
// CHECK: arith.select %[[EQ]]
func.func @onehot(%t: !lbl) -> !x {
  %0 = nm.onehot %t {n_class = 4} : (!lbl) -> !x
  return %0 : !x
}
