// The seed CNN's prediction (examples/cnn3d: input 10x3x23x183x183) in linalg: `neuromancer lower` of the saved model, --convert-nm-to-linalg
// (neuro3d: after --nm-specialize-shapes), --canonicalize. Input of the
// lowering-config tests.
#map = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#map1 = affine_map<(d0, d1, d2, d3, d4) -> (d4)>
#map2 = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4, d5)>
#map3 = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d3, d4, d5)>
module {
  func.func @prediction(%arg0: tensor<10x3x23x183x183xf32> {nm.name = "image"}, %arg1: tensor<32x3x1x6x6xf32> {nm.name = "conv_w", nm.parameter}, %arg2: tensor<32xf32> {nm.name = "conv_b", nm.parameter}, %arg3: tensor<64x32x4x6x6xf32> {nm.name = "conv1_w", nm.parameter}, %arg4: tensor<64xf32> {nm.name = "conv1_b", nm.parameter}, %arg5: tensor<5x64x3x3x3xf32> {nm.name = "conv2_w", nm.parameter}, %arg6: tensor<5xf32> {nm.name = "conv2_b", nm.parameter}) -> (tensor<10x5x8x40x40xf32> {nm.name = "softmax"}) {
    %cst = arith.constant 0xFF800000 : f32
    %cst_0 = arith.constant 0.000000e+00 : f32
    %0 = tensor.empty() : tensor<10x23x183x183x3xf32>
    %transposed = linalg.transpose ins(%arg0 : tensor<10x3x23x183x183xf32>) outs(%0 : tensor<10x23x183x183x3xf32>) permutation = [0, 2, 3, 4, 1] 
    %1 = tensor.empty() : tensor<1x6x6x3x32xf32>
    %transposed_1 = linalg.transpose ins(%arg1 : tensor<32x3x1x6x6xf32>) outs(%1 : tensor<1x6x6x3x32xf32>) permutation = [2, 3, 4, 1, 0] 
    %2 = tensor.empty() : tensor<10x23x178x178x32xf32>
    %3 = linalg.fill ins(%cst_0 : f32) outs(%2 : tensor<10x23x178x178x32xf32>) -> tensor<10x23x178x178x32xf32>
    %4 = linalg.conv_3d_ndhwc_dhwcf {dilations = dense<1> : tensor<3xi64>, strides = dense<1> : tensor<3xi64>} ins(%transposed, %transposed_1 : tensor<10x23x183x183x3xf32>, tensor<1x6x6x3x32xf32>) outs(%3 : tensor<10x23x178x178x32xf32>) -> tensor<10x23x178x178x32xf32>
    %5 = tensor.empty() : tensor<10x23x89x89x32xf32>
    %6 = linalg.fill ins(%cst : f32) outs(%5 : tensor<10x23x89x89x32xf32>) -> tensor<10x23x89x89x32xf32>
    %7 = tensor.empty() : tensor<1x2x2xf32>
    %8 = linalg.pooling_ndhwc_max {dilations = dense<1> : tensor<3xi64>, strides = dense<[1, 2, 2]> : tensor<3xi64>} ins(%4, %7 : tensor<10x23x178x178x32xf32>, tensor<1x2x2xf32>) outs(%6 : tensor<10x23x89x89x32xf32>) -> tensor<10x23x89x89x32xf32>
    %9 = tensor.empty() : tensor<10x23x89x89x32xf32>
    %10 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%8, %arg2 : tensor<10x23x89x89x32xf32>, tensor<32xf32>) outs(%9 : tensor<10x23x89x89x32xf32>) {
    ^bb0(%in: f32, %in_6: f32, %out: f32):
      %38 = arith.addf %in, %in_6 : f32
      %39 = arith.maximumf %38, %cst_0 : f32
      linalg.yield %39 : f32
    } -> tensor<10x23x89x89x32xf32>
    %11 = tensor.empty() : tensor<4x6x6x32x64xf32>
    %transposed_2 = linalg.transpose ins(%arg3 : tensor<64x32x4x6x6xf32>) outs(%11 : tensor<4x6x6x32x64xf32>) permutation = [2, 3, 4, 1, 0] 
    %12 = tensor.empty() : tensor<10x20x84x84x64xf32>
    %13 = linalg.fill ins(%cst_0 : f32) outs(%12 : tensor<10x20x84x84x64xf32>) -> tensor<10x20x84x84x64xf32>
    %14 = linalg.conv_3d_ndhwc_dhwcf {dilations = dense<1> : tensor<3xi64>, strides = dense<1> : tensor<3xi64>} ins(%10, %transposed_2 : tensor<10x23x89x89x32xf32>, tensor<4x6x6x32x64xf32>) outs(%13 : tensor<10x20x84x84x64xf32>) -> tensor<10x20x84x84x64xf32>
    %15 = tensor.empty() : tensor<10x10x42x42x64xf32>
    %16 = linalg.fill ins(%cst : f32) outs(%15 : tensor<10x10x42x42x64xf32>) -> tensor<10x10x42x42x64xf32>
    %17 = tensor.empty() : tensor<2x2x2xf32>
    %18 = linalg.pooling_ndhwc_max {dilations = dense<1> : tensor<3xi64>, strides = dense<2> : tensor<3xi64>} ins(%14, %17 : tensor<10x20x84x84x64xf32>, tensor<2x2x2xf32>) outs(%16 : tensor<10x10x42x42x64xf32>) -> tensor<10x10x42x42x64xf32>
    %19 = tensor.empty() : tensor<10x10x42x42x64xf32>
    %20 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%18, %arg4 : tensor<10x10x42x42x64xf32>, tensor<64xf32>) outs(%19 : tensor<10x10x42x42x64xf32>) {
    ^bb0(%in: f32, %in_6: f32, %out: f32):
      %38 = arith.addf %in, %in_6 : f32
      %39 = arith.maximumf %38, %cst_0 : f32
      linalg.yield %39 : f32
    } -> tensor<10x10x42x42x64xf32>
    %21 = tensor.empty() : tensor<3x3x3x64x5xf32>
    %transposed_3 = linalg.transpose ins(%arg5 : tensor<5x64x3x3x3xf32>) outs(%21 : tensor<3x3x3x64x5xf32>) permutation = [2, 3, 4, 1, 0] 
    %padded = tensor.pad %transposed_3 low[0, 0, 0, 0, 0] high[0, 0, 0, 0, 11] {
    ^bb0(%arg7: index, %arg8: index, %arg9: index, %arg10: index, %arg11: index):
      tensor.yield %cst_0 : f32
    } : tensor<3x3x3x64x5xf32> to tensor<3x3x3x64x16xf32>
    %22 = tensor.empty() : tensor<10x8x40x40x16xf32>
    %23 = linalg.fill ins(%cst_0 : f32) outs(%22 : tensor<10x8x40x40x16xf32>) -> tensor<10x8x40x40x16xf32>
    %24 = linalg.conv_3d_ndhwc_dhwcf {dilations = dense<1> : tensor<3xi64>, strides = dense<1> : tensor<3xi64>} ins(%20, %padded : tensor<10x10x42x42x64xf32>, tensor<3x3x3x64x16xf32>) outs(%23 : tensor<10x8x40x40x16xf32>) -> tensor<10x8x40x40x16xf32>
    %padded_4 = tensor.pad %arg6 low[0] high[11] {
    ^bb0(%arg7: index):
      tensor.yield %cst_0 : f32
    } : tensor<5xf32> to tensor<16xf32>
    %25 = tensor.empty() : tensor<10x8x40x40x16xf32>
    %26 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%24, %padded_4 : tensor<10x8x40x40x16xf32>, tensor<16xf32>) outs(%25 : tensor<10x8x40x40x16xf32>) {
    ^bb0(%in: f32, %in_6: f32, %out: f32):
      %38 = arith.addf %in, %in_6 : f32
      linalg.yield %38 : f32
    } -> tensor<10x8x40x40x16xf32>
    %extracted_slice = tensor.extract_slice %26[0, 0, 0, 0, 0] [10, 8, 40, 40, 5] [1, 1, 1, 1, 1] : tensor<10x8x40x40x16xf32> to tensor<10x8x40x40x5xf32>
    %27 = tensor.empty() : tensor<10x5x8x40x40xf32>
    %transposed_5 = linalg.transpose ins(%extracted_slice : tensor<10x8x40x40x5xf32>) outs(%27 : tensor<10x5x8x40x40xf32>) permutation = [0, 4, 1, 2, 3] 
    %expanded = tensor.expand_shape %transposed_5 [[0], [1, 2], [3], [4], [5]] output_shape [10, 1, 5, 8, 40, 40] : tensor<10x5x8x40x40xf32> into tensor<10x1x5x8x40x40xf32>
    %28 = tensor.empty() : tensor<10x1x8x40x40xf32>
    %29 = linalg.fill ins(%cst : f32) outs(%28 : tensor<10x1x8x40x40xf32>) -> tensor<10x1x8x40x40xf32>
    %30 = linalg.generic {indexing_maps = [#map2, #map3], iterator_types = ["parallel", "parallel", "reduction", "parallel", "parallel", "parallel"]} ins(%expanded : tensor<10x1x5x8x40x40xf32>) outs(%29 : tensor<10x1x8x40x40xf32>) {
    ^bb0(%in: f32, %out: f32):
      %38 = arith.maximumf %in, %out : f32
      linalg.yield %38 : f32
    } -> tensor<10x1x8x40x40xf32>
    %31 = tensor.empty() : tensor<10x1x5x8x40x40xf32>
    %32 = linalg.generic {indexing_maps = [#map2, #map3, #map2], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%expanded, %30 : tensor<10x1x5x8x40x40xf32>, tensor<10x1x8x40x40xf32>) outs(%31 : tensor<10x1x5x8x40x40xf32>) {
    ^bb0(%in: f32, %in_6: f32, %out: f32):
      %38 = arith.subf %in, %in_6 : f32
      %39 = math.exp %38 : f32
      linalg.yield %39 : f32
    } -> tensor<10x1x5x8x40x40xf32>
    %33 = tensor.empty() : tensor<10x1x8x40x40xf32>
    %34 = linalg.fill ins(%cst_0 : f32) outs(%33 : tensor<10x1x8x40x40xf32>) -> tensor<10x1x8x40x40xf32>
    %35 = linalg.generic {indexing_maps = [#map2, #map3], iterator_types = ["parallel", "parallel", "reduction", "parallel", "parallel", "parallel"]} ins(%32 : tensor<10x1x5x8x40x40xf32>) outs(%34 : tensor<10x1x8x40x40xf32>) {
    ^bb0(%in: f32, %out: f32):
      %38 = arith.addf %in, %out : f32
      linalg.yield %38 : f32
    } -> tensor<10x1x8x40x40xf32>
    %36 = tensor.empty() : tensor<10x1x5x8x40x40xf32>
    %37 = linalg.generic {indexing_maps = [#map2, #map3, #map2], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%32, %35 : tensor<10x1x5x8x40x40xf32>, tensor<10x1x8x40x40xf32>) outs(%36 : tensor<10x1x5x8x40x40xf32>) {
    ^bb0(%in: f32, %in_6: f32, %out: f32):
      %38 = arith.divf %in, %in_6 : f32
      linalg.yield %38 : f32
    } -> tensor<10x1x5x8x40x40xf32>
    %collapsed = tensor.collapse_shape %37 [[0], [1, 2], [3], [4], [5]] : tensor<10x1x5x8x40x40xf32> into tensor<10x5x8x40x40xf32>
    return %collapsed : tensor<10x5x8x40x40xf32>
  }
}
