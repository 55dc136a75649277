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
// CHECK: %[[DR:.*]] = nm.reshape %{{.*}} : (!{{.*}}) -> tensor<1x2x4x4xf32
// CHECK: nm.mult %[[DR]], %[[HI:[^ ]*]]
// CHECK: nm.mult %[[DR]], %[[LO:[^ ]*]]
// CHECK: nm.embed_grad %{{.*}} {size_unused_check = 0
func.func @split_mult_reshape(%x: !in {nm.input = "raw"},
    %w: tensor<4x2x1x1xf32> {nm.param = "conv_w", nm.trainable},
    %b: tensor<4xf32> {nm.param = "conv_b", nm.trainable},
    %t: !l {nm.input = "target"}) -> !s {
  %c = nm.conv %x, %w, %b {activation = #nm.activation<lin>} : (!in, tensor<4x2x1x1xf32>, tensor<4xf32>) -> !c
  %lo = nm.slice %c {start = 0, size = 2} : (!c) -> !h
  %hi = nm.slice %c {start = 2, size = 2} : (!c) -> !h
  %m = nm.mult %lo, %hi : (!h, !h) -> !h
  %r = nm.reshape %m : (!h) -> !r
  %e = nm.squared_loss %r, %t : (!r, !l) -> !l
  %a = nm.aggregate_loss %e : (!l) -> !s
  return %a : !s
}
