//===- NmGradientOps.td - backward ops and optimiser updates -*- tablegen -*-===//
//
// What --nm-autodiff builds (dialect/Transforms/Autodiff.cpp) through each
// op's GradientInterface: the backward ops, whose result type is given (the
// type of the forward value or parameter they are the gradient of, so
// gradients keep their axis tags), and --nm-optimizer-step's parameter
// updates. Included by NmOps.td.
//
//===----------------------------------------------------------------------===//
#ifndef NM_GRADIENT_OPS_TD
#define NM_GRADIENT_OPS_TD

/// A backward op: pure, the result type given.
class Nm_GradOp<string mnemonic, list<Trait> traits = []>
    : Op<Nm_Dialect, mnemonic, [Pure] # traits> {
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Nm_FillOp : Nm_GradOp<"fill"> {
  let summary = "a tensor of the given type filled with `value`";
  let description = [{
    The seed of the backward pass: d mean(loss) / d loss = 1 / size.
  }];
  let arguments = (ins F64Attr:$value);
  let assemblyFormat = "attr-dict `:` type($output)";
}

def Nm_AccumulateOp : Nm_GradOp<"accumulate", [SameOperandsAndResultType]> {
  let summary = "sum of two gradients of one value";
  let arguments = (ins AnyRankedTensor:$lhs, AnyRankedTensor:$rhs);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($output)";
}

def Nm_RetagOp : Nm_GradOp<"retag"> {
  let summary = "the same elements under another encoding";
  let description = [{
    A gradient handed from a value to an operand whose type differs only in
    its #nm.tagged encoding (a parameter viewed by nm.value, the operands of
    nm.add). Lowers to nothing.
  }];
  let arguments = (ins AnyRankedTensor:$input);
  let hasVerifier = 1;
}

def Nm_BroadcastGradOp : Nm_GradOp<"broadcast_grad"> {
  let summary = "the one element of `grad` times `scale`, everywhere";
  let description = [{
    The gradient of a mean: every element of a loss component that
    nm.aggregate_loss averages gets d(total) * weight / (n_components * size).
  }];
  let arguments = (ins AnyRankedTensor:$grad, F64Attr:$scale);
  let hasVerifier = 1;
}

