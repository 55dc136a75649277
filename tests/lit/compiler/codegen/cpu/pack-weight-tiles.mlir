// nm-cpu-pack-weight-tiles: 64 output channels run in serial tiles of 32;
// a tile's weight rows (32 floats = 128 B) are 256 B apart, so they alias in
// the cache's sets, and the tile is copied into a buffer of its own before
// the thread-level loop, which the conv then reads.
// RUN: nm-opt %s --nm-cpu-select-lowering-config --nm-cpu-tile-and-fuse --nm-cpu-pack-weight-tiles | FileCheck %s

// CHECK-LABEL: func.func @conv64
// CHECK: scf.for %[[C:.*]] = %c0 to %c64 step %c32
// CHECK: %[[TILE:.*]] = tensor.extract_slice %arg1[0, 0, 0, 0, %[[C]]] [2, 3, 3, 32, 32]
// CHECK: %[[PACKED:.*]] = bufferization.alloc_tensor() copy(%[[TILE]]) : tensor<2x3x3x32x32xf32>
// CHECK: scf.forall
// CHECK: linalg.conv_3d_ndhwc_dhwcf
// CHECK-SAME: ins(%{{.*}}, %[[PACKED]] : tensor<1x2x3x12x32xf32>, tensor<2x3x3x32x32xf32>)
func.func @conv64(%x: tensor<1x6x12x12x32xf32>, %w: tensor<2x3x3x32x64xf32>) -> tensor<1x5x10x10x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x5x10x10x64xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x5x10x10x64xf32>) -> tensor<1x5x10x10x64xf32>
  %c = linalg.conv_3d_ndhwc_dhwcf {dilations = dense<1> : tensor<3xi64>, strides = dense<1> : tensor<3xi64>}
     ins(%x, %w : tensor<1x6x12x12x32xf32>, tensor<2x3x3x32x64xf32>)
     outs(%f : tensor<1x5x10x10x64xf32>) -> tensor<1x5x10x10x64xf32>
  return %c : tensor<1x5x10x10x64xf32>
}
