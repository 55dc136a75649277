// neuro3d's prediction (examples/neuro3d: input 1x1x23x185x185) in linalg: `neuromancer lower` of the saved model, --convert-nm-to-linalg
// (neuro3d: after --nm-specialize-shapes), --canonicalize. Input of the
// lowering-config tests.
#map = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#map1 = affine_map<(d0, d1, d2, d3, d4) -> (d4)>
#map2 = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4, d5)>
#map3 = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d3, d4, d5)>
module {
  func.func @prediction(%arg0: tensor<1x1x23x185x185xf32> {nm.name = "raw"}, %arg1: tensor<20x1x1x6x6xf32> {nm.name = "conv_w", nm.parameter}, %arg2: tensor<20xf32> {nm.name = "conv_b", nm.parameter}, %arg3: tensor<30x20x1x5x5xf32> {nm.name = "conv1_w", nm.parameter}, %arg4: tensor<30xf32> {nm.name = "conv1_b", nm.parameter}, %arg5: tensor<40x30x1x5x5xf32> {nm.name = "conv2_w", nm.parameter}, %arg6: tensor<40xf32> {nm.name = "conv2_b", nm.parameter}, %arg7: tensor<80x40x4x4x4xf32> {nm.name = "conv3_w", nm.parameter}, %arg8: tensor<80xf32> {nm.name = "conv3_b", nm.parameter}, %arg9: tensor<100x80x3x4x4xf32> {nm.name = "conv4_w", nm.parameter}, %arg10: tensor<100xf32> {nm.name = "conv4_b", nm.parameter}, %arg11: tensor<100x100x3x4x4xf32> {nm.name = "conv5_w", nm.parameter}, %arg12: tensor<100xf32> {nm.name = "conv5_b", nm.parameter}, %arg13: tensor<150x100x2x4x4xf32> {nm.name = "conv6_w", nm.parameter}, %arg14: tensor<150xf32> {nm.name = "conv6_b", nm.parameter}, %arg15: tensor<200x150x1x4x4xf32> {nm.name = "conv7_w", nm.parameter}, %arg16: tensor<200xf32> {nm.name = "conv7_b", nm.parameter}, %arg17: tensor<200x200x1x4x4xf32> {nm.name = "conv8_w", nm.parameter}, %arg18: tensor<200xf32> {nm.name = "conv8_b", nm.parameter}, %arg19: tensor<200x200x1x1x1xf32> {nm.name = "conv9_w", nm.parameter}, %arg20: tensor<200xf32> {nm.name = "conv9_b", nm.parameter}, %arg21: tensor<2x200x1x1x1xf32> {nm.name = "conv10_w", nm.parameter}, %arg22: tensor<2xf32> {nm.name = "conv10_b", nm.parameter}) -> (tensor<1x2x5x21x21xf32> {nm.name = "softmax"}) {
    %cst = arith.constant 0xFF800000 : f32
    %cst_0 = arith.constant 0.000000e+00 : f32
    %collapsed = tensor.collapse_shape %arg0 [[0, 1, 2, 3, 4]] : tensor<1x1x23x185x185xf32> into tensor<787175xf32>
    %expanded = tensor.expand_shape %collapsed [[0, 1, 2, 3, 4]] output_shape [1, 23, 185, 185, 1] : tensor<787175xf32> into tensor<1x23x185x185x1xf32>
    %0 = tensor.empty() : tensor<1x6x6x1x20xf32>
    %transposed = linalg.transpose ins(%arg1 : tensor<20x1x1x6x6xf32>) outs(%0 : tensor<1x6x6x1x20xf32>) permutation = [2, 3, 4, 1, 0] 
    %padded = tensor.pad %transposed low[0, 0, 0, 0, 0] high[0, 0, 0, 0, 12] {
    ^bb0(%arg23: index, %arg24: index, %arg25: index, %arg26: index, %arg27: index):
      tensor.yield %cst_0 : f32
    } : tensor<1x6x6x1x20xf32> to tensor<1x6x6x1x32xf32>
    %1 = tensor.empty() : tensor<1x23x180x180x32xf32>
    %2 = linalg.fill ins(%cst_0 : f32) outs(%1 : tensor<1x23x180x180x32xf32>) -> tensor<1x23x180x180x32xf32>
    %3 = linalg.conv_3d_ndhwc_dhwcf {dilations = dense<1> : tensor<3xi64>, strides = dense<1> : tensor<3xi64>} ins(%expanded, %padded : tensor<1x23x185x185x1xf32>, tensor<1x6x6x1x32xf32>) outs(%2 : tensor<1x23x180x180x32xf32>) -> tensor<1x23x180x180x32xf32>
    %4 = tensor.empty() : tensor<1x23x90x90x32xf32>
    %5 = linalg.fill ins(%cst : f32) outs(%4 : tensor<1x23x90x90x32xf32>) -> tensor<1x23x90x90x32xf32>
    %6 = tensor.empty() : tensor<1x2x2xf32>
    %7 = linalg.pooling_ndhwc_max {dilations = dense<1> : tensor<3xi64>, strides = dense<[1, 2, 2]> : tensor<3xi64>} ins(%3, %6 : tensor<1x23x180x180x32xf32>, tensor<1x2x2xf32>) outs(%5 : tensor<1x23x90x90x32xf32>) -> tensor<1x23x90x90x32xf32>
    %padded_1 = tensor.pad %arg2 low[0] high[12] {
    ^bb0(%arg23: index):
      tensor.yield %cst_0 : f32
    } : tensor<20xf32> to tensor<32xf32>
    %8 = tensor.empty() : tensor<1x23x90x90x32xf32>
    %9 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%7, %padded_1 : tensor<1x23x90x90x32xf32>, tensor<32xf32>) outs(%8 : tensor<1x23x90x90x32xf32>) {
    ^bb0(%in: f32, %in_39: f32, %out: f32):
      %89 = arith.addf %in, %in_39 : f32
      %90 = arith.maximumf %89, %cst_0 : f32
      linalg.yield %90 : f32
    } -> tensor<1x23x90x90x32xf32>
    %extracted_slice = tensor.extract_slice %9[0, 0, 0, 0, 0] [1, 23, 90, 90, 20] [1, 1, 1, 1, 1] : tensor<1x23x90x90x32xf32> to tensor<1x23x90x90x20xf32>
    %10 = tensor.empty() : tensor<1x5x5x20x30xf32>
    %transposed_2 = linalg.transpose ins(%arg3 : tensor<30x20x1x5x5xf32>) outs(%10 : tensor<1x5x5x20x30xf32>) permutation = [2, 3, 4, 1, 0] 
    %padded_3 = tensor.pad %transposed_2 low[0, 0, 0, 0, 0] high[0, 0, 0, 0, 2] {
    ^bb0(%arg23: index, %arg24: index, %arg25: index, %arg26: index, %arg27: index):
      tensor.yield %cst_0 : f32
    } : tensor<1x5x5x20x30xf32> to tensor<1x5x5x20x32xf32>
    %11 = tensor.empty() : tensor<1x23x86x86x32xf32>
    %12 = linalg.fill ins(%cst_0 : f32) outs(%11 : tensor<1x23x86x86x32xf32>) -> tensor<1x23x86x86x32xf32>
    %13 = linalg.conv_3d_ndhwc_dhwcf {dilations = dense<1> : tensor<3xi64>, strides = dense<1> : tensor<3xi64>} ins(%extracted_slice, %padded_3 : tensor<1x23x90x90x20xf32>, tensor<1x5x5x20x32xf32>) outs(%12 : tensor<1x23x86x86x32xf32>) -> tensor<1x23x86x86x32xf32>
    %14 = tensor.empty() : tensor<1x23x43x43x32xf32>
    %15 = linalg.fill ins(%cst : f32) outs(%14 : tensor<1x23x43x43x32xf32>) -> tensor<1x23x43x43x32xf32>
    %16 = tensor.empty() : tensor<1x2x2xf32>
    %17 = linalg.pooling_ndhwc_max {dilations = dense<1> : tensor<3xi64>, strides = dense<[1, 2, 2]> : tensor<3xi64>} ins(%13, %16 : tensor<1x23x86x86x32xf32>, tensor<1x2x2xf32>) outs(%15 : tensor<1x23x43x43x32xf32>) -> tensor<1x23x43x43x32xf32>
    %padded_4 = tensor.pad %arg4 low[0] high[2] {
    ^bb0(%arg23: index):
      tensor.yield %cst_0 : f32
    } : tensor<30xf32> to tensor<32xf32>
    %18 = tensor.empty() : tensor<1x23x43x43x32xf32>
    %19 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%17, %padded_4 : tensor<1x23x43x43x32xf32>, tensor<32xf32>) outs(%18 : tensor<1x23x43x43x32xf32>) {
    ^bb0(%in: f32, %in_39: f32, %out: f32):
      %89 = arith.addf %in, %in_39 : f32
      %90 = arith.maximumf %89, %cst_0 : f32
      linalg.yield %90 : f32
    } -> tensor<1x23x43x43x32xf32>
    %extracted_slice_5 = tensor.extract_slice %19[0, 0, 0, 0, 0] [1, 23, 43, 43, 30] [1, 1, 1, 1, 1] : tensor<1x23x43x43x32xf32> to tensor<1x23x43x43x30xf32>
    %20 = tensor.empty() : tensor<1x5x5x30x40xf32>
    %transposed_6 = linalg.transpose ins(%arg5 : tensor<40x30x1x5x5xf32>) outs(%20 : tensor<1x5x5x30x40xf32>) permutation = [2, 3, 4, 1, 0] 
    %padded_7 = tensor.pad %transposed_6 low[0, 0, 0, 0, 0] high[0, 0, 0, 0, 8] {
    ^bb0(%arg23: index, %arg24: index, %arg25: index, %arg26: index, %arg27: index):
      tensor.yield %cst_0 : f32
    } : tensor<1x5x5x30x40xf32> to tensor<1x5x5x30x48xf32>
    %21 = tensor.empty() : tensor<1x23x39x39x48xf32>
    %22 = linalg.fill ins(%cst_0 : f32) outs(%21 : tensor<1x23x39x39x48xf32>) -> tensor<1x23x39x39x48xf32>
    %23 = linalg.conv_3d_ndhwc_dhwcf {dilations = dense<1> : tensor<3xi64>, strides = dense<1> : tensor<3xi64>} ins(%extracted_slice_5, %padded_7 : tensor<1x23x43x43x30xf32>, tensor<1x5x5x30x48xf32>) outs(%22 : tensor<1x23x39x39x48xf32>) -> tensor<1x23x39x39x48xf32>
    %padded_8 = tensor.pad %arg6 low[0] high[8] {
    ^bb0(%arg23: index):
      tensor.yield %cst_0 : f32
    } : tensor<40xf32> to tensor<48xf32>
    %24 = tensor.empty() : tensor<1x23x39x39x48xf32>
    %25 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%23, %padded_8 : tensor<1x23x39x39x48xf32>, tensor<48xf32>) outs(%24 : tensor<1x23x39x39x48xf32>) {
    ^bb0(%in: f32, %in_39: f32, %out: f32):
      %89 = arith.addf %in, %in_39 : f32
      %90 = arith.maximumf %89, %cst_0 : f32
      linalg.yield %90 : f32
    } -> tensor<1x23x39x39x48xf32>
    %extracted_slice_9 = tensor.extract_slice %25[0, 0, 0, 0, 0] [1, 23, 39, 39, 40] [1, 1, 1, 1, 1] : tensor<1x23x39x39x48xf32> to tensor<1x23x39x39x40xf32>
    %26 = tensor.empty() : tensor<4x4x4x40x80xf32>
    %transposed_10 = linalg.transpose ins(%arg7 : tensor<80x40x4x4x4xf32>) outs(%26 : tensor<4x4x4x40x80xf32>) permutation = [2, 3, 4, 1, 0] 
    %27 = tensor.empty() : tensor<1x20x36x36x80xf32>
    %28 = linalg.fill ins(%cst_0 : f32) outs(%27 : tensor<1x20x36x36x80xf32>) -> tensor<1x20x36x36x80xf32>
    %29 = linalg.conv_3d_ndhwc_dhwcf {dilations = dense<1> : tensor<3xi64>, strides = dense<1> : tensor<3xi64>} ins(%extracted_slice_9, %transposed_10 : tensor<1x23x39x39x40xf32>, tensor<4x4x4x40x80xf32>) outs(%28 : tensor<1x20x36x36x80xf32>) -> tensor<1x20x36x36x80xf32>
    %30 = tensor.empty() : tensor<1x10x36x36x80xf32>
    %31 = linalg.fill ins(%cst : f32) outs(%30 : tensor<1x10x36x36x80xf32>) -> tensor<1x10x36x36x80xf32>
    %32 = tensor.empty() : tensor<2x1x1xf32>
    %33 = linalg.pooling_ndhwc_max {dilations = dense<1> : tensor<3xi64>, strides = dense<[2, 1, 1]> : tensor<3xi64>} ins(%29, %32 : tensor<1x20x36x36x80xf32>, tensor<2x1x1xf32>) outs(%31 : tensor<1x10x36x36x80xf32>) -> tensor<1x10x36x36x80xf32>
    %34 = tensor.empty() : tensor<1x10x36x36x80xf32>
    %35 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%33, %arg8 : tensor<1x10x36x36x80xf32>, tensor<80xf32>) outs(%34 : tensor<1x10x36x36x80xf32>) {
    ^bb0(%in: f32, %in_39: f32, %out: f32):
      %89 = arith.addf %in, %in_39 : f32
      %90 = arith.maximumf %89, %cst_0 : f32
      linalg.yield %90 : f32
    } -> tensor<1x10x36x36x80xf32>
    %36 = tensor.empty() : tensor<3x4x4x80x100xf32>
    %transposed_11 = linalg.transpose ins(%arg9 : tensor<100x80x3x4x4xf32>) outs(%36 : tensor<3x4x4x80x100xf32>) permutation = [2, 3, 4, 1, 0] 
    %padded_12 = tensor.pad %transposed_11 low[0, 0, 0, 0, 0] high[0, 0, 0, 0, 12] {
    ^bb0(%arg23: index, %arg24: index, %arg25: index, %arg26: index, %arg27: index):
      tensor.yield %cst_0 : f32
    } : tensor<3x4x4x80x100xf32> to tensor<3x4x4x80x112xf32>
    %37 = tensor.empty() : tensor<1x8x33x33x112xf32>
    %38 = linalg.fill ins(%cst_0 : f32) outs(%37 : tensor<1x8x33x33x112xf32>) -> tensor<1x8x33x33x112xf32>
    %39 = linalg.conv_3d_ndhwc_dhwcf {dilations = dense<1> : tensor<3xi64>, strides = dense<1> : tensor<3xi64>} ins(%35, %padded_12 : tensor<1x10x36x36x80xf32>, tensor<3x4x4x80x112xf32>) outs(%38 : tensor<1x8x33x33x112xf32>) -> tensor<1x8x33x33x112xf32>
    %padded_13 = tensor.pad %arg10 low[0] high[12] {
    ^bb0(%arg23: index):
      tensor.yield %cst_0 : f32
    } : tensor<100xf32> to tensor<112xf32>
    %40 = tensor.empty() : tensor<1x8x33x33x112xf32>
    %41 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%39, %padded_13 : tensor<1x8x33x33x112xf32>, tensor<112xf32>) outs(%40 : tensor<1x8x33x33x112xf32>) {
    ^bb0(%in: f32, %in_39: f32, %out: f32):
      %89 = arith.addf %in, %in_39 : f32
      %90 = arith.maximumf %89, %cst_0 : f32
      linalg.yield %90 : f32
    } -> tensor<1x8x33x33x112xf32>
    %extracted_slice_14 = tensor.extract_slice %41[0, 0, 0, 0, 0] [1, 8, 33, 33, 100] [1, 1, 1, 1, 1] : tensor<1x8x33x33x112xf32> to tensor<1x8x33x33x100xf32>
    %42 = tensor.empty() : tensor<3x4x4x100x100xf32>
    %transposed_15 = linalg.transpose ins(%arg11 : tensor<100x100x3x4x4xf32>) outs(%42 : tensor<3x4x4x100x100xf32>) permutation = [2, 3, 4, 1, 0] 
    %padded_16 = tensor.pad %transposed_15 low[0, 0, 0, 0, 0] high[0, 0, 0, 0, 12] {
    ^bb0(%arg23: index, %arg24: index, %arg25: index, %arg26: index, %arg27: index):
      tensor.yield %cst_0 : f32
    } : tensor<3x4x4x100x100xf32> to tensor<3x4x4x100x112xf32>
    %43 = tensor.empty() : tensor<1x6x30x30x112xf32>
    %44 = linalg.fill ins(%cst_0 : f32) outs(%43 : tensor<1x6x30x30x112xf32>) -> tensor<1x6x30x30x112xf32>
    %45 = linalg.conv_3d_ndhwc_dhwcf {dilations = dense<1> : tensor<3xi64>, strides = dense<1> : tensor<3xi64>} ins(%extracted_slice_14, %padded_16 : tensor<1x8x33x33x100xf32>, tensor<3x4x4x100x112xf32>) outs(%44 : tensor<1x6x30x30x112xf32>) -> tensor<1x6x30x30x112xf32>
    %padded_17 = tensor.pad %arg12 low[0] high[12] {
    ^bb0(%arg23: index):
      tensor.yield %cst_0 : f32
    } : tensor<100xf32> to tensor<112xf32>
    %46 = tensor.empty() : tensor<1x6x30x30x112xf32>
    %47 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%45, %padded_17 : tensor<1x6x30x30x112xf32>, tensor<112xf32>) outs(%46 : tensor<1x6x30x30x112xf32>) {
    ^bb0(%in: f32, %in_39: f32, %out: f32):
      %89 = arith.addf %in, %in_39 : f32
      %90 = arith.maximumf %89, %cst_0 : f32
      linalg.yield %90 : f32
    } -> tensor<1x6x30x30x112xf32>
    %extracted_slice_18 = tensor.extract_slice %47[0, 0, 0, 0, 0] [1, 6, 30, 30, 100] [1, 1, 1, 1, 1] : tensor<1x6x30x30x112xf32> to tensor<1x6x30x30x100xf32>
    %48 = tensor.empty() : tensor<2x4x4x100x150xf32>
    %transposed_19 = linalg.transpose ins(%arg13 : tensor<150x100x2x4x4xf32>) outs(%48 : tensor<2x4x4x100x150xf32>) permutation = [2, 3, 4, 1, 0] 
    %padded_20 = tensor.pad %transposed_19 low[0, 0, 0, 0, 0] high[0, 0, 0, 0, 10] {
    ^bb0(%arg23: index, %arg24: index, %arg25: index, %arg26: index, %arg27: index):
      tensor.yield %cst_0 : f32
    } : tensor<2x4x4x100x150xf32> to tensor<2x4x4x100x160xf32>
    %49 = tensor.empty() : tensor<1x5x27x27x160xf32>
    %50 = linalg.fill ins(%cst_0 : f32) outs(%49 : tensor<1x5x27x27x160xf32>) -> tensor<1x5x27x27x160xf32>
    %51 = linalg.conv_3d_ndhwc_dhwcf {dilations = dense<1> : tensor<3xi64>, strides = dense<1> : tensor<3xi64>} ins(%extracted_slice_18, %padded_20 : tensor<1x6x30x30x100xf32>, tensor<2x4x4x100x160xf32>) outs(%50 : tensor<1x5x27x27x160xf32>) -> tensor<1x5x27x27x160xf32>
    %padded_21 = tensor.pad %arg14 low[0] high[10] {
    ^bb0(%arg23: index):
      tensor.yield %cst_0 : f32
    } : tensor<150xf32> to tensor<160xf32>
    %52 = tensor.empty() : tensor<1x5x27x27x160xf32>
    %53 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%51, %padded_21 : tensor<1x5x27x27x160xf32>, tensor<160xf32>) outs(%52 : tensor<1x5x27x27x160xf32>) {
    ^bb0(%in: f32, %in_39: f32, %out: f32):
      %89 = arith.addf %in, %in_39 : f32
      %90 = arith.maximumf %89, %cst_0 : f32
      linalg.yield %90 : f32
    } -> tensor<1x5x27x27x160xf32>
    %extracted_slice_22 = tensor.extract_slice %53[0, 0, 0, 0, 0] [1, 5, 27, 27, 150] [1, 1, 1, 1, 1] : tensor<1x5x27x27x160xf32> to tensor<1x5x27x27x150xf32>
    %54 = tensor.empty() : tensor<1x4x4x150x200xf32>
    %transposed_23 = linalg.transpose ins(%arg15 : tensor<200x150x1x4x4xf32>) outs(%54 : tensor<1x4x4x150x200xf32>) permutation = [2, 3, 4, 1, 0] 
    %padded_24 = tensor.pad %transposed_23 low[0, 0, 0, 0, 0] high[0, 0, 0, 0, 8] {
    ^bb0(%arg23: index, %arg24: index, %arg25: index, %arg26: index, %arg27: index):
      tensor.yield %cst_0 : f32
    } : tensor<1x4x4x150x200xf32> to tensor<1x4x4x150x208xf32>
    %55 = tensor.empty() : tensor<1x5x24x24x208xf32>
    %56 = linalg.fill ins(%cst_0 : f32) outs(%55 : tensor<1x5x24x24x208xf32>) -> tensor<1x5x24x24x208xf32>
    %57 = linalg.conv_3d_ndhwc_dhwcf {dilations = dense<1> : tensor<3xi64>, strides = dense<1> : tensor<3xi64>} ins(%extracted_slice_22, %padded_24 : tensor<1x5x27x27x150xf32>, tensor<1x4x4x150x208xf32>) outs(%56 : tensor<1x5x24x24x208xf32>) -> tensor<1x5x24x24x208xf32>
    %padded_25 = tensor.pad %arg16 low[0] high[8] {
    ^bb0(%arg23: index):
      tensor.yield %cst_0 : f32
    } : tensor<200xf32> to tensor<208xf32>
    %58 = tensor.empty() : tensor<1x5x24x24x208xf32>
    %59 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%57, %padded_25 : tensor<1x5x24x24x208xf32>, tensor<208xf32>) outs(%58 : tensor<1x5x24x24x208xf32>) {
    ^bb0(%in: f32, %in_39: f32, %out: f32):
      %89 = arith.addf %in, %in_39 : f32
      %90 = arith.maximumf %89, %cst_0 : f32
      linalg.yield %90 : f32
    } -> tensor<1x5x24x24x208xf32>
    %extracted_slice_26 = tensor.extract_slice %59[0, 0, 0, 0, 0] [1, 5, 24, 24, 200] [1, 1, 1, 1, 1] : tensor<1x5x24x24x208xf32> to tensor<1x5x24x24x200xf32>
    %60 = tensor.empty() : tensor<1x4x4x200x200xf32>
    %transposed_27 = linalg.transpose ins(%arg17 : tensor<200x200x1x4x4xf32>) outs(%60 : tensor<1x4x4x200x200xf32>) permutation = [2, 3, 4, 1, 0] 
    %padded_28 = tensor.pad %transposed_27 low[0, 0, 0, 0, 0] high[0, 0, 0, 0, 8] {
    ^bb0(%arg23: index, %arg24: index, %arg25: index, %arg26: index, %arg27: index):
      tensor.yield %cst_0 : f32
    } : tensor<1x4x4x200x200xf32> to tensor<1x4x4x200x208xf32>
    %61 = tensor.empty() : tensor<1x5x21x21x208xf32>
    %62 = linalg.fill ins(%cst_0 : f32) outs(%61 : tensor<1x5x21x21x208xf32>) -> tensor<1x5x21x21x208xf32>
    %63 = linalg.conv_3d_ndhwc_dhwcf {dilations = dense<1> : tensor<3xi64>, strides = dense<1> : tensor<3xi64>} ins(%extracted_slice_26, %padded_28 : tensor<1x5x24x24x200xf32>, tensor<1x4x4x200x208xf32>) outs(%62 : tensor<1x5x21x21x208xf32>) -> tensor<1x5x21x21x208xf32>
    %padded_29 = tensor.pad %arg18 low[0] high[8] {
    ^bb0(%arg23: index):
      tensor.yield %cst_0 : f32
    } : tensor<200xf32> to tensor<208xf32>
    %64 = tensor.empty() : tensor<1x5x21x21x208xf32>
    %65 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%63, %padded_29 : tensor<1x5x21x21x208xf32>, tensor<208xf32>) outs(%64 : tensor<1x5x21x21x208xf32>) {
    ^bb0(%in: f32, %in_39: f32, %out: f32):
      %89 = arith.addf %in, %in_39 : f32
      %90 = arith.maximumf %89, %cst_0 : f32
      linalg.yield %90 : f32
    } -> tensor<1x5x21x21x208xf32>
    %extracted_slice_30 = tensor.extract_slice %65[0, 0, 0, 0, 0] [1, 5, 21, 21, 200] [1, 1, 1, 1, 1] : tensor<1x5x21x21x208xf32> to tensor<1x5x21x21x200xf32>
    %66 = tensor.empty() : tensor<1x1x1x200x200xf32>
    %transposed_31 = linalg.transpose ins(%arg19 : tensor<200x200x1x1x1xf32>) outs(%66 : tensor<1x1x1x200x200xf32>) permutation = [2, 3, 4, 1, 0] 
    %padded_32 = tensor.pad %transposed_31 low[0, 0, 0, 0, 0] high[0, 0, 0, 0, 8] {
    ^bb0(%arg23: index, %arg24: index, %arg25: index, %arg26: index, %arg27: index):
      tensor.yield %cst_0 : f32
    } : tensor<1x1x1x200x200xf32> to tensor<1x1x1x200x208xf32>
    %67 = tensor.empty() : tensor<1x5x21x21x208xf32>
    %68 = linalg.fill ins(%cst_0 : f32) outs(%67 : tensor<1x5x21x21x208xf32>) -> tensor<1x5x21x21x208xf32>
    %69 = linalg.conv_3d_ndhwc_dhwcf {dilations = dense<1> : tensor<3xi64>, strides = dense<1> : tensor<3xi64>} ins(%extracted_slice_30, %padded_32 : tensor<1x5x21x21x200xf32>, tensor<1x1x1x200x208xf32>) outs(%68 : tensor<1x5x21x21x208xf32>) -> tensor<1x5x21x21x208xf32>
    %padded_33 = tensor.pad %arg20 low[0] high[8] {
    ^bb0(%arg23: index):
      tensor.yield %cst_0 : f32
    } : tensor<200xf32> to tensor<208xf32>
    %70 = tensor.empty() : tensor<1x5x21x21x208xf32>
    %71 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%69, %padded_33 : tensor<1x5x21x21x208xf32>, tensor<208xf32>) outs(%70 : tensor<1x5x21x21x208xf32>) {
    ^bb0(%in: f32, %in_39: f32, %out: f32):
      %89 = arith.addf %in, %in_39 : f32
      %90 = arith.maximumf %89, %cst_0 : f32
      linalg.yield %90 : f32
    } -> tensor<1x5x21x21x208xf32>
    %extracted_slice_34 = tensor.extract_slice %71[0, 0, 0, 0, 0] [1, 5, 21, 21, 200] [1, 1, 1, 1, 1] : tensor<1x5x21x21x208xf32> to tensor<1x5x21x21x200xf32>
    %72 = tensor.empty() : tensor<1x1x1x200x2xf32>
    %transposed_35 = linalg.transpose ins(%arg21 : tensor<2x200x1x1x1xf32>) outs(%72 : tensor<1x1x1x200x2xf32>) permutation = [2, 3, 4, 1, 0] 
    %73 = tensor.empty() : tensor<1x5x21x21x2xf32>
    %74 = linalg.fill ins(%cst_0 : f32) outs(%73 : tensor<1x5x21x21x2xf32>) -> tensor<1x5x21x21x2xf32>
    %75 = linalg.conv_3d_ndhwc_dhwcf {dilations = dense<1> : tensor<3xi64>, strides = dense<1> : tensor<3xi64>} ins(%extracted_slice_34, %transposed_35 : tensor<1x5x21x21x200xf32>, tensor<1x1x1x200x2xf32>) outs(%74 : tensor<1x5x21x21x2xf32>) -> tensor<1x5x21x21x2xf32>
    %76 = tensor.empty() : tensor<1x5x21x21x2xf32>
    %77 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%75, %arg22 : tensor<1x5x21x21x2xf32>, tensor<2xf32>) outs(%76 : tensor<1x5x21x21x2xf32>) {
    ^bb0(%in: f32, %in_39: f32, %out: f32):
      %89 = arith.addf %in, %in_39 : f32
      linalg.yield %89 : f32
    } -> tensor<1x5x21x21x2xf32>
    %78 = tensor.empty() : tensor<1x2x5x21x21xf32>
    %transposed_36 = linalg.transpose ins(%77 : tensor<1x5x21x21x2xf32>) outs(%78 : tensor<1x2x5x21x21xf32>) permutation = [0, 4, 1, 2, 3] 
    %expanded_37 = tensor.expand_shape %transposed_36 [[0], [1, 2], [3], [4], [5]] output_shape [1, 1, 2, 5, 21, 21] : tensor<1x2x5x21x21xf32> into tensor<1x1x2x5x21x21xf32>
    %79 = tensor.empty() : tensor<1x1x5x21x21xf32>
    %80 = linalg.fill ins(%cst : f32) outs(%79 : tensor<1x1x5x21x21xf32>) -> tensor<1x1x5x21x21xf32>
    %81 = linalg.generic {indexing_maps = [#map2, #map3], iterator_types = ["parallel", "parallel", "reduction", "parallel", "parallel", "parallel"]} ins(%expanded_37 : tensor<1x1x2x5x21x21xf32>) outs(%80 : tensor<1x1x5x21x21xf32>) {
    ^bb0(%in: f32, %out: f32):
      %89 = arith.maximumf %in, %out : f32
      linalg.yield %89 : f32
    } -> tensor<1x1x5x21x21xf32>
    %82 = tensor.empty() : tensor<1x1x2x5x21x21xf32>
    %83 = linalg.generic {indexing_maps = [#map2, #map3, #map2], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%expanded_37, %81 : tensor<1x1x2x5x21x21xf32>, tensor<1x1x5x21x21xf32>) outs(%82 : tensor<1x1x2x5x21x21xf32>) {
    ^bb0(%in: f32, %in_39: f32, %out: f32):
      %89 = arith.subf %in, %in_39 : f32
      %90 = math.exp %89 : f32
      linalg.yield %90 : f32
    } -> tensor<1x1x2x5x21x21xf32>
    %84 = tensor.empty() : tensor<1x1x5x21x21xf32>
    %85 = linalg.fill ins(%cst_0 : f32) outs(%84 : tensor<1x1x5x21x21xf32>) -> tensor<1x1x5x21x21xf32>
    %86 = linalg.generic {indexing_maps = [#map2, #map3], iterator_types = ["parallel", "parallel", "reduction", "parallel", "parallel", "parallel"]} ins(%83 : tensor<1x1x2x5x21x21xf32>) outs(%85 : tensor<1x1x5x21x21xf32>) {
    ^bb0(%in: f32, %out: f32):
      %89 = arith.addf %in, %out : f32
      linalg.yield %89 : f32
    } -> tensor<1x1x5x21x21xf32>
    %87 = tensor.empty() : tensor<1x1x2x5x21x21xf32>
    %88 = linalg.generic {indexing_maps = [#map2, #map3, #map2], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%83, %86 : tensor<1x1x2x5x21x21xf32>, tensor<1x1x5x21x21xf32>) outs(%87 : tensor<1x1x2x5x21x21xf32>) {
    ^bb0(%in: f32, %in_39: f32, %out: f32):
      %89 = arith.divf %in, %in_39 : f32
      linalg.yield %89 : f32
    } -> tensor<1x1x2x5x21x21xf32>
    %collapsed_38 = tensor.collapse_shape %88 [[0], [1, 2], [3], [4], [5]] : tensor<1x1x2x5x21x21xf32> into tensor<1x2x5x21x21xf32>
    return %collapsed_38 : tensor<1x2x5x21x21xf32>
  }
}
