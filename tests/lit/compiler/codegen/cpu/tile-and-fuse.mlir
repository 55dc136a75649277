// nm-cpu-tile-and-fuse: script A of the selected schedules. The bias + relu
// epilogue leads the group: its thread-level scf.forall over (depth, row)
// (mapped to the linearised iteration space, linear_dim_0 fastest), with
// the conv and its init fill fused into each tile. dump-schedule prints
// the transform script.
// RUN: nm-opt %s --nm-cpu-select-lowering-config --nm-cpu-tile-and-fuse | FileCheck %s
// RUN: nm-opt %s --nm-cpu-select-lowering-config --nm-cpu-tile-and-fuse=dump-schedule 2>&1 >/dev/null | FileCheck %s --check-prefix=SCRIPT

// CHECK-LABEL: func.func @conv_bias_relu
// CHECK: scf.forall (%[[D:.*]], %[[R:.*]]) in (2, 18) shared_outs(%{{.*}} = %{{.*}}) -> (tensor<1x2x18x18x32xf32>)
// CHECK: tensor.extract_slice %{{.*}}[0, %[[D]], %[[R]], 0, 0] [1, 3, 3, 20, 16]
// CHECK: linalg.fill {nm.codegen.op0
// CHECK-SAME: outs(%{{.*}} : tensor<1x1x1x18x32xf32>)
// CHECK: linalg.conv_3d_ndhwc_dhwcf {{.*}}nm.codegen.op1
// CHECK-SAME: outs(%{{.*}} : tensor<1x1x1x18x32xf32>)
// CHECK: linalg.generic
// CHECK-SAME: outs(%{{.*}} : tensor<1x1x1x18x32xf32>) attrs = {nm.codegen.op2
// CHECK: tensor.parallel_insert_slice
// CHECK: {mapping = [#gpu.block<linear_dim_1>, #gpu.block<linear_dim_0>]}

// SCRIPT: transform.named_sequence @__transform_main
// SCRIPT: %op2 = transform.structured.match attributes{nm.codegen.op2} in %root
// SCRIPT: %d2, %forall2 = transform.structured.tile_using_forall %op2 tile_sizes [0, 1, 1, 0, 0] (mapping = [#gpu.block<linear_dim_1>, #gpu.block<linear_dim_0>])
// SCRIPT: transform.structured.fuse_into_containing_op %p1 into %forall2
// SCRIPT: transform.structured.fuse_into_containing_op %p0 into %forall2_1
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
