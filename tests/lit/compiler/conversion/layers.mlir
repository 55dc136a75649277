// nm -> linalg, layers: convs channels-last through linalg's named convs, the
// output channels padded to the channel alignment (16 by default), one
// epilogue generic (bias, batch norm, activation), perceptrons as matmuls,
// upconv as one generic, LRN.
// RUN: nm-opt %s --split-input-file --convert-nm-to-linalg | FileCheck %s

// 20 output channels are computed as 32: zero weight columns and bias
// entries, then the first 20 sliced off and transposed to the tag order.
!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
// CHECK-LABEL: func.func @conv_relu_20
// CHECK-SAME: (%[[X:.*]]: tensor<1x4x6x10x10xf32> {nm.name = "image"}, %[[W:.*]]: tensor<20x4x1x3x3xf32> {nm.name = "c_w", nm.parameter}, %[[B:.*]]: tensor<20xf32> {nm.name = "c_b", nm.parameter})
// CHECK-SAME: -> (tensor<1x20x6x8x8xf32> {nm.name = "c"})
// CHECK: %[[XT:.*]] = linalg.transpose ins(%[[X]] : tensor<1x4x6x10x10xf32>) {{.*}} permutation = [0, 2, 3, 4, 1]
// CHECK: %[[WT:.*]] = linalg.transpose ins(%[[W]] : tensor<20x4x1x3x3xf32>) {{.*}} permutation = [2, 3, 4, 1, 0]
// CHECK: %[[WP:.*]] = tensor.pad %[[WT]] low[0, 0, 0, 0, 0] high[0, 0, 0, 0, 12]
// CHECK: tensor<1x3x3x4x20xf32> to tensor<1x3x3x4x32xf32>
// CHECK: %[[C:.*]] = linalg.conv_3d_ndhwc_dhwcf {{.*}} ins(%[[XT]], %[[WP]] : tensor<1x6x10x10x4xf32>, tensor<1x3x3x4x32xf32>) {{.*}} -> tensor<1x6x8x8x32xf32>
// CHECK: %[[BP:.*]] = tensor.pad %[[B]] low[0] high[12]
// CHECK: %[[E:.*]] = linalg.generic {{.*}} ins(%[[C]], %[[BP]] : tensor<1x6x8x8x32xf32>, tensor<32xf32>)
// CHECK: arith.addf
// CHECK: arith.maximumf
// CHECK: %[[S:.*]] = tensor.extract_slice %[[E]][0, 0, 0, 0, 0] [1, 6, 8, 8, 20]
// CHECK: %[[R:.*]] = linalg.transpose ins(%[[S]] : tensor<1x6x8x8x20xf32>) {{.*}} permutation = [0, 4, 1, 2, 3]
// CHECK: return %[[R]]
// CHECK-NOT: #nm.tagged
func.func @conv_relu_20(%x: !x {nm.input = "image"},
                        %w: tensor<20x4x1x3x3xf32> {nm.param = "c_w", nm.trainable},
                        %b: tensor<20xf32> {nm.param = "c_b", nm.trainable})
    -> tensor<1x20x6x8x8xf32, #nm.tagged<b,f,z,x,y, fov = [1, 3, 3]>> {
  %0 = nm.conv %x, %w, %b {activation = #nm.activation<relu>}
      : (!x, tensor<20x4x1x3x3xf32>, tensor<20xf32>)
      -> tensor<1x20x6x8x8xf32, #nm.tagged<b,f,z,x,y, fov = [1, 3, 3]>> loc("c")
  return %0 : tensor<1x20x6x8x8xf32, #nm.tagged<b,f,z,x,y, fov = [1, 3, 3]>>
}

// -----

