// nm-cpu-vectorize: the register tiles become vectors. The conv's tile (9
// rows x 32 channels, 2 input channels per step) is one vector.contract
// whose accumulator, hoisted out of the window and channel loops, starts
// as a zero vector (the fused init fill); the epilogue works on rows of 32
// lanes. The schedules, tags and configs are gone afterwards.
// RUN: nm-opt %s --nm-cpu-select-lowering-config --nm-cpu-tile-and-fuse --nm-cpu-tile-registers --nm-cpu-vectorize | FileCheck %s

// CHECK-NOT: nm.codegen
// CHECK-LABEL: func.func @conv_bias_relu
// CHECK-NOT: nm.lowering_config
// CHECK: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<9x32xf32>
// CHECK: scf.forall
// CHECK: scf.for %{{.*}} = %c0 to %c18 step %c9
// CHECK: scf.for %{{.*}} = %c0 to %c3 step %c1 iter_args(%{{.*}} = %[[ZERO]]) -> (vector<9x32xf32>)
// CHECK: scf.for %{{.*}} = %c0 to %c16 step %c2 iter_args(%{{.*}} = %{{.*}}) -> (vector<9x32xf32>)
// CHECK: vector.transfer_read {{.*}} : tensor<1x4x20x20x16xf32>, vector<9x2xf32>
// CHECK: vector.transfer_read {{.*}} : tensor<3x3x3x16x32xf32>, vector<2x32xf32>
// CHECK: vector.contract {{.*}} : vector<9x2xf32>, vector<2x32xf32> into vector<9x32xf32>
// CHECK: vector.transfer_write {{.*}} : vector<9x32xf32>, tensor<1x1x1x18x32xf32>
// CHECK: arith.maximumf {{.*}} : vector<32xf32>
// CHECK-NOT: linalg.conv
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
