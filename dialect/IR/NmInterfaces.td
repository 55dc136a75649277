//===- NmInterfaces.td - nm op interfaces ------------------*- tablegen -*-===//
#ifndef NM_INTERFACES_TD
#define NM_INTERFACES_TD

include "mlir/IR/OpBase.td"

def Nm_TaggedShapeInferenceInterface
    : OpInterface<"TaggedShapeInferenceInterface"> {
  let cppNamespace = "::nm::ir";
  let description = [{
    Geometry inference: the TaggedShape (shape, tags, fov, strides, MFP
    offsets) of the op's result, computed from its operands' encodings and
    its attributes by the rules of neuromancer/core/Geometry.h. The same
    function backs InferTypeOpInterface, so a declared result type that
    disagrees with the rules fails to verify.
  }];
  let methods = [
    InterfaceMethod<"Infers the result's TaggedShape with core's rules.",
      "::nm::Expected<::nm::TaggedShape>", "inferOutputShape", (ins), [{}],
      [{ return ConcreteOp::inferTaggedShape(
             typename ConcreteOp::Adaptor($_op)); }]>,
    InterfaceMethod<"Element type of the result.",
      "::mlir::Type", "inferResultElementType", (ins), [{}],
      [{ return ConcreteOp::inferElementType(
             typename ConcreteOp::Adaptor($_op)); }]>,
  ];
  // Runs before InferTypeOpInterface's check (trait order), so a rule
  // violation is reported once, with core's message.
  let verify = [{ return ::nm::ir::verifyTaggedShapeInference($_op); }];
}

def Nm_CostInterface : OpInterface<"CostInterface"> {
  let cppNamespace = "::nm::ir";
  let description = [{
    Computational cost and trainable parameters of a layer, following
    ELEKTRONN2 (docs/elektronn2-reference.md §2.1, §2.2). The default cost is
    the parent's size (stripnone_prod of operand 0), as in ELEKTRONN2's
    Node base class; the default has no trainable parameters.
  }];
  let methods = [
    InterfaceMethod<"Computational cost (ELEKTRONN2's computational_cost).",
      "int64_t", "getComputationalCost", (ins), [{}],
      [{ return ::nm::ir::defaultCost($_op.getOperation()); }]>,
    InterfaceMethod<[{Operands holding trainable parameters (w, b, gamma in
      BN train/fadeout mode). A value shared by several ops counts once.}],
      "::llvm::SmallVector<::mlir::Value>", "getTrainableParams", (ins), [{}],
      [{ return {}; }]>,
    InterfaceMethod<"Number of trainable parameter elements of this op.",
      "int64_t", "getParamCount", (ins), [{}],
      [{ return ::nm::ir::countElements($_op.getTrainableParams()); }]>,
  ];
}

def Nm_GradientInterface : OpInterface<"GradientInterface"> {
  let cppNamespace = "::nm::ir";
  let description = [{
    Symbolic differentiation (--nm-autodiff): given the gradient of the op's
    result, build the gradients of its operands with the backward ops of
    NmGradientOps.td at the builder's insertion point. `operandGrads` comes
    with one null entry per operand; an operand that needs no gradient
    (labels, integer inputs), or whose entry in `needed` is false, keeps its
    null. Every nm op implements it, in
    the file of its family (dialect/IR/Gradients/); an op or an option
    without a gradient fails with a diagnostic that names it, so a caller
    never gets a wrong gradient.
  }];
  let methods = [
    InterfaceMethod<"Builds operand gradients from the result gradient.",
      "::mlir::LogicalResult", "buildGradients",
      (ins "::mlir::OpBuilder &":$builder, "::mlir::Value":$resultGrad,
           "::llvm::ArrayRef<bool>":$needed,
           "::llvm::SmallVectorImpl<::mlir::Value> &":$operandGrads), [{}],
      [{ return $_op->emitOpError("has no gradient"); }]>,
  ];
}

#endif // NM_INTERFACES_TD
