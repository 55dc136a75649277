// nm-cpu-select-lowering-config on the seed CNN's and neuro3d's prediction
// (Inputs/, taken from the lowering of the models), after the stage-1
// passes that run before it: the schedule chosen for every conv and for
// the root of every fused group (the op that leads the loops: the bias +
// activation epilogue, or a channel tail's lane sums). A change in the
// heuristics of KernelDispatch.cpp shows up here. The config is a typed
// #nm_cpu.lowering_config (CodegenAttrs.td); fields at their defaults are
// not printed.
// RUN: nm-opt %S/Inputs/seed-prediction.mlir --canonicalize --nm-cpu-channel-tails --nm-cpu-split-channel-groups --nm-cpu-select-lowering-config | FileCheck %s --check-prefix=SEED
// RUN: nm-opt %S/Inputs/neuro3d-prediction.mlir --canonicalize --nm-cpu-channel-tails --nm-cpu-split-channel-groups --nm-cpu-select-lowering-config | FileCheck %s --check-prefix=NEURO3D
//
// Without thread-level tiles (parallel=false) a group is not formed:
// RUN: nm-opt %S/Inputs/seed-prediction.mlir --canonicalize --nm-cpu-select-lowering-config=parallel=false | FileCheck %s --check-prefix=SERIAL
//
// An op that carries a config keeps it (here a dictionary with its fields;
// nm-opt does not parse #nm_cpu attributes in its input):
// RUN: nm-opt %s --nm-cpu-select-lowering-config | FileCheck %s --check-prefix=GIVEN

// SEED-LABEL: func.func @prediction
// SEED: linalg.conv_3d_ndhwc_dhwcf
// SEED-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [1, 1, 1, 14, 0, 1, 1, 1, 3], peel = [false, false, false, true, false, false, false, false, false], generalize = true, is_fused = true, reduction_dims = [false, false, false, false, false, true, true, true, true]>
// SEED-SAME: tensor<10x23x183x183x3xf32>, tensor<1x6x6x3x32xf32>
// SEED: linalg.generic
// SEED-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [0, 0, 0, 1, 0], peel = [false, false, false, false, false], thread_tiles = [1, 1, 1, 0, 0], thread_order = [2, 1, 0, 0, 0], fused = [5, 3, 2, 4]>
// SEED: linalg.conv_3d_ndhwc_dhwcf
// SEED-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [1, 1, 1, 14, 0, 1, 1, 1, 2], peel = [false, false, false, false, false, false, false, false, false], generalize = true, is_fused = true, reduction_dims = [false, false, false, false, false, true, true, true, true]>
// SEED-SAME: tensor<10x23x89x89x32xf32>, tensor<4x6x6x32x64xf32>
// SEED: linalg.generic
// SEED-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [0, 0, 0, 1, 0], peel = [false, false, false, false, false], thread_tiles = [1, 1, 1, 0, 0], thread_order = [2, 1, 0, 0, 0], channel_dim = 4, channel_tile = 32, fused = [11, 9, 8, 10]>
// SEED: linalg.conv_3d_ndhwc_dhwcf
// SEED-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [1, 1, 1, 14, 0, 1, 1, 1, 2], peel = [false, false, false, true, false, false, false, false, false], generalize = true, is_fused = true, reduction_dims = [false, false, false, false, false, true, true, true, true]>
// SEED-SAME: tensor<10x10x42x42x64xf32>, tensor<3x3x3x64x16xf32>
// SEED: linalg.generic
// SEED-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [0, 0, 0, 1, 0], peel = [false, false, false, false, false], thread_tiles = [1, 1, 1, 0, 0], thread_order = [2, 1, 0, 0, 0], fused = [15, 14]>

