//===- NmAttrs.td - nm attributes --------------------------*- tablegen -*-===//
#ifndef NM_ATTRS_TD
#define NM_ATTRS_TD

include "dialect/IR/NmBase.td"
include "dialect/IR/NmEnums.td"
include "mlir/IR/TensorEncoding.td"

class Nm_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Nm_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def Nm_AxesAttr : Nm_Attr<"Axes", "axes"> {
  let summary = "axis tags of a tensor, e.g. #nm.axes<b,f,z,x,y>";
  let description = [{
    One tag per tensor axis, from `r b s f z x y` (ELEKTRONN2's TaggedShape
    tags), each at most once. `z`, `x`, `y` are the spatial axes, in tensor
    order.
  }];
  let parameters = (ins StringRefParameter<"one tag char per axis">:$tags);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Number of spatial (z/x/y) axes.
    int64_t getNumSpatial() const;
  }];
}

def Nm_GeometryAttr : Nm_Attr<"Geometry", "geometry"> {
  let summary = "field of view, strides and MFP offsets of the spatial axes";
  let description = [{
    `#nm.geometry<fov = [9, 27, 27], strides = [2, 4, 4]>`, optionally with
    `mfp_offsets = [[0, 0, 0], [0, 0, 1], ...]` (one row per MFP fragment;
    default: one zero row). One entry per spatial axis; a fov of -1 means
    unknown (after UpConv). Offsets are fov // 2 and are not stored.
  }];
  let parameters = (ins ArrayRefParameter<"int64_t">:$fov,
                        ArrayRefParameter<"int64_t">:$strides,
                        ArrayRefParameter<"int64_t", "MFP offsets, row-major, one row per fragment">:$mfpOffsets);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let builders = [
    AttrBuilder<(ins "int64_t":$numSpatial), [{
      ::llvm::SmallVector<int64_t> ones(numSpatial, 1), zeros(numSpatial, 0);
      return $_get($_ctxt, ones, ones, zeros);
    }]>
  ];
  let extraClassDeclaration = [{
    int64_t getNumSpatial() const { return getFov().size(); }
    int64_t getNumFragments() const;
    /// True for fov and strides all ones and a single zero MFP row.
    bool isDefault() const;
  }];
}

def Nm_TaggedAttr : Nm_Attr<"Tagged", "tagged",
    [DeclareAttrInterfaceMethods<VerifiableTensorEncoding>]> {
  let summary = "tensor encoding: axis tags and spatial geometry";
  let description = [{
    The encoding of every activation tensor:
    `tensor<10x5x8x40x40xf32, #nm.tagged<b,f,z,x,y, fov = [9, 27, 27], strides = [2, 4, 4]>>`.
    The tags come first; `fov`, `strides` and `mfp_offsets` follow when they
    differ from their defaults (ones, ones, one zero row). An unknown size
    (ELEKTRONN2's None) is a dynamic dimension `?`.
  }];
  let parameters = (ins "AxesAttr":$axes, "GeometryAttr":$geometry);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

def Nm_ActivationAttr : Nm_Attr<"Activation", "activation"> {
  let summary = "an activation function: #nm.activation<relu>, "
                "#nm.activation<maxout 2>";
  let description = [{
    ELEKTRONN2's `activation_func`, parsed once by core (core/Enums.h):
    the kind, and for maxout its factor r >= 2, which divides the number of
    output features. Aliases are folded: sig/logistic/sigmoid print as
    `sig`, lin/linear as `lin`, soft+ as `softplus`.
  }];
  let parameters = (ins EnumParameter<Nm_ActivationKind>:$kind,
                        DefaultValuedParameter<"int64_t", "1">:$maxout);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let builders = [
    AttrBuilder<(ins "const ::nm::Activation &":$activation), [{
      return $_get($_ctxt, static_cast<ActivationKind>(activation.kind),
                   activation.maxout);
    }]>
  ];
  let extraClassDeclaration = [{
    /// core's value of the attribute.
    ::nm::Activation getValue() const {
      return {static_cast<::nm::ActivationKind>(getKind()), getMaxout()};
    }
  }];
}

#endif // NM_ATTRS_TD
