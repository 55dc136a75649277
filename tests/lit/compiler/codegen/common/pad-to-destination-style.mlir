// nm-pad-to-destination-style: a tensor.pad becomes a fill of an empty
// tensor and an insert_slice of the source (empty-tensor elimination can
// then write it in place).
// RUN: nm-opt %s --nm-pad-to-destination-style | FileCheck %s

// CHECK-LABEL: func.func @pad_weights
// CHECK-NOT: tensor.pad
// CHECK: %[[EMPTY:.*]] = tensor.empty() : tensor<3x3x16x16xf32>
// CHECK: %[[FILL:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[EMPTY]] : tensor<3x3x16x16xf32>)
// CHECK: tensor.insert_slice %{{.*}} into %[[FILL]][0, 0, 0, 0] [3, 3, 16, 12] [1, 1, 1, 1]
func.func @pad_weights(%w: tensor<3x3x16x12xf32>) -> tensor<3x3x16x16xf32> {
  %zero = arith.constant 0.0 : f32
  %p = tensor.pad %w low[0, 0, 0, 0] high[0, 0, 0, 4] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<3x3x16x12xf32> to tensor<3x3x16x16xf32>
  return %p : tensor<3x3x16x16xf32>
}
