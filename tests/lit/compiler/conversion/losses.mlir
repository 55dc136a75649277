// nm -> linalg, losses: softmax over blocks of classes, the NLLs with
// theano's xlogy0, the regression losses with the -666 "unlabelled" marker,
// Gaussian and beta NLL, ramp loss, Euclidean distance, and aggregate_loss.
// RUN: nm-opt %s --split-input-file --convert-nm-to-linalg | FileCheck %s

// n_indep = 2: f = [2 blocks, 2 classes]; max, exp(x - max), sum, divide.
!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
// CHECK-LABEL: func.func @softmax
// CHECK: %[[XS:.*]] = tensor.expand_shape %arg0 {{\[}}[0], [1, 2], [3], [4], [5]] {{.*}} into tensor<1x2x2x6x10x10xf32>
// CHECK: %[[M:.*]] = linalg.generic {{.*}} ins(%[[XS]] : tensor<1x2x2x6x10x10xf32>) outs(%{{.*}} : tensor<1x2x6x10x10xf32>)
// CHECK: arith.maximumf
// CHECK: %[[E:.*]] = linalg.generic {{.*}} ins(%[[XS]], %[[M]] :
// CHECK: arith.subf
// CHECK: math.exp
// CHECK: %[[S:.*]] = linalg.generic {{.*}} ins(%[[E]] :
// CHECK: arith.addf
// CHECK: %[[Y:.*]] = linalg.generic {{.*}} ins(%[[E]], %[[S]] :
// CHECK: arith.divf
// CHECK: tensor.collapse_shape %[[Y]] {{\[}}[0], [1, 2], [3], [4], [5]] {{.*}} into tensor<1x4x6x10x10xf32>
func.func @softmax(%x: !x) -> !x {
  %0 = nm.softmax %x {n_indep = 2} : (!x) -> !x
  return %0 : !x
}

// -----

// Sparse multinoulli NLL with class weights: the label compared with the
// class index, -xlogy0(t * w, p + 1e-5) summed over the classes, scaled by
// size / (n_labelled + eps) / n_class; then the mean (aggregate_loss).
!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
!lbl = tensor<1x1x6x10x10xi16, #nm.tagged<b,f,z,x,y>>
!f1 = tensor<1x1x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
!scalar = tensor<1xf32, #nm.tagged<f>>
// CHECK-LABEL: func.func @nll_sparse
// CHECK: %[[CW:.*]] = arith.constant dense<[1.000000e+00, 2.000000e+00, 1.000000e+00, 1.000000e+00]> : tensor<4xf32>
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %arg1, %[[CW]] : tensor<1x1x4x6x10x10xf32>, tensor<1x1x6x10x10xi16>, tensor<4xf32>) outs(%{{.*}} : tensor<1x6x10x10xf32>)
// CHECK: linalg.index 2
// CHECK: arith.extsi %{{.*}} : i16 to i64
// CHECK: arith.cmpi eq
// CHECK: arith.constant 9.99999974E-6 : f32
// CHECK: arith.cmpf oeq
// CHECK: math.log
// CHECK: arith.select
// CHECK: arith.subf
// CHECK: arith.constant 6.000000e+02 : f32
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<1xf32>)
// CHECK: arith.constant 0.00166666671 : f32
func.func @nll_sparse(%x: !x, %t: !lbl) -> !scalar {
  %sm = nm.softmax %x : (!x) -> !x
  %0 = nm.multinoulli_nll %sm, %t {target_is_sparse, class_weights = array<f64: 1.0, 2.0, 1.0, 1.0>} : (!x, !lbl) -> !f1
  %1 = nm.aggregate_loss %0 : (!f1) -> !scalar
  return %1 : !scalar
}

// -----

// Dense NLL and a squared loss with a margin, mixed 1 : 0.5:
// (sum_0 / 600 * 1 + sum_1 / 600 * 0.5) / 2.
!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
!f1 = tensor<1x1x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
!scalar = tensor<1xf32, #nm.tagged<f>>
// CHECK-LABEL: func.func @nll_dense_mixed
// CHECK: math.log
// The labelled count of the squared loss: |t + 666| > 1e-8 + 1e-5 * 666.
// CHECK: linalg.generic {{.*}} ins(%arg1 : tensor<1x4x6x10x10xf32>) outs(%{{.*}} : tensor<i64>)
// CHECK: arith.constant 6.660000e+02 : f32
// CHECK: arith.constant 6.660010e-03 : f32
// CHECK: arith.cmpf ole
// CHECK: arith.xori
// CHECK: linalg.generic {{.*}} ins(%arg0, %arg1, %{{.*}} : tensor<1x4x6x10x10xf32>, tensor<1x4x6x10x10xf32>, tensor<i64>)
// CHECK: arith.constant 2.400000e+03 : f32
// CHECK: arith.constant 5.000000e-01 : f32
// CHECK: arith.constant 1.000000e-01 : f32
// CHECK: arith.cmpf oge
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<1xf32>)
// CHECK: arith.constant 0.00166666671 : f32
// CHECK: arith.constant 8.33333353E-4 : f32
// CHECK: arith.constant 2.000000e+00 : f32
// CHECK: arith.divf
func.func @nll_dense_mixed(%x: !x, %t: !x) -> !scalar {
  %sm = nm.softmax %x : (!x) -> !x
  %0 = nm.multinoulli_nll %sm, %t : (!x, !x) -> !f1
  %1 = nm.squared_loss %x, %t {margin = 0.1} : (!x, !x) -> !f1
  %2 = nm.aggregate_loss %0, %1 {mixing_weights = array<f64: 1.0, 0.5>} : (!f1, !f1) -> !scalar
  return %2 : !scalar
}

