//===- NmBase.td - the nm dialect --------------------------*- tablegen -*-===//
//
// The nm dialect models ELEKTRONN2's node graph: one op per node kind,
// operating on builtin ranked tensors whose encoding is a #nm.tagged
// attribute (axis tags + fov/strides/mfp offsets). Parameters are function
// arguments, never constants.
//
//===----------------------------------------------------------------------===//
#ifndef NM_BASE_TD
#define NM_BASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def Nm_Dialect : Dialect {
  let name = "nm";
  let cppNamespace = "::nm::ir";
  let summary = "ELEKTRONN2-style 3-D CNN layers on tagged tensors";
  let description = [{
    Every activation tensor carries a `#nm.tagged<...>` encoding: one tag per
    axis (`r b s f z x y`), and for the spatial axes the field of view,
    strides and MFP fragment offsets. The ops' result types are inferred by
    the geometry rules of `neuromancer/core/Geometry.h`, so that an op whose
    declared result type disagrees with those rules fails to verify.
  }];
  let useDefaultAttributePrinterParser = 1;
  let hasRegionArgAttrVerify = 1;
  let hasRegionResultAttrVerify = 1;
  let extraClassDeclaration = [{
    void registerAttributes();

    // Function argument and result attributes, declared once here and
    // checked by verifyRegionArgAttribute / verifyRegionResultAttribute.
    // On nm functions (the importer's output):
    /// Argument for source node "<node>" (StringAttr).
    static constexpr ::llvm::StringLiteral kInputAttrName = "nm.input";
    /// Argument for parameter "<node>_<param>" (StringAttr).
    static constexpr ::llvm::StringLiteral kParamAttrName = "nm.param";
    /// The parameter is trained (UnitAttr, only beside nm.param).
    static constexpr ::llvm::StringLiteral kTrainableAttrName =
        "nm.trainable";
    /// Weight-decay multiplier of a trainable parameter (FloatAttr: 1 for
    /// ELEKTRONN2's apply_reg weights, 3 for a BN gamma; absent: none).
    static constexpr ::llvm::StringLiteral kWeightDecayAttrName =
        "nm.weight_decay";
    // On the functions convert-nm-to-linalg produces (the code generator's
    // ABI, compiler/codegen/CodeGen.h):
    /// Name of an argument or result (StringAttr).
    static constexpr ::llvm::StringLiteral kNameAttrName = "nm.name";
    /// The argument is a parameter (UnitAttr); parameters follow inputs.
    static constexpr ::llvm::StringLiteral kParameterAttrName =
        "nm.parameter";
    /// dtype where the element type alone is ambiguous ("uint8").
    static constexpr ::llvm::StringLiteral kDTypeAttrName = "nm.dtype";
  }];
}

/// A ranked tensor with a #nm.tagged encoding (an activation).
def Nm_TaggedTensor : Type<
    CPred<"::nm::ir::isTaggedTensor($_self)">,
    "ranked tensor with #nm.tagged encoding", "::mlir::RankedTensorType">;

/// A parameter (weights, biases, BN statistics): a statically shaped tensor.
def Nm_Param : Type<
    And<[HasStaticShapePred, CPred<"::llvm::isa<::mlir::RankedTensorType>($_self)">]>,
    "statically shaped ranked tensor", "::mlir::RankedTensorType">;

#endif // NM_BASE_TD
