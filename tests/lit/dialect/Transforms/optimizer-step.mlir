// --nm-optimizer-step turns the gradients of --nm-autodiff into one update:
// state arguments per parameter and optimiser, one runtime `hyper` vector,
// the new parameters and state as results (weight decay from
// nm.weight_decay, none for a bias).
// RUN: nm-opt %s --split-input-file --verify-diagnostics --nm-autodiff --nm-optimizer-step=optimiser=Adam | FileCheck %s

!v = tensor<2x3xf32, #nm.tagged<b,f>>
!o = tensor<2x1xf32, #nm.tagged<b,f>>
// CHECK-LABEL: func.func @dense(
// CHECK-SAME: %[[W:[^:]*]]: tensor<3x1xf32> {nm.param = "d_w", nm.trainable, nm.weight_decay = 1.000000e+00 : f64}
// CHECK-SAME: %[[B:[^:]*]]: tensor<1xf32> {nm.param = "d_b", nm.trainable}
// CHECK-SAME: %[[WM:[^:]*]]: tensor<3x1xf32> {nm.param = "d_w:m"}, %[[WS:[^:]*]]: tensor<3x1xf32> {nm.param = "d_w:s"}
// CHECK-SAME: %[[BM:[^:]*]]: tensor<1xf32> {nm.param = "d_b:m"}, %[[BS:[^:]*]]: tensor<1xf32> {nm.param = "d_b:s"}
// CHECK-SAME: %[[H:[^:]*]]: tensor<8xf64> {nm.param = "hyper"}
// CHECK-SAME: -> (tensor<1xf32, #nm.tagged<f>>, tensor<3x1xf32> {nm.name = "d_w"}, tensor<3x1xf32> {nm.name = "d_w:m"}, tensor<3x1xf32> {nm.name = "d_w:s"}, tensor<1xf32> {nm.name = "d_b"}, tensor<1xf32> {nm.name = "d_b:m"}, tensor<1xf32> {nm.name = "d_b:s"})
// CHECK: nm.optimizer_update %[[W]], %{{.*}}, state(%[[WM]], %[[WS]]), %[[H]] {decay = 1.000000e+00 : f64, optimiser = "Adam"}
// CHECK: nm.optimizer_update %[[B]], %{{.*}}, state(%[[BM]], %[[BS]]), %[[H]] {optimiser = "Adam"}
func.func @dense(%x: !v {nm.input = "x"}, %t: !o {nm.input = "t"},
                 %w: tensor<3x1xf32> {nm.param = "d_w", nm.trainable, nm.weight_decay = 1.0},
                 %b: tensor<1xf32> {nm.param = "d_b", nm.trainable}) -> tensor<1xf32, #nm.tagged<f>> {
  %y = nm.perceptron %x, %w, %b {activation = #nm.activation<lin>} : (!v, tensor<3x1xf32>, tensor<1xf32>) -> !o
  %l = nm.squared_loss %y, %t : (!o, !o) -> !o
  %a = nm.aggregate_loss %l : (!o) -> tensor<1xf32, #nm.tagged<f>>
  return %a : tensor<1xf32, #nm.tagged<f>>
}

// -----

// expected-error@+1 {{nm-optimizer-step: no '<param>:grad' results}}
func.func @nothing(%x: tensor<1xf32, #nm.tagged<f>> {nm.input = "x"}) -> tensor<1xf32, #nm.tagged<f>> {
  return %x : tensor<1xf32, #nm.tagged<f>>
}
