// Which ops the totals cover (see the pass description).
// RUN: nm-opt %s --nm-print-stats -o /dev/null | FileCheck %s

!in = tensor<1x2x5x5x5xf32, #nm.tagged<b,f,z,x,y>>
!big = tensor<1x64x3x3x3xf32, #nm.tagged<b,f,z,x,y, fov = [3, 3, 3]>>
!lbl = tensor<1x1x5x5x5xi16, #nm.tagged<b,f,z,x,y>>
!nll = tensor<1x1x5x5x5xf32, #nm.tagged<b,f,z,x,y>>

// Ops that the loss does not depend on are excluded: only conv (500),
// softmax (250) and nll (250) count, not the 93.3 kilo Ops of "side".
// CHECK-LABEL: nm-print-stats @exclusion
// CHECK: <Conv-Node> 'side'
// CHECK-NEXT: #Params=3,520 Comp.Cost=93.3 kilo Ops
// CHECK: Total Computational Cost of Model: 1.0 kilo Ops
// CHECK-NEXT: Total number of trainable parameters: 6.
// CHECK-NEXT: Computational Cost per pixel: 0.0 kilo Ops
func.func @exclusion(%x: !in, %t: !lbl, %w: tensor<2x2x1x1x1xf32>, %b: tensor<2xf32>,
                     %ws: tensor<64x2x3x3x3xf32>, %bs: tensor<64xf32>) -> (!nll, !big) {
  %0 = nm.conv %x, %w, %b {activation = #nm.activation<lin>} : (!in, tensor<2x2x1x1x1xf32>, tensor<2xf32>) -> !in loc("conv")
  %1 = nm.softmax %0 : (!in) -> !in loc("softmax")
  %2 = nm.multinoulli_nll %1, %t {target_is_sparse} : (!in, !lbl) -> !nll loc("nll")
  %3 = nm.conv %x, %ws, %bs : (!in, tensor<64x2x3x3x3xf32>, tensor<64xf32>) -> !big loc("side")
  return %2, %3 : !nll, !big
}

// A weight shared by two layers counts once (12 parameters, not 24); each
// layer still shows it in its own #Params.
!in3 = tensor<1x3x5x5x5xf32, #nm.tagged<b,f,z,x,y>>
// CHECK-LABEL: nm-print-stats @shared
// CHECK: <Conv-Node> 'a'
// CHECK-NEXT: #Params=12 Comp.Cost=1.1 kilo Ops
// CHECK: <Conv-Node> 'b'
// CHECK-NEXT: #Params=12 Comp.Cost=1.1 kilo Ops
// CHECK: Total Computational Cost of Model: 2.2 kilo Ops
// CHECK-NEXT: Total number of trainable parameters: 12.
func.func @shared(%x: !in3, %w: tensor<3x3x1x1x1xf32>, %b: tensor<3xf32>) -> !in3 {
  %0 = nm.conv %x, %w, %b : (!in3, tensor<3x3x1x1x1xf32>, tensor<3xf32>) -> !in3 loc("a")
  %1 = nm.conv %0, %w, %b : (!in3, tensor<3x3x1x1x1xf32>, tensor<3xf32>) -> !in3 loc("b")
  return %1 : !in3
}

// Without a loss, the totals are over the first returned value and its
// ancestors; the cost per pixel divides by its spatial size (27).
!out = tensor<1x3x3x3x3xf32, #nm.tagged<b,f,z,x,y, fov = [3, 3, 3]>>
// CHECK-LABEL: nm-print-stats @noloss
// CHECK: Prediction properties:
// CHECK-NEXT: [(1,b), (3,f), (3,z), (3,x), (3,y)]
// CHECK-NEXT: fov=[3, 3, 3], offsets=[1, 1, 1], strides=[1 1 1], spatial shape=[3, 3, 3]
// CHECK: Total Computational Cost of Model: 4.4 kilo Ops
// CHECK-NEXT: Total number of trainable parameters: 165.
// CHECK-NEXT: Computational Cost per pixel: 0.2 kilo Ops
func.func @noloss(%x: !in, %w: tensor<3x2x3x3x3xf32>, %b: tensor<3xf32>) -> !out {
  %0 = nm.conv %x, %w, %b : (!in, tensor<3x2x3x3x3xf32>, tensor<3xf32>) -> !out loc("conv")
  return %0 : !out
}
