// nm-convert-to-llvm: vector, memref (views included), math, arith, index,
// func, cf and affine ops reach the LLVM dialect in one pass; memref
// arguments are bare pointers; math without an LLVM intrinsic calls libm.
// RUN: nm-opt %s --nm-convert-to-llvm --reconcile-unrealized-casts | FileCheck %s

// CHECK-LABEL: llvm.func @tile
// CHECK-SAME: (%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: i64)
// CHECK-NOT: memref.
// CHECK-NOT: vector.
// CHECK-NOT: affine.
// CHECK: llvm.load {{.*}} -> vector<16xf32>
// CHECK: llvm.intr.fmuladd
// CHECK: llvm.intr.exp
// CHECK: llvm.call @erff
// CHECK: llvm.store {{.*}} : vector<16xf32>, !llvm.ptr
func.func @tile(%in: memref<4x32xf32>, %out: memref<4x16xf32>, %i: index) {
  %c0 = arith.constant 0 : index
  %row = affine.apply affine_map<(d0) -> (d0 + 1)>(%i)
  %view = memref.subview %in[%row, 16] [1, 16] [1, 1]
      : memref<4x32xf32> to memref<16xf32, strided<[1], offset: ?>>
  %v = vector.load %view[%c0] : memref<16xf32, strided<[1], offset: ?>>, vector<16xf32>
  %f = vector.fma %v, %v, %v : vector<16xf32>
  %e = math.exp %f : vector<16xf32>
  %s = memref.load %in[%c0, %c0] : memref<4x32xf32>
  %r = math.erf %s : f32
  %b = vector.broadcast %r : f32 to vector<16xf32>
  %sum = arith.addf %e, %b : vector<16xf32>
  vector.store %sum, %out[%i, %c0] : memref<4x16xf32>, vector<16xf32>
  return
}

// CHECK-LABEL: llvm.func @branch
// CHECK: llvm.cond_br
// CHECK-NOT: cf.
func.func @branch(%a: f32, %c: i1) -> f32 {
  cf.cond_br %c, ^bb1(%a : f32), ^bb1(%a : f32)
^bb1(%x: f32):
  %y = arith.mulf %x, %x : f32
  return %y : f32
}
