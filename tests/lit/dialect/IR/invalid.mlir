// Every verifier rule, with core's messages.
// RUN: nm-opt %s -split-input-file -verify-diagnostics

!in = tensor<10x3x23x183x183xf32, #nm.tagged<b,f,z,x,y>>
func.func @conv_pool_rule(%x: !in, %w: tensor<32x3x1x6x6xf32>, %b: tensor<32xf32>) {
  // expected-error @+1 {{Cannot pool spatial axis 'x' of length 183 by factor 3 after convolving with kernel of size 6.}}
  %0 = nm.conv %x, %w, %b {pool = array<i64: 1, 3, 3>} : (!in, tensor<32x3x1x6x6xf32>, tensor<32xf32>) -> tensor<10x32x23x59x59xf32, #nm.tagged<b,f,z,x,y, fov = [1, 8, 8], strides = [1, 3, 3]>>
  return
}

// -----

!in = tensor<1x3x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
func.func @conv_mfp_rule(%x: !in, %w: tensor<4x3x1x3x3xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{Cannot pool spatial axis 'x' of length 10 by factor 2 after convolving with kernel of size 3 and using MFP.}}
  %0 = nm.conv %x, %w, %b {pool = array<i64: 1, 2, 2>, mfp} : (!in, tensor<4x3x1x3x3xf32>, tensor<4xf32>) -> tensor<4x4x5x4x4xf32, #nm.tagged<b,f,z,x,y>>
  return
}

// -----

!in = tensor<2x3x5x11x11xf32, #nm.tagged<b,f,z,x,y>>
func.func @conv_mfp_batch(%x: !in, %w: tensor<4x3x1x3x3xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{MFP needs the raw batch size to be 1}}
  %0 = nm.conv %x, %w, %b {pool = array<i64: 1, 2, 2>, mfp} : (!in, tensor<4x3x1x3x3xf32>, tensor<4xf32>) -> tensor<8x4x5x4x4xf32, #nm.tagged<b,f,z,x,y>>
  return
}

// -----

!in = tensor<1x3x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
func.func @conv_result_type(%x: !in, %w: tensor<4x3x1x3x3xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{result type 'tensor<1x4x5x8x8xf32, #nm.tagged<b,f,z,x,y>>' does not match the geometry rules, which give 'tensor<1x4x5x8x8xf32, #nm.tagged<b,f,z,x,y, fov = [1, 3, 3]>>'}}
  %0 = nm.conv %x, %w, %b : (!in, tensor<4x3x1x3x3xf32>, tensor<4xf32>) -> tensor<1x4x5x8x8xf32, #nm.tagged<b,f,z,x,y>>
  return
}

// -----

!in = tensor<1x3x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
func.func @conv_weight_nin(%x: !in, %w: tensor<4x2x1x3x3xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{weight [4, 2, 1, 3, 3] expects n_in = 2 input features but the input [(1,b), (3,f), (5,z), (10,x), (10,y)] has 3}}
  %0 = nm.conv %x, %w, %b : (!in, tensor<4x2x1x3x3xf32>, tensor<4xf32>) -> tensor<1x4x5x8x8xf32, #nm.tagged<b,f,z,x,y, fov = [1, 3, 3]>>
  return
}

// -----

!in = tensor<1x3x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
func.func @conv_weight_rank(%x: !in, %w: tensor<4x3x3x3xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{weight must have shape [n_f, n_in, *filter] with 3 filter sizes}}
  %0 = nm.conv %x, %w, %b : (!in, tensor<4x3x3x3xf32>, tensor<4xf32>) -> !in
  return
}

// -----

