// nm -> linalg, the output epilogue of prediction (OutputEpilogue.cpp):
// on a softmax, select_channels and to_uint8 become one linalg.generic over
// the uint8 result that reads each class's logits from the conv's
// channels-last output (no float probabilities, no transpose); elsewhere
// slices and an elementwise quantisation.
// RUN: nm-opt %s --split-input-file --convert-nm-to-linalg | FileCheck %s

!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
!y = tensor<1x3x6x8x8xf32, #nm.tagged<b,f,z,x,y, fov = [1, 3, 3]>>
!s = tensor<1x2x6x8x8xf32, #nm.tagged<b,f,z,x,y, fov = [1, 3, 3]>>
!u = tensor<1x2x6x8x8xui8, #nm.tagged<b,f,z,x,y, fov = [1, 3, 3]>>
// CHECK-DAG: #[[SLICE:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d2, d3, d4)>
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
// CHECK-LABEL: func.func @softmax_select_uint8
// CHECK-SAME: -> (tensor<1x2x6x8x8xi8> {nm.dtype = "uint8", nm.name = "c"})
// CHECK: %[[E:.*]] = linalg.generic
// CHECK: arith.addf
// CHECK: %[[L0:.*]] = tensor.extract_slice %[[E]][0, 0, 0, 0, 0] [1, 6, 8, 8, 1] [1, 1, 1, 1, 1] : tensor<1x6x8x8x3xf32> to tensor<1x6x8x8xf32>
// CHECK: %[[L1:.*]] = tensor.extract_slice %[[E]][0, 0, 0, 0, 1]
// CHECK: %[[L2:.*]] = tensor.extract_slice %[[E]][0, 0, 0, 0, 2]
// CHECK-NOT: linalg.transpose
// CHECK: %[[R:.*]] = linalg.generic {indexing_maps = [#[[SLICE]], #[[SLICE]], #[[SLICE]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%[[L0]], %[[L1]], %[[L2]] : {{.*}}) outs(%{{.*}} : tensor<1x2x6x8x8xi8>)
// CHECK-NEXT: ^bb0(%[[X0:.*]]: f32, %[[X1:.*]]: f32, %[[X2:.*]]: f32, %{{.*}}: i8):
// The softmax's max and sum, class by class as the unfused reductions.
// CHECK: %[[M0:.*]] = arith.maximumf %[[X0]]
// CHECK: %[[M1:.*]] = arith.maximumf %[[X1]], %[[M0]]
// CHECK: %[[M:.*]] = arith.maximumf %[[X2]], %[[M1]]
// CHECK-COUNT-3: math.exp
// Result channel 0 is class 2, channel 1 class 0.
// CHECK: %[[AT:.*]] = linalg.index 1
// CHECK: %[[IS0:.*]] = arith.cmpi eq
// CHECK: %[[PICK:.*]] = arith.select %[[IS0]], %[[X2]], %[[X0]]
// CHECK: %[[D:.*]] = arith.subf %[[PICK]], %[[M]]
// CHECK: math.exp %[[D]]
// CHECK: arith.divf
// CHECK: arith.mulf
// CHECK: arith.maxnumf
// CHECK: arith.minnumf
// CHECK: arith.fptoui %{{.*}} : f32 to i8
// CHECK: return %[[R]]
func.func @softmax_select_uint8(%x: !x {nm.input = "image"},
    %w: tensor<3x4x1x3x3xf32> {nm.param = "c_w"},
    %b: tensor<3xf32> {nm.param = "c_b"}) -> !u {
  %0 = nm.conv %x, %w, %b {activation = #nm.activation<lin>}
      : (!x, tensor<3x4x1x3x3xf32>, tensor<3xf32>) -> !y loc("c")
  %1 = nm.softmax %0 : (!y) -> !y loc("c")
  %2 = nm.select_channels %1 [2, 0] : (!y) -> !s loc("c")
  %3 = nm.to_uint8 %2 : (!s) -> !u loc("c")
  return %3 : !u
}

// -----

// Not on a softmax: the selected channels copied into the result, then
// an elementwise quantisation.
!x = tensor<1x3x4x5x5xf32, #nm.tagged<b,f,z,x,y>>
!s = tensor<1x2x4x5x5xf32, #nm.tagged<b,f,z,x,y>>
!u = tensor<1x2x4x5x5xui8, #nm.tagged<b,f,z,x,y>>
// CHECK-LABEL: func.func @plain_select_uint8
// CHECK: %[[C1:.*]] = tensor.extract_slice %arg0[0, 1, 0, 0, 0] [1, 1, 4, 5, 5]
// CHECK: %[[A:.*]] = tensor.insert_slice %[[C1]] into %{{.*}}[0, 0, 0, 0, 0] [1, 1, 4, 5, 5]
// CHECK: %[[AGAIN:.*]] = tensor.extract_slice %arg0[0, 1, 0, 0, 0] [1, 1, 4, 5, 5]
// CHECK: %[[B:.*]] = tensor.insert_slice %[[AGAIN]] into %[[A]][0, 1, 0, 0, 0] [1, 1, 4, 5, 5]
// CHECK: linalg.generic {{.*}} ins(%[[B]] : tensor<1x2x4x5x5xf32>) outs(%{{.*}} : tensor<1x2x4x5x5xi8>)
// CHECK: arith.fptoui
func.func @plain_select_uint8(%x: !x {nm.input = "p"}) -> !u {
  %0 = nm.select_channels %x [1, 1] : (!x) -> !s
  %1 = nm.to_uint8 %0 : (!s) -> !u
  return %1 : !u
}
