// nm -> linalg, elementwise ops: one linalg.generic each, float or integer
// arithmetic by element type; nm.apply with an elementwise function.
// RUN: nm-opt %s --split-input-file --convert-nm-to-linalg | FileCheck %s

!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
// CHECK-LABEL: func.func @add_mult
// CHECK: %[[S:.*]] = linalg.generic {{.*}} ins(%arg0, %arg1 : tensor<1x4x6x10x10xf32>, tensor<1x4x6x10x10xf32>)
// CHECK: arith.addf
// CHECK: %[[P:.*]] = linalg.generic {{.*}} ins(%[[S]], %arg1 :
// CHECK: arith.mulf
// CHECK: return %[[P]]
func.func @add_mult(%x: !x, %y: !x) -> !x {
  %0 = nm.add %x, %y : (!x, !x) -> !x
  %1 = nm.mult %0, %y : (!x, !x) -> !x
  return %1 : !x
}

// -----

!i = tensor<1x4x6x10x10xi32, #nm.tagged<b,f,z,x,y>>
// CHECK-LABEL: func.func @add_mult_int
// CHECK: arith.addi %{{.*}}, %{{.*}} : i32
// CHECK: arith.muli %{{.*}}, %{{.*}} : i32
// CHECK-NOT: arith.addf
func.func @add_mult_int(%x: !i, %y: !i) -> !i {
  %0 = nm.add %x, %y : (!i, !i) -> !i
  %1 = nm.mult %0, %y : (!i, !i) -> !i
  return %1 : !i
}

// -----

!x = tensor<1x4x6x10x10xf32, #nm.tagged<b,f,z,x,y>>
// CHECK-LABEL: func.func @apply_exp
// CHECK: linalg.generic {{.*}} ins(%arg0 : tensor<1x4x6x10x10xf32>)
// CHECK-NEXT: ^bb0(%[[IN:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: %[[E:.*]] = math.exp %[[IN]] : f32
// CHECK-NEXT: linalg.yield %[[E]]
func.func @apply_exp(%x: !x) -> !x {
  %0 = nm.apply %x {func = "exp"} : (!x) -> !x
  return %0 : !x
}
