// nm-bufferize (stage 2): one-shot bufferization across function
// boundaries with the identity layout; results become out-params written
// in place; the padded weights are filled and copied into their buffer row
// by row (nm-pad-to-destination-style, nm-lower-noncontiguous-copies).
// RUN: nm-opt %s --nm-bufferize | FileCheck %s

// CHECK-LABEL: func.func @pad_rows
// CHECK-SAME: (%[[W:.*]]: memref<3x4x12xf32>, %[[OUT:.*]]: memref<3x4x16xf32>)
// CHECK-NOT: tensor.
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[OUT]] : memref<3x4x16xf32>)
// CHECK: scf.for
// CHECK: scf.for
// CHECK: memref.copy %{{.*}}, %{{.*}} : memref<12xf32, strided<[1], offset: ?>> to memref<12xf32, strided<[1], offset: ?>>
// CHECK: return
func.func @pad_rows(%w: tensor<3x4x12xf32> {bufferization.writable = false}) -> tensor<3x4x16xf32> {
  %zero = arith.constant 0.0 : f32
  %p = tensor.pad %w low[0, 0, 0] high[0, 0, 4] {
  ^bb0(%i: index, %j: index, %k: index):
    tensor.yield %zero : f32
  } : tensor<3x4x12xf32> to tensor<3x4x16xf32>
  return %p : tensor<3x4x16xf32>
}
