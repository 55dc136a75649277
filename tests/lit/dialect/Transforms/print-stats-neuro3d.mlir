// neuro3d (examples/neuro3d.py, docs/elektronn2-reference.md §2.5): 11 convs on
// (None, 1, 23, 185, 185) b,f,z,x,y, softmax, sparse NLL, aggregate loss.
// The batch is unknown, so costs use stripnone_prod (batch excluded).
// RUN: nm-opt %s --nm-print-stats -o /dev/null | FileCheck %s

// CHECK-LABEL: nm-print-stats @neuro3d
// CHECK: <Conv-Node> 'conv'
// CHECK-NEXT: #Params=740 Comp.Cost=536.5 Mega Ops, Out:[(None,b), (20,f), (23,z), (90,x), (90,y)]
// CHECK: <Conv-Node> 'conv1'
// CHECK-NEXT: #Params=15,030 Comp.Cost=2.6 Giga Ops, Out:[(None,b), (30,f), (23,z), (43,x), (43,y)]
// CHECK: <Conv-Node> 'conv3'
// CHECK-NEXT: #Params=204,880 Comp.Cost=5.3 Giga Ops, Out:[(None,b), (80,f), (10,z), (36,x), (36,y)]
// CHECK: <Conv-Node> 'conv10'
// CHECK-NEXT: #Params=402 Comp.Cost=882.0 kilo Ops, Out:[(None,b), (2,f), (5,z), (21,x), (21,y)]
// CHECK: <Softmax-Node> 'softmax'
// CHECK-NEXT: Comp.Cost=4.4 kilo Ops, Out:[(None,b), (2,f), (5,z), (21,x), (21,y)]
// CHECK: <AggregateLoss-Node> 'loss'
// CHECK-NEXT: Comp.Cost=2.2 kilo Ops, Out:[(1,f)]
// CHECK: Prediction properties:
// CHECK-NEXT: [(None,b), (2,f), (5,z), (21,x), (21,y)]
// CHECK-NEXT: fov=[15, 105, 105], offsets=[7, 52, 52], strides=[2 4 4], spatial shape=[5, 21, 21]
// CHECK-EMPTY:
// CHECK-NEXT: Total Computational Cost of Model: 20.0 Giga Ops
// CHECK-NEXT: Total number of trainable parameters: 2,756,042.
// CHECK-NEXT: Computational Cost per pixel: 9.1 Mega Ops

