//===- NmOps.td - nm operations ----------------------------*- tablegen -*-===//
//
// One op per ELEKTRONN2 node kind (docs/elektronn2-reference.md §1.3). Sources
// (Input, parameters) are function arguments. Result types are inferred by
// core's geometry rules; the TaggedShapeInferenceInterface verifier checks
// the declared result type against them before anything else.
//
//===----------------------------------------------------------------------===//
#ifndef NM_OPS_TD
#define NM_OPS_TD

include "dialect/IR/NmBase.td"
include "dialect/IR/NmAttrs.td"
include "dialect/IR/NmInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

/// Marks loss ops (the stats pass starts its totals at the loss).
def Nm_LossTrait : NativeOpTrait<"IsLoss"> { let cppNamespace = "::nm::ir"; }

/// A layer: pure, result type inferred by core's rules, with cost and
/// gradient interfaces. `costMethods` lists the CostInterface methods the op
/// overrides (default cost = parent size, no parameters).
class Nm_Op<string mnemonic, list<Trait> traits = [],
            list<string> costMethods = []>
    : Op<Nm_Dialect, mnemonic,
         [Pure, Nm_TaggedShapeInferenceInterface, InferTypeOpAdaptor,
          DeclareOpInterfaceMethods<Nm_CostInterface, costMethods>,
          DeclareOpInterfaceMethods<Nm_GradientInterface, ["buildGradients"]>] # traits> {
  let results = (outs Nm_TaggedTensor:$output);
  let extraClassDeclaration = [{
    /// The result's TaggedShape by core's rules (or their failure message).
    static ::nm::Expected<::nm::TaggedShape> inferTaggedShape(Adaptor adaptor);
    /// Element type of the result.
    static ::mlir::Type inferElementType(Adaptor adaptor);
  }];
}

/// The epilogue options of the weight layers.
defvar kActivationDoc = [{
  `activation`: a `#nm.activation<...>` (tanh, relu, prelu, elu, selu, abs,
  sig, softplus, lin, concentration, radius, or maxout r, which divides the
  number of output features by r); absent means relu, ELEKTRONN2's default.
  `batch_normalisation`: `#nm<batch_norm train|fadeout|predict>`; then the
  `bn` operands are gamma, mean, std, each of shape [n_f]. prelu takes a
  bias of shape [n_f, 2].
}];

//===----------------------------------------------------------------------===//
// Layers with parameters
//===----------------------------------------------------------------------===//

def Nm_ConvOp : Nm_Op<"conv", [],
    ["getComputationalCost", "getTrainableParams"]> {
  let summary = "convolution + max-pool (or MFP), BN, activation, dropout";
  let description = !strconcat([{
    ELEKTRONN2's Conv. The weight has shape [n_f, n_in, *filter], so n_f and
    the filter come from it. `pool` defaults to ones; `conv_mode` is valid,
    same or full. `mfp` pools into fragments stacked on the batch axis.
    `dilation` (set by --nm-densify) is the densified form: filter taps and
    the max-pool window `dilation` voxels apart, the pool sliding by one, so
    the output keeps the input's stride (valid convs without MFP only).
  }], kActivationDoc);
  let arguments = (ins Nm_TaggedTensor:$input, Nm_Param:$w, Nm_Param:$b,
                   Variadic<Nm_Param>:$bn,
                   OptionalAttr<DenseI64ArrayAttr>:$pool,
                   OptionalAttr<Nm_ActivationAttr>:$activation,
                   DefaultValuedAttr<Nm_ConvModeAttr, "::nm::ir::ConvMode::Valid">:$conv_mode,
                   UnitAttr:$mfp,
                   OptionalAttr<Nm_BatchNormModeAttr>:$batch_normalisation,
                   DefaultValuedAttr<F64Attr, "0.0">:$dropout_rate,
                   UnitAttr:$invalidate_fov,
                   OptionalAttr<DenseI64ArrayAttr>:$dilation);
  let assemblyFormat = [{
    $input `,` $w `,` $b (`bn` `(` $bn^ `)`)? attr-dict `:` functional-type(operands, results)
  }];
}

