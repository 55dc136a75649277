// nm-cpu-tile-registers: register tiles inside the loops of
// nm-cpu-tile-and-fuse. The conv's parallel dims are tiled with its init
// fill fused into each tile (rows of 9 x 32 channels, so the accumulators
// start from zero in registers), then script B tiles its reduction dims
// (window positions, 2 input channels at a time), generalises it, and
// tiles the epilogue into rows.
// RUN: nm-opt %s --nm-cpu-select-lowering-config --nm-cpu-tile-and-fuse --nm-cpu-tile-registers | FileCheck %s
// RUN: nm-opt %s --nm-cpu-select-lowering-config --nm-cpu-tile-and-fuse --nm-cpu-tile-registers=dump-schedule 2>&1 >/dev/null | FileCheck %s --check-prefix=SCRIPT

// CHECK-LABEL: func.func @conv_bias_relu
// CHECK: scf.forall
// CHECK: scf.for %{{.*}} = %c0 to %c18 step %c9 iter_args(%{{.*}} = %{{.*}}) -> (tensor<1x1x1x18x32xf32>)
// CHECK: linalg.fill {{.*}}outs(%{{.*}} : tensor<1x1x1x9x32xf32>)
// CHECK: scf.for %{{.*}} = %c0 to %c3 step %c1
// CHECK: scf.for %{{.*}} = %c0 to %c3 step %c1
// CHECK: scf.for %{{.*}} = %c0 to %c3 step %c1
// CHECK: scf.for %{{.*}} = %c0 to %c16 step %c2
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: scf.for %{{.*}} = %c0 to %c18 step %c1
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel"]
// CHECK: scf.forall.in_parallel

// SCRIPT: %t1, %l1_0, %l1_1, %l1_2, %l1_3 = transform.structured.tile_using_for %rm1 tile_sizes [0, 0, 0, 0, 0, 1, 1, 1, 2]
// SCRIPT: %g1 = transform.structured.generalize %t1
// SCRIPT: transform.apply_patterns.linalg.fold_unit_extent_dims_via_slices
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