func.func @neuro3d(
    %image: tensor<?x1x23x185x185xf32, #nm.tagged<b,f,z,x,y>>,
    %conv_w: tensor<20x1x1x6x6xf32>,
    %conv_b: tensor<20xf32>,
    %conv1_w: tensor<30x20x1x5x5xf32>,
    %conv1_b: tensor<30xf32>,
    %conv2_w: tensor<40x30x1x5x5xf32>,
    %conv2_b: tensor<40xf32>,
    %conv3_w: tensor<80x40x4x4x4xf32>,
    %conv3_b: tensor<80xf32>,
    %conv4_w: tensor<100x80x3x4x4xf32>,
    %conv4_b: tensor<100xf32>,
    %conv5_w: tensor<100x100x3x4x4xf32>,
    %conv5_b: tensor<100xf32>,
    %conv6_w: tensor<150x100x2x4x4xf32>,
    %conv6_b: tensor<150xf32>,
    %conv7_w: tensor<200x150x1x4x4xf32>,
    %conv7_b: tensor<200xf32>,
    %conv8_w: tensor<200x200x1x4x4xf32>,
    %conv8_b: tensor<200xf32>,
    %conv9_w: tensor<200x200x1x1x1xf32>,
    %conv9_b: tensor<200xf32>,
    %conv10_w: tensor<2x200x1x1x1xf32>,
    %conv10_b: tensor<2xf32>,
    %target: tensor<?x1x5x21x21xi16, #nm.tagged<b,f,z,x,y, fov = [15, 105, 105], strides = [2, 4, 4]>>)
    -> (tensor<1xf32, #nm.tagged<f>>, tensor<?x2x5x21x21xf32, #nm.tagged<b,f,z,x,y, fov = [15, 105, 105], strides = [2, 4, 4]>>) {
  %conv = nm.conv %image, %conv_w, %conv_b {pool = array<i64: 1, 2, 2>} : (tensor<?x1x23x185x185xf32, #nm.tagged<b,f,z,x,y>>, tensor<20x1x1x6x6xf32>, tensor<20xf32>) -> tensor<?x20x23x90x90xf32, #nm.tagged<b,f,z,x,y, fov = [1, 7, 7], strides = [1, 2, 2]>> loc("conv")
  %conv1 = nm.conv %conv, %conv1_w, %conv1_b {pool = array<i64: 1, 2, 2>} : (tensor<?x20x23x90x90xf32, #nm.tagged<b,f,z,x,y, fov = [1, 7, 7], strides = [1, 2, 2]>>, tensor<30x20x1x5x5xf32>, tensor<30xf32>) -> tensor<?x30x23x43x43xf32, #nm.tagged<b,f,z,x,y, fov = [1, 17, 17], strides = [1, 4, 4]>> loc("conv1")
  %conv2 = nm.conv %conv1, %conv2_w, %conv2_b : (tensor<?x30x23x43x43xf32, #nm.tagged<b,f,z,x,y, fov = [1, 17, 17], strides = [1, 4, 4]>>, tensor<40x30x1x5x5xf32>, tensor<40xf32>) -> tensor<?x40x23x39x39xf32, #nm.tagged<b,f,z,x,y, fov = [1, 33, 33], strides = [1, 4, 4]>> loc("conv2")
  %conv3 = nm.conv %conv2, %conv3_w, %conv3_b {pool = array<i64: 2, 1, 1>} : (tensor<?x40x23x39x39xf32, #nm.tagged<b,f,z,x,y, fov = [1, 33, 33], strides = [1, 4, 4]>>, tensor<80x40x4x4x4xf32>, tensor<80xf32>) -> tensor<?x80x10x36x36xf32, #nm.tagged<b,f,z,x,y, fov = [5, 45, 45], strides = [2, 4, 4]>> loc("conv3")
  %conv4 = nm.conv %conv3, %conv4_w, %conv4_b : (tensor<?x80x10x36x36xf32, #nm.tagged<b,f,z,x,y, fov = [5, 45, 45], strides = [2, 4, 4]>>, tensor<100x80x3x4x4xf32>, tensor<100xf32>) -> tensor<?x100x8x33x33xf32, #nm.tagged<b,f,z,x,y, fov = [9, 57, 57], strides = [2, 4, 4]>> loc("conv4")
  %conv5 = nm.conv %conv4, %conv5_w, %conv5_b : (tensor<?x100x8x33x33xf32, #nm.tagged<b,f,z,x,y, fov = [9, 57, 57], strides = [2, 4, 4]>>, tensor<100x100x3x4x4xf32>, tensor<100xf32>) -> tensor<?x100x6x30x30xf32, #nm.tagged<b,f,z,x,y, fov = [13, 69, 69], strides = [2, 4, 4]>> loc("conv5")
  %conv6 = nm.conv %conv5, %conv6_w, %conv6_b : (tensor<?x100x6x30x30xf32, #nm.tagged<b,f,z,x,y, fov = [13, 69, 69], strides = [2, 4, 4]>>, tensor<150x100x2x4x4xf32>, tensor<150xf32>) -> tensor<?x150x5x27x27xf32, #nm.tagged<b,f,z,x,y, fov = [15, 81, 81], strides = [2, 4, 4]>> loc("conv6")
  %conv7 = nm.conv %conv6, %conv7_w, %conv7_b : (tensor<?x150x5x27x27xf32, #nm.tagged<b,f,z,x,y, fov = [15, 81, 81], strides = [2, 4, 4]>>, tensor<200x150x1x4x4xf32>, tensor<200xf32>) -> tensor<?x200x5x24x24xf32, #nm.tagged<b,f,z,x,y, fov = [15, 93, 93], strides = [2, 4, 4]>> loc("conv7")
  %conv8 = nm.conv %conv7, %conv8_w, %conv8_b : (tensor<?x200x5x24x24xf32, #nm.tagged<b,f,z,x,y, fov = [15, 93, 93], strides = [2, 4, 4]>>, tensor<200x200x1x4x4xf32>, tensor<200xf32>) -> tensor<?x200x5x21x21xf32, #nm.tagged<b,f,z,x,y, fov = [15, 105, 105], strides = [2, 4, 4]>> loc("conv8")
  %conv9 = nm.conv %conv8, %conv9_w, %conv9_b : (tensor<?x200x5x21x21xf32, #nm.tagged<b,f,z,x,y, fov = [15, 105, 105], strides = [2, 4, 4]>>, tensor<200x200x1x1x1xf32>, tensor<200xf32>) -> tensor<?x200x5x21x21xf32, #nm.tagged<b,f,z,x,y, fov = [15, 105, 105], strides = [2, 4, 4]>> loc("conv9")
  %conv10 = nm.conv %conv9, %conv10_w, %conv10_b {activation = #nm.activation<lin>} : (tensor<?x200x5x21x21xf32, #nm.tagged<b,f,z,x,y, fov = [15, 105, 105], strides = [2, 4, 4]>>, tensor<2x200x1x1x1xf32>, tensor<2xf32>) -> tensor<?x2x5x21x21xf32, #nm.tagged<b,f,z,x,y, fov = [15, 105, 105], strides = [2, 4, 4]>> loc("conv10")
  %softmax = nm.softmax %conv10 : (tensor<?x2x5x21x21xf32, #nm.tagged<b,f,z,x,y, fov = [15, 105, 105], strides = [2, 4, 4]>>) -> tensor<?x2x5x21x21xf32, #nm.tagged<b,f,z,x,y, fov = [15, 105, 105], strides = [2, 4, 4]>> loc("softmax")
  %nll = nm.multinoulli_nll %softmax, %target {target_is_sparse} : (tensor<?x2x5x21x21xf32, #nm.tagged<b,f,z,x,y, fov = [15, 105, 105], strides = [2, 4, 4]>>, tensor<?x1x5x21x21xi16, #nm.tagged<b,f,z,x,y, fov = [15, 105, 105], strides = [2, 4, 4]>>) -> tensor<?x1x5x21x21xf32, #nm.tagged<b,f,z,x,y, fov = [15, 105, 105], strides = [2, 4, 4]>> loc("nll")
  %loss = nm.aggregate_loss %nll : (tensor<?x1x5x21x21xf32, #nm.tagged<b,f,z,x,y, fov = [15, 105, 105], strides = [2, 4, 4]>>) -> tensor<1xf32, #nm.tagged<f>> loc("loss")
  return %loss, %softmax : tensor<1xf32, #nm.tagged<f>>, tensor<?x2x5x21x21xf32, #nm.tagged<b,f,z,x,y, fov = [15, 105, 105], strides = [2, 4, 4]>>
}
