//===- NmEnums.td - ELEKTRONN2's option enumerations -------*- tablegen -*-===//
//
// The option strings of ELEKTRONN2's layers as typed attributes. The cases
// mirror core/Enums.h (same C++ names and numbers; NmOps.cpp checks it), so
// the importer parses a string once, with core's parser, and every later
// stage switches on an enum.
//
//===----------------------------------------------------------------------===//
#ifndef NM_ENUMS_TD
#define NM_ENUMS_TD

include "mlir/IR/EnumAttr.td"
include "dialect/IR/NmBase.td"

def Nm_ActivationKind : I32EnumAttr<"ActivationKind",
    "an ELEKTRONN2 activation function", [
      I32EnumAttrCase<"Tanh", 0, "tanh">,
      I32EnumAttrCase<"Relu", 1, "relu">,
      I32EnumAttrCase<"PRelu", 2, "prelu">,
      I32EnumAttrCase<"Elu", 3, "elu">,
      I32EnumAttrCase<"Selu", 4, "selu">,
      I32EnumAttrCase<"Abs", 5, "abs">,
      I32EnumAttrCase<"Sigmoid", 6, "sig">,
      I32EnumAttrCase<"SoftPlus", 7, "softplus">,
      I32EnumAttrCase<"Linear", 8, "lin">,
      I32EnumAttrCase<"Concentration", 9, "concentration">,
      I32EnumAttrCase<"Radius", 10, "radius">,
      I32EnumAttrCase<"Maxout", 11, "maxout">]> {
  let cppNamespace = "::nm::ir";
  let genSpecializedAttr = 0;
}

def Nm_ConvMode : I32EnumAttr<"ConvMode", "a Conv's border handling", [
      I32EnumAttrCase<"Valid", 0, "valid">,
      I32EnumAttrCase<"Same", 1, "same">,
      I32EnumAttrCase<"Full", 2, "full">]> {
  let cppNamespace = "::nm::ir";
  let genSpecializedAttr = 0;
}
def Nm_ConvModeAttr : EnumAttr<Nm_Dialect, Nm_ConvMode, "conv_mode"> {
  let summary = "valid, same or full: #nm<conv_mode same>";
}

def Nm_PoolMode : I32EnumAttr<"PoolMode", "a Pool's reduction", [
      I32EnumAttrCase<"Max", 0, "max">,
      I32EnumAttrCase<"Average", 1, "average">,
      I32EnumAttrCase<"AverageIncPad", 2, "average_inc_pad">,
      I32EnumAttrCase<"AverageExcPad", 3, "average_exc_pad">,
      I32EnumAttrCase<"Sum", 4, "sum">]> {
  let cppNamespace = "::nm::ir";
  let genSpecializedAttr = 0;
}
def Nm_PoolModeAttr : EnumAttr<Nm_Dialect, Nm_PoolMode, "pool_mode"> {
  let summary = "max, average, average_inc_pad, average_exc_pad or sum";
}

def Nm_BatchNormMode : I32EnumAttr<"BatchNormMode",
    "a layer's batch normalisation", [
      I32EnumAttrCase<"Train", 0, "train">,
      I32EnumAttrCase<"Fadeout", 1, "fadeout">,
      I32EnumAttrCase<"Predict", 2, "predict">]> {
  let cppNamespace = "::nm::ir";
  let genSpecializedAttr = 0;
}
def Nm_BatchNormModeAttr
    : EnumAttr<Nm_Dialect, Nm_BatchNormMode, "batch_norm"> {
  let summary = "train, fadeout or predict: #nm<batch_norm train>";
}

def Nm_LRNMode : I32EnumAttr<"LRNMode", "LRN's neighbourhood", [
      I32EnumAttrCase<"Spatial", 0, "spatial">,
      I32EnumAttrCase<"Channel", 1, "channel">]> {
  let cppNamespace = "::nm::ir";
  let genSpecializedAttr = 0;
}
def Nm_LRNModeAttr : EnumAttr<Nm_Dialect, Nm_LRNMode, "lrn_mode"> {
  let summary = "spatial or channel: #nm<lrn_mode channel>";
}

#endif // NM_ENUMS_TD