def Nm_DropoutOp : Op<Nm_Dialect, "dropout",
    [Pure,
     DeclareOpInterfaceMethods<Nm_GradientInterface, ["buildGradients"]>]> {
  let summary = "inverted dropout with a counter-based mask (training only)";
  let description = [{
    ELEKTRONN2's dropout of a layer's output during training: each element
    (each (b, f) pair with `per_feature`, the Perceptron's form) is kept
    with probability 1 - `rate` and scaled by 1 / (1 - rate). The mask is a
    hash of the step's `seed` (a runtime argument) and the element's index,
    so it depends on nothing else (not on threads or tiling), and the
    gradient is the same op applied to the output gradient.
    --nm-decompose-layers creates it from a layer's `dropout_rate`.
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$seed,
                   F64Attr:$rate, UnitAttr:$per_feature);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = [{
    $input `,` $seed attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Weight layers
//===----------------------------------------------------------------------===//

def Nm_ConvGradInputOp : Nm_GradOp<"conv_grad_input"> {
  let summary = "gradient of a convolution's input (a full correlation "
                "with the flipped, transposed filter)";
  let description = [{
    `dy` has the conv's output type (without pooling or activation:
    --nm-decompose-layers splits those off), `w` is [n_f, n_in, *filter];
    the result has the conv input's type. `conv_mode` is the forward's.
  }];
  let arguments = (ins AnyRankedTensor:$dy, AnyRankedTensor:$w,
                   DefaultValuedAttr<Nm_ConvModeAttr, "::nm::ir::ConvMode::Valid">:$conv_mode);
}

def Nm_ConvGradWeightOp : Nm_GradOp<"conv_grad_weight"> {
  let summary = "gradient of a convolution's filter: the correlation of "
                "the input with the output gradient, summed over the batch";
  let arguments = (ins AnyRankedTensor:$x, AnyRankedTensor:$dy,
                   DefaultValuedAttr<Nm_ConvModeAttr, "::nm::ir::ConvMode::Valid">:$conv_mode);
}

def Nm_BiasGradOp : Nm_GradOp<"bias_grad"> {
  let summary = "sum over every axis but 'f' (the gradient of a bias)";
  let arguments = (ins AnyRankedTensor:$dy);
}

def Nm_DenseGradInputOp : Nm_GradOp<"dense_grad_input"> {
  let summary = "gradient of a Perceptron's input: dy · wᵀ";
  let description = [{
    Over 'f', or over everything but 'b' when `flatten` is set (as in
    nm.perceptron); the result has the Perceptron input's type.
  }];
  let arguments = (ins AnyRankedTensor:$dy, AnyRankedTensor:$w,
                   UnitAttr:$flatten);
}

def Nm_DenseGradWeightOp : Nm_GradOp<"dense_grad_weight"> {
  let summary = "gradient of a Perceptron's weight: xᵀ · dy";
  let arguments = (ins AnyRankedTensor:$x, AnyRankedTensor:$dy,
                   UnitAttr:$flatten);
}

def Nm_UpConvGradInputOp : Nm_GradOp<"upconv_grad_input"> {
  let summary = "gradient of a transposed convolution's input";
  let description = [{
    `dy` has the (linear: --nm-decompose-layers splits the activation off)
    upconv's output type, `w` is [n_f, n_in, *pool]; the result has the
    upconv input's type: dx[n, s, c] = sum_{t, f} dy[n, s*p + t, f]
    w[f, c, t] (each output voxel came from exactly one input voxel).
  }];
  let arguments = (ins AnyRankedTensor:$dy, AnyRankedTensor:$w);
  let hasVerifier = 1;
}

def Nm_UpConvGradWeightOp : Nm_GradOp<"upconv_grad_weight"> {
  let summary = "gradient of a transposed convolution's filter";
  let description = [{
    dw[f, c, t] = sum_{n, s} x[n, s, c] dy[n, s*p + t, f]; `x` is the
    upconv's input, the result has the weight's type [n_f, n_in, *pool].
  }];
  let arguments = (ins AnyRankedTensor:$x, AnyRankedTensor:$dy);
  let hasVerifier = 1;
}

def Nm_BiasActivationGradOp : Nm_GradOp<"bias_activation_grad"> {
  let summary = "gradient of nm.bias_activation's input, or of its bias";
  let description = [{
    `x`, `b` and `activation` are the forward's, `dy` its result's
    gradient. Without `wrt_bias` the result is the input's gradient (x's
    type); with it the bias's (b's type: for prelu [n_f, 2], the bias's
    column, then the slope's). maxout hands each group's gradient to every
    member equal to the group's maximum (theano's max gradient).
  }];
  let arguments = (ins AnyRankedTensor:$x, AnyRankedTensor:$b,
                   AnyRankedTensor:$dy, Nm_ActivationAttr:$activation,
                   UnitAttr:$wrt_bias);
  let hasVerifier = 1;
}

def Nm_LRNGradOp : Nm_GradOp<"lrn_grad"> {
  let summary = "gradient of local response normalisation";
  let description = [{
    `x` is nm.lrn's input, `dy` its result's gradient; the attributes are
    the forward's. With y = x D^-beta, D = k + alpha S / n and S the
    window's sum of squares: dx = dy D^-beta - 2 alpha beta / n x
    S*(dy x D^(-beta-1)), where S* sums over the windows that contain each
    voxel (the adjoint of the window sum).
  }];
  let arguments = (ins AnyRankedTensor:$x, AnyRankedTensor:$dy,
                   DenseI64ArrayAttr:$filter_shape,
                   Nm_LRNModeAttr:$mode, F64Attr:$alpha, F64Attr:$k,
                   F64Attr:$beta);
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Pooling, elementwise functions, data movement
//===----------------------------------------------------------------------===//

def Nm_PoolGradOp : Nm_GradOp<"pool_grad"> {
  let summary = "gradient of pooling";
  let description = [{
    `x` is the pool's input, `y` its output, `dy` the output gradient.
    Max: each window's gradient goes to every input equal to the window's
    maximum (theano's max-pool gradient); the average modes: spread evenly;
    sum: copied to every input of the window. `pool`,
    `stride`, `mode` are the forward's.
  }];
  let arguments = (ins AnyRankedTensor:$x, AnyRankedTensor:$y,
                   AnyRankedTensor:$dy, DenseI64ArrayAttr:$pool,
                   OptionalAttr<DenseI64ArrayAttr>:$stride,
                   DefaultValuedAttr<Nm_PoolModeAttr, "::nm::ir::PoolMode::Max">:$mode);
}

def Nm_ApplyGradOp : Nm_GradOp<"apply_grad"> {
  let summary = "dy times the derivative of the named function at x";
  let description = [{
    `func` is an activation or ApplyFunc name (as nm.apply); `x` is the
    function's input.
  }];
  let arguments = (ins AnyRankedTensor:$x, AnyRankedTensor:$dy,
                   StrAttr:$func);
}

def Nm_CropGradOp : Nm_GradOp<"crop_grad"> {
  let summary = "gradient of nm.crop: dy zero-padded by `crop`";
  let arguments = (ins AnyRankedTensor:$dy, DenseI64ArrayAttr:$crop);
}

def Nm_PadGradOp : Nm_GradOp<"pad_grad"> {
  let summary = "gradient of nm.pad: the centre of dy, `pad` cut off";
  let arguments = (ins AnyRankedTensor:$dy, DenseI64ArrayAttr:$pad);
}

def Nm_SliceGradOp : Nm_GradOp<"slice_grad"> {
  let summary = "the part of dy along `axis` from `start` (the gradient "
                "of one input of nm.concat)";
  let arguments = (ins AnyRankedTensor:$dy,
                   DefaultValuedStrAttr<StrAttr, "f">:$axis, I64Attr:$start);
}

def Nm_EmbedGradOp : Nm_GradOp<"embed_grad"> {
  let summary = "gradient of nm.slice: dy placed at `start` along `axis` of "
                "zeros of the slice input's type";
  let description = [{
    With `strip_singleton_dims` (the slice dropped its length-1 axis) the
    axis is inserted again first. The pieces of one nm::split add up
    (nm.accumulate) to the input's whole gradient.
  }];
  let arguments = (ins AnyRankedTensor:$dy,
                   DefaultValuedStrAttr<StrAttr, "f">:$axis, I64Attr:$start,
                   UnitAttr:$strip_singleton_dims);
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Softmax and losses
//===----------------------------------------------------------------------===//

def Nm_SoftmaxGradOp : Nm_GradOp<"softmax_grad"> {
  let summary = "gradient of softmax: y (dy - sum_f(dy y)) per block";
  let arguments = (ins AnyRankedTensor:$y, AnyRankedTensor:$dy,
                   DefaultValuedAttr<I64Attr, "1">:$n_indep);
}

def Nm_MultinoulliNLLGradOp : Nm_GradOp<"multinoulli_nll_grad",
    [AttrSizedOperandSegments]> {
  let summary = "gradient of nm.multinoulli_nll";
  let description = [{
    `pred` and `target`, the optional weights and masks and the attributes
    are the forward's, `dl` the gradient of its result. With
    `through_softmax` the result is the gradient of the softmax's *input*
    (pred = softmax(z)), computed as g p - p sum(g p) with every g p
    bounded, so no 1 / p appears. `n_class` is the softmax's block size.
    With `weakness` the target, and so the normaliser, depends on pred:
    its gradient includes that term.
  }];
  let arguments = (ins AnyRankedTensor:$pred, AnyRankedTensor:$target,
                   AnyRankedTensor:$dl,
                   Optional<AnyRankedTensor>:$example_weights,
                   Optional<AnyRankedTensor>:$mask_class_labeled,
                   Optional<AnyRankedTensor>:$mask_class_not_present,
                   UnitAttr:$target_is_sparse,
                   OptionalAttr<DenseF64ArrayAttr>:$class_weights,
                   I64Attr:$n_class, UnitAttr:$through_softmax,
                   DefaultValuedAttr<F64Attr, "0.0">:$weakness);
  let assemblyFormat = [{
    $pred `,` $target `,` $dl (`example_weights` `(` $example_weights^ `)`)?
    (`mask_class_labeled` `(` $mask_class_labeled^ `)`)?
    (`mask_class_not_present` `(` $mask_class_not_present^ `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
}

def Nm_LossGradOp : Nm_GradOp<"loss_grad"> {
  let summary = "gradient of an elementwise loss with respect to `pred`";
  let description = [{
    `loss` names the forward op (squared_loss, abs_loss, binary_nll);
    `pred`, `target`, `dl` and the options are the forward's.
  }];
  let arguments = (ins AnyRankedTensor:$pred, AnyRankedTensor:$target,
                   AnyRankedTensor:$dl, StrAttr:$loss,
                   OptionalAttr<F64Attr>:$margin,
                   OptionalAttr<F64Attr>:$scale_correction,
                   UnitAttr:$subtract_label_entropy);
}

def Nm_LossOperandGradOp : Nm_GradOp<"loss_operand_grad"> {
  let summary = "gradient of a loss with several differentiable operands";
  let description = [{
    `loss` names the forward op (gaussian_nll, beta_nll, ramp_loss,
    euclidean_distance), `inputs` are its operands in order, `dl` its
    result's gradient; the result is the gradient of operand `operand` and
    has its type. `sig_is_log` and `margin` are the forward's options.
  }];
  let arguments = (ins Variadic<AnyRankedTensor>:$inputs, AnyRankedTensor:$dl,
                   StrAttr:$loss, I64Attr:$operand, UnitAttr:$sig_is_log,
                   DefaultValuedAttr<F64Attr, "0.0">:$margin);
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// Operands of the forward loss `loss` (0: not one this op knows).
    static unsigned operandCount(::llvm::StringRef loss);
  }];
}

//===----------------------------------------------------------------------===//
// Batch normalisation in training
//===----------------------------------------------------------------------===//

def Nm_BatchNormOp : Op<Nm_Dialect, "batch_norm",
    [Pure,
     DeclareOpInterfaceMethods<Nm_GradientInterface, ["buildGradients"]>]> {
  let summary = "batch normalisation with the batch's statistics (training)";
  let description = [{
    ELEKTRONN2's 'train' and 'fadeout' batch normalisation of a layer's
    linear output `y`: gamma (y - mean) / s + b per feature, mean and s over
    every axis but 'f', s = sqrt(var) + 1e-6. --nm-decompose-layers creates
    it (and the running-average updates, nm.batch_norm_running) from a
    layer's `batch_normalisation`.
  }];
  let arguments = (ins AnyRankedTensor:$y, AnyRankedTensor:$gamma,
                   AnyRankedTensor:$b);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

def Nm_BatchNormGradOp : Nm_GradOp<"batch_norm_grad"> {
  let summary = "gradient of nm.batch_norm with respect to y";
  let description = [{
    (1/s) (g - mean(g) - x̂ (s / sqrt(var)) mean(g x̂)) with g = gamma · dout
    and x̂ = (y - mean) / s: the exact derivative of ELEKTRONN2's formula
    (the 1e-6 outside the square root).
  }];
  let arguments = (ins AnyRankedTensor:$y, AnyRankedTensor:$gamma,
                   AnyRankedTensor:$dout);
}

def Nm_BatchNormGammaGradOp : Nm_GradOp<"batch_norm_gamma_grad"> {
  let summary = "gradient of nm.batch_norm with respect to gamma: Σ dout x̂";
  let arguments = (ins AnyRankedTensor:$y, AnyRankedTensor:$dout);
}

def Nm_BatchNormRunningOp : Nm_GradOp<"batch_norm_running"> {
  let summary = "a running batch-norm statistic after one step";
  let description = [{
    0.9995 · `stat` + 0.0005 · the batch's mean of `y` (its s with `std`),
    ELEKTRONN2's extra update of the mean and std parameters.
  }];
  let arguments = (ins AnyRankedTensor:$y, AnyRankedTensor:$stat, UnitAttr:$std);
}

//===----------------------------------------------------------------------===//
// Optimisers
//===----------------------------------------------------------------------===//

def Nm_OptimizerUpdateOp : Op<Nm_Dialect, "optimizer_update",
    [Pure]> {
  let summary = "one parameter's update by ELEKTRONN2's optimiser rules";
  let description = [{
    `optimiser` is SGD, AdaGrad, AdaDelta or Adam (reference §6.6); `state`
    holds the optimiser's accumulators of this parameter (SGD: the momentum
    d; AdaGrad: h; AdaDelta: s, d; Adam: m, s), `hyper` the runtime
    hyper-parameters [lr, mom, wd, beta2, t, adagrad_first, 0, 0] (t is the
    step number counted from 1; adagrad_first is 1 on AdaGrad's first step,
    whose init pass adds g² once more). `decay` multiplies wd for this
    parameter (0: no weight decay; 3 for a BN gamma; AdaGrad uses no
    multiplier). Results: the new parameter, then the new state.
  }];
  let arguments = (ins AnyRankedTensor:$param, AnyRankedTensor:$grad,
                   Variadic<AnyRankedTensor>:$state, AnyRankedTensor:$hyper,
                   StrAttr:$optimiser, DefaultValuedAttr<F64Attr, "0.0">:$decay);
  let results = (outs AnyRankedTensor:$new_param,
                 Variadic<AnyRankedTensor>:$new_state);
  let assemblyFormat = [{
    $param `,` $grad `,` `state` `(` $state `)` `,` $hyper attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// Accumulators per parameter of `optimiser` (-1: unknown name).
    static int64_t stateCount(::llvm::StringRef optimiser);
    /// Entries of the `hyper` vector.
    static constexpr int64_t kHyperSize = 8;
  }];
}

#endif // NM_GRADIENT_OPS_TD
