// nm-cpu-select-lowering-config on the seed CNN's and neuro3d's prediction
// (Inputs/, taken from the lowering of the models), after the stage-1
// passes that run before it: the schedule chosen for every conv and for
// the root of every fused group (the op that leads the loops: the bias +
// activation epilogue, or a channel tail's lane sums). A change in the
// heuristics of KernelDispatch.cpp shows up here.
// RUN: nm-opt %S/Inputs/seed-prediction.mlir --canonicalize --nm-cpu-channel-tails --nm-cpu-split-channel-groups --nm-cpu-select-lowering-config | FileCheck %s --check-prefix=SEED
// RUN: nm-opt %S/Inputs/neuro3d-prediction.mlir --canonicalize --nm-cpu-channel-tails --nm-cpu-split-channel-groups --nm-cpu-select-lowering-config | FileCheck %s --check-prefix=NEURO3D
//
// Without thread-level tiles (parallel=false) a group is not formed:
// RUN: nm-opt %S/Inputs/seed-prediction.mlir --canonicalize --nm-cpu-select-lowering-config=parallel=false | FileCheck %s --check-prefix=SERIAL
//
// An op that carries a config keeps it:
// RUN: nm-opt %s --nm-cpu-select-lowering-config | FileCheck %s --check-prefix=GIVEN

// SEED-LABEL: func.func @prediction
// SEED: linalg.conv_3d_ndhwc_dhwcf
// SEED-SAME: nm.lowering_config = {fuse_init_fill, generalize = true, is_fused, peel = array<i1: false, false, false, true, false, false, false, false, false>, reduction_dims = array<i1: false, false, false, false, false, true, true, true, true>, tile_sizes = array<i64: 1, 1, 1, 14, 0, 1, 1, 1, 3>}
// SEED-SAME: tensor<10x23x183x183x3xf32>, tensor<1x6x6x3x32xf32>
// SEED: linalg.generic
// SEED-SAME: nm.lowering_config = {fused = array<i64: 5, 3, 2, 4>, generalize = false, peel = array<i1: false, false, false, false, false>, thread_order = array<i64: 2, 1, 0, 0, 0>, thread_tiles = array<i64: 1, 1, 1, 0, 0>, tile_sizes = array<i64: 0, 0, 0, 1, 0>}
// SEED: linalg.conv_3d_ndhwc_dhwcf
// SEED-SAME: nm.lowering_config = {fuse_init_fill, generalize = true, is_fused, peel = array<i1: false, false, false, false, false, false, false, false, false>, reduction_dims = array<i1: false, false, false, false, false, true, true, true, true>, tile_sizes = array<i64: 1, 1, 1, 14, 0, 1, 1, 1, 2>}
// SEED-SAME: tensor<10x23x89x89x32xf32>, tensor<4x6x6x32x64xf32>
// SEED: linalg.generic
// SEED-SAME: nm.lowering_config = {channel_dim = 4 : i64, channel_peel = false, channel_tile = 32 : i64, fused = array<i64: 11, 9, 8, 10>, generalize = false, peel = array<i1: false, false, false, false, false>, thread_order = array<i64: 2, 1, 0, 0, 0>, thread_tiles = array<i64: 1, 1, 1, 0, 0>, tile_sizes = array<i64: 0, 0, 0, 1, 0>}
// SEED: linalg.conv_3d_ndhwc_dhwcf
// SEED-SAME: nm.lowering_config = {fuse_init_fill, generalize = true, is_fused, peel = array<i1: false, false, false, true, false, false, false, false, false>, reduction_dims = array<i1: false, false, false, false, false, true, true, true, true>, tile_sizes = array<i64: 1, 1, 1, 14, 0, 1, 1, 1, 2>}
// SEED-SAME: tensor<10x10x42x42x64xf32>, tensor<3x3x3x64x16xf32>
// SEED: linalg.generic
// SEED-SAME: nm.lowering_config = {fused = array<i64: 15, 14>, generalize = false, peel = array<i1: false, false, false, false, false>, thread_order = array<i64: 2, 1, 0, 0, 0>, thread_tiles = array<i64: 1, 1, 1, 0, 0>, tile_sizes = array<i64: 0, 0, 0, 1, 0>}

