// nm-cpu-select-lowering-config on conv -> max-pool -> bias + relu groups
// whose pooling windows overlap (a densified network's pools slide by one
// voxel). The conv is fused into each thread-level tile of the group and
// computes every row the tile's pooled rows read, so a tile of one pooled
// row would compute each conv row twice for a 2-voxel window: along an
// overlapping dim the thread tile is the largest divisor of the dim up to
// 8 pooled rows. Windows that do not overlap (stride = window) keep tiles
// of one row.
// RUN: nm-opt %s --nm-cpu-select-lowering-config | FileCheck %s

#map = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#map1 = affine_map<(d0, d1, d2, d3, d4) -> (d4)>

// A (2, 1, 1) window sliding by one along z: 14 pooled z rows, tiles of 7.
// CHECK-LABEL: func.func @pool_z_sliding
// CHECK: linalg.generic
// CHECK-SAME: thread_tiles = [0, 7, 1, 0, 0]
func.func @pool_z_sliding(%in: tensor<1x16x20x20x16xf32>,
                          %w: tensor<2x3x3x16x32xf32>,
                          %b: tensor<32xf32>) -> tensor<1x14x18x18x32xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %e0 = tensor.empty() : tensor<1x15x18x18x32xf32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x15x18x18x32xf32>) -> tensor<1x15x18x18x32xf32>
  %c = linalg.conv_3d_ndhwc_dhwcf {dilations = dense<1> : tensor<3xi64>, strides = dense<1> : tensor<3xi64>} ins(%in, %w : tensor<1x16x20x20x16xf32>, tensor<2x3x3x16x32xf32>) outs(%f0 : tensor<1x15x18x18x32xf32>) -> tensor<1x15x18x18x32xf32>
  %e1 = tensor.empty() : tensor<1x14x18x18x32xf32>
  %f1 = linalg.fill ins(%ninf : f32) outs(%e1 : tensor<1x14x18x18x32xf32>) -> tensor<1x14x18x18x32xf32>
  %win = tensor.empty() : tensor<2x1x1xf32>
  %p = linalg.pooling_ndhwc_max {dilations = dense<1> : tensor<3xi64>, strides = dense<1> : tensor<3xi64>} ins(%c, %win : tensor<1x15x18x18x32xf32>, tensor<2x1x1xf32>) outs(%f1 : tensor<1x14x18x18x32xf32>) -> tensor<1x14x18x18x32xf32>
  %e2 = tensor.empty() : tensor<1x14x18x18x32xf32>
  %r = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%p, %b : tensor<1x14x18x18x32xf32>, tensor<32xf32>) outs(%e2 : tensor<1x14x18x18x32xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    %m = arith.maximumf %s, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x14x18x18x32xf32>
  return %r : tensor<1x14x18x18x32xf32>
}

// A (1, 2, 2) window with dilation 2 sliding by one in x and y: 18 pooled
// x rows, tiles of 6 (y is not a thread-level dim).
// CHECK-LABEL: func.func @pool_xy_dilated
// CHECK: linalg.generic
// CHECK-SAME: thread_tiles = [0, 1, 6, 0, 0]
func.func @pool_xy_dilated(%in: tensor<1x4x20x20x16xf32>,
                           %w: tensor<1x1x1x16x32xf32>,
                           %b: tensor<32xf32>) -> tensor<1x4x18x18x32xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %e0 = tensor.empty() : tensor<1x4x20x20x32xf32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x4x20x20x32xf32>) -> tensor<1x4x20x20x32xf32>
  %c = linalg.conv_3d_ndhwc_dhwcf {dilations = dense<1> : tensor<3xi64>, strides = dense<1> : tensor<3xi64>} ins(%in, %w : tensor<1x4x20x20x16xf32>, tensor<1x1x1x16x32xf32>) outs(%f0 : tensor<1x4x20x20x32xf32>) -> tensor<1x4x20x20x32xf32>
  %e1 = tensor.empty() : tensor<1x4x18x18x32xf32>
  %f1 = linalg.fill ins(%ninf : f32) outs(%e1 : tensor<1x4x18x18x32xf32>) -> tensor<1x4x18x18x32xf32>
  %win = tensor.empty() : tensor<1x2x2xf32>
  %p = linalg.pooling_ndhwc_max {dilations = dense<[1, 2, 2]> : tensor<3xi64>, strides = dense<1> : tensor<3xi64>} ins(%c, %win : tensor<1x4x20x20x32xf32>, tensor<1x2x2xf32>) outs(%f1 : tensor<1x4x18x18x32xf32>) -> tensor<1x4x18x18x32xf32>
  %e2 = tensor.empty() : tensor<1x4x18x18x32xf32>
  %r = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%p, %b : tensor<1x4x18x18x32xf32>, tensor<32xf32>) outs(%e2 : tensor<1x4x18x18x32xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    %m = arith.maximumf %s, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x4x18x18x32xf32>
  return %r : tensor<1x4x18x18x32xf32>
}

// The same window with stride 2 (the network before densify): no overlap.
// CHECK-LABEL: func.func @pool_xy_strided
// CHECK: linalg.generic
// CHECK-SAME: thread_tiles = [0, 1, 1, 0, 0]
func.func @pool_xy_strided(%in: tensor<1x4x20x20x16xf32>,
                           %w: tensor<1x1x1x16x32xf32>,
                           %b: tensor<32xf32>) -> tensor<1x4x10x10x32xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %e0 = tensor.empty() : tensor<1x4x20x20x32xf32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x4x20x20x32xf32>) -> tensor<1x4x20x20x32xf32>
  %c = linalg.conv_3d_ndhwc_dhwcf {dilations = dense<1> : tensor<3xi64>, strides = dense<1> : tensor<3xi64>} ins(%in, %w : tensor<1x4x20x20x16xf32>, tensor<1x1x1x16x32xf32>) outs(%f0 : tensor<1x4x20x20x32xf32>) -> tensor<1x4x20x20x32xf32>
  %e1 = tensor.empty() : tensor<1x4x10x10x32xf32>
  %f1 = linalg.fill ins(%ninf : f32) outs(%e1 : tensor<1x4x10x10x32xf32>) -> tensor<1x4x10x10x32xf32>
  %win = tensor.empty() : tensor<1x2x2xf32>
  %p = linalg.pooling_ndhwc_max {dilations = dense<1> : tensor<3xi64>, strides = dense<[1, 2, 2]> : tensor<3xi64>} ins(%c, %win : tensor<1x4x20x20x32xf32>, tensor<1x2x2xf32>) outs(%f1 : tensor<1x4x10x10x32xf32>) -> tensor<1x4x10x10x32xf32>
  %e2 = tensor.empty() : tensor<1x4x10x10x32xf32>
  %r = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%p, %b : tensor<1x4x10x10x32xf32>, tensor<32xf32>) outs(%e2 : tensor<1x4x10x10x32xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    %m = arith.maximumf %s, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x4x10x10x32xf32>
  return %r : tensor<1x4x10x10x32xf32>
}
