// The seed's 3-D CNN (docs/elektronn2-reference.md §2.5): Input (10,3,23,183,183)
// b,f,z,x,y; Conv(32,(1,6,6),(1,2,2)); Conv(64,(4,6,6),(2,2,2));
// Conv(5,(3,3,3),lin); Softmax; MultinoulliNLL sparse; AggregateLoss; Errors.
// RUN: nm-opt %s --nm-print-stats -o /dev/null | FileCheck %s

// CHECK-LABEL: nm-print-stats @seed
// CHECK-NEXT: <Conv-Node> 'conv'
// CHECK-NEXT:   #Params=3,488 Comp.Cost=25.2 Giga Ops, Out:[(10,b), (32,f), (23,z), (89,x), (89,y)]
// CHECK-NEXT: <Conv-Node> 'conv1'
// CHECK-NEXT:   #Params=294,976 Comp.Cost=416.2 Giga Ops, Out:[(10,b), (64,f), (10,z), (42,x), (42,y)]
// CHECK-NEXT: <Conv-Node> 'conv2'
// CHECK-NEXT:   #Params=8,645 Comp.Cost=1.1 Giga Ops, Out:[(10,b), (5,f), (8,z), (40,x), (40,y)]
// CHECK-NEXT: <Softmax-Node> 'softmax'
// CHECK-NEXT:   Comp.Cost=640.0 kilo Ops, Out:[(10,b), (5,f), (8,z), (40,x), (40,y)]
// CHECK-NEXT: <MultinoulliNLL-Node> 'nll'
// CHECK-NEXT:   Comp.Cost=640.0 kilo Ops, Out:[(10,b), (1,f), (8,z), (40,x), (40,y)]
// CHECK-NEXT: <AggregateLoss-Node> 'loss'
// CHECK-NEXT:   Comp.Cost=128.0 kilo Ops, Out:[(1,f)]
// CHECK-NEXT: <Classification-Node> 'cls for errors'
// CHECK-NEXT:   Comp.Cost=640.0 kilo Ops, Out:[(10,b), (1,f), (8,z), (40,x), (40,y)]
// CHECK-NEXT: <_Errors-Node> 'errors'
// CHECK-NEXT:   Comp.Cost=128.0 kilo Ops, Out:[(1,f)]
// CHECK-NEXT: Prediction properties:
// CHECK-NEXT: [(10,b), (5,f), (8,z), (40,x), (40,y)]
// CHECK-NEXT: fov=[9, 27, 27], offsets=[4, 13, 13], strides=[2 4 4], spatial shape=[8, 40, 40]
// CHECK-EMPTY:
// CHECK-NEXT: Total Computational Cost of Model: 442.5 Giga Ops
// CHECK-NEXT: Total number of trainable parameters: 307,109.
// CHECK-NEXT: Computational Cost per pixel: 34.6 Mega Ops

!img = tensor<10x3x23x183x183xf32, #nm.tagged<b,f,z,x,y>>
!c0 = tensor<10x32x23x89x89xf32, #nm.tagged<b,f,z,x,y, fov = [1, 7, 7], strides = [1, 2, 2]>>
!c1 = tensor<10x64x10x42x42xf32, #nm.tagged<b,f,z,x,y, fov = [5, 19, 19], strides = [2, 4, 4]>>
!c2 = tensor<10x5x8x40x40xf32, #nm.tagged<b,f,z,x,y, fov = [9, 27, 27], strides = [2, 4, 4]>>
!tgt = tensor<10x1x8x40x40xi16, #nm.tagged<b,f,z,x,y, fov = [9, 27, 27], strides = [2, 4, 4]>>
!nll = tensor<10x1x8x40x40xf32, #nm.tagged<b,f,z,x,y, fov = [9, 27, 27], strides = [2, 4, 4]>>
!cls = tensor<10x1x8x40x40xi64, #nm.tagged<b,f,z,x,y, fov = [9, 27, 27], strides = [2, 4, 4]>>
!scalar = tensor<1xf32, #nm.tagged<f>>
func.func @seed(%image: !img, %target: !tgt,
                %w0: tensor<32x3x1x6x6xf32>, %b0: tensor<32xf32>,
                %w1: tensor<64x32x4x6x6xf32>, %b1: tensor<64xf32>,
                %w2: tensor<5x64x3x3x3xf32>, %b2: tensor<5xf32>) -> (!scalar, !scalar, !c2) {
  %0 = nm.conv %image, %w0, %b0 {pool = array<i64: 1, 2, 2>} : (!img, tensor<32x3x1x6x6xf32>, tensor<32xf32>) -> !c0 loc("conv")
  %1 = nm.conv %0, %w1, %b1 {pool = array<i64: 2, 2, 2>} : (!c0, tensor<64x32x4x6x6xf32>, tensor<64xf32>) -> !c1 loc("conv1")
  %2 = nm.conv %1, %w2, %b2 {activation = #nm.activation<lin>} : (!c1, tensor<5x64x3x3x3xf32>, tensor<5xf32>) -> !c2 loc("conv2")
  %3 = nm.softmax %2 : (!c2) -> !c2 loc("softmax")
  %4 = nm.multinoulli_nll %3, %target {target_is_sparse} : (!c2, !tgt) -> !nll loc("nll")
  %5 = nm.aggregate_loss %4 : (!nll) -> !scalar loc("loss")
  %6 = nm.classification %3 : (!c2) -> !cls loc("cls for errors")
  %7 = nm.errors %6, %target {target_is_sparse} : (!cls, !tgt) -> !scalar loc("errors")
  return %5, %7, %3 : !scalar, !scalar, !c2
}
