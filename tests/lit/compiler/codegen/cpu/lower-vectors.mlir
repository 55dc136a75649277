// nm-cpu-lower-vectors (after bufferization): the conv tile's contraction
// becomes outer-product FMAs, one per row and input channel (9 rows x 2
// input channels), each row's input element loaded as a scalar and
// broadcast (vbroadcastss) instead of extracted from a vector.
// RUN: nm-opt %s --nm-cpu-select-lowering-config --nm-cpu-tile-and-fuse --nm-cpu-tile-registers --nm-cpu-vectorize --nm-bufferize --nm-cpu-lower-vectors | FileCheck %s
// RUN: nm-opt %s --nm-cpu-select-lowering-config --nm-cpu-tile-and-fuse --nm-cpu-tile-registers --nm-cpu-vectorize --nm-bufferize --nm-cpu-lower-vectors | FileCheck %s --check-prefix=FMA

// CHECK-LABEL: func.func @conv_bias_relu
// CHECK-NOT: vector.contract
// CHECK: %[[X:.*]] = memref.load %{{.*}} : memref<1x4x20x20x16xf32>
// CHECK: %[[ROW:.*]] = vector.broadcast %[[X]] : f32 to vector<32xf32>
// CHECK: vector.fma %[[ROW]], %{{.*}}, %{{.*}} : vector<32xf32>
// CHECK-NOT: vector.contract
// CHECK-NOT: vector.transfer_read {{.*}} : memref<1x4x20x20x16xf32>

// FMA-COUNT-18: vector.fma
// FMA-NOT: vector.fma
#id = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#ch = affine_map<(d0, d1, d2, d3, d4) -> (d4)>
func.func @conv_bias_relu(%x: tensor<1x4x20x20x16xf32>, %w: tensor<3x3x3x16x32xf32>,
                          %b: tensor<32xf32>) -> tensor<1x2x18x18x32xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x2x18x18x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x2x18x18x32xf32>) -> tensor<1x2x18x18x32xf32>
  %c = linalg.conv_3d_ndhwc_dhwcf {dilations = dense<1> : tensor<3xi64>, strides = dense<1> : tensor<3xi64>}
     ins(%x, %w : tensor<1x4x20x20x16xf32>, tensor<3x3x3x16x32xf32>)
     outs(%f : tensor<1x2x18x18x32xf32>) -> tensor<1x2x18x18x32xf32>
  %e2 = tensor.empty() : tensor<1x2x18x18x32xf32>
  %r = linalg.generic {indexing_maps = [#id, #ch, #id],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]}
     ins(%c, %b : tensor<1x2x18x18x32xf32>, tensor<32xf32>) outs(%e2 : tensor<1x2x18x18x32xf32>) {
  ^bb0(%v: f32, %bias: f32, %o: f32):
    %s = arith.addf %v, %bias : f32
    %m = arith.maximumf %s, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x2x18x18x32xf32>
  return %r : tensor<1x2x18x18x32xf32>
}
