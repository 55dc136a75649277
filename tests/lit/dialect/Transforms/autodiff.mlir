// --nm-decompose-layers splits a Conv's pooling and activation off;
// --nm-autodiff appends the gradient of every trainable parameter, built
// in reverse: softmax + MultinoulliNLL differentiate as one op, the first
// conv's input gets no gradient, the mean's seed is 1 / size.
// RUN: nm-opt %s --split-input-file --verify-diagnostics --nm-decompose-layers --nm-autodiff | FileCheck %s

!in = tensor<1x2x5x12x12xf32, #nm.tagged<b,f,z,x,y>>
!c1 = tensor<1x3x2x5x5xf32, #nm.tagged<b,f,z,x,y, fov = [3, 4, 4], strides = [2, 2, 2]>>
!c2 = tensor<1x2x2x4x4xf32, #nm.tagged<b,f,z,x,y, fov = [3, 6, 6], strides = [2, 2, 2]>>
!t = tensor<1x1x2x4x4xi16, #nm.tagged<b,f,z,x,y>>
!l = tensor<1x1x2x4x4xf32, #nm.tagged<b,f,z,x,y, fov = [3, 6, 6], strides = [2, 2, 2]>>
!a = tensor<1xf32, #nm.tagged<f>>
// CHECK-LABEL: func.func @net(
// CHECK-SAME: -> (tensor<1xf32, #nm.tagged<f>>, tensor<3x2x2x3x3xf32> {nm.name = "c1_w:grad"}, tensor<3xf32> {nm.name = "c1_b:grad"}, tensor<2x3x1x2x2xf32> {nm.name = "c2_w:grad"}, tensor<2xf32> {nm.name = "c2_b:grad"})
// CHECK: %[[C1:.*]] = nm.conv %arg0, %arg2, %arg3 {activation = #nm.activation<lin>}
// CHECK-SAME: -> tensor<1x3x4x10x10xf32
// CHECK: %[[P1:.*]] = nm.pool %[[C1]] {pool = array<i64: 2, 2, 2>}
// CHECK: %[[A1:.*]] = nm.apply %[[P1]] {func = "relu"}
// CHECK: %[[C2:.*]] = nm.conv %[[A1]], %arg4, %arg5
// CHECK: %[[SM:.*]] = nm.softmax %[[C2]]
// CHECK: %[[NLL:.*]] = nm.multinoulli_nll %[[SM]], %arg1
// CHECK: %[[L:.*]] = nm.aggregate_loss %[[NLL]]
// CHECK: %[[SEED:.*]] = nm.fill {value = 1.000000e+00 : f64}
// CHECK: %[[DN:.*]] = nm.broadcast_grad %[[SEED]] {scale = 3.125000e-02 : f64}
// CHECK: %[[DZ:.*]] = nm.multinoulli_nll_grad %[[SM]], %arg1, %[[DN]] {n_class = 2 : i64, target_is_sparse, through_softmax}
// CHECK-NOT: nm.softmax_grad
// CHECK: %[[DA1:.*]] = nm.conv_grad_input %[[DZ]], %arg4
// CHECK: %[[DW2:.*]] = nm.conv_grad_weight %[[A1]], %[[DZ]]
// CHECK: %[[DB2:.*]] = nm.bias_grad %[[DZ]]
// CHECK: %[[DP1:.*]] = nm.apply_grad %[[P1]], %[[DA1]] {func = "relu"}
// CHECK: %[[DC1:.*]] = nm.pool_grad %[[C1]], %[[P1]], %[[DP1]] {pool = array<i64: 2, 2, 2>}
// CHECK-NOT: nm.conv_grad_input
// CHECK: %[[DW1:.*]] = nm.conv_grad_weight %arg0, %[[DC1]]
// CHECK: %[[DB1:.*]] = nm.bias_grad %[[DC1]]
// CHECK: return %[[L]], %[[DW1]], %[[DB1]], %[[DW2]], %[[DB2]]
func.func @net(%x: !in {nm.input = "raw"}, %t: !t {nm.input = "target"},
               %w1: tensor<3x2x2x3x3xf32> {nm.param = "c1_w", nm.trainable, nm.weight_decay = 1.0}, %b1: tensor<3xf32> {nm.param = "c1_b", nm.trainable},
               %w2: tensor<2x3x1x2x2xf32> {nm.param = "c2_w", nm.trainable, nm.weight_decay = 1.0}, %b2: tensor<2xf32> {nm.param = "c2_b", nm.trainable}) -> !a {
  %c1 = nm.conv %x, %w1, %b1 {pool = array<i64: 2, 2, 2>} : (!in, tensor<3x2x2x3x3xf32>, tensor<3xf32>) -> !c1
  %c2 = nm.conv %c1, %w2, %b2 {activation = #nm.activation<lin>} : (!c1, tensor<2x3x1x2x2xf32>, tensor<2xf32>) -> !c2
  %p = nm.softmax %c2 : (!c2) -> !c2
  %n = nm.multinoulli_nll %p, %t {target_is_sparse} : (!c2, !t) -> !l
  %a = nm.aggregate_loss %n : (!l) -> !a
  return %a : !a
}

// -----

// A shared value: the gradients of its two uses are accumulated; a locked
// (not trainable) parameter gets no gradient result.
!v = tensor<1x4xf32, #nm.tagged<b,f>>
// CHECK-LABEL: func.func @shared(
// CHECK-SAME: -> (tensor<1x1xf32, #nm.tagged<b,f>>, tensor<4x1xf32> {nm.name = "d_w:grad"}, tensor<1x4xf32> {nm.name = "v_value:grad"})
// CHECK: %[[G:.*]] = nm.dense_grad_input
// CHECK: %[[DW:.*]] = nm.dense_grad_weight
// CHECK-NOT: nm.bias_grad
// CHECK: %[[S:.*]] = nm.accumulate %[[G]], %[[G]]
// CHECK: %[[DV:.*]] = nm.retag %[[S]] : (tensor<1x4xf32, #nm.tagged<b,f>>) -> tensor<1x4xf32>
// CHECK: return %{{.*}}, %[[DW]], %[[DV]]
func.func @shared(%x: !v {nm.input = "x"},
                  %w: tensor<4x1xf32> {nm.param = "d_w", nm.trainable}, %b: tensor<1xf32> {nm.param = "d_b"},
                  %u: tensor<1x4xf32> {nm.param = "v_value", nm.trainable}) -> tensor<1x1xf32, #nm.tagged<b,f>> {
  %v = nm.value %u {apply_train} : (tensor<1x4xf32>) -> !v
  %s = nm.add %x, %v : (!v, !v) -> !v
  %s2 = nm.add %s, %v : (!v, !v) -> !v
  %d = nm.perceptron %s2, %w, %b {activation = #nm.activation<lin>} : (!v, tensor<4x1xf32>, tensor<1xf32>) -> tensor<1x1xf32, #nm.tagged<b,f>>
  return %d : tensor<1x1xf32, #nm.tagged<b,f>>
}

// -----

// An op without a gradient fails the pass, naming it.
!in = tensor<1x2x8x8xf32, #nm.tagged<b,f,x,y>>
!p = tensor<1x2x4x4xf32, #nm.tagged<b,f,x,y, fov = [2, 2], strides = [2, 2]>>
!d = tensor<1x2x6x6xf32, #nm.tagged<b,f,x,y, fov = [3, 3]>>
func.func @dilated(%x: !in {nm.input = "x"}, %u: tensor<1x2x8x8xf32> {nm.param = "v_value", nm.trainable}) -> !d {
  %v = nm.value %u {apply_train} : (tensor<1x2x8x8xf32>) -> !in
  %s = nm.add %x, %v : (!in, !in) -> !in
  // expected-error@+1 {{'nm.pool' op gradient of a dilated nm.pool is not implemented yet}}
  %p = nm.pool %s {pool = array<i64: 2, 2>, stride = array<i64: 1, 1>, dilation = array<i64: 2, 2>} : (!in) -> !d
  return %p : !d
}
