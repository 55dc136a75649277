// nm-cpu-outline-parallel: an outermost scf.forall on buffers becomes a
// private body over a range of its linearised iterations, called through a
// `nm_dispatch.` declaration (Parallel.cpp); nested foralls stay in the body.
// RUN: nm-opt %s --nm-cpu-outline-parallel | FileCheck %s

// CHECK-LABEL: func.func @scale
// CHECK-NOT: scf.forall
// CHECK: %[[N:.*]] = arith.constant 32 : index
// CHECK: call @nm_dispatch.scale__par0(%{{.*}}, %{{.*}}, %[[N]]) : (memref<4x8x16xf32>, memref<4x8x16xf32>, index) -> ()
// CHECK: func.func private @scale__par0(%{{.*}}: memref<4x8x16xf32>, %{{.*}}: memref<4x8x16xf32>, %[[BEGIN:.*]]: index, %[[END:.*]]: index)
// CHECK: scf.for %{{.*}} = %[[BEGIN]] to %[[END]]
// CHECK: arith.remui
// CHECK: arith.divui
// CHECK: linalg.generic
// CHECK: func.func private @nm_dispatch.scale__par0(memref<4x8x16xf32>, memref<4x8x16xf32>, index)
func.func @scale(%in: memref<4x8x16xf32>, %out: memref<4x8x16xf32>) {
  %c2 = arith.constant 2.0 : f32
  scf.forall (%i, %j) in (4, 8) {
    %v = memref.subview %in[%i, %j, 0] [1, 1, 16] [1, 1, 1]
        : memref<4x8x16xf32> to memref<16xf32, strided<[1], offset: ?>>
    %o = memref.subview %out[%i, %j, 0] [1, 1, 16] [1, 1, 1]
        : memref<4x8x16xf32> to memref<16xf32, strided<[1], offset: ?>>
    linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
                    iterator_types = ["parallel"]}
        ins(%v : memref<16xf32, strided<[1], offset: ?>>)
        outs(%o : memref<16xf32, strided<[1], offset: ?>>) {
    ^bb0(%a: f32, %b: f32):
      %m = arith.mulf %a, %c2 : f32
      linalg.yield %m : f32
    }
  }
  return
}
