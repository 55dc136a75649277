// nm -> linalg, activations (Activations.cpp): the scalar formula of each
// activation in the body of one elementwise generic (nm.apply; the conv
// epilogue uses the same code, see layers.mlir).
// RUN: nm-opt %s --split-input-file --convert-nm-to-linalg | FileCheck %s

!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
// CHECK-LABEL: func.func @relu
// CHECK: ^bb0(%[[IN:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: %[[Z:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT: %[[R:.*]] = arith.maximumf %[[IN]], %[[Z]] : f32
// CHECK-NEXT: linalg.yield %[[R]]
func.func @relu(%x: !x) -> !x {
  %0 = nm.apply %x {func = "relu"} : (!x) -> !x
  return %0 : !x
}

// -----

// 1 / (1 + exp(-x)).
!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
// CHECK-LABEL: func.func @sigmoid
// CHECK: ^bb0(%[[IN:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT: %[[N:.*]] = arith.negf %[[IN]]
// CHECK-NEXT: %[[E:.*]] = math.exp %[[N]]
// CHECK-NEXT: %[[D:.*]] = arith.addf %[[ONE]], %[[E]]
// CHECK-NEXT: arith.divf %[[ONE]], %[[D]]
func.func @sigmoid(%x: !x) -> !x {
  %0 = nm.apply %x {func = "sig"} : (!x) -> !x
  return %0 : !x
}

// -----

// max(x, 0) + log1p(exp(-|x|)): no overflow for large |x|.
!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
// CHECK-LABEL: func.func @softplus
// CHECK: ^bb0(%[[IN:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[A:.*]] = math.absf %[[IN]]
// CHECK-NEXT: %[[N:.*]] = arith.negf %[[A]]
// CHECK-NEXT: %[[E:.*]] = math.exp %[[N]]
// CHECK-NEXT: %[[L:.*]] = math.log1p %[[E]]
// CHECK-NEXT: %[[M:.*]] = arith.maximumf %[[IN]]
// CHECK-NEXT: arith.addf %[[M]], %[[L]]
func.func @softplus(%x: !x) -> !x {
  %0 = nm.apply %x {func = "soft+"} : (!x) -> !x
  return %0 : !x
}

// -----

// x > 0 ? x : alpha (exp(x) - 1), alpha = 1.
!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
// CHECK-LABEL: func.func @elu
// CHECK: ^bb0(%[[IN:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[E:.*]] = math.exp %[[IN]]
// CHECK-NEXT: %[[EM1:.*]] = arith.subf %[[E]]
// CHECK: %[[NEG:.*]] = arith.mulf %{{.*}}, %[[EM1]]
// CHECK-NEXT: %[[POS:.*]] = arith.cmpf ogt, %[[IN]]
// CHECK-NEXT: arith.select %[[POS]], %[[IN]], %[[NEG]]
func.func @elu(%x: !x) -> !x {
  %0 = nm.apply %x {func = "elu"} : (!x) -> !x
  return %0 : !x
}

// -----

// selu: scale * elu(x, alpha) with the constants of Klambauer et al.
!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
// CHECK-LABEL: func.func @selu
// CHECK: %[[SCALE:.*]] = arith.constant 1.05070102 : f32
// CHECK: arith.constant 1.67326319 : f32
// CHECK: %[[ELU:.*]] = arith.select
// CHECK-NEXT: arith.mulf %[[SCALE]], %[[ELU]]
func.func @selu(%x: !x) -> !x {
  %0 = nm.apply %x {func = "selu"} : (!x) -> !x
  return %0 : !x
}

// -----

!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
// CHECK-LABEL: func.func @tanh
// CHECK: ^bb0(%[[IN:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: math.tanh %[[IN]]
func.func @tanh(%x: !x) -> !x {
  %0 = nm.apply %x {func = "tanh"} : (!x) -> !x
  return %0 : !x
}

// -----

// radius: 3 + 15 exp(0.15 x).
!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
// CHECK-LABEL: func.func @radius
// CHECK: arith.constant 1.500000e-01 : f32
// CHECK: math.exp
// CHECK: arith.constant 3.000000e+00 : f32
// CHECK: arith.constant 1.500000e+01 : f32
func.func @radius(%x: !x) -> !x {
  %0 = nm.apply %x {func = "radius"} : (!x) -> !x
  return %0 : !x
}
