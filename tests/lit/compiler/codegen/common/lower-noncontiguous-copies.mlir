// nm-lower-noncontiguous-copies: a memref.copy between buffers that are not
// both contiguous goes row by row where the rows are contiguous (1-D copies
// of subviews in a loop nest), else becomes a linalg.copy; contiguous copies
// stay.
// RUN: nm-opt %s --nm-lower-noncontiguous-copies | FileCheck %s

// CHECK-LABEL: func.func @rows
// CHECK: scf.for %[[I:.*]] = %c0 to %c3 step %c1
// CHECK: scf.for %[[J:.*]] = %c0 to %c4 step %c1
// CHECK: %[[SRC:.*]] = memref.subview %{{.*}}[%[[I]], %[[J]], 0] [1, 1, 12] [1, 1, 1]
// CHECK: %[[DST:.*]] = memref.subview %{{.*}}[%[[I]], %[[J]], 0] [1, 1, 12] [1, 1, 1]
// CHECK: memref.copy %[[SRC]], %[[DST]] : memref<12xf32, strided<[1], offset: ?>> to memref<12xf32, strided<[1], offset: ?>>
func.func @rows(%src: memref<3x4x12xf32>, %dst: memref<3x4x16xf32>) {
  %view = memref.subview %dst[0, 0, 0] [3, 4, 12] [1, 1, 1]
      : memref<3x4x16xf32> to memref<3x4x12xf32, strided<[64, 16, 1]>>
  memref.copy %src, %view : memref<3x4x12xf32> to memref<3x4x12xf32, strided<[64, 16, 1]>>
  return
}

// CHECK-LABEL: func.func @strided_rows
// CHECK-NOT: memref.copy
// CHECK: linalg.copy
func.func @strided_rows(%src: memref<4x8xf32>, %dst: memref<4x16xf32>) {
  %view = memref.subview %dst[0, 0] [4, 8] [1, 2]
      : memref<4x16xf32> to memref<4x8xf32, strided<[16, 2]>>
  memref.copy %src, %view : memref<4x8xf32> to memref<4x8xf32, strided<[16, 2]>>
  return
}

// CHECK-LABEL: func.func @contiguous
// CHECK: memref.copy %{{.*}}, %{{.*}} : memref<4x8xf32> to memref<4x8xf32>
func.func @contiguous(%src: memref<4x8xf32>, %dst: memref<4x8xf32>) {
  memref.copy %src, %dst : memref<4x8xf32> to memref<4x8xf32>
  return
}
