// nm -> linalg, classification and errors: the first argmax of each softmax
// block, pred > 0.5 without a softmax, and the error rate against sparse
// labels or (argmax of) a dense target.
// RUN: nm-opt %s --split-input-file --convert-nm-to-linalg | FileCheck %s

!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
!cls = tensor<1x2x6x10x10xi64, #nm.tagged<b,f,z,x,y>>
!lbl = tensor<1x2x6x10x10xi16, #nm.tagged<b,f,z,x,y>>
!scalar = tensor<1xf32, #nm.tagged<f>>
// CHECK-LABEL: func.func @classify_sparse_errors
// The class index starts at n_class (2), the first index equal to the
// maximum wins (min).
// CHECK: %[[SOFTMAX:.*]] = tensor.collapse_shape {{.*}} into tensor<1x4x6x10x10xf32>
// CHECK: %[[SM:.*]] = tensor.expand_shape %[[SOFTMAX]] {{.*}} into tensor<1x2x2x6x10x10xf32>
// CHECK: %[[M:.*]] = linalg.generic {{.*}} ins(%[[SM]] :
// CHECK: arith.maximumf
// CHECK: %[[C2:.*]] = arith.constant 2 : i64
// CHECK: %[[INIT:.*]] = linalg.fill ins(%[[C2]] : i64) {{.*}} -> tensor<1x2x6x10x10xi64>
// CHECK: %[[CLS:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction", "parallel", "parallel", "parallel"]} ins(%[[SM]], %[[M]] : {{.*}}) outs(%[[INIT]] : tensor<1x2x6x10x10xi64>)
// CHECK: linalg.index 2
// CHECK: arith.cmpf oeq
// CHECK: arith.select
// CHECK: arith.minsi
// CHECK: %[[N:.*]] = linalg.generic {{.*}} ins(%[[CLS]], %arg1 : tensor<1x2x6x10x10xi64>, tensor<1x2x6x10x10xi16>) outs(%{{.*}} : tensor<i64>)
// CHECK: arith.extsi %{{.*}} : i16 to i64
// CHECK: arith.cmpi eq
// CHECK: arith.xori
// CHECK: %[[R:.*]] = linalg.generic {{.*}} ins(%[[N]] : tensor<i64>) outs(%{{.*}} : tensor<1xf32>)
// CHECK: arith.sitofp
// CHECK: arith.constant 1.200000e+03 : f32
// CHECK: return %[[CLS]], %[[R]]
func.func @classify_sparse_errors(%x: !x, %t: !lbl) -> (!cls, !scalar) {
  %sm = nm.softmax %x {n_indep = 2} : (!x) -> !x
  %0 = nm.classification %sm {n_indep = 2} : (!x) -> !cls
  %1 = nm.errors %0, %t {target_is_sparse} : (!cls, !lbl) -> !scalar
  return %0, %1 : !cls, !scalar
}

// -----

!x = tensor<1x1x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
!cls = tensor<1x1x6x10x10xi64, #nm.tagged<b,f,z,x,y>>
// CHECK-LABEL: func.func @classify_threshold
// CHECK: linalg.generic {{.*}} ins(%arg0 : tensor<1x1x6x10x10xf32>) outs(%{{.*}} : tensor<1x1x6x10x10xi64>)
// CHECK: %[[H:.*]] = arith.constant 5.000000e-01 : f32
// CHECK: %[[GT:.*]] = arith.cmpf ogt, %{{.*}}, %[[H]]
// CHECK: arith.extui %[[GT]] : i1 to i64
func.func @classify_threshold(%x: !x) -> !cls {
  %0 = nm.classification %x : (!x) -> !cls
  return %0 : !cls
}

// -----

// A dense target: its labels are the argmax of each block, like the
// predicted classes.
!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
!cls = tensor<1x2x6x10x10xi64, #nm.tagged<b,f,z,x,y>>
!scalar = tensor<1xf32, #nm.tagged<f>>
// CHECK-LABEL: func.func @errors_dense
// CHECK: %[[CLS:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<1x2x6x10x10xi64>)
// CHECK: %[[TS:.*]] = tensor.expand_shape %arg1 {{.*}} into tensor<1x2x2x6x10x10xf32>
// CHECK: %[[TM:.*]] = linalg.generic {{.*}} ins(%[[TS]] :
// CHECK: %[[GT:.*]] = linalg.generic {{.*}} ins(%[[TS]], %[[TM]] : {{.*}} outs(%{{.*}} : tensor<1x2x6x10x10xi64>)
// CHECK: arith.minsi
// CHECK: linalg.generic {{.*}} ins(%[[CLS]], %[[GT]] : tensor<1x2x6x10x10xi64>, tensor<1x2x6x10x10xi64>) outs(%{{.*}} : tensor<i64>)
// CHECK: arith.cmpi eq
func.func @errors_dense(%x: !x, %t: !x) -> !scalar {
  %sm = nm.softmax %x {n_indep = 2} : (!x) -> !x
  %0 = nm.classification %sm {n_indep = 2} : (!x) -> !cls
  %1 = nm.errors %0, %t : (!cls, !x) -> !scalar
  return %1 : !scalar
}
