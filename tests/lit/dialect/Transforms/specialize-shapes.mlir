// --nm-specialize-shapes: None (`?`) sizes of the nm.input arguments take the
// given sizes and every result type is re-derived with core's geometry rules.
// RUN: nm-opt %s --nm-specialize-shapes="shapes=3x2x4x9x9,3x1x3x4x4" | FileCheck %s
// RUN: not nm-opt %s --nm-specialize-shapes="shapes=3x2x4x8x9,3x1x3x4x4" -o /dev/null 2>&1 | FileCheck %s --check-prefix=RULE
// RUN: not nm-opt %s --nm-specialize-shapes="shapes=3x5x4x9x9,3x1x3x4x4" -o /dev/null 2>&1 | FileCheck %s --check-prefix=STATIC
// RUN: not nm-opt %s --nm-specialize-shapes="shapes=3x2x4x9x9" -o /dev/null 2>&1 | FileCheck %s --check-prefix=COUNT
// RUN: not nm-opt %s --nm-specialize-shapes="shapes=3x2x9x9,3x1x3x4x4" -o /dev/null 2>&1 | FileCheck %s --check-prefix=RANK
// RUN: not nm-opt %s --nm-specialize-shapes="shapes=3x2xfour" -o /dev/null 2>&1 | FileCheck %s --check-prefix=PARSE

// CHECK-LABEL: func.func @net(
// CHECK-SAME: %{{.*}}: tensor<3x2x4x9x9xf32, #nm.tagged<b,f,z,x,y>> {nm.input = "image"}
// CHECK-SAME: %{{.*}}: tensor<3x1x3x4x4xi16, #nm.tagged<b,f,z,x,y, fov = [2, 3, 3], strides = [1, 2, 2]>> {nm.input = "target"}
// CHECK-SAME: -> (tensor<1xf32, #nm.tagged<f>>, tensor<3x2x3x4x4xf32, #nm.tagged<b,f,z,x,y, fov = [2, 3, 3], strides = [1, 2, 2]>>)
// CHECK: nm.conv {{.*}} -> tensor<3x3x4x4x4xf32, #nm.tagged<b,f,z,x,y, fov = [1, 3, 3], strides = [1, 2, 2]>>
// CHECK: nm.conv {{.*}} -> tensor<3x2x3x4x4xf32, #nm.tagged<b,f,z,x,y, fov = [2, 3, 3], strides = [1, 2, 2]>>
// CHECK: nm.softmax {{.*}} -> tensor<3x2x3x4x4xf32
// CHECK: return {{.*}} : tensor<1xf32, #nm.tagged<f>>, tensor<3x2x3x4x4xf32

// x = 8: the first conv gives 7, which pool 2 cannot take.
// RULE: error: 'nm.conv' op Cannot pool spatial axis 'x' of length 8 by factor 2 after convolving with kernel of size 2.
// STATIC: error: input 'image': axis 'f' has size 2, the given shape (3, 5, 4, 9, 9) has 5
// COUNT: error: 2 input shapes required, 1 were given
// RANK: error: input 'image' has 5 axes (b,f,z,x,y), the given shape (3, 2, 9, 9) has 4
// PARSE: cannot parse shape '3x2xfour'

!in = tensor<?x2x4x?x9xf32, #nm.tagged<b,f,z,x,y>>
!c1 = tensor<?x3x4x?x4xf32, #nm.tagged<b,f,z,x,y, fov = [1, 3, 3], strides = [1, 2, 2]>>
!c2 = tensor<?x2x3x?x4xf32, #nm.tagged<b,f,z,x,y, fov = [2, 3, 3], strides = [1, 2, 2]>>
!t = tensor<?x1x3x?x4xi16, #nm.tagged<b,f,z,x,y, fov = [2, 3, 3], strides = [1, 2, 2]>>
!l = tensor<?x1x3x?x4xf32, #nm.tagged<b,f,z,x,y, fov = [2, 3, 3], strides = [1, 2, 2]>>
func.func @net(%x: !in {nm.input = "image"}, %t: !t {nm.input = "target"},
               %w1: tensor<3x2x1x2x2xf32>, %b1: tensor<3xf32>,
               %w2: tensor<2x3x2x1x1xf32>, %b2: tensor<2xf32>)
    -> (tensor<1xf32, #nm.tagged<f>>, !c2) {
  %c1 = nm.conv %x, %w1, %b1 {pool = array<i64: 1, 2, 2>} : (!in, tensor<3x2x1x2x2xf32>, tensor<3xf32>) -> !c1
  %c2 = nm.conv %c1, %w2, %b2 {activation = #nm.activation<lin>} : (!c1, tensor<2x3x2x1x1xf32>, tensor<2xf32>) -> !c2
  %p = nm.softmax %c2 : (!c2) -> !c2
  %nll = nm.multinoulli_nll %p, %t {target_is_sparse} : (!c2, !t) -> !l
  %loss = nm.aggregate_loss %nll : (!l) -> tensor<1xf32, #nm.tagged<f>>
  return %loss, %p : tensor<1xf32, #nm.tagged<f>>, !c2
}