def Nm_UpConvOp : Nm_Op<"upconv", [],
    ["getComputationalCost", "getTrainableParams"]> {
  let summary = "transposed convolution with filter = stride = pool";
  let description = !strconcat([{
    ELEKTRONN2's UpConv. The weight has shape [n_f, n_in, *pool]; output
    spatial sizes are multiplied by pool, the fov becomes unknown (-1) and
    the strides are divided by pool.
  }], kActivationDoc);
  let arguments = (ins Nm_TaggedTensor:$input, Nm_Param:$w, Nm_Param:$b,
                   Variadic<Nm_Param>:$bn,
                   OptionalAttr<Nm_ActivationAttr>:$activation,
                   OptionalAttr<Nm_BatchNormModeAttr>:$batch_normalisation,
                   DefaultValuedAttr<F64Attr, "0.0">:$dropout_rate);
  let assemblyFormat = [{
    $input `,` $w `,` $b (`bn` `(` $bn^ `)`)? attr-dict `:` functional-type(operands, results)
  }];
}

def Nm_PerceptronOp : Nm_Op<"perceptron", [],
    ["getComputationalCost", "getTrainableParams"]> {
  let summary = "dense layer over 'f' (or over everything but 'b')";
  let description = !strconcat([{
    ELEKTRONN2's Perceptron (Dot). The weight has shape [n_in, n_f] with
    n_in = f, or stripbatch_prod of the input when `flatten` is set (the
    result is then tagged b,f).
  }], kActivationDoc);
  let arguments = (ins Nm_TaggedTensor:$input, Nm_Param:$w, Nm_Param:$b,
                   Variadic<Nm_Param>:$bn,
                   OptionalAttr<Nm_ActivationAttr>:$activation,
                   UnitAttr:$flatten,
                   OptionalAttr<Nm_BatchNormModeAttr>:$batch_normalisation,
                   DefaultValuedAttr<F64Attr, "0.0">:$dropout_rate);
  let assemblyFormat = [{
    $input `,` $w `,` $b (`bn` `(` $bn^ `)`)? attr-dict `:` functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// Values and learned states
//===----------------------------------------------------------------------===//

def Nm_ValueOp : Op<Nm_Dialect, "value",
    [Pure, Nm_TaggedShapeInferenceInterface,
     DeclareOpInterfaceMethods<Nm_CostInterface,
                               ["getComputationalCost", "getTrainableParams"]>,
     DeclareOpInterfaceMethods<Nm_GradientInterface, ["buildGradients"]>]> {
  let summary = "a parameter viewed as a tagged tensor (ELEKTRONN2's ValueNode)";
  let description = [{
    ELEKTRONN2's ValueNode: its value is a parameter (a function argument),
    which this op tags with the node's axes and geometry. The result type
    is given (as for nm.reshape); its shape and element type must be the
    parameter's. `apply_train` makes the value trainable, so that it counts
    as prod(shape) parameters. Cost 0.

    ```mlir
    %v = nm.value %p {apply_train}
        : (tensor<1x4xf32>) -> tensor<1x4xf32, #nm.tagged<b,f>>
    ```
  }];
  let arguments = (ins Nm_Param:$value, UnitAttr:$apply_train);
  let results = (outs Nm_TaggedTensor:$output);
  let assemblyFormat = "$value attr-dict `:` functional-type(operands, results)";
  let extraClassDeclaration = [{
    static ::nm::Expected<::nm::TaggedShape> inferTaggedShape(Adaptor adaptor);
    /// The declared result shape, checked against the parameter's shape.
    ::nm::Expected<::nm::TaggedShape> inferOutputShape();
    /// The parameter's element type.
    ::mlir::Type inferResultElementType();
  }];
}

def Nm_InitialStateOp : Nm_Op<"initial_state", [],
    ["getComputationalCost", "getTrainableParams"]> {
  let summary = "a learned vector broadcast over the parent's shape";
  let description = [{
    ELEKTRONN2's InitialState_like: `value` (shape [n]) is broadcast over
    the input's shape with f replaced by n; the geometry (fov, strides, MFP
    offsets) is the input's. The element type is the value's. Cost 0; the
    value is trainable.
  }];
  let arguments = (ins Nm_TaggedTensor:$input, Nm_Param:$value);
  let assemblyFormat = [{
    $input `,` $value attr-dict `:` functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// Geometry
//===----------------------------------------------------------------------===//

def Nm_PoolOp : Nm_Op<"pool"> {
  let summary = "pooling with pool size and stride (default: pool)";
  let description = [{
    ELEKTRONN2's Pool: out = (n - p) // stride + 1; `mode` is max, average,
    average_inc_pad, average_exc_pad or sum. Pooling by ones with stride
    one folds to its input. `dilation` (set by --nm-densify) spaces the
    window's taps: out = (n - (p - 1) * dilation - 1) // stride + 1.
  }];
  let arguments = (ins Nm_TaggedTensor:$input, DenseI64ArrayAttr:$pool,
                   OptionalAttr<DenseI64ArrayAttr>:$stride,
                   OptionalAttr<DenseI64ArrayAttr>:$dilation,
                   DefaultValuedAttr<Nm_PoolModeAttr, "::nm::ir::PoolMode::Max">:$mode);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Nm_CropOp : Nm_Op<"crop", [], ["getComputationalCost"]> {
  let summary = "crop `crop[k]` voxels from both sides of spatial axis k";
  let arguments = (ins Nm_TaggedTensor:$input, DenseI64ArrayAttr:$crop);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Nm_PadOp : Nm_Op<"pad", [], ["getComputationalCost"]> {
  let summary = "constant padding of `pad[k]` on both sides of spatial axis k";
  let arguments = (ins Nm_TaggedTensor:$input, DenseI64ArrayAttr:$pad,
                   DefaultValuedAttr<F64Attr, "0.0">:$value);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Nm_FragmentsToDenseOp : Nm_Op<"fragments_to_dense", [],
    ["getComputationalCost"]> {
  let summary = "interleave MFP fragments (batch axis) into a dense map";
  let arguments = (ins Nm_TaggedTensor:$input);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def Nm_SliceOp : Nm_Op<"slice", [], ["getComputationalCost"]> {
  let summary = "one piece of nm::split (ELEKTRONN2's FromTensor)";
  let description = [{
    Takes `size` entries from `start` along the axis tagged `axis`; with
    `strip_singleton_dims` a piece of length 1 drops the axis.
  }];
  let arguments = (ins Nm_TaggedTensor:$input,
                   DefaultValuedStrAttr<StrAttr, "f">:$axis,
                   I64Attr:$start, I64Attr:$size,
                   UnitAttr:$strip_singleton_dims);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def Nm_ReshapeOp : Op<Nm_Dialect, "reshape",
    [Pure, Nm_TaggedShapeInferenceInterface,
     DeclareOpInterfaceMethods<Nm_CostInterface, ["getComputationalCost"]>,
     DeclareOpInterfaceMethods<Nm_GradientInterface, ["buildGradients"]>]> {
  let summary = "reshape to a given tagged type (stripbatch_prod preserved)";
  let description = [{
    ELEKTRONN2's Reshape: the result type (shape, tags, geometry) is given;
    the product of all non-batch sizes must be preserved.
  }];
  let arguments = (ins Nm_TaggedTensor:$input);
  let results = (outs Nm_TaggedTensor:$output);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let extraClassDeclaration = [{
    static ::nm::Expected<::nm::TaggedShape> inferTaggedShape(Adaptor adaptor);
    /// The declared result shape (reshape infers nothing).
    ::nm::Expected<::nm::TaggedShape> inferOutputShape();
    /// The input's element type.
    ::mlir::Type inferResultElementType();
  }];
}

//===----------------------------------------------------------------------===//
// Merges and elementwise
//===----------------------------------------------------------------------===//

def Nm_ConcatOp : Nm_Op<"concat", [], ["getComputationalCost"]> {
  let summary = "concatenation along a tagged axis (default 'f')";
  let arguments = (ins Variadic<Nm_TaggedTensor>:$inputs,
                   DefaultValuedStrAttr<StrAttr, "f">:$axis);
  let assemblyFormat = "$inputs attr-dict `:` functional-type(operands, results)";
}

def Nm_AddOp : Nm_Op<"add", [], ["getComputationalCost"]> {
  let summary = "elementwise sum of two equally shaped tensors (cost 0)";
  let arguments = (ins Nm_TaggedTensor:$lhs, Nm_TaggedTensor:$rhs);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
}

def Nm_MultOp : Nm_Op<"mult"> {
  let summary = "elementwise product (ELEKTRONN2's MultMerge)";
  let arguments = (ins Nm_TaggedTensor:$lhs, Nm_TaggedTensor:$rhs);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
}

def Nm_ApplyOp : Nm_Op<"apply"> {
  let summary = "a named elementwise function (ELEKTRONN2's ApplyFunc)";
  let description = [{
    `func` is an activation name (see nm.conv) or one of exp, log, sqrt,
    square, neg.
  }];
  let arguments = (ins Nm_TaggedTensor:$input, StrAttr:$func);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def Nm_BiasActivationOp : Nm_Op<"bias_activation"> {
  let summary = "a weight layer's bias and activation, split off the layer";
  let description = [{
    x + b per feature ('f'), then `activation`: what --nm-decompose-layers
    leaves of a Conv, UpConv or Perceptron whose activation reads the bias
    tensor (prelu: b is [n_f, 2], column 1 the slope) or changes 'f'
    (maxout r: f -> f / r), so that a pool between the layer and its
    activation keeps ELEKTRONN2's order. Lowers to the layers' epilogue.
  }];
  let arguments = (ins Nm_TaggedTensor:$input, Nm_Param:$b,
                   Nm_ActivationAttr:$activation);
  let assemblyFormat = "$input `,` $b attr-dict `:` functional-type(operands, results)";
}

def Nm_LRNOp : Nm_Op<"lrn"> {
  let summary = "local response normalisation";
  let arguments = (ins Nm_TaggedTensor:$input, DenseI64ArrayAttr:$filter_shape,
                   DefaultValuedAttr<Nm_LRNModeAttr, "::nm::ir::LRNMode::Spatial">:$mode,
                   DefaultValuedAttr<F64Attr, "0.0001">:$alpha,
                   DefaultValuedAttr<F64Attr, "1.0">:$k,
                   DefaultValuedAttr<F64Attr, "0.75">:$beta);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

//===----------------------------------------------------------------------===//
// Outputs, losses, evaluation
//===----------------------------------------------------------------------===//

def Nm_SoftmaxOp : Nm_Op<"softmax"> {
  let summary = "softmax over 'f' in n_indep independent blocks";
  let description = [{
    The 'f' size must be a multiple of `n_indep`. As in ELEKTRONN2, an input
    produced by a layer with an activation must use a linear one.
  }];
  let arguments = (ins Nm_TaggedTensor:$input,
                   DefaultValuedAttr<I64Attr, "1">:$n_indep);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Nm_OneHotOp : Nm_Op<"onehot"> {
  let summary = "one-hot encoding of integer labels (f32 result)";
  let arguments = (ins Nm_TaggedTensor:$target, I64Attr:$n_class,
                   DefaultValuedStrAttr<StrAttr, "f">:$axis);
  let assemblyFormat = "$target attr-dict `:` functional-type(operands, results)";
}

def Nm_MultinoulliNLLOp : Nm_Op<"multinoulli_nll",
    [Nm_LossTrait, AttrSizedOperandSegments]> {
  let summary = "categorical negative log-likelihood of a softmax";
  let description = [{
    `pred` comes from nm.softmax (or a slice of one). A sparse target has
    f = 1 and holds labels; a dense one has pred's shape. `class_weights`
    has one entry per class. Result: pred's shape with f = 1.
    `blocking_factor` marks ELEKTRONN2's BlockedMultinoulliNLL; as there,
    it does not change the result (the blocking is a no-op).
    Optional, as ELEKTRONN2's (reference §6.9): `example_weights` (pred's
    shape with f = 1, or without 'f') multiply each voxel's terms;
    `mask_class_labeled` [b, f] multiplies the one-hot target;
    `mask_class_not_present` [b, f] adds -m log(1 - p + 1e-5) terms and
    counts in the normaliser; `weakness` w mixes the target with the
    prediction, T <- (1 - w) T + w p.
  }];
  let arguments = (ins Nm_TaggedTensor:$pred, Nm_TaggedTensor:$target,
                   Optional<Nm_TaggedTensor>:$example_weights,
                   Optional<Nm_TaggedTensor>:$mask_class_labeled,
                   Optional<Nm_TaggedTensor>:$mask_class_not_present,
                   UnitAttr:$target_is_sparse,
                   OptionalAttr<DenseF64ArrayAttr>:$class_weights,
                   OptionalAttr<F64Attr>:$blocking_factor,
                   DefaultValuedAttr<F64Attr, "0.0">:$weakness);
  let assemblyFormat = [{
    $pred `,` $target (`example_weights` `(` $example_weights^ `)`)?
    (`mask_class_labeled` `(` $mask_class_labeled^ `)`)?
    (`mask_class_not_present` `(` $mask_class_not_present^ `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Nm_BinaryNLLOp : Nm_Op<"binary_nll", [Nm_LossTrait]> {
  let summary = "elementwise binary cross-entropy; result has pred's shape";
  let arguments = (ins Nm_TaggedTensor:$pred, Nm_TaggedTensor:$target,
                   UnitAttr:$subtract_label_entropy);
  let assemblyFormat = "$pred `,` $target attr-dict `:` functional-type(operands, results)";
}

def Nm_SquaredLossOp : Nm_Op<"squared_loss", [Nm_LossTrait]> {
  let summary = "0.5 (t - p)^2, mean over f (f -> 1)";
  let arguments = (ins Nm_TaggedTensor:$pred, Nm_TaggedTensor:$target,
                   OptionalAttr<F64Attr>:$margin,
                   OptionalAttr<F64Attr>:$scale_correction);
  let assemblyFormat = "$pred `,` $target attr-dict `:` functional-type(operands, results)";
}

def Nm_AbsLossOp : Nm_Op<"abs_loss", [Nm_LossTrait]> {
  let summary = "|t - p|, mean over f (f -> 1)";
  let arguments = (ins Nm_TaggedTensor:$pred, Nm_TaggedTensor:$target,
                   OptionalAttr<F64Attr>:$margin,
                   OptionalAttr<F64Attr>:$scale_correction);
  let assemblyFormat = "$pred `,` $target attr-dict `:` functional-type(operands, results)";
}

def Nm_GaussianNLLOp : Nm_Op<"gaussian_nll", [Nm_LossTrait]> {
  let summary = "elementwise Gaussian NLL; result has mu's shape";
  let arguments = (ins Nm_TaggedTensor:$mu, Nm_TaggedTensor:$sig,
                   Nm_TaggedTensor:$target, UnitAttr:$sig_is_log);
  let assemblyFormat = "$mu `,` $sig `,` $target attr-dict `:` functional-type(operands, results)";
}

def Nm_BetaNLLOp : Nm_Op<"beta_nll", [Nm_LossTrait]> {
  let summary = "elementwise Beta NLL; result has mode's shape";
  let description = [{
    ELEKTRONN2's BetaNLL: -log Beta(target; mode, concentration) +
    softplus(-concentration), elementwise. `concentration` and `target`
    have mode's shape. Cost: the size of mode.
  }];
  let arguments = (ins Nm_TaggedTensor:$mode, Nm_TaggedTensor:$concentration,
                   Nm_TaggedTensor:$target);
  let assemblyFormat = [{
    $mode `,` $concentration `,` $target attr-dict `:` functional-type(operands, results)
  }];
}

def Nm_RampLossOp : Nm_Op<"ramp_loss", [Nm_LossTrait]> {
  let summary = "mean over f of max(0, d_low - d_big + margin) (f -> 1)";
  let description = [{
    ELEKTRONN2's RampLoss. `d_big` has d_low's shape. Cost: the size of
    d_low.
  }];
  let arguments = (ins Nm_TaggedTensor:$d_low, Nm_TaggedTensor:$d_big,
                   DefaultValuedAttr<F64Attr, "0.0">:$margin);
  let assemblyFormat = "$d_low `,` $d_big attr-dict `:` functional-type(operands, results)";
}

def Nm_EuclideanDistanceOp : Nm_Op<"euclidean_distance", [Nm_LossTrait]> {
  let summary = "L2 norm over f (f -> 1)";
  let arguments = (ins Nm_TaggedTensor:$pred, Nm_TaggedTensor:$target);
  let assemblyFormat = "$pred `,` $target attr-dict `:` functional-type(operands, results)";
}

def Nm_AggregateLossOp : Nm_Op<"aggregate_loss", [Nm_LossTrait],
    ["getComputationalCost"]> {
  let summary = "mean over components of mean(loss_k) * w_k; result [(1,f)]";
  let arguments = (ins Variadic<Nm_TaggedTensor>:$losses,
                   OptionalAttr<DenseF64ArrayAttr>:$mixing_weights);
  let assemblyFormat = "$losses attr-dict `:` functional-type(operands, results)";
}

def Nm_ClassificationOp : Nm_Op<"classification"> {
  let summary = "argmax per block of classes (i64 result, f -> n_indep)";
  let arguments = (ins Nm_TaggedTensor:$pred,
                   DefaultValuedAttr<I64Attr, "1">:$n_indep);
  let assemblyFormat = "$pred attr-dict `:` functional-type(operands, results)";
}

def Nm_ErrorsOp : Nm_Op<"errors"> {
  let summary = "fraction of wrong classifications; result [(1,f)]";
  let description = [{
    `cls` is an nm.classification result; `target` holds labels (f =
    n_indep when `target_is_sparse`, else one-hot with cls's batch and
    spatial sizes). Cost: the size of cls.
  }];
  let arguments = (ins Nm_TaggedTensor:$cls, Nm_TaggedTensor:$target,
                   UnitAttr:$target_is_sparse);
  let assemblyFormat = "$cls `,` $target attr-dict `:` functional-type(operands, results)";
}

//===----------------------------------------------------------------------===//
// Output epilogue of prediction (neuromancer predict --classes/--as-uint8)
//===----------------------------------------------------------------------===//

def Nm_SelectChannelsOp : Nm_Op<"select_channels", [], ["getComputationalCost"]> {
  let summary = "the listed 'f' channels, in the listed order";
  let description = [{
    `channels` are 0-based indices into the 'f' axis, in any order (a
    channel may repeat); the result's 'f' size is their count. The class
    selection of `neuromancer predict --classes`; on a softmax the
    conversion computes only the selected probabilities.
  }];
  let arguments = (ins Nm_TaggedTensor:$input, DenseI64ArrayAttr:$channels);
  let assemblyFormat = "$input $channels attr-dict `:` functional-type(operands, results)";
}

def Nm_ToUint8Op : Nm_Op<"to_uint8"> {
  let summary = "probabilities as uint8: trunc(x * 255), clamped to [0, 255]";
  let description = [{
    ELEKTRONN2's `as_uint8` (numpy's `(p * 255).astype(np.uint8)`) for a
    float input in [0, 1]; outside it the value is clamped (NaN gives 0),
    where numpy's cast is undefined. The result's element type is ui8. On a
    softmax (or nm.select_channels of one) the conversion fuses softmax,
    selection and quantisation into one loop nest over the uint8 output.
  }];
  let arguments = (ins Nm_TaggedTensor:$input);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

include "dialect/IR/NmGradientOps.td"

#endif // NM_OPS_TD
