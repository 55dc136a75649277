// Round trip of every op: parse -> print -> parse -> print, custom and
// generic forms. The result types here are the ones core's rules infer;
// the verifier rejects any other (see invalid.mlir).
// RUN: nm-opt %s | nm-opt | FileCheck %s
// RUN: nm-opt %s --mlir-print-op-generic | nm-opt | FileCheck %s

!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
!x8 = tensor<1x8x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
!lbl = tensor<1x1x6x10x10xi16, #nm.tagged<b,f,z,x,y>>
!f1 = tensor<1x1x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
!scalar = tensor<1xf32, #nm.tagged<f>>

// CHECK-LABEL: func.func @layers
func.func @layers(%x: !x, %w3: tensor<8x4x3x3x3xf32>, %b2: tensor<8x2xf32>,
                  %g: tensor<8xf32>, %m: tensor<8xf32>, %s: tensor<8xf32>,
                  %w1: tensor<8x4x1x1x1xf32>, %b8: tensor<8xf32>,
                  %wp: tensor<4x16xf32>, %wf: tensor<2400x16xf32>, %b16: tensor<16xf32>) {
  // CHECK: nm.conv %{{.*}}, %{{.*}}, %{{.*}} bn(%{{.*}}, %{{.*}}, %{{.*}}) {activation = #nm.activation<prelu>, batch_normalisation = #nm<batch_norm train>, conv_mode = #nm<conv_mode same>, dropout_rate = 5.000000e-01 : f64}
  // CHECK-SAME: -> tensor<1x8x6x10x10xf32, #nm.tagged<b,f,z,x,y, fov = [3, 3, 3]>>
  %0 = nm.conv %x, %w3, %b2 bn(%g, %m, %s) {activation = #nm.activation<prelu>, conv_mode = #nm<conv_mode same>, batch_normalisation = #nm<batch_norm train>, dropout_rate = 0.5}
      : (!x, tensor<8x4x3x3x3xf32>, tensor<8x2xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>)
      -> tensor<1x8x6x10x10xf32, #nm.tagged<b,f,z,x,y, fov = [3, 3, 3]>>
  // maxout 2 halves the 8 features; invalidate_fov makes the fov unknown.
  // CHECK: nm.conv {{.*}} {activation = #nm.activation<maxout 2>, invalidate_fov} {{.*}} -> tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y, fov = [-1, -1, -1]>>
  %1 = nm.conv %x, %w1, %b8 {activation = #nm.activation<maxout 2>, invalidate_fov} : (!x, tensor<8x4x1x1x1xf32>, tensor<8xf32>) -> tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y, fov = [-1, -1, -1]>>
  // CHECK: nm.perceptron {{.*}} -> tensor<1x16x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
  %2 = nm.perceptron %x, %wp, %b16 : (!x, tensor<4x16xf32>, tensor<16xf32>) -> tensor<1x16x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
  // CHECK: nm.perceptron {{.*}} {activation = #nm.activation<tanh>, flatten} {{.*}} -> tensor<1x16xf32, #nm.tagged<b,f>>
  %3 = nm.perceptron %x, %wf, %b16 {activation = #nm.activation<tanh>, flatten} : (!x, tensor<2400x16xf32>, tensor<16xf32>) -> tensor<1x16xf32, #nm.tagged<b,f>>
  return
}

// MFP: 4 fragments stacked on the batch axis, then interleaved back.
!xm = tensor<1x4x6x11x11xf32, #nm.tagged<b,f,z,x,y>>
!frag = tensor<4x8x6x4x4xf32, #nm.tagged<b,f,z,x,y, fov = [1, 4, 4], strides = [1, 2, 2], mfp_offsets = [[0, 0, 0], [0, 0, 1], [0, 1, 0], [0, 1, 1]]>>
// CHECK-LABEL: func.func @mfp
// CHECK: nm.conv {{.*}} {mfp, pool = array<i64: 1, 2, 2>} {{.*}} -> tensor<4x8x6x4x4xf32, #nm.tagged<b,f,z,x,y, fov = [1, 4, 4], strides = [1, 2, 2], mfp_offsets = {{\[}}[0, 0, 0], [0, 0, 1], [0, 1, 0], [0, 1, 1]]>>
// CHECK: nm.fragments_to_dense {{.*}} -> tensor<1x8x6x8x8xf32, #nm.tagged<b,f,z,x,y, fov = [1, 4, 4]>>
func.func @mfp(%x: !xm, %w: tensor<8x4x1x3x3xf32>, %b: tensor<8xf32>) -> tensor<1x8x6x8x8xf32, #nm.tagged<b,f,z,x,y, fov = [1, 4, 4]>> {
  %0 = nm.conv %x, %w, %b {pool = array<i64: 1, 2, 2>, mfp} : (!xm, tensor<8x4x1x3x3xf32>, tensor<8xf32>) -> !frag
  %1 = nm.fragments_to_dense %0 : (!frag) -> tensor<1x8x6x8x8xf32, #nm.tagged<b,f,z,x,y, fov = [1, 4, 4]>>
  return %1 : tensor<1x8x6x8x8xf32, #nm.tagged<b,f,z,x,y, fov = [1, 4, 4]>>
}

// UpConv: spatial x pool, fov unknown, strides / pool; dynamic batch.
!xs = tensor<?x4x6x10x10xf32, #nm.tagged<b,f,z,x,y, fov = [1, 5, 5], strides = [1, 2, 2]>>
// CHECK-LABEL: func.func @upconv
// CHECK: nm.upconv {{.*}} -> tensor<?x3x6x20x20xf32, #nm.tagged<b,f,z,x,y, fov = [-1, -1, -1]>>
func.func @upconv(%x: !xs, %w: tensor<3x4x1x2x2xf32>, %b: tensor<3xf32>) {
  %0 = nm.upconv %x, %w, %b {activation = #nm.activation<lin>} : (!xs, tensor<3x4x1x2x2xf32>, tensor<3xf32>) -> tensor<?x3x6x20x20xf32, #nm.tagged<b,f,z,x,y, fov = [-1, -1, -1]>>
  return
}

// CHECK-LABEL: func.func @geometry
func.func @geometry(%x: !x) {
  // CHECK: nm.pool {{.*}} {pool = array<i64: 1, 2, 2>} {{.*}} -> tensor<1x4x6x5x5xf32, #nm.tagged<b,f,z,x,y, fov = [1, 2, 2], strides = [1, 2, 2]>>
  %0 = nm.pool %x {pool = array<i64: 1, 2, 2>} : (!x) -> tensor<1x4x6x5x5xf32, #nm.tagged<b,f,z,x,y, fov = [1, 2, 2], strides = [1, 2, 2]>>
  // CHECK: nm.pool {{.*}} {mode = #nm<pool_mode average>, pool = array<i64: 1, 3, 3>, stride = array<i64: 1, 1, 1>} {{.*}} -> tensor<1x4x6x8x8xf32, #nm.tagged<b,f,z,x,y, fov = [1, 3, 3]>>
  %1 = nm.pool %x {pool = array<i64: 1, 3, 3>, stride = array<i64: 1, 1, 1>, mode = #nm<pool_mode average>} : (!x) -> tensor<1x4x6x8x8xf32, #nm.tagged<b,f,z,x,y, fov = [1, 3, 3]>>
  // CHECK: nm.crop {{.*}} -> tensor<1x4x4x6x6xf32, #nm.tagged<b,f,z,x,y>>
  %2 = nm.crop %x {crop = array<i64: 1, 2, 2>} : (!x) -> tensor<1x4x4x6x6xf32, #nm.tagged<b,f,z,x,y>>
  // CHECK: nm.pad {{.*}} {pad = array<i64: 0, 1, 1>, value = 1.000000e+00 : f64} {{.*}} -> tensor<1x4x6x12x12xf32, #nm.tagged<b,f,z,x,y>>
  %3 = nm.pad %x {pad = array<i64: 0, 1, 1>, value = 1.0} : (!x) -> tensor<1x4x6x12x12xf32, #nm.tagged<b,f,z,x,y>>
  // CHECK: nm.slice {{.*}} {size = 2 : i64, start = 1 : i64} {{.*}} -> tensor<1x2x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
  %4 = nm.slice %x {start = 1, size = 2} : (!x) -> tensor<1x2x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
  // CHECK: nm.slice {{.*}} {size = 1 : i64, start = 3 : i64, strip_singleton_dims} {{.*}} -> tensor<1x6x10x10xf32, #nm.tagged<b,z,x,y>>
  %5 = nm.slice %x {start = 3, size = 1, strip_singleton_dims} : (!x) -> tensor<1x6x10x10xf32, #nm.tagged<b,z,x,y>>
  // CHECK: nm.reshape {{.*}} -> tensor<1x2400xf32, #nm.tagged<b,f>>
  %6 = nm.reshape %x : (!x) -> tensor<1x2400xf32, #nm.tagged<b,f>>
  return
}

// CHECK-LABEL: func.func @merges
func.func @merges(%x: !x) {
  // CHECK: nm.concat %{{.*}}, %{{.*}} : {{.*}} -> tensor<1x8x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
  %0 = nm.concat %x, %x : (!x, !x) -> !x8
  // CHECK: nm.concat {{.*}} {axis = "z"} {{.*}} -> tensor<1x4x12x10x10xf32, #nm.tagged<b,f,z,x,y>>
  %1 = nm.concat %x, %x {axis = "z"} : (!x, !x) -> tensor<1x4x12x10x10xf32, #nm.tagged<b,f,z,x,y>>
  // CHECK: nm.add
  %2 = nm.add %x, %x : (!x, !x) -> !x
  // CHECK: nm.mult
  %3 = nm.mult %x, %x : (!x, !x) -> !x
  // CHECK: nm.apply {{.*}} {func = "exp"}
  %4 = nm.apply %x {func = "exp"} : (!x) -> !x
  // CHECK: nm.apply {{.*}} {func = "soft+"}
  %5 = nm.apply %x {func = "soft+"} : (!x) -> !x
  // CHECK: nm.lrn {{.*}} {filter_shape = array<i64: 1, 3, 3>}
  %6 = nm.lrn %x {filter_shape = array<i64: 1, 3, 3>} : (!x) -> !x
  // CHECK: nm.lrn {{.*}} {alpha = 2.000000e-04 : f64, filter_shape = array<i64: 5>, mode = #nm<lrn_mode channel>}
  %7 = nm.lrn %x {filter_shape = array<i64: 5>, mode = #nm<lrn_mode channel>, alpha = 2.0e-4} : (!x) -> !x
  return
}

// ValueNode: a parameter tagged with the node's geometry; InitialState_like:
// a learned vector broadcast over the parent's shape with f replaced.
!xs2 = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y, fov = [1, 5, 5], strides = [1, 2, 2]>>
// CHECK-LABEL: func.func @values
func.func @values(%x: !xs2, %p: tensor<1x3xf32>, %q: tensor<2x5xf64>, %v: tensor<7xf32>) {
  // CHECK: nm.value %{{.*}} {apply_train} : (tensor<1x3xf32>) -> tensor<1x3xf32, #nm.tagged<b,f>>
  %0 = nm.value %p {apply_train} : (tensor<1x3xf32>) -> tensor<1x3xf32, #nm.tagged<b,f>>
  // CHECK: nm.value %{{.*}} : (tensor<2x5xf64>) -> tensor<2x5xf64, #nm.tagged<f,x, fov = [3], strides = [2]>>
  %1 = nm.value %q : (tensor<2x5xf64>) -> tensor<2x5xf64, #nm.tagged<f,x, fov = [3], strides = [2]>>
  // CHECK: nm.initial_state %{{.*}}, %{{.*}} : {{.*}} -> tensor<1x7x6x10x10xf32, #nm.tagged<b,f,z,x,y, fov = [1, 5, 5], strides = [1, 2, 2]>>
  %2 = nm.initial_state %x, %v : (!xs2, tensor<7xf32>) -> tensor<1x7x6x10x10xf32, #nm.tagged<b,f,z,x,y, fov = [1, 5, 5], strides = [1, 2, 2]>>
  return
}

// CHECK-LABEL: func.func @losses
func.func @losses(%x: !x, %t: !lbl, %t2: tensor<1x2x6x10x10xi16, #nm.tagged<b,f,z,x,y>>,
                  %w: tensor<4x4x1x1x1xf32>, %b: tensor<4xf32>) -> (!scalar, !scalar) {
  %lin = nm.conv %x, %w, %b {activation = #nm.activation<lin>} : (!x, tensor<4x4x1x1x1xf32>, tensor<4xf32>) -> !x
  // CHECK: nm.softmax
  %sm = nm.softmax %lin : (!x) -> !x
  // CHECK: nm.softmax {{.*}} {n_indep = 2 : i64}
  %sm2 = nm.softmax %lin {n_indep = 2} : (!x) -> !x
  // CHECK: nm.multinoulli_nll {{.*}} {target_is_sparse} {{.*}} -> tensor<1x1x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
  %0 = nm.multinoulli_nll %sm, %t {target_is_sparse} : (!x, !lbl) -> !f1
  // CHECK: nm.multinoulli_nll {{.*}} {class_weights = array<f64: 1.000000e+00, 2.000000e+00>, target_is_sparse}
  %1 = nm.multinoulli_nll %sm2, %t2 {target_is_sparse, class_weights = array<f64: 1.0, 2.0>} : (!x, tensor<1x2x6x10x10xi16, #nm.tagged<b,f,z,x,y>>) -> !f1
  // CHECK: nm.multinoulli_nll %{{.*}}, %{{.*}} : (
  %2 = nm.multinoulli_nll %sm, %x : (!x, !x) -> !f1
  // CHECK: nm.binary_nll {{.*}} -> tensor<1x4x6x10x10xf32
  %3 = nm.binary_nll %x, %x {subtract_label_entropy} : (!x, !x) -> !x
  // CHECK: nm.squared_loss {{.*}} {margin = 1.000000e-01 : f64}
  %4 = nm.squared_loss %x, %x {margin = 0.1} : (!x, !x) -> !f1
  // CHECK: nm.abs_loss {{.*}} {scale_correction = 2.000000e+00 : f64}
  %5 = nm.abs_loss %x, %x {scale_correction = 2.0} : (!x, !x) -> !f1
  // CHECK: nm.gaussian_nll {{.*}} {sig_is_log}
  %6 = nm.gaussian_nll %x, %x, %x {sig_is_log} : (!x, !x, !x) -> !x
  // CHECK: nm.euclidean_distance
  %7 = nm.euclidean_distance %x, %x : (!x, !x) -> !f1
  // CHECK: nm.beta_nll %{{.*}}, %{{.*}}, %{{.*}} : {{.*}} -> tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
  %b0 = nm.beta_nll %x, %x, %x : (!x, !x, !x) -> !x
  // CHECK: nm.ramp_loss %{{.*}}, %{{.*}} {margin = 5.000000e-01 : f64} {{.*}} -> tensor<1x1x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
  %r0 = nm.ramp_loss %x, %x {margin = 0.5} : (!x, !x) -> !f1
  // CHECK: nm.ramp_loss %{{.*}}, %{{.*}} : (
  %r1 = nm.ramp_loss %x, %x : (!x, !x) -> !f1
  // CHECK: nm.multinoulli_nll {{.*}} {blocking_factor = 5.000000e-01 : f64, target_is_sparse}
  %bl = nm.multinoulli_nll %sm, %t {target_is_sparse, blocking_factor = 0.5} : (!x, !lbl) -> !f1
  // CHECK: nm.aggregate_loss {{.*}} {mixing_weights = array<f64: 1.000000e+00, 5.000000e-01>} {{.*}} -> tensor<1xf32, #nm.tagged<f>>
  %8 = nm.aggregate_loss %0, %1 {mixing_weights = array<f64: 1.0, 0.5>} : (!f1, !f1) -> !scalar
  // CHECK: nm.onehot {{.*}} {n_class = 4 : i64} {{.*}} -> tensor<1x4x6x10x10xf32
  %9 = nm.onehot %t {n_class = 4} : (!lbl) -> !x
  // CHECK: nm.classification {{.*}} {n_indep = 2 : i64} {{.*}} -> tensor<1x2x6x10x10xi64
  %10 = nm.classification %sm2 {n_indep = 2} : (!x) -> tensor<1x2x6x10x10xi64, #nm.tagged<b,f,z,x,y>>
  // CHECK: nm.errors {{.*}} {target_is_sparse} {{.*}} -> tensor<1xf32, #nm.tagged<f>>
  %11 = nm.errors %10, %t2 {target_is_sparse} : (tensor<1x2x6x10x10xi64, #nm.tagged<b,f,z,x,y>>, tensor<1x2x6x10x10xi16, #nm.tagged<b,f,z,x,y>>) -> !scalar
  // CHECK: nm.select_channels %{{.*}} [3, 0, 3] : {{.*}} -> tensor<1x3x6x10x10xf32
  %12 = nm.select_channels %sm [3, 0, 3] : (!x) -> tensor<1x3x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
  // CHECK: nm.to_uint8 %{{.*}} : {{.*}} -> tensor<1x3x6x10x10xui8
  %13 = nm.to_uint8 %12 : (tensor<1x3x6x10x10xf32, #nm.tagged<b,f,z,x,y>>) -> tensor<1x3x6x10x10xui8, #nm.tagged<b,f,z,x,y>>
  return %8, %11 : !scalar, !scalar
}
