// nm-split-transfers-of-expanded-shapes: a transfer_read of an expand_shape
// whose vector spans two dims of one reassociation group is unrolled into
// reads of its innermost dim, which fold-memref-alias-ops then folds into
// reads of the right source elements; reads that fold right stay whole.
// RUN: nm-opt %s --nm-split-transfers-of-expanded-shapes | FileCheck %s
// RUN: nm-opt %s --nm-split-transfers-of-expanded-shapes --fold-memref-alias-ops --canonicalize | FileCheck %s --check-prefix=FOLDED

// Two class blocks of three in a row of six: the blocks are 3 apart in the
// source row, not in the next row.
// CHECK-LABEL: func.func @blocks_of_a_row
// CHECK-COUNT-2: vector.transfer_read %{{.*}} : memref<3x2x3xf32>, vector<1x3xf32>
// CHECK-NOT: vector<2x3xf32>, memref
// FOLDED-LABEL: func.func @blocks_of_a_row
// FOLDED-SAME: (%[[SRC:.*]]: memref<3x6xf32>, %[[I:.*]]: index)
// FOLDED-DAG: vector.transfer_read %[[SRC]][%[[I]], %c0]{{.*}} : memref<3x6xf32>, vector<1x3xf32>
// FOLDED-DAG: vector.transfer_read %[[SRC]][%[[I]], %c3]{{.*}} : memref<3x6xf32>, vector<1x3xf32>
func.func @blocks_of_a_row(%src: memref<3x6xf32>, %i: index) -> vector<2x3xf32> {
  %c0 = arith.constant 0 : index
  %pad = arith.constant 0.0 : f32
  %e = memref.expand_shape %src [[0], [1, 2]] output_shape [3, 2, 3]
      : memref<3x6xf32> into memref<3x2x3xf32>
  %v = vector.transfer_read %e[%i, %c0, %c0], %pad {in_bounds = [true, true]}
      : memref<3x2x3xf32>, vector<2x3xf32>
  return %v : vector<2x3xf32>
}

// Each vector dim is the innermost of its own group: folds as it is.
// CHECK-LABEL: func.func @whole_groups
// CHECK: vector.transfer_read %{{.*}} : memref<2x3x8xf32>, vector<3x8xf32>
// FOLDED-LABEL: func.func @whole_groups
// FOLDED: vector.transfer_read %{{.*}} : memref<6x8xf32>, vector<3x8xf32>
func.func @whole_groups(%src: memref<6x8xf32>) -> vector<3x8xf32> {
  %c0 = arith.constant 0 : index
  %pad = arith.constant 0.0 : f32
  %e = memref.expand_shape %src [[0, 1], [2]] output_shape [2, 3, 8]
      : memref<6x8xf32> into memref<2x3x8xf32>
  %v = vector.transfer_read %e[%c0, %c0, %c0], %pad {in_bounds = [true, true]}
      : memref<2x3x8xf32>, vector<3x8xf32>
  return %v : vector<3x8xf32>
}
