//===- CodegenAttrs.td - attributes of the CPU code generator -*- tablegen -*-===//
//
// A tiny dialect that only holds the typed lowering configuration
// (#nm_cpu.lowering_config, as IREE's #iree_codegen.lowering_config) that
// nm-cpu-select-lowering-config attaches and the tiling passes read.
//
//===----------------------------------------------------------------------===//
#ifndef NM_CODEGEN_CPU_CODEGENATTRS_TD
#define NM_CODEGEN_CPU_CODEGENATTRS_TD

include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/DialectBase.td"

def NmCpu_Dialect : Dialect {
  let name = "nm_cpu";
  let cppNamespace = "::nm::codegen::cpu";
  let summary = "Attributes of the CPU code generator";
  let description = [{
    Holds #nm_cpu.lowering_config, the schedule of one structured op
    (LoweringConfig.h). No ops.
  }];
  let useDefaultAttributePrinterParser = 1;
}

def NmCpu_LoweringConfigAttr : AttrDef<NmCpu_Dialect, "LoweringConfig"> {
  let mnemonic = "lowering_config";
  let summary = "How one structured op is tiled";
  let description = [{
    The fields of OpSchedule (LoweringConfig.h): per loop, the register
    tile (0: not tiled) and whether its remainder is peeled; whether the op
    is generalised; the thread-level tiles and their order; the serial
    channel loop; the group (`fused`: the schedules of the producers fused
    into this op's loops, `is_fused`: inside another op's loops); a conv
    whose init fill is fused into its register tiles (`reduction_dims`),
    that fill (`in_consumer_tile`); the register schedule of the copies in
    a peeled channel remainder (`remainder`). Fields at their defaults are
    not printed.
  }];
  let parameters = (ins
    "::mlir::DenseI64ArrayAttr":$tile_sizes,
    "::mlir::DenseBoolArrayAttr":$peel,
    DefaultValuedParameter<"bool", "false">:$generalize,
    OptionalParameter<"::mlir::DenseI64ArrayAttr">:$thread_tiles,
    OptionalParameter<"::mlir::DenseI64ArrayAttr">:$thread_order,
    DefaultValuedParameter<"int64_t", "-1">:$channel_dim,
    DefaultValuedParameter<"int64_t", "0">:$channel_tile,
    DefaultValuedParameter<"bool", "false">:$channel_peel,
    OptionalParameter<"::mlir::DenseI64ArrayAttr">:$fused,
    DefaultValuedParameter<"bool", "false">:$is_fused,
    OptionalParameter<"::mlir::DenseBoolArrayAttr">:$reduction_dims,
    DefaultValuedParameter<"bool", "false">:$in_consumer_tile,
    OptionalParameter<"::mlir::Attribute">:$remainder
  );
  let assemblyFormat = "`<` struct(params) `>`";
}

#endif // NM_CODEGEN_CPU_CODEGENATTRS_TD
