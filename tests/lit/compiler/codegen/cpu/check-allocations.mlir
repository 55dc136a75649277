// nm-cpu-check-allocations: on the LLVM dialect, a null test after every
// malloc and a test of nm_runtime_call_failed after every parallel
// dispatch (or call of a function of the module), each branching to one
// block that returns (MemoryChecks.cpp).
// RUN: nm-opt %s --nm-cpu-check-allocations | FileCheck %s

// CHECK-LABEL: llvm.func @kernel
// CHECK: %[[P:.*]] = llvm.call @malloc(%{{.*}}) : (i64) -> !llvm.ptr
// CHECK: %[[NULL:.*]] = llvm.mlir.zero : !llvm.ptr
// CHECK: %[[IS_NULL:.*]] = llvm.icmp "eq" %[[P]], %[[NULL]] : !llvm.ptr
// CHECK: llvm.cond_br %[[IS_NULL]], ^[[FAIL:bb[0-9]+]], ^[[OK1:bb[0-9]+]]
// CHECK: ^[[OK1]]:
// CHECK: llvm.call @nm_dispatch.kernel__par0(%[[P]], %{{.*}})
// CHECK: %[[S:.*]] = llvm.call @nm_runtime_call_failed() : () -> i32
// CHECK: %[[FAILED:.*]] = llvm.icmp "ne" %[[S]], %{{.*}} : i32
// CHECK: llvm.cond_br %[[FAILED]], ^[[FAIL]], ^[[OK2:bb[0-9]+]]
// CHECK: ^[[OK2]]:
// CHECK: llvm.call @free(%[[P]])
// CHECK: ^[[FAIL]]:
// CHECK-NEXT: llvm.return
// CHECK-NOT: ^bb
// CHECK: llvm.func @nm_runtime_call_failed() -> i32
llvm.func @malloc(i64) -> !llvm.ptr
llvm.func @free(!llvm.ptr)
llvm.func @nm_dispatch.kernel__par0(!llvm.ptr, i64)
llvm.func @kernel(%arg0: !llvm.ptr) {
  %size = llvm.mlir.constant(4096 : i64) : i64
  %p = llvm.call @malloc(%size) : (i64) -> !llvm.ptr
  %n = llvm.mlir.constant(8 : i64) : i64
  llvm.call @nm_dispatch.kernel__par0(%p, %n) : (!llvm.ptr, i64) -> ()
  llvm.call @free(%p) : (!llvm.ptr) -> ()
  llvm.return
}
