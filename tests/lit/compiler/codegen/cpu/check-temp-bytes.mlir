// nm-cpu-check-temp-bytes: each public function's intermediate buffers
// alive at once (allocs and deallocs in order, one iteration of a serial
// loop, a dispatched parallel body's own peak at its call and as the
// per-thread share) recorded as attributes and checked at entry by
// nm_runtime_check_temp_bytes, which makes the function return at once
// when refused (MemoryChecks.cpp).
// RUN: nm-opt %s --nm-cpu-check-temp-bytes | FileCheck %s

// 4096 + 2048 bytes alive together; the i8 buffer comes after the first
// is freed.
// CHECK-LABEL: func.func @sequence
// CHECK-SAME: nm.temp_bytes = 6144 : i64, nm.temp_bytes_per_thread = 0 : i64
// CHECK: %[[BYTES:.*]] = arith.constant 6144 : i64
// CHECK: %[[PER:.*]] = arith.constant 0 : i64
// CHECK: %[[STATUS:.*]] = call @nm_runtime_check_temp_bytes(%[[BYTES]], %[[PER]]) : (i64, i64) -> i32
// CHECK: %[[OK:.*]] = arith.cmpi eq, %[[STATUS]], %{{.*}} : i32
// CHECK: cf.cond_br %[[OK]], ^[[BODY:bb[0-9]+]], ^[[REFUSED:bb[0-9]+]]
// CHECK: ^[[BODY]]:
// CHECK: memref.alloc() : memref<1024xf32>
// CHECK: ^[[REFUSED]]:
// CHECK-NEXT: return
func.func @sequence(%in: memref<64xf32>, %out: memref<64xf32>) {
  %a = memref.alloc() : memref<1024xf32>
  %b = memref.alloc() : memref<256xf64>
  memref.dealloc %a : memref<1024xf32>
  %c = memref.alloc() : memref<16x16xi8>
  memref.dealloc %b : memref<256xf64>
  memref.dealloc %c : memref<16x16xi8>
  return
}

// 4000 bytes, plus the larger of the loop's 400 (once, not per
// iteration) and the body's 128; the body's 128 again per further thread.
// The body itself (private) is not guarded.
// CHECK-LABEL: func.func @parallel
// CHECK-SAME: nm.temp_bytes = 4400 : i64, nm.temp_bytes_per_thread = 128 : i64
// CHECK: call @nm_runtime_check_temp_bytes
// CHECK-LABEL: func.func private @parallel__par0
// CHECK-NOT: nm_runtime_check_temp_bytes
// CHECK: memref.alloc() : memref<2x16xf32>
// CHECK: func.func private @nm_runtime_check_temp_bytes(i64, i64) -> i32
func.func @parallel(%out: memref<8x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %big = memref.alloc() : memref<1000xf32>
  scf.for %i = %c0 to %c4 step %c1 {
    %t = memref.alloc() : memref<100xf32>
    memref.dealloc %t : memref<100xf32>
  }
  call @nm_dispatch.parallel__par0(%out, %c8) : (memref<8x16xf32>, index) -> ()
  memref.dealloc %big : memref<1000xf32>
  return
}
func.func private @parallel__par0(%o: memref<8x16xf32>, %begin: index, %end: index) {
  %t = memref.alloc() : memref<2x16xf32>
  %v = memref.subview %t[0, 0] [1, 16] [1, 1] : memref<2x16xf32> to memref<16xf32, strided<[1]>>
  memref.dealloc %t : memref<2x16xf32>
  return
}
func.func private @nm_dispatch.parallel__par0(memref<8x16xf32>, index)