// NEURO3D-LABEL: func.func @prediction
// NEURO3D: linalg.conv_3d_ndhwc_dhwcf
// NEURO3D-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [1, 1, 1, 12, 0, 1, 1, 1, 1], peel = [false, false, false, false, false, false, false, false, false], generalize = true, is_fused = true, reduction_dims = [false, false, false, false, false, true, true, true, true]>
// NEURO3D-SAME: tensor<1x23x185x185x1xf32>, tensor<1x6x6x1x32xf32>
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [0, 0, 0, 1, 0], peel = [false, false, false, false, false], thread_tiles = [0, 1, 1, 0, 0], thread_order = [0, 1, 0, 0, 0], fused = [4, 2, 1, 3]>
// NEURO3D: linalg.conv_3d_ndhwc_dhwcf
// NEURO3D-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [1, 1, 1, 13, 0, 1, 1, 1, 2], peel = [false, false, false, true, false, false, false, false, false], generalize = true, is_fused = true, reduction_dims = [false, false, false, false, false, true, true, true, true]>
// NEURO3D-SAME: tensor<1x23x90x90x20xf32>, tensor<1x5x5x20x32xf32>
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [0, 0, 0, 1, 0], peel = [false, false, false, false, false], thread_tiles = [0, 1, 1, 0, 0], thread_order = [0, 1, 0, 0, 0], fused = [10, 8, 7, 9]>
// NEURO3D: linalg.conv_3d_ndhwc_dhwcf
// NEURO3D-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [1, 1, 1, 13, 0, 1, 1, 1, 2], peel = [false, false, false, false, false, false, false, false, false], generalize = true, is_fused = true, reduction_dims = [false, false, false, false, false, true, true, true, true]>
// NEURO3D-SAME: tensor<1x23x43x43x30xf32>, tensor<1x5x5x30x32xf32>
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [0, 0, 0, 1, 0], peel = [false, false, false, false, false], thread_tiles = [0, 1, 1, 0, 0], thread_order = [0, 1, 0, 0, 0], fused = [14, 13]>
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [1, 1, 1, 3, 0, 0, 1, 1, 1, 1], peel = [false, false, false, false, false, false, false, false, false, false], is_fused = true, reduction_dims = [false, false, false, false, false, false, true, true, true, true]>
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [0, 0, 0, 1, 1, 0], peel = [false, false, false, false, false, false], thread_tiles = [0, 1, 1, 0, 0, 0], thread_order = [0, 1, 0, 0, 0, 0], fused = [19, 18]>
// NEURO3D: linalg.conv_3d_ndhwc_dhwcf
// NEURO3D-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [1, 1, 1, 9, 0, 1, 1, 1, 2], peel = [false, false, false, false, false, false, false, false, false], generalize = true, is_fused = true, reduction_dims = [false, false, false, false, false, true, true, true, true], remainder = #nm_cpu.lowering_config<tile_sizes = [1, 1, 1, 12, 0, 1, 1, 1, 2], peel = [false, false, false, false, false, false, false, false, false], generalize = true, reduction_dims = [false, false, false, false, false, true, true, true, true]>>
// NEURO3D-SAME: tensor<1x23x39x39x40xf32>, tensor<4x4x4x40x80xf32>
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [0, 0, 0, 1, 0], peel = [false, false, false, false, false], thread_tiles = [0, 1, 1, 0, 0], thread_order = [0, 1, 0, 0, 0], channel_dim = 4, channel_tile = 48, channel_peel = true, fused = [26, 24, 23, 25]>
// NEURO3D: linalg.conv_3d_ndhwc_dhwcf
// NEURO3D-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [1, 1, 1, 11, 0, 1, 1, 1, 2], peel = [false, false, false, false, false, false, false, false, false], generalize = true, is_fused = true, reduction_dims = [false, false, false, false, false, true, true, true, true]>
// NEURO3D-SAME: tensor<1x10x36x36x80xf32>, tensor<3x4x4x80x96xf32>
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [0, 0, 0, 1, 0], peel = [false, false, false, false, false], thread_tiles = [0, 1, 1, 0, 0], thread_order = [0, 1, 0, 0, 0], channel_dim = 4, channel_tile = 32, fused = [30, 29]>
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [1, 1, 1, 6, 0, 0, 1, 1, 1, 1], peel = [false, false, false, true, false, false, false, false, false, false], is_fused = true, reduction_dims = [false, false, false, false, false, false, true, true, true, true]>
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [0, 0, 0, 1, 1, 0], peel = [false, false, false, false, false, false], thread_tiles = [0, 1, 1, 0, 0, 0], thread_order = [0, 1, 0, 0, 0, 0], fused = [35, 34]>
// NEURO3D: linalg.conv_3d_ndhwc_dhwcf
// NEURO3D-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [1, 1, 1, 10, 0, 1, 1, 1, 2], peel = [false, false, false, false, false, false, false, false, false], generalize = true, is_fused = true, reduction_dims = [false, false, false, false, false, true, true, true, true]>
// NEURO3D-SAME: tensor<1x8x33x33x100xf32>, tensor<3x4x4x100x96xf32>
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [0, 0, 0, 0, 0], peel = [false, false, false, false, false], thread_tiles = [0, 1, 1, 0, 0], thread_order = [0, 1, 0, 0, 0], channel_dim = 4, channel_tile = 32, fused = [40, 39]>
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [1, 1, 1, 6, 0, 0, 1, 1, 1, 1], peel = [false, false, false, false, false, false, false, false, false, false], is_fused = true, reduction_dims = [false, false, false, false, false, false, true, true, true, true]>
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [0, 0, 0, 0, 1, 0], peel = [false, false, false, false, false, false], thread_tiles = [0, 1, 1, 0, 0, 0], thread_order = [0, 1, 0, 0, 0, 0], fused = [45, 44]>
// NEURO3D: linalg.conv_3d_ndhwc_dhwcf
// NEURO3D-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [1, 1, 1, 9, 0, 1, 1, 1, 2], peel = [false, false, false, false, false, false, false, false, false], generalize = true, is_fused = true, reduction_dims = [false, false, false, false, false, true, true, true, true]>
// NEURO3D-SAME: tensor<1x6x30x30x100xf32>, tensor<2x4x4x100x144xf32>
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [0, 0, 0, 0, 0], peel = [false, false, false, false, false], thread_tiles = [0, 1, 1, 0, 0], thread_order = [0, 1, 0, 0, 0], channel_dim = 4, channel_tile = 48, fused = [50, 49]>
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [1, 1, 1, 4, 0, 0, 1, 1, 1, 1], peel = [false, false, false, true, false, false, false, false, false, false], is_fused = true, reduction_dims = [false, false, false, false, false, false, true, true, true, true]>
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [0, 0, 0, 0, 1, 0], peel = [false, false, false, false, false, false], thread_tiles = [0, 1, 1, 0, 0, 0], thread_order = [0, 1, 0, 0, 0, 0], fused = [55, 54]>
// NEURO3D: linalg.conv_3d_ndhwc_dhwcf
// NEURO3D-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [1, 1, 1, 12, 0, 1, 1, 1, 2], peel = [false, false, false, false, false, false, false, false, false], generalize = true, is_fused = true, reduction_dims = [false, false, false, false, false, true, true, true, true]>
// NEURO3D-SAME: tensor<1x5x27x27x150xf32>, tensor<1x4x4x150x192xf32>
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [0, 0, 0, 0, 0], peel = [false, false, false, false, false], thread_tiles = [0, 1, 1, 0, 0], thread_order = [0, 1, 0, 0, 0], channel_dim = 4, channel_tile = 32, fused = [60, 59]>
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [1, 1, 1, 3, 0, 0, 1, 1, 1, 1], peel = [false, false, false, false, false, false, false, false, false, false], is_fused = true, reduction_dims = [false, false, false, false, false, false, true, true, true, true]>
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [0, 0, 0, 0, 1, 0], peel = [false, false, false, false, false, false], thread_tiles = [0, 1, 1, 0, 0, 0], thread_order = [0, 1, 0, 0, 0, 0], fused = [65, 64]>
// NEURO3D: linalg.conv_3d_ndhwc_dhwcf
// NEURO3D-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [1, 1, 1, 11, 0, 1, 1, 1, 2], peel = [false, false, false, true, false, false, false, false, false], generalize = true, is_fused = true, reduction_dims = [false, false, false, false, false, true, true, true, true]>
// NEURO3D-SAME: tensor<1x5x24x24x200xf32>, tensor<1x4x4x200x192xf32>
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [0, 0, 0, 0, 0], peel = [false, false, false, false, false], thread_tiles = [0, 1, 1, 0, 0], thread_order = [0, 1, 0, 0, 0], channel_dim = 4, channel_tile = 32, fused = [70, 69]>
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [1, 1, 1, 3, 0, 0, 1, 1, 1, 1], peel = [false, false, false, false, false, false, false, false, false, false], is_fused = true, reduction_dims = [false, false, false, false, false, false, true, true, true, true]>
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [0, 0, 0, 0, 1, 0], peel = [false, false, false, false, false, false], thread_tiles = [0, 1, 1, 0, 0, 0], thread_order = [0, 1, 0, 0, 0, 0], fused = [75, 74]>
// NEURO3D: linalg.conv_3d_ndhwc_dhwcf
// NEURO3D-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [1, 1, 1, 11, 32, 1, 1, 1, 2], peel = [false, false, false, true, false, false, false, false, false], generalize = true, is_fused = true, reduction_dims = [false, false, false, false, false, true, true, true, true]>
// NEURO3D-SAME: tensor<1x5x21x21x200xf32>, tensor<1x1x1x200x192xf32>
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [0, 0, 0, 0, 64], peel = [false, false, false, false, false], thread_tiles = [0, 1, 1, 0, 0], thread_order = [0, 1, 0, 0, 0], fused = [80, 79]>
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [1, 1, 1, 3, 0, 0, 1, 1, 1, 1], peel = [false, false, false, false, false, false, false, false, false, false], is_fused = true, reduction_dims = [false, false, false, false, false, false, true, true, true, true]>
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [0, 0, 0, 0, 1, 0], peel = [false, false, false, false, false, false], thread_tiles = [0, 1, 1, 0, 0, 0], thread_order = [0, 1, 0, 0, 0, 0], fused = [85, 84]>
// NEURO3D: linalg.conv_3d_ndhwc_dhwcf
// NEURO3D-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [1, 1, 1, 11, 0, 1, 1, 1, 2], peel = [false, false, false, true, false, false, false, false, false], generalize = true, is_fused = true, reduction_dims = [false, false, false, false, false, true, true, true, true]>
// NEURO3D-SAME: tensor<1x5x21x21x200xf32>, tensor<1x1x1x200x2xf32>
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [0, 0, 0, 1, 0], peel = [false, false, false, false, false], thread_tiles = [0, 1, 1, 0, 0], thread_order = [0, 1, 0, 0, 0], fused = [90, 89]>