// The second conv reads the first one's channels-last output (its 20 real
// channels), not the tag-order value: no transpose between the convs.
!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
!y = tensor<1x20x6x8x8xf32, #nm.tagged<b,f,z,x,y, fov = [1, 3, 3]>>
!z = tensor<1x8x6x6x6xf32, #nm.tagged<b,f,z,x,y, fov = [1, 5, 5]>>
// CHECK-LABEL: func.func @conv_chain
// CHECK: linalg.conv_3d_ndhwc_dhwcf {{.*}} -> tensor<1x6x8x8x32xf32>
// CHECK: %[[E1:.*]] = linalg.generic
// CHECK: %[[S1:.*]] = tensor.extract_slice %[[E1]]{{.*}} to tensor<1x6x8x8x20xf32>
// CHECK-NOT: linalg.transpose ins(%[[S1]]
// CHECK: linalg.conv_3d_ndhwc_dhwcf {{.*}} ins(%[[S1]], %{{.*}} : tensor<1x6x8x8x20xf32>, tensor<1x3x3x20x16xf32>) {{.*}} -> tensor<1x6x6x6x16xf32>
// CHECK: linalg.transpose {{.*}} permutation = [0, 4, 1, 2, 3]
// CHECK-NEXT: return
func.func @conv_chain(%x: !x, %w1: tensor<20x4x1x3x3xf32>, %b1: tensor<20xf32>,
                      %w2: tensor<8x20x1x3x3xf32>, %b2: tensor<8xf32>) -> !z {
  %0 = nm.conv %x, %w1, %b1 {activation = #nm.activation<relu>}
      : (!x, tensor<20x4x1x3x3xf32>, tensor<20xf32>) -> !y
  %1 = nm.conv %0, %w2, %b2 {activation = #nm.activation<lin>}
      : (!y, tensor<8x20x1x3x3xf32>, tensor<8xf32>) -> !z
  return %1 : !z
}

// -----

// 2-D: linalg.conv_2d_nhwc_hwcf; 4 channels are not padded; sigmoid as
// 1 / (1 + exp(-x)).
!x = tensor<1x2x6x6xf32, #nm.tagged<b,f,x,y>>
!y = tensor<1x4x4x4xf32, #nm.tagged<b,f,x,y, fov = [3, 3]>>
// CHECK-LABEL: func.func @conv2d
// CHECK-NOT: tensor.pad
// CHECK: linalg.conv_2d_nhwc_hwcf {{.*}} ins(%{{.*}}, %{{.*}} : tensor<1x6x6x2xf32>, tensor<3x3x2x4xf32>) {{.*}} -> tensor<1x4x4x4xf32>
// CHECK: linalg.generic
// CHECK: arith.addf
// CHECK: arith.negf
// CHECK: math.exp
// CHECK: arith.addf
// CHECK: arith.divf
// CHECK: linalg.transpose {{.*}} permutation = [0, 3, 1, 2]
func.func @conv2d(%x: !x, %w: tensor<4x2x3x3xf32>, %b: tensor<4xf32>) -> !y {
  %0 = nm.conv %x, %w, %b {activation = #nm.activation<sig>}
      : (!x, tensor<4x2x3x3xf32>, tensor<4xf32>) -> !y
  return %0 : !y
}

// -----

// 'same': the input zero-padded by (k - 1) / 2; prelu's [F, 2] bias split
// into bias and slope.
!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
!y = tensor<1x8x6x10x10xf32, #nm.tagged<b,f,z,x,y, fov = [3, 3, 3]>>
// CHECK-LABEL: func.func @conv_same_prelu
// CHECK: tensor.pad %{{.*}} low[0, 1, 1, 1, 0] high[0, 1, 1, 1, 0]
// CHECK: tensor<1x6x10x10x4xf32> to tensor<1x8x12x12x4xf32>
// CHECK: linalg.conv_3d_ndhwc_dhwcf {{.*}} -> tensor<1x6x10x10x16xf32>
// CHECK: tensor.extract_slice %{{.*}}[0, 0] [8, 1] [1, 1] : tensor<8x2xf32> to tensor<8xf32>
// CHECK: tensor.extract_slice %{{.*}}[0, 1] [8, 1] [1, 1] : tensor<8x2xf32> to tensor<8xf32>
// CHECK: linalg.generic
// CHECK: ^bb0(%[[V:.*]]: f32, %[[BIAS:.*]]: f32, %[[SLOPE:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[A:.*]] = arith.addf %[[V]], %[[BIAS]]
// CHECK: %[[POS:.*]] = arith.cmpf ogt, %[[A]]
// CHECK: %[[NEG:.*]] = arith.mulf %[[SLOPE]], %[[A]]
// CHECK: arith.select %[[POS]], %[[A]], %[[NEG]]
func.func @conv_same_prelu(%x: !x, %w: tensor<8x4x3x3x3xf32>,
                           %b: tensor<8x2xf32>) -> !y {
  %0 = nm.conv %x, %w, %b {activation = #nm.activation<prelu>, conv_mode = #nm<conv_mode same>}
      : (!x, tensor<8x4x3x3x3xf32>, tensor<8x2xf32>) -> !y
  return %0 : !y
}

// -----

// Batch norm (predict) folded into the epilogue:
// (gamma / std) * x + b - gamma * mean / std; the padded channels get std 1.
!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
!y = tensor<1x8x6x10x10xf32, #nm.tagged<b,f,z,x,y, fov = [1, 1, 1]>>
!v = tensor<8xf32>
// CHECK-LABEL: func.func @conv_bn_predict
// CHECK-SAME: %[[STD:arg5]]: tensor<8xf32>
// CHECK: linalg.conv_3d_ndhwc_dhwcf
// CHECK: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT: tensor.pad %[[STD]] low[0] high[8]
// CHECK-NEXT: ^bb0
// CHECK-NEXT: tensor.yield %[[ONE]]
// CHECK: linalg.generic
// CHECK: ^bb0(%[[V:.*]]: f32, %[[BIAS:.*]]: f32, %[[G:.*]]: f32, %[[M:.*]]: f32, %[[S:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[GS:.*]] = arith.divf %[[G]], %[[S]]
// CHECK: %[[GM:.*]] = arith.mulf %[[G]], %[[M]]
// CHECK: %[[GMS:.*]] = arith.divf %[[GM]], %[[S]]
// CHECK: %[[L:.*]] = arith.mulf %[[GS]], %[[V]]
// CHECK: %[[LB:.*]] = arith.addf %[[L]], %[[BIAS]]
// CHECK: %[[N:.*]] = arith.subf %[[LB]], %[[GMS]]
// CHECK: math.tanh %[[N]]
func.func @conv_bn_predict(%x: !x, %w: tensor<8x4x1x1x1xf32>, %b: !v, %g: !v,
                           %m: !v, %s: !v) -> !y {
  %0 = nm.conv %x, %w, %b bn(%g, %m, %s) {batch_normalisation = #nm<batch_norm predict>, activation = #nm.activation<tanh>}
      : (!x, tensor<8x4x1x1x1xf32>, !v, !v, !v, !v) -> !y
  return %0 : !y
}

// -----

// Batch norm (train): the conv without bias, then the batch mean and std
// over every axis but f (reductions), then the predict-mode epilogue.
!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
!y = tensor<1x8x6x10x10xf32, #nm.tagged<b,f,z,x,y, fov = [1, 1, 1]>>
!v = tensor<8xf32>
// CHECK-LABEL: func.func @conv_bn_train
// CHECK: linalg.conv_3d_ndhwc_dhwcf
// CHECK: %[[Y:.*]] = tensor.extract_slice {{.*}} to tensor<1x6x10x10x8xf32>
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "reduction", "reduction", "reduction", "parallel"]} ins(%[[Y]] : tensor<1x6x10x10x8xf32>) outs(%{{.*}} : tensor<8xf32>)
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "reduction", "reduction", "reduction", "parallel"]} ins(%[[Y]], %{{.*}} : tensor<1x6x10x10x8xf32>, tensor<8xf32>)
// CHECK: math.sqrt
// CHECK: linalg.generic {{.*}} ins(%[[Y]], %arg2, %arg3,
// CHECK: arith.maximumf
func.func @conv_bn_train(%x: !x, %w: tensor<8x4x1x1x1xf32>, %b: !v, %g: !v,
                         %m: !v, %s: !v) -> !y {
  %0 = nm.conv %x, %w, %b bn(%g, %m, %s) {batch_normalisation = #nm<batch_norm train>, activation = #nm.activation<relu>}
      : (!x, tensor<8x4x1x1x1xf32>, !v, !v, !v, !v) -> !y
  return %0 : !y
}

// -----

// maxout 2: 8 channels (not padded) viewed as [4, 2], max over the 2.
!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
!y = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y, fov = [1, 1, 1]>>
// CHECK-LABEL: func.func @conv_maxout
// CHECK: linalg.conv_3d_ndhwc_dhwcf {{.*}} -> tensor<1x6x10x10x8xf32>
// CHECK: tensor.expand_shape %{{.*}} {{\[}}[0], [1], [2], [3], [4, 5]] {{.*}} into tensor<1x6x10x10x4x2xf32>
// CHECK: linalg.generic {{.*}} "reduction"]}
// CHECK: arith.maximumf
// CHECK: -> tensor<1x6x10x10x4xf32>
func.func @conv_maxout(%x: !x, %w: tensor<8x4x1x1x1xf32>, %b: tensor<8xf32>) -> !y {
  %0 = nm.conv %x, %w, %b {activation = #nm.activation<maxout 2>}
      : (!x, tensor<8x4x1x1x1xf32>, tensor<8xf32>) -> !y
  return %0 : !y
}

// -----

// Flattening perceptron: [b, everything else] x W.
!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
// CHECK-LABEL: func.func @perceptron_flatten
// CHECK: tensor.collapse_shape %{{.*}} {{\[}}[0], [1, 2, 3, 4]] : tensor<1x4x6x10x10xf32> into tensor<1x2400xf32>
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<1x2400xf32>, tensor<2400x16xf32>)
// CHECK: math.tanh
// CHECK-NOT: linalg.transpose
func.func @perceptron_flatten(%x: !x, %w: tensor<2400x16xf32>, %b: tensor<16xf32>)
    -> tensor<1x16xf32, #nm.tagged<b,f>> {
  %0 = nm.perceptron %x, %w, %b {activation = #nm.activation<tanh>, flatten}
      : (!x, tensor<2400x16xf32>, tensor<16xf32>) -> tensor<1x16xf32, #nm.tagged<b,f>>
  return %0 : tensor<1x16xf32, #nm.tagged<b,f>>
}

// -----

// Per-voxel perceptron: f last, every other axis one matmul row.
!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
!y = tensor<1x16x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
// CHECK-LABEL: func.func @perceptron_per_voxel
// CHECK: linalg.transpose {{.*}} permutation = [0, 2, 3, 4, 1]
// CHECK: tensor.collapse_shape {{.*}} into tensor<600x4xf32>
// CHECK: linalg.matmul {{.*}} -> tensor<600x16xf32>
// CHECK: tensor.expand_shape {{.*}} into tensor<1x6x10x10x16xf32>
// CHECK: linalg.transpose {{.*}} permutation = [0, 4, 1, 2, 3]
func.func @perceptron_per_voxel(%x: !x, %w: tensor<4x16xf32>, %b: tensor<16xf32>) -> !y {
  %0 = nm.perceptron %x, %w, %b {activation = #nm.activation<relu>} : (!x, tensor<4x16xf32>, tensor<16xf32>) -> !y
  return %0 : !y
}

// -----

// UpConv (filter = stride): one generic over [n, s_i, t_i..., f] reducing
// the input channels, then (s_i, t_i) merged.
!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y, fov = [1, 5, 5], strides = [1, 2, 2]>>
!y = tensor<1x3x6x20x20xf32, #nm.tagged<b,f,z,x,y, fov = [-1, -1, -1]>>
// CHECK-LABEL: func.func @upconv
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "parallel"]} {{.*}} outs(%{{.*}} : tensor<1x6x1x10x2x10x2x3xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: tensor.collapse_shape %{{.*}} {{\[}}[0], [1, 2], [3, 4], [5, 6], [7]] : tensor<1x6x1x10x2x10x2x3xf32> into tensor<1x6x20x20x3xf32>
// CHECK: linalg.transpose {{.*}} outs(%{{.*}} : tensor<1x3x6x20x20xf32>) permutation = [0, 4, 1, 2, 3]
func.func @upconv(%x: !x, %w: tensor<3x4x1x2x2xf32>, %b: tensor<3xf32>) -> !y {
  %0 = nm.upconv %x, %w, %b {activation = #nm.activation<lin>}
      : (!x, tensor<3x4x1x2x2xf32>, tensor<3xf32>) -> !y
  return %0 : !y
}

// -----

// LRN, spatial: x^2 zero-padded and summed over the window, then
// x / (k + alpha * mean)^beta.
!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
// CHECK-LABEL: func.func @lrn_spatial
// CHECK: arith.mulf %[[IN:.*]], %[[IN]]
// CHECK: tensor.pad %{{.*}} low[0, 0, 0, 1, 1] high[0, 0, 0, 1, 1]
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<1x4x6x12x12xf32>, tensor<1x3x3xf32>)
// CHECK: math.powf
func.func @lrn_spatial(%x: !x) -> !x {
  %0 = nm.lrn %x {filter_shape = array<i64: 1, 3, 3>} : (!x) -> !x
  return %0 : !x
}

// -----

// LRN, channel: a window of 3 features, the edges clamped.
!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
// CHECK-LABEL: func.func @lrn_channel
// CHECK: linalg.index 1
// CHECK-COUNT-3: tensor.extract %arg0
// CHECK: math.powf
func.func @lrn_channel(%x: !x) -> !x {
  %0 = nm.lrn %x {filter_shape = array<i64: 3>, mode = #nm<lrn_mode channel>, alpha = 2.0e-4} : (!x) -> !x
  return %0 : !x
}