// NEURO3D-LABEL: func.func @prediction
// NEURO3D: linalg.conv_3d_ndhwc_dhwcf
// NEURO3D-SAME: nm.lowering_config = {fuse_init_fill, generalize = true, is_fused, peel = array<i1: false, false, false, false, false, false, false, false, false>, reduction_dims = array<i1: false, false, false, false, false, true, true, true, true>, tile_sizes = array<i64: 1, 1, 1, 12, 0, 1, 1, 1, 1>}
// NEURO3D-SAME: tensor<1x23x185x185x1xf32>, tensor<1x6x6x1x32xf32>
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = {fused = array<i64: 4, 2, 1, 3>, generalize = false, peel = array<i1: false, false, false, false, false>, thread_order = array<i64: 0, 1, 0, 0, 0>, thread_tiles = array<i64: 0, 1, 1, 0, 0>, tile_sizes = array<i64: 0, 0, 0, 1, 0>}
// NEURO3D: linalg.conv_3d_ndhwc_dhwcf
// NEURO3D-SAME: nm.lowering_config = {fuse_init_fill, generalize = true, is_fused, peel = array<i1: false, false, false, true, false, false, false, false, false>, reduction_dims = array<i1: false, false, false, false, false, true, true, true, true>, tile_sizes = array<i64: 1, 1, 1, 13, 0, 1, 1, 1, 2>}
// NEURO3D-SAME: tensor<1x23x90x90x20xf32>, tensor<1x5x5x20x32xf32>
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = {fused = array<i64: 10, 8, 7, 9>, generalize = false, peel = array<i1: false, false, false, false, false>, thread_order = array<i64: 0, 1, 0, 0, 0>, thread_tiles = array<i64: 0, 1, 1, 0, 0>, tile_sizes = array<i64: 0, 0, 0, 1, 0>}
// NEURO3D: linalg.conv_3d_ndhwc_dhwcf
// NEURO3D-SAME: nm.lowering_config = {fuse_init_fill, generalize = true, is_fused, peel = array<i1: false, false, false, false, false, false, false, false, false>, reduction_dims = array<i1: false, false, false, false, false, true, true, true, true>, tile_sizes = array<i64: 1, 1, 1, 13, 0, 1, 1, 1, 2>}
// NEURO3D-SAME: tensor<1x23x43x43x30xf32>, tensor<1x5x5x30x32xf32>
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = {fused = array<i64: 14, 13>, generalize = false, peel = array<i1: false, false, false, false, false>, thread_order = array<i64: 0, 1, 0, 0, 0>, thread_tiles = array<i64: 0, 1, 1, 0, 0>, tile_sizes = array<i64: 0, 0, 0, 1, 0>}
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = {fuse_init_fill, generalize = false, is_fused, peel = array<i1: false, false, false, false, false, false, false, false, false, false>, reduction_dims = array<i1: false, false, false, false, false, false, true, true, true, true>, tile_sizes = array<i64: 1, 1, 1, 3, 0, 0, 1, 1, 1, 1>}
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = {fused = array<i64: 19, 18>, generalize = false, peel = array<i1: false, false, false, false, false, false>, thread_order = array<i64: 0, 1, 0, 0, 0, 0>, thread_tiles = array<i64: 0, 1, 1, 0, 0, 0>, tile_sizes = array<i64: 0, 0, 0, 1, 1, 0>}
// NEURO3D: linalg.conv_3d_ndhwc_dhwcf
// NEURO3D-SAME: nm.lowering_config = {fuse_init_fill, generalize = true, is_fused, peel = array<i1: false, false, false, false, false, false, false, false, false>, reduction_dims = array<i1: false, false, false, false, false, true, true, true, true>, remainder = {fuse_init_fill, generalize = true, peel = array<i1: false, false, false, false, false, false, false, false, false>, reduction_dims = array<i1: false, false, false, false, false, true, true, true, true>, tile_sizes = array<i64: 1, 1, 1, 12, 0, 1, 1, 1, 2>}, tile_sizes = array<i64: 1, 1, 1, 9, 0, 1, 1, 1, 2>}
// NEURO3D-SAME: tensor<1x23x39x39x40xf32>, tensor<4x4x4x40x80xf32>
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = {channel_dim = 4 : i64, channel_peel = true, channel_tile = 48 : i64, fused = array<i64: 26, 24, 23, 25>, generalize = false, peel = array<i1: false, false, false, false, false>, thread_order = array<i64: 0, 1, 0, 0, 0>, thread_tiles = array<i64: 0, 1, 1, 0, 0>, tile_sizes = array<i64: 0, 0, 0, 1, 0>}
// NEURO3D: linalg.conv_3d_ndhwc_dhwcf
// NEURO3D-SAME: nm.lowering_config = {fuse_init_fill, generalize = true, is_fused, peel = array<i1: false, false, false, false, false, false, false, false, false>, reduction_dims = array<i1: false, false, false, false, false, true, true, true, true>, tile_sizes = array<i64: 1, 1, 1, 11, 0, 1, 1, 1, 2>}
// NEURO3D-SAME: tensor<1x10x36x36x80xf32>, tensor<3x4x4x80x96xf32>
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = {channel_dim = 4 : i64, channel_peel = false, channel_tile = 32 : i64, fused = array<i64: 30, 29>, generalize = false, peel = array<i1: false, false, false, false, false>, thread_order = array<i64: 0, 1, 0, 0, 0>, thread_tiles = array<i64: 0, 1, 1, 0, 0>, tile_sizes = array<i64: 0, 0, 0, 1, 0>}
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = {fuse_init_fill, generalize = false, is_fused, peel = array<i1: false, false, false, true, false, false, false, false, false, false>, reduction_dims = array<i1: false, false, false, false, false, false, true, true, true, true>, tile_sizes = array<i64: 1, 1, 1, 6, 0, 0, 1, 1, 1, 1>}
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = {fused = array<i64: 35, 34>, generalize = false, peel = array<i1: false, false, false, false, false, false>, thread_order = array<i64: 0, 1, 0, 0, 0, 0>, thread_tiles = array<i64: 0, 1, 1, 0, 0, 0>, tile_sizes = array<i64: 0, 0, 0, 1, 1, 0>}
// NEURO3D: linalg.conv_3d_ndhwc_dhwcf
// NEURO3D-SAME: nm.lowering_config = {fuse_init_fill, generalize = true, is_fused, peel = array<i1: false, false, false, false, false, false, false, false, false>, reduction_dims = array<i1: false, false, false, false, false, true, true, true, true>, tile_sizes = array<i64: 1, 1, 1, 10, 0, 1, 1, 1, 2>}
// NEURO3D-SAME: tensor<1x8x33x33x100xf32>, tensor<3x4x4x100x96xf32>
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = {channel_dim = 4 : i64, channel_peel = false, channel_tile = 32 : i64, fused = array<i64: 40, 39>, generalize = false, peel = array<i1: false, false, false, false, false>, thread_order = array<i64: 0, 1, 0, 0, 0>, thread_tiles = array<i64: 0, 1, 1, 0, 0>, tile_sizes = array<i64: 0, 0, 0, 0, 0>}
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = {fuse_init_fill, generalize = false, is_fused, peel = array<i1: false, false, false, false, false, false, false, false, false, false>, reduction_dims = array<i1: false, false, false, false, false, false, true, true, true, true>, tile_sizes = array<i64: 1, 1, 1, 6, 0, 0, 1, 1, 1, 1>}
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = {fused = array<i64: 45, 44>, generalize = false, peel = array<i1: false, false, false, false, false, false>, thread_order = array<i64: 0, 1, 0, 0, 0, 0>, thread_tiles = array<i64: 0, 1, 1, 0, 0, 0>, tile_sizes = array<i64: 0, 0, 0, 0, 1, 0>}
// NEURO3D: linalg.conv_3d_ndhwc_dhwcf
// NEURO3D-SAME: nm.lowering_config = {fuse_init_fill, generalize = true, is_fused, peel = array<i1: false, false, false, false, false, false, false, false, false>, reduction_dims = array<i1: false, false, false, false, false, true, true, true, true>, tile_sizes = array<i64: 1, 1, 1, 9, 0, 1, 1, 1, 2>}
// NEURO3D-SAME: tensor<1x6x30x30x100xf32>, tensor<2x4x4x100x144xf32>
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = {channel_dim = 4 : i64, channel_peel = false, channel_tile = 48 : i64, fused = array<i64: 50, 49>, generalize = false, peel = array<i1: false, false, false, false, false>, thread_order = array<i64: 0, 1, 0, 0, 0>, thread_tiles = array<i64: 0, 1, 1, 0, 0>, tile_sizes = array<i64: 0, 0, 0, 0, 0>}
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = {fuse_init_fill, generalize = false, is_fused, peel = array<i1: false, false, false, true, false, false, false, false, false, false>, reduction_dims = array<i1: false, false, false, false, false, false, true, true, true, true>, tile_sizes = array<i64: 1, 1, 1, 4, 0, 0, 1, 1, 1, 1>}
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = {fused = array<i64: 55, 54>, generalize = false, peel = array<i1: false, false, false, false, false, false>, thread_order = array<i64: 0, 1, 0, 0, 0, 0>, thread_tiles = array<i64: 0, 1, 1, 0, 0, 0>, tile_sizes = array<i64: 0, 0, 0, 0, 1, 0>}
// NEURO3D: linalg.conv_3d_ndhwc_dhwcf
// NEURO3D-SAME: nm.lowering_config = {fuse_init_fill, generalize = true, is_fused, peel = array<i1: false, false, false, false, false, false, false, false, false>, reduction_dims = array<i1: false, false, false, false, false, true, true, true, true>, tile_sizes = array<i64: 1, 1, 1, 12, 0, 1, 1, 1, 2>}
// NEURO3D-SAME: tensor<1x5x27x27x150xf32>, tensor<1x4x4x150x192xf32>
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = {channel_dim = 4 : i64, channel_peel = false, channel_tile = 32 : i64, fused = array<i64: 60, 59>, generalize = false, peel = array<i1: false, false, false, false, false>, thread_order = array<i64: 0, 1, 0, 0, 0>, thread_tiles = array<i64: 0, 1, 1, 0, 0>, tile_sizes = array<i64: 0, 0, 0, 0, 0>}
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = {fuse_init_fill, generalize = false, is_fused, peel = array<i1: false, false, false, false, false, false, false, false, false, false>, reduction_dims = array<i1: false, false, false, false, false, false, true, true, true, true>, tile_sizes = array<i64: 1, 1, 1, 3, 0, 0, 1, 1, 1, 1>}
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = {fused = array<i64: 65, 64>, generalize = false, peel = array<i1: false, false, false, false, false, false>, thread_order = array<i64: 0, 1, 0, 0, 0, 0>, thread_tiles = array<i64: 0, 1, 1, 0, 0, 0>, tile_sizes = array<i64: 0, 0, 0, 0, 1, 0>}
// NEURO3D: linalg.conv_3d_ndhwc_dhwcf
// NEURO3D-SAME: nm.lowering_config = {fuse_init_fill, generalize = true, is_fused, peel = array<i1: false, false, false, true, false, false, false, false, false>, reduction_dims = array<i1: false, false, false, false, false, true, true, true, true>, tile_sizes = array<i64: 1, 1, 1, 11, 0, 1, 1, 1, 2>}
// NEURO3D-SAME: tensor<1x5x24x24x200xf32>, tensor<1x4x4x200x192xf32>
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = {channel_dim = 4 : i64, channel_peel = false, channel_tile = 32 : i64, fused = array<i64: 70, 69>, generalize = false, peel = array<i1: false, false, false, false, false>, thread_order = array<i64: 0, 1, 0, 0, 0>, thread_tiles = array<i64: 0, 1, 1, 0, 0>, tile_sizes = array<i64: 0, 0, 0, 0, 0>}
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = {fuse_init_fill, generalize = false, is_fused, peel = array<i1: false, false, false, false, false, false, false, false, false, false>, reduction_dims = array<i1: false, false, false, false, false, false, true, true, true, true>, tile_sizes = array<i64: 1, 1, 1, 3, 0, 0, 1, 1, 1, 1>}
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = {fused = array<i64: 75, 74>, generalize = false, peel = array<i1: false, false, false, false, false, false>, thread_order = array<i64: 0, 1, 0, 0, 0, 0>, thread_tiles = array<i64: 0, 1, 1, 0, 0, 0>, tile_sizes = array<i64: 0, 0, 0, 0, 1, 0>}
// NEURO3D: linalg.conv_3d_ndhwc_dhwcf
// NEURO3D-SAME: nm.lowering_config = {fuse_init_fill, generalize = true, is_fused, peel = array<i1: false, false, false, true, false, false, false, false, false>, reduction_dims = array<i1: false, false, false, false, false, true, true, true, true>, tile_sizes = array<i64: 1, 1, 1, 11, 32, 1, 1, 1, 2>}
// NEURO3D-SAME: tensor<1x5x21x21x200xf32>, tensor<1x1x1x200x192xf32>
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = {fused = array<i64: 80, 79>, generalize = false, peel = array<i1: false, false, false, false, false>, thread_order = array<i64: 0, 1, 0, 0, 0>, thread_tiles = array<i64: 0, 1, 1, 0, 0>, tile_sizes = array<i64: 0, 0, 0, 0, 64>}
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = {fuse_init_fill, generalize = false, is_fused, peel = array<i1: false, false, false, false, false, false, false, false, false, false>, reduction_dims = array<i1: false, false, false, false, false, false, true, true, true, true>, tile_sizes = array<i64: 1, 1, 1, 3, 0, 0, 1, 1, 1, 1>}
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = {fused = array<i64: 85, 84>, generalize = false, peel = array<i1: false, false, false, false, false, false>, thread_order = array<i64: 0, 1, 0, 0, 0, 0>, thread_tiles = array<i64: 0, 1, 1, 0, 0, 0>, tile_sizes = array<i64: 0, 0, 0, 0, 1, 0>}
// NEURO3D: linalg.conv_3d_ndhwc_dhwcf
// NEURO3D-SAME: nm.lowering_config = {fuse_init_fill, generalize = true, is_fused, peel = array<i1: false, false, false, true, false, false, false, false, false>, reduction_dims = array<i1: false, false, false, false, false, true, true, true, true>, tile_sizes = array<i64: 1, 1, 1, 11, 0, 1, 1, 1, 2>}
// NEURO3D-SAME: tensor<1x5x21x21x200xf32>, tensor<1x1x1x200x2xf32>
// NEURO3D: linalg.generic
// NEURO3D-SAME: nm.lowering_config = {fused = array<i64: 90, 89>, generalize = false, peel = array<i1: false, false, false, false, false>, thread_order = array<i64: 0, 1, 0, 0, 0>, thread_tiles = array<i64: 0, 1, 1, 0, 0>, tile_sizes = array<i64: 0, 0, 0, 1, 0>}
// SERIAL-LABEL: func.func @prediction
// SERIAL: linalg.conv_3d_ndhwc_dhwcf
// SERIAL-SAME: nm.lowering_config = {generalize = true, peel = array<i1: false, false, false, true, false, false, false, false, false>, tile_sizes = array<i64: 1, 1, 1, 14, 0, 0, 1, 1, 0>}
// SERIAL: linalg.conv_3d_ndhwc_dhwcf
// SERIAL-SAME: nm.lowering_config = {channel_dim = 4 : i64, channel_peel = false, channel_tile = 32 : i64, generalize = true, peel = array<i1: false, false, false, false, false, false, false, false, false>, tile_sizes = array<i64: 1, 1, 1, 14, 0, 1, 1, 1, 2>}
// SERIAL: linalg.conv_3d_ndhwc_dhwcf
// SERIAL-SAME: nm.lowering_config = {generalize = true, peel = array<i1: false, false, false, true, false, false, false, false, false>, tile_sizes = array<i64: 1, 1, 1, 14, 0, 1, 1, 1, 2>}