// SERIAL-LABEL: func.func @prediction
// SERIAL: linalg.conv_3d_ndhwc_dhwcf
// SERIAL-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [1, 1, 1, 14, 0, 0, 1, 1, 0], peel = [false, false, false, true, false, false, false, false, false], generalize = true>
// SERIAL: linalg.conv_3d_ndhwc_dhwcf
// SERIAL-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [1, 1, 1, 14, 0, 1, 1, 1, 2], peel = [false, false, false, false, false, false, false, false, false], generalize = true, channel_dim = 4, channel_tile = 32>
// SERIAL: linalg.conv_3d_ndhwc_dhwcf
// SERIAL-SAME: nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [1, 1, 1, 14, 0, 1, 1, 1, 2], peel = [false, false, false, true, false, false, false, false, false], generalize = true>

// GIVEN: module attributes {nm.codegen.schedules = [#nm_cpu.lowering_config<tile_sizes = [1, 0], peel = [false, false]>, #nm_cpu.lowering_config<tile_sizes = [4, 16, 8], peel = [false, true, false], generalize = true>]}
// GIVEN-LABEL: func.func @given
// GIVEN: linalg.fill {nm.codegen.op0, nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [1, 0], peel = [false, false]>}
// GIVEN: linalg.matmul {nm.codegen.op1, nm.lowering_config = #nm_cpu.lowering_config<tile_sizes = [4, 16, 8], peel = [false, true, false], generalize = true>}

func.func @given(%a: tensor<13x24xf32>, %b: tensor<24x40xf32>) -> tensor<13x40xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<13x40xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<13x40xf32>) -> tensor<13x40xf32>
  %m = linalg.matmul {nm.lowering_config = {tile_sizes = array<i64: 4, 16, 8>, peel = array<i1: false, true, false>, generalize = true}}
     ins(%a, %b : tensor<13x24xf32>, tensor<24x40xf32>) outs(%f : tensor<13x40xf32>) -> tensor<13x40xf32>
  return %m : tensor<13x40xf32>
}