// -----

// abs_loss with scale correction 2: |t - p| * (2 |t| + 1), mean over f.
!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
!f1 = tensor<1x1x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
// CHECK-LABEL: func.func @abs_loss
// CHECK: ^bb0(%[[P:.*]]: f32, %[[T:.*]]: f32, %{{.*}}: i64, %{{.*}}: f32):
// CHECK: %[[D:.*]] = arith.subf %[[T]], %[[P]]
// CHECK: math.absf %[[D]]
// CHECK: arith.constant 2.000000e+00 : f32
// CHECK: math.absf %[[T]]
// CHECK: arith.constant 4.000000e+00 : f32
// CHECK: tensor.expand_shape {{.*}} into tensor<1x1x6x10x10xf32>
func.func @abs_loss(%x: !x, %t: !x) -> !f1 {
  %0 = nm.abs_loss %x, %t {scale_correction = 2.0} : (!x, !x) -> !f1
  return %0 : !f1
}

// -----

// binary_nll with the label entropy subtracted: four xlogy0 terms.
!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
// CHECK-LABEL: func.func @binary_nll
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<1x4x6x10x10xf32>)
// CHECK-COUNT-4: math.log
// CHECK: arith.constant 6.660000e+02 : f32
// CHECK: arith.sitofp
func.func @binary_nll(%x: !x, %t: !x) -> !x {
  %0 = nm.binary_nll %x, %t {subtract_label_entropy} : (!x, !x) -> !x
  return %0 : !x
}

// -----

// Gaussian NLL, sig given as log: 0.5 ln(2 pi) + ln sig + 0.5 z^2.
!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
// CHECK-LABEL: func.func @gaussian_nll
// CHECK: ^bb0(%[[MU:.*]]: f32, %[[LS:.*]]: f32, %[[T:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[S:.*]] = math.exp %[[LS]]
// CHECK: %[[D:.*]] = arith.subf %[[T]], %[[MU]]
// CHECK: arith.divf %[[D]], %[[S]]
// CHECK: %[[C:.*]] = arith.constant 0.918938517 : f32
// CHECK: arith.addf %[[C]], %[[LS]]
func.func @gaussian_nll(%mu: !x, %sig: !x, %t: !x) -> !x {
  %0 = nm.gaussian_nll %mu, %sig, %t {sig_is_log} : (!x, !x, !x) -> !x
  return %0 : !x
}

// -----

// beta_nll: three log-gammas in f64 (Stirling at x + 8), softplus(-c).
!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
// CHECK-LABEL: func.func @beta_nll
// CHECK-COUNT-3: arith.constant 0.91893853320467266 : f64
// CHECK: arith.truncf %{{.*}} : f64 to f32
// CHECK: math.log1p
func.func @beta_nll(%m: !x, %c: !x, %t: !x) -> !x {
  %0 = nm.beta_nll %m, %c, %t : (!x, !x, !x) -> !x
  return %0 : !x
}

// -----

// ramp_loss: mean over f of max(0, d_low - d_big + margin).
!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
!f1 = tensor<1x1x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
// CHECK-LABEL: func.func @ramp_loss
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel", "parallel", "parallel"]} ins(%arg0, %arg1 :
// CHECK: ^bb0(%[[LO:.*]]: f32, %[[HI:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[D:.*]] = arith.subf %[[LO]], %[[HI]]
// CHECK: arith.constant 5.000000e-01 : f32
// CHECK: arith.cmpf ogt
// CHECK: arith.constant 4.000000e+00 : f32
func.func @ramp_loss(%lo: !x, %hi: !x) -> !f1 {
  %0 = nm.ramp_loss %lo, %hi {margin = 0.5} : (!x, !x) -> !f1
  return %0 : !f1
}

// -----

// Euclidean distance over f, NaN -> 0.
!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
!f1 = tensor<1x1x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
// CHECK-LABEL: func.func @euclidean_distance
// CHECK: arith.mulf %[[D:.*]], %[[D]]
// CHECK: %[[R:.*]] = math.sqrt
// CHECK: %[[NAN:.*]] = arith.cmpf uno, %[[R]], %[[R]]
// CHECK: arith.select %[[NAN]], %{{.*}}, %[[R]]
func.func @euclidean_distance(%p: !x, %t: !x) -> !f1 {
  %0 = nm.euclidean_distance %p, %t : (!x, !x) -> !f1
  return %0 : !f1
}