// GIVEN: module attributes {nm.codegen.schedules = [{config = {generalize = false, peel = array<i1: false, false>, tile_sizes = array<i64: 1, 0>}, loops = 2 : i64}, {config = {generalize = true, peel = array<i1: false, true, false>, tile_sizes = array<i64: 4, 16, 8>}, loops = 3 : i64}]}
// GIVEN-LABEL: func.func @given
// GIVEN: linalg.fill {nm.codegen.op0, nm.lowering_config = {generalize = false, peel = array<i1: false, false>, tile_sizes = array<i64: 1, 0>}}
// GIVEN: linalg.matmul {nm.codegen.op1, nm.lowering_config = {generalize = true, peel = array<i1: false, true, false>, tile_sizes = array<i64: 4, 16, 8>}}
func.func @given(%a: tensor<13x24xf32>, %b: tensor<24x40xf32>) -> tensor<13x40xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<13x40xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<13x40xf32>) -> tensor<13x40xf32>
  %m = linalg.matmul {nm.lowering_config = {tile_sizes = array<i64: 4, 16, 8>, peel = array<i1: false, true, false>, generalize = true}}
     ins(%a, %b : tensor<13x24xf32>, tensor<24x40xf32>) outs(%f : tensor<13x40xf32>) -> tensor<13x40xf32>
  return %m : tensor<13x40xf32>
}