!in = tensor<1x3x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
func.func @conv_prelu_bias(%x: !in, %w: tensor<3x3x1x1x1xf32>, %b: tensor<3xf32>) {
  // expected-error @+1 {{bias must have shape [3, 2] for n_f = 3 and activation 'prelu', got [3]}}
  %0 = nm.conv %x, %w, %b {activation = #nm.activation<prelu>} : (!in, tensor<3x3x1x1x1xf32>, tensor<3xf32>) -> !in
  return
}

// -----

!in = tensor<1x3x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
func.func @conv_activation(%x: !in, %w: tensor<3x3x1x1x1xf32>, %b: tensor<3xf32>) {
  // expected-error @+1 {{unknown activation 'swish'}}
  %0 = nm.conv %x, %w, %b {activation = #nm.activation<swish>} : (!in, tensor<3x3x1x1x1xf32>, tensor<3xf32>) -> !in
  return
}

// -----

!in = tensor<1x3x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
func.func @conv_maxout(%x: !in, %w: tensor<3x3x1x1x1xf32>, %b: tensor<3xf32>) {
  // expected-error @+1 {{activation_func 'maxout 2' needs a number of features divisible by 2}}
  %0 = nm.conv %x, %w, %b {activation = #nm.activation<maxout 2>} : (!in, tensor<3x3x1x1x1xf32>, tensor<3xf32>) -> !in
  return
}

// -----

!in = tensor<1x3x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
func.func @maxout_factor(%x: !in, %w: tensor<3x3x1x1x1xf32>, %b: tensor<3xf32>) {
  // expected-error @+1 {{activation maxout: maxout factor 1 must be at least 2}}
  %0 = nm.conv %x, %w, %b {activation = #nm.activation<maxout 1>} : (!in, tensor<3x3x1x1x1xf32>, tensor<3xf32>) -> !in
  return
}

// -----

!in = tensor<1x3x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
func.func @conv_bn_mode(%x: !in, %w: tensor<3x3x1x1x1xf32>, %b: tensor<3xf32>, %g: tensor<3xf32>) {
  // expected-error @+2 {{expected ::nm::ir::BatchNormMode to be one of: train, fadeout, predict}}
  // expected-error @+1 {{failed to parse Nm_BatchNormModeAttr}}
  %0 = nm.conv %x, %w, %b bn(%g, %g, %g) {batch_normalisation = #nm<batch_norm always>} : (!in, tensor<3x3x1x1x1xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> !in
  return
}

// -----

!in = tensor<1x3x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
func.func @conv_bn_operands(%x: !in, %w: tensor<3x3x1x1x1xf32>, %b: tensor<3xf32>, %g: tensor<3xf32>) {
  // expected-error @+1 {{batch_normalisation 'train' needs 3 bn operands (gamma, mean, std), got 1}}
  %0 = nm.conv %x, %w, %b bn(%g) {batch_normalisation = #nm<batch_norm train>} : (!in, tensor<3x3x1x1x1xf32>, tensor<3xf32>, tensor<3xf32>) -> !in
  return
}

// -----

!in = tensor<1x3x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
func.func @conv_dropout(%x: !in, %w: tensor<3x3x1x1x1xf32>, %b: tensor<3xf32>) {
  // expected-error @+1 {{dropout_rate must be in [0, 1)}}
  %0 = nm.conv %x, %w, %b {dropout_rate = 1.5} : (!in, tensor<3x3x1x1x1xf32>, tensor<3xf32>) -> !in
  return
}

// -----

!in = tensor<1x3x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
func.func @conv_same_even(%x: !in, %w: tensor<3x3x1x2x2xf32>, %b: tensor<3xf32>) {
  // expected-error @+1 {{conv_mode 'same' needs odd filter sizes, but spatial axis 'x' has kernel size 2}}
  %0 = nm.conv %x, %w, %b {conv_mode = #nm<conv_mode same>} : (!in, tensor<3x3x1x2x2xf32>, tensor<3xf32>) -> !in
  return
}

// -----

!in = tensor<1x3x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
func.func @conv_mode(%x: !in, %w: tensor<3x3x1x1x1xf32>, %b: tensor<3xf32>) {
  // expected-error @+2 {{expected ::nm::ir::ConvMode to be one of: valid, same, full}}
  // expected-error @+1 {{failed to parse Nm_ConvModeAttr}}
  %0 = nm.conv %x, %w, %b {conv_mode = #nm<conv_mode causal>} : (!in, tensor<3x3x1x1x1xf32>, tensor<3xf32>) -> !in
  return
}

// -----

func.func @untagged_input(%x: tensor<1x3x5x10x10xf32>, %w: tensor<3x3x1x1x1xf32>, %b: tensor<3xf32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor with #nm.tagged encoding}}
  %0 = nm.conv %x, %w, %b : (tensor<1x3x5x10x10xf32>, tensor<3x3x1x1x1xf32>, tensor<3xf32>) -> tensor<1x3x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
  return
}

// -----

!in = tensor<1x3x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
func.func @pool_rule(%x: !in) {
  // expected-error @+1 {{Cannot downsample spatial axis 'x' of length 10 with pool size 3 and stride 3.}}
  %0 = nm.pool %x {pool = array<i64: 1, 3, 3>} : (!in) -> tensor<1x3x5x3x3xf32, #nm.tagged<b,f,z,x,y, fov = [1, 3, 3], strides = [1, 3, 3]>>
  return
}

// -----

!in = tensor<1x3x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
func.func @pool_arity(%x: !in) {
  // expected-error @+1 {{pool_shape (2, 2) has 2 entries but the input [(1,b), (3,f), (5,z), (10,x), (10,y)] has 3 spatial axes}}
  %0 = nm.pool %x {pool = array<i64: 2, 2>} : (!in) -> !in
  return
}

// -----

!in = tensor<1x3x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
func.func @pool_mode(%x: !in) {
  // expected-error @+2 {{expected ::nm::ir::PoolMode to be one of: max, average, average_inc_pad, average_exc_pad, sum}}
  // expected-error @+1 {{failed to parse Nm_PoolModeAttr}}
  %0 = nm.pool %x {pool = array<i64: 1, 1, 1>, mode = #nm<pool_mode min>} : (!in) -> !in
  return
}

// -----

!in = tensor<1x3x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
func.func @crop_rule(%x: !in) {
  // expected-error @+1 {{Cannot crop spatial axis 'z' of length 5 by 3 on both sides.}}
  %0 = nm.crop %x {crop = array<i64: 3, 0, 0>} : (!in) -> !in
  return
}

// -----

!in = tensor<1x3x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
func.func @pad_negative(%x: !in) {
  // expected-error @+1 {{must have entries >= 0}}
  %0 = nm.pad %x {pad = array<i64: -1, 0, 0>} : (!in) -> !in
  return
}

// -----

!a = tensor<1x3x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
!b = tensor<1x3x5x12x12xf32, #nm.tagged<b,f,z,x,y>>
func.func @concat_mismatch(%x: !a, %y: !b) {
  // expected-error @+1 {{Concat inputs differ on axis 'x'}}
  %0 = nm.concat %x, %y : (!a, !b) -> tensor<1x6x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
  return
}

// -----

!a = tensor<1x3x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
!b = tensor<1x3x5x12x12xf32, #nm.tagged<b,f,z,x,y>>
func.func @add_mismatch(%x: !a, %y: !b) {
  // expected-error @+1 {{Add needs equal shapes}}
  %0 = nm.add %x, %y : (!a, !b) -> !a
  return
}

// -----

!a = tensor<1x3x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
func.func @apply_unknown(%x: !a) {
  // expected-error @+1 {{Unknown elementwise function 'cube'}}
  %0 = nm.apply %x {func = "cube"} : (!a) -> !a
  return
}

// -----

!a = tensor<1x3x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
func.func @lrn_channel(%x: !a) {
  // expected-error @+1 {{LRN in 'channel' mode needs one odd window size}}
  %0 = nm.lrn %x {filter_shape = array<i64: 4>, mode = #nm<lrn_mode channel>} : (!a) -> !a
  return
}

// -----

!a = tensor<1x3x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
func.func @softmax_indep(%x: !a) {
  // expected-error @+1 {{Softmax: n_indep = 2 must divide the number of features}}
  %0 = nm.softmax %x {n_indep = 2} : (!a) -> !a
  return
}

// -----

!a = tensor<1x3x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
func.func @softmax_after_relu(%x: !a, %w: tensor<3x3x1x1x1xf32>, %b: tensor<3xf32>) {
  %0 = nm.conv %x, %w, %b : (!a, tensor<3x3x1x1x1xf32>, tensor<3xf32>) -> !a
  // expected-error @+1 {{input must come from a layer with activation 'lin', got 'relu'}}
  %1 = nm.softmax %0 : (!a) -> !a
  return
}

// -----

!a = tensor<1x3x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
!t = tensor<1x1x5x10x10xi16, #nm.tagged<b,f,z,x,y>>
!l = tensor<1x1x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
func.func @nll_needs_softmax(%x: !a, %t: !t) {
  // expected-error @+1 {{pred must be produced by nm.softmax (or an nm.slice of one)}}
  %0 = nm.multinoulli_nll %x, %t {target_is_sparse} : (!a, !t) -> !l
  return
}

// -----

!a = tensor<1x4x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
!t = tensor<1x1x5x10x10xi16, #nm.tagged<b,f,z,x,y>>
!l = tensor<1x1x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
func.func @nll_sparse_target(%x: !a, %t: !t) {
  %0 = nm.softmax %x {n_indep = 2} : (!a) -> !a
  // expected-error @+1 {{sparse target must have f = 2 (one label per independent softmax)}}
  %1 = nm.multinoulli_nll %0, %t {target_is_sparse} : (!a, !t) -> !l
  return
}

// -----

!a = tensor<1x4x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
!t = tensor<1x1x5x10x10xi16, #nm.tagged<b,f,z,x,y>>
!l = tensor<1x1x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
func.func @nll_class_weights(%x: !a, %t: !t) {
  %0 = nm.softmax %x : (!a) -> !a
  // expected-error @+1 {{class_weights has 2 entries but there are 4 classes}}
  %1 = nm.multinoulli_nll %0, %t {target_is_sparse, class_weights = array<f64: 1.0, 2.0>} : (!a, !t) -> !l
  return
}

// -----

!a = tensor<1x4x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
!t = tensor<1x4x5x8x8xf32, #nm.tagged<b,f,z,x,y>>
!l = tensor<1x1x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
func.func @squared_loss_target(%x: !a, %t: !t) {
  // expected-error @+1 {{target [(1,b), (4,f), (5,z), (8,x), (8,y)] does not match [(1,b), (4,f), (5,z), (10,x), (10,y)]}}
  %0 = nm.squared_loss %x, %t : (!a, !t) -> !l
  return
}

// -----

!l = tensor<1x1x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
func.func @aggregate_weights(%x: !l) {
  // expected-error @+1 {{mixing_weights has 1 entries for 2 losses}}
  %0 = nm.aggregate_loss %x, %x {mixing_weights = array<f64: 1.0>} : (!l, !l) -> tensor<1xf32, #nm.tagged<f>>
  return
}

// -----

!a = tensor<1x4x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
func.func @classification_element_type(%x: !a) {
  // expected-error @+1 {{'nm.classification' op result type 'tensor<1x1x5x10x10xf32, #nm.tagged<b,f,z,x,y>>' does not match the geometry rules, which give 'tensor<1x1x5x10x10xi64, #nm.tagged<b,f,z,x,y>>'}}
  %0 = nm.classification %x : (!a) -> tensor<1x1x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
  return
}

// -----

!c = tensor<1x1x5x10x10xi64, #nm.tagged<b,f,z,x,y>>
!t = tensor<1x1x5x8x8xi16, #nm.tagged<b,f,z,x,y>>
func.func @errors_target(%c: !c, %t: !t) {
  // expected-error @+1 {{sparse target [(1,b), (1,f), (5,z), (8,x), (8,y)] does not match}}
  %0 = nm.errors %c, %t {target_is_sparse} : (!c, !t) -> tensor<1xf32, #nm.tagged<f>>
  return
}

// -----

!c = tensor<1x1x5x10x10xi64, #nm.tagged<b,f,z,x,y>>
!t = tensor<1x4x5x8x8xf32, #nm.tagged<b,f,z,x,y>>
func.func @errors_dense_target(%c: !c, %t: !t) {
  // expected-error @+1 {{dense target [(1,b), (4,f), (5,z), (8,x), (8,y)] does not match [(1,b), (1,f), (5,z), (10,x), (10,y)] (except on axis 'f')}}
  %0 = nm.errors %c, %t : (!c, !t) -> tensor<1xf32, #nm.tagged<f>>
  return
}

// -----

!t = tensor<1x2x5x10x10xi16, #nm.tagged<b,f,z,x,y>>
func.func @onehot_target(%t: !t) {
  // expected-error @+1 {{OneHot target must have size 1 on axis 'f'}}
  %0 = nm.onehot %t {n_class = 3} : (!t) -> tensor<1x3x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
  return
}

// -----

!a = tensor<1x4x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
func.func @slice_range(%x: !a) {
  // expected-error @+1 {{slice [3, 5) is out of range for axis 'f'}}
  %0 = nm.slice %x {start = 3, size = 2} : (!a) -> tensor<1x2x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
  return
}

// -----

!a = tensor<1x4x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
func.func @slice_axis(%x: !a) {
  // expected-error @+1 {{slice axis 'r' is not an axis of}}
  %0 = nm.slice %x {axis = "r", start = 0, size = 1} : (!a) -> !a
  return
}

// -----

!a = tensor<1x4x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
func.func @reshape_size(%x: !a) {
  // expected-error @+1 {{Reshape must preserve the number of non-batch elements}}
  %0 = nm.reshape %x : (!a) -> tensor<1x100xf32, #nm.tagged<b,f>>
  return
}

// -----

!a = tensor<1x4x5x10x10xf32, #nm.tagged<b,f,z,x,y, strides = [1, 2, 2]>>
func.func @fragments_without_mfp(%x: !a) {
  // expected-error @+1 {{FragmentsToDense needs batch size == number of MFP fragments == product of strides}}
  %0 = nm.fragments_to_dense %x : (!a) -> !a
  return
}

// -----

!a = tensor<1x4x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
func.func @perceptron_weight(%x: !a, %w: tensor<5x8xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{weight must have shape [n_in, n_f] with n_in = 4}}
  %0 = nm.perceptron %x, %w, %b : (!a, tensor<5x8xf32>, tensor<8xf32>) -> tensor<1x8x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
  return
}

// -----

!a = tensor<1x4x5x10x10xf32, #nm.tagged<b,f,z,x,y, fov = [1, 5, 5], strides = [1, 2, 2]>>
func.func @upconv_weight(%x: !a, %w: tensor<3x5x1x2x2xf32>, %b: tensor<3xf32>) {
  // expected-error @+1 {{weight [3, 5, 1, 2, 2] expects n_in = 5 input features}}
  %0 = nm.upconv %x, %w, %b : (!a, tensor<3x5x1x2x2xf32>, tensor<3xf32>) -> !a
  return
}

// -----

func.func @value_shape(%p: tensor<1x3xf32>) {
  // expected-error @+1 {{result [(1,b), (4,f)] must have the shape of the value, [1, 3]}}
  %0 = nm.value %p : (tensor<1x3xf32>) -> tensor<1x4xf32, #nm.tagged<b,f>>
  return
}

// -----

func.func @value_element_type(%p: tensor<1x3xf32>) {
  // expected-error @+1 {{result type 'tensor<1x3xf64, #nm.tagged<b,f>>' does not match the geometry rules, which give 'tensor<1x3xf32, #nm.tagged<b,f>>'}}
  %0 = nm.value %p : (tensor<1x3xf32>) -> tensor<1x3xf64, #nm.tagged<b,f>>
  return
}

// -----

func.func @value_dynamic(%p: tensor<?x3xf32>) {
  // expected-error @+1 {{operand #0 must be statically shaped ranked tensor}}
  %0 = nm.value %p : (tensor<?x3xf32>) -> tensor<1x3xf32, #nm.tagged<b,f>>
  return
}

// -----

!a = tensor<1x4x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
func.func @initial_state_rank(%x: !a, %v: tensor<2x3xf32>) {
  // expected-error @+1 {{value must have shape [n_f], got [2, 3]}}
  %0 = nm.initial_state %x, %v : (!a, tensor<2x3xf32>) -> tensor<1x6x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
  return
}

// -----

!a = tensor<1x4x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
func.func @initial_state_f(%x: !a, %v: tensor<3xf32>) {
  // expected-error @+1 {{does not match the geometry rules, which give 'tensor<1x3x5x10x10xf32, #nm.tagged<b,f,z,x,y>>'}}
  %0 = nm.initial_state %x, %v : (!a, tensor<3xf32>) -> !a
  return
}

// -----

!a = tensor<1x5x10x10xf32, #nm.tagged<b,z,x,y>>
func.func @initial_state_no_f(%x: !a, %v: tensor<3xf32>) {
  // expected-error @+1 {{InitialState_like needs a parent with an 'f' axis, got [(1,b), (5,z), (10,x), (10,y)]}}
  %0 = nm.initial_state %x, %v : (!a, tensor<3xf32>) -> !a
  return
}

// -----

!a = tensor<1x4x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
!c = tensor<1x4x5x8x8xf32, #nm.tagged<b,f,z,x,y>>
func.func @beta_nll_concentration(%x: !a, %c: !c) {
  // expected-error @+1 {{concentration [(1,b), (4,f), (5,z), (8,x), (8,y)] does not match [(1,b), (4,f), (5,z), (10,x), (10,y)]}}
  %0 = nm.beta_nll %x, %c, %x : (!a, !c, !a) -> !a
  return
}

// -----

!a = tensor<1x4x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
func.func @beta_nll_result(%x: !a) {
  // expected-error @+1 {{does not match the geometry rules}}
  %0 = nm.beta_nll %x, %x, %x : (!a, !a, !a) -> tensor<1x1x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
  return
}

// -----

!a = tensor<1x4x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
!b = tensor<1x2x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
!l = tensor<1x1x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
func.func @ramp_loss_shapes(%x: !a, %y: !b) {
  // expected-error @+1 {{d_big [(1,b), (2,f), (5,z), (10,x), (10,y)] does not match [(1,b), (4,f), (5,z), (10,x), (10,y)]}}
  %0 = nm.ramp_loss %x, %y : (!a, !b) -> !l
  return
}

// -----

!a = tensor<1x5x10x10xf32, #nm.tagged<b,z,x,y>>
func.func @ramp_loss_no_f(%x: !a) {
  // expected-error @+1 {{RampLoss needs an 'f' axis}}
  %0 = nm.ramp_loss %x, %x : (!a, !a) -> !a
  return
}

// -----

// Argument and result attributes are declared on the dialect and checked.
// expected-error @+1 {{'nm.input' must be a string, got 3 : i64}}
func.func @input_not_a_string(%a: tensor<1x1x4xf32, #nm.tagged<b,f,x>> {nm.input = 3}) {
  return
}

// -----

// expected-error @+1 {{argument 0: 'nm.trainable' without 'nm.param'}}
func.func @trainable_without_param(%w: tensor<4xf32> {nm.trainable}) {
  return
}

// -----

// expected-error @+1 {{unknown nm argument attribute 'nm.imput'}}
func.func @misspelt(%a: tensor<4xf32> {nm.imput = "raw"}) {
  return
}

// -----

// expected-error @+1 {{'nm.dtype': Unknown dtype}}
func.func @bad_dtype(%a: tensor<4xi8> {nm.name = "raw", nm.dtype = "uint7"}) {
  return
}

// -----

// expected-error @+1 {{unknown nm result attribute 'nm.param'}}
func.func @param_result(%a: tensor<4xf32>) -> (tensor<4xf32> {nm.param = "w"}) {
  return %a : tensor<4xf32>
}

// -----

!a = tensor<1x2x5x10x10xf32, #nm.tagged<b,f,z,x,y>>
func.func @select_missing_channel(%x: !a) {
  // expected-error @+1 {{select_channels: channel 2 is out of range}}
  %0 = nm.select_channels %x [0, 2] : (!a) -> !a
  return
}

// -----

!a = tensor<1x2x5x10x10xi64, #nm.tagged<b,f,z,x,y>>
func.func @to_uint8_of_integers(%x: !a) {
  // expected-error @+1 {{to_uint8 needs a float input}}
  %0 = nm.to_uint8 %x : (!a) -> tensor<1x2x5x10x10xui8, #nm.tagged<b,f,z,x,y>>
  return
}
