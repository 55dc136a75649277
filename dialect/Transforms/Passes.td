//===- Passes.td - nm passes -------------------------------*- tablegen -*-===//
#ifndef NM_TRANSFORMS_PASSES_TD
#define NM_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def NmPrintStats : Pass<"nm-print-stats", "::mlir::ModuleOp"> {
  let summary = "Print per-op parameters and cost, and the model totals";
  let description = [{
    For every func.func, prints one line per nm op (ELEKTRONN2's node repr:
    `<Conv-Node> 'conv'` then `#Params=... Comp.Cost=..., Out:[...]`), then
    the totals block of ELEKTRONN2's Model.designate_nodes:

      Prediction properties:
      [(10,b), (5,f), (8,z), (40,x), (40,y)]
      fov=[9, 27, 27], offsets=[4, 13, 13], strides=[2 4 4], spatial shape=[8, 40, 40]
      Total Computational Cost of Model: 442.5 Giga Ops
      Total number of trainable parameters: 307,109.
      Computational Cost per pixel: 34.6 Mega Ops

    Which ops are counted: the *loss* is the loss op (nm.multinoulli_nll,
    nm.aggregate_loss, ...) whose result feeds no other loss op (the last
    such op when there are several). The totals are over the loss and all
    nm ops it transitively depends on (ELEKTRONN2's all_parents), so ops
    that only feed nm.errors/nm.classification are excluded. Without a loss
    op, the totals are over the op producing the first returned value and
    its ancestors. Parameters are the distinct trainable parameter values
    (a shared weight counts once).

    The *prediction* (whose spatial size divides the cost per pixel) is
    reached from the loss by following operand 0 through loss ops; without
    a loss it is the first returned value. Output goes to stdout.
  }];
}

def NmSpecializeShapes : Pass<"nm-specialize-shapes", "::mlir::func::FuncOp"> {
  let summary = "Give None-sized (`?`) input axes concrete sizes and "
                "re-infer every result type";
  let description = [{
    ELEKTRONN2 functions accept any size on a None axis (usually the batch);
    compiled code is specialised on the sizes of the call. This pass sets the
    types of the function's `nm.input` arguments to the given shapes (one per
    input, in argument order; a static size must match) and re-derives every
    nm op's result type through TaggedShapeInferenceInterface, i.e. with the
    same core/Geometry rules the frontend uses, then updates the function
    type. A shape that the rules reject (a spatial size a conv or pool cannot
    take) fails with core's message at the op.

      nm-opt --nm-specialize-shapes="shapes=1x1x23x185x185"
  }];
  let options = [
    ListOption<"shapes", "shapes", "std::string",
               "One shape per nm.input argument, sizes joined by 'x'">,
  ];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def NmDensify : Pass<"nm-densify", "::mlir::func::FuncOp"> {
  let summary = "Rewrite a strided (pooled) network into its dilated "
                "equivalent that computes every output voxel";
  let description = [{
    Dense prediction without repeated work (à trous): a max-pool of size p
    (a conv's or a stride-s nm.pool) slides by one instead of p (s), and
    every filter tap and pooling window after it is spread by the product of
    the strides before it (the `dilation` attribute of nm.conv and nm.pool).
    The rewritten function computes, at stride 1, every voxel the strided
    network computes at its output strides, with the same numbers; its
    result has stride 1 and size = input - fov + 1 per spatial axis.
    Conv layers, pools and the ops that act on each voxel alone (add, mult,
    apply, softmax) are rewritten; an op that mixes voxels after a strided
    layer (crop, pad, concat, upconv, reshape, LRN, MFP, ...) fails the pass
    naming it. `shapes` (one per nm.input argument) gives the inputs new
    static shapes first: the dilated network takes any spatial size that
    covers its field of view, e.g. predict_dense's tile = patch + strides - 1.

      nm-opt --nm-densify="shapes=1x1x24x188x188"
  }];
  let options = [
    ListOption<"shapes", "shapes", "std::string",
               "One shape per nm.input argument, sizes joined by 'x'">,
  ];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def NmDecomposeLayers : Pass<"nm-decompose-layers", "::mlir::func::FuncOp"> {
  let summary = "Split a weight layer's fused pooling and activation into "
                "nm.pool and nm.apply ops (before --nm-autodiff)";
  let description = [{
    ELEKTRONN2's Conv is conv -> max-pool -> bias -> activation. Training
    needs the values between those stages, so this pass rewrites
    `nm.conv {pool, activation = a}` into a linear, unpooled nm.conv (the
    bias added before the pool, which max- and average-pooling commute
    with), an `nm.pool` and an `nm.apply {func = a}`; a Perceptron's and
    an UpConv's activation likewise. prelu (whose slope is the bias's
    second column) and maxout (which changes 'f') have no nm.apply form:
    the layer gets a zero bias and an `nm.bias_activation` with the real
    one follows the pool. 'train' and 'fadeout' batch normalisation becomes
    an nm.batch_norm after the pooling (the layer's bias moves into it) and
    the running averages' updates, nm.batch_norm_running, are appended to
    the results as `nm.name = "<node>_mean"` / `"<node>_std"`. A
    `dropout_rate` becomes an nm.dropout after the activation, seeded by a
    new `nm.param = "seed"` argument (tensor<1xi64>, the training step's
    seed): decomposed functions are training functions. Each piece then has
    a local gradient. Layers with 'predict' batch normalisation (or batch
    normalisation with prelu/maxout), MFP or dilation are left as they are
    (--nm-autodiff names them). Without dropout and batch normalisation the
    rewritten function computes the same values.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::arith::ArithDialect"];
}

def NmAutodiff : Pass<"nm-autodiff", "::mlir::func::FuncOp"> {
  let summary = "Append the gradient of the loss with respect to every "
                "trainable parameter to a function's results";
  let description = [{
    The first result of the function is the loss. Its mean is
    differentiated in reverse (each op's GradientInterface builds its
    operands' gradients with the backward ops of NmGradientOps.td); only
    values between a trainable parameter (`nm.trainable` argument) and the
    loss get gradients, so, e.g., the input gradient of the first conv is
    never built. One result is appended per trainable parameter, in
    argument order, named `nm.name = "<param>:grad"`; a parameter the loss
    does not depend on gets zeros. Run --nm-decompose-layers first. An op
    without a gradient fails the pass naming the op and the option.

      nm-opt --nm-decompose-layers --nm-autodiff
  }];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def NmOptimizerStep : Pass<"nm-optimizer-step", "::mlir::func::FuncOp"> {
  let summary = "Turn the gradients of --nm-autodiff into one optimiser "
                "step: new parameters and optimiser state as results";
  let description = [{
    For each `<param>:grad` result: state arguments `nm.param =
    "<param>:<state>"` (SGD: d; AdaGrad: h; AdaDelta: s, d; Adam: m, s) are
    added, one `nm.param = "hyper"` argument (tensor<8xf64>, see
    nm.optimizer_update) is added last, and the gradient result is replaced
    by the new parameter (`nm.name = "<param>"`) and the new state
    (`nm.name = "<param>:<state>"`). Weight decay follows the parameter's
    `nm.weight_decay` multiplier (absent: none). The forward results (loss,
    debug outputs) stay first.

      nm-opt --nm-decompose-layers --nm-autodiff --nm-optimizer-step=optimiser=Adam
  }];
  let options = [
    Option<"optimiser", "optimiser", "std::string", "\"SGD\"",
           "SGD, AdaGrad, AdaDelta or Adam">,
  ];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

#endif // NM_TRANSFORMS_PASSES_TD
