// --nm-decompose-layers --nm-autodiff on the ops beyond the first slice of
// the training core: the backward ops each op's GradientInterface builds.
// RUN: nm-opt %s --split-input-file --verify-diagnostics --nm-decompose-layers --nm-autodiff | FileCheck %s

// Two pieces of a split multiplied, reshaped: nm.mult's gradient is a
// product with the other operand, each piece's an nm.embed_grad placed
// where it was cut from (the two add up), the reshape's a reshape back.
!in = tensor<1x2x4x4xf32, #nm.tagged<b,f,x,y>>
!c = tensor<1x4x4x4xf32, #nm.tagged<b,f,x,y>>
!h = tensor<1x2x4x4xf32, #nm.tagged<b,f,x,y>>
!r = tensor<1x2x8x2xf32, #nm.tagged<b,f,x,y>>
!l = tensor<1x1x8x2xf32, #nm.tagged<b,f,x,y>>
!s = tensor<1xf32, #nm.tagged<f>>
// CHECK-LABEL: func.func @split_mult_reshape(
// CHECK: %[[LO:.*]] = nm.slice %{{.*}} {size = 2 : i64, start = 0 : i64}
// CHECK: %[[HI:.*]] = nm.slice %{{.*}} {size = 2 : i64, start = 2 : i64}
// CHECK: %[[DL:.*]] = nm.loss_grad
// CHECK: %[[DR:.*]] = nm.reshape %[[DL]] : (tensor<1x2x8x2xf32, {{.*}}) -> tensor<1x2x4x4xf32
// CHECK: %[[DLO:.*]] = nm.mult %[[DR]], %[[HI]]
// CHECK: %[[DHI:.*]] = nm.mult %[[DR]], %[[LO]]
// CHECK: %[[E1:.*]] = nm.embed_grad %[[DHI]] {start = 2 : i64} : ({{.*}}) -> tensor<1x4x4x4xf32
// CHECK: %[[E0:.*]] = nm.embed_grad %[[DLO]] {start = 0 : i64}
// CHECK: %[[DC:.*]] = nm.accumulate %[[E1]], %[[E0]]
// CHECK: nm.conv_grad_weight %arg0, %[[DC]]
func.func @split_mult_reshape(%x: !in {nm.input = "raw"},
    %w: tensor<4x2x1x1xf32> {nm.param = "conv_w", nm.trainable},
    %b: tensor<4xf32> {nm.param = "conv_b", nm.trainable},
    %t: !r {nm.input = "target"}) -> !s {
  %c = nm.conv %x, %w, %b {activation = #nm.activation<lin>} : (!in, tensor<4x2x1x1xf32>, tensor<4xf32>) -> !c
  %lo = nm.slice %c {start = 0, size = 2} : (!c) -> !h
  %hi = nm.slice %c {start = 2, size = 2} : (!c) -> !h
  %m = nm.mult %lo, %hi : (!h, !h) -> !h
  %r = nm.reshape %m : (!h) -> !r
  %e = nm.squared_loss %r, %t : (!r, !r) -> !l
  %a = nm.aggregate_loss %e : (!l) -> !s
  return %a : !s
}

// -----

// prelu with a pool: the conv gets a zero bias, the real [n_f, 2] one
// (bias, slope) goes to an nm.bias_activation after the pool, so the pool
// stays before the activation as in ELEKTRONN2; both gradients of it.
// CHECK-LABEL: func.func @prelu_pool(
// CHECK: %[[Z:.*]] = arith.constant dense<0.000000e+00> : tensor<2xf32>
// CHECK: %[[C:.*]] = nm.conv %arg0, %arg1, %[[Z]] {activation = #nm.activation<lin>} : {{.*}} -> tensor<1x2x4x4xf32
// CHECK: %[[P:.*]] = nm.pool %[[C]] {pool = array<i64: 2, 2>}
// CHECK: nm.bias_activation %[[P]], %arg2 {activation = #nm.activation<prelu>}
// CHECK: %[[DY:.*]] = nm.loss_grad
// CHECK: %[[DP:.*]] = nm.bias_activation_grad %[[P]], %arg2, %[[DY]] {activation = #nm.activation<prelu>} : {{.*}} -> tensor<1x2x2x2xf32
// CHECK: %[[DB:.*]] = nm.bias_activation_grad %[[P]], %arg2, %[[DY]] {activation = #nm.activation<prelu>, wrt_bias} : {{.*}} -> tensor<2x2xf32>
// CHECK: %[[DC:.*]] = nm.pool_grad %[[C]], %[[P]], %[[DP]]
// CHECK: %[[DW:.*]] = nm.conv_grad_weight %arg0, %[[DC]]
// CHECK: return %{{.*}}, %[[DW]], %[[DB]] :
!in = tensor<1x1x4x4xf32, #nm.tagged<b,f,x,y>>
!c = tensor<1x2x2x2xf32, #nm.tagged<b,f,x,y, fov = [2, 2], strides = [2, 2]>>
!l = tensor<1x1x2x2xf32, #nm.tagged<b,f,x,y, fov = [2, 2], strides = [2, 2]>>
!s = tensor<1xf32, #nm.tagged<f>>
func.func @prelu_pool(%x: !in {nm.input = "raw"},
    %w: tensor<2x1x1x1xf32> {nm.param = "conv_w", nm.trainable},
    %b: tensor<2x2xf32> {nm.param = "conv_b", nm.trainable},
    %t: !c {nm.input = "target"}) -> !s {
  %c = nm.conv %x, %w, %b {pool = array<i64: 2, 2>, activation = #nm.activation<prelu>} : (!in, tensor<2x1x1x1xf32>, tensor<2x2xf32>) -> !c
  %e = nm.squared_loss %c, %t : (!c, !c) -> !l
  %a = nm.aggregate_loss %e : (!l) -> !s
  return %a : !s
}

// -----

// maxout on a conv (4 -> 2 features) becomes a linear conv and an
// nm.bias_activation; UpConv's tanh an nm.apply after a linear upconv.
// LRN and the Gaussian NLL (whose sig operand is active, mu and target are
// inputs) get their own backward ops.
// CHECK-LABEL: func.func @maxout_upconv_lrn(
// CHECK: %[[C:.*]] = nm.conv %arg0, %arg1, %{{.*}} {activation = #nm.activation<lin>} : {{.*}} -> tensor<1x4x2x2xf32
// CHECK: %[[M:.*]] = nm.bias_activation %[[C]], %arg2 {activation = #nm.activation<maxout 2>} : {{.*}} -> tensor<1x2x2x2xf32
// CHECK: %[[U:.*]] = nm.upconv %[[M]], %arg3, %arg4 {activation = #nm.activation<lin>}
// CHECK: %[[T:.*]] = nm.apply %[[U]] {func = "tanh"}
// CHECK: %[[R:.*]] = nm.lrn %[[T]]
// CHECK: %[[DR:.*]] = nm.loss_operand_grad %arg5, %[[R]], %arg6, %{{.*}} {loss = "gaussian_nll", operand = 1 : i64}
// CHECK-NOT: operand = 0
// CHECK: %[[DT:.*]] = nm.lrn_grad %[[T]], %[[DR]] {{{.*}}mode = #nm<lrn_mode spatial>}
// CHECK: %[[DU:.*]] = nm.apply_grad %[[U]], %[[DT]] {func = "tanh"}
// CHECK: %[[DM:.*]] = nm.upconv_grad_input %[[DU]], %arg3 : {{.*}} -> tensor<1x2x2x2xf32
// CHECK: nm.upconv_grad_weight %[[M]], %[[DU]] : {{.*}} -> tensor<2x2x2x2xf32>
// CHECK: nm.bias_grad %[[DU]]
// CHECK: nm.bias_activation_grad %[[C]], %arg2, %[[DM]] {activation = #nm.activation<maxout 2>} : {{.*}} -> tensor<1x4x2x2xf32
// CHECK: nm.bias_activation_grad %[[C]], %arg2, %[[DM]] {activation = #nm.activation<maxout 2>, wrt_bias} : {{.*}} -> tensor<4xf32>
!in = tensor<1x2x2x2xf32, #nm.tagged<b,f,x,y, fov = [3, 3], strides = [2, 2]>>
!m = tensor<1x2x2x2xf32, #nm.tagged<b,f,x,y, fov = [3, 3], strides = [2, 2]>>
!u = tensor<1x2x4x4xf32, #nm.tagged<b,f,x,y, fov = [-1, -1]>>
!s = tensor<1xf32, #nm.tagged<f>>
func.func @maxout_upconv_lrn(%x: !in {nm.input = "raw"},
    %w: tensor<4x2x1x1xf32> {nm.param = "c_w", nm.trainable},
    %b: tensor<4xf32> {nm.param = "c_b", nm.trainable},
    %uw: tensor<2x2x2x2xf32> {nm.param = "up_w", nm.trainable},
    %ub: tensor<2xf32> {nm.param = "up_b", nm.trainable},
    %mu: !u {nm.input = "mu"},
    %t: !u {nm.input = "target"}) -> !s {
  %c = nm.conv %x, %w, %b {activation = #nm.activation<maxout 2>} : (!in, tensor<4x2x1x1xf32>, tensor<4xf32>) -> !m
  %u = nm.upconv %c, %uw, %ub {activation = #nm.activation<tanh>} : (!m, tensor<2x2x2x2xf32>, tensor<2xf32>) -> !u
  %r = nm.lrn %u {filter_shape = array<i64: 3, 3>} : (!u) -> !u
  %g = nm.gaussian_nll %mu, %r, %t : (!u, !u, !u) -> !u
  %a = nm.aggregate_loss %g : (!u) -> !s
  return %a : !s
}

// -----

// An option without a gradient fails naming it, never a wrong gradient.
!in = tensor<1x2x5x5xf32, #nm.tagged<b,f,x,y>>
!c = tensor<4x2x2x2xf32, #nm.tagged<b,f,x,y, fov = [2, 2], strides = [2, 2], mfp_offsets = [[0, 0], [0, 1], [1, 0], [1, 1]]>>
!l = tensor<4x1x2x2xf32, #nm.tagged<b,f,x,y, fov = [2, 2], strides = [2, 2], mfp_offsets = [[0, 0], [0, 1], [1, 0], [1, 1]]>>
!s = tensor<1xf32, #nm.tagged<f>>
func.func @mfp(%x: !in {nm.input = "raw"},
    %w: tensor<2x2x1x1xf32> {nm.param = "conv_w", nm.trainable},
    %b: tensor<2xf32> {nm.param = "conv_b", nm.trainable},
    %t: !c {nm.input = "target"}) -> !s {
  // expected-error @+1 {{gradient of nm.conv with max-fragment-pooling or dilation is not implemented yet}}
  %c = nm.conv %x, %w, %b {pool = array<i64: 2, 2>, mfp, activation = #nm.activation<lin>} : (!in, tensor<2x2x1x1xf32>, tensor<2xf32>) -> !c
  %e = nm.squared_loss %c, %t : (!c, !c) -> !l
  %a = nm.aggregate_loss %e : (!l) -> !s
  return %a : !s
}
