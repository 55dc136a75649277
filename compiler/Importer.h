//===- Importer.h - frontend graph -> nm dialect ----------------*- C++ -*-===//
//
// Lowers a sub-graph of a frontend model to one func.func of nm ops:
//   * arguments: the source nodes the outputs need (reference §4: source
//     nodes in all_parents order), then every parameter of every layer in
//     topological order (w, b, gamma, mean, std of Conv, UpConv and
//     Perceptron; `value` of ValueNode and InitialState_like; dropout_rate
//     and loss weights are op attributes). Parameters are untagged static
//     tensors: nm.value tags a ValueNode's value with the node's geometry.
//     Arguments carry `nm.input = "<node>"` or `nm.param =
//     "<node>_<param>"` (+ `nm.trainable`) and a NameLoc.
//   * results: the requested nodes, in the order given, each through the
//     output epilogue when one is asked for (the class selection and uint8
//     quantisation of prediction, named after the node).
//   * every op: loc("<node name>"), result type = the frontend's TaggedShape,
//     which the nm verifier re-derives with core's rules.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_COMPILER_IMPORTER_H
#define NEUROMANCER_COMPILER_IMPORTER_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "neuromancer/compiler/support/Diagnostics.h"
#include "neuromancer/frontend/Backend.h"
#include "neuromancer/frontend/Node.h"

#include <string>
#include <vector>

namespace nm::compiler {

/// Loads the dialects the importer creates ops of (nm, func).
void loadImporterDialects(mlir::MLIRContext &context);

/// Adds `func.func @<name>` computing `outputs` to `module`, each output
/// through `epilogue` (nm.select_channels, nm.to_uint8). Fails (with a
/// diagnostic at the node's location) on a node class the dialect does not
/// cover, or when the result does not verify.
mlir::FailureOr<mlir::func::FuncOp>
importFunction(mlir::ModuleOp module, const std::vector<Node> &outputs,
               const std::string &name, const OutputEpilogue &epilogue = {});

/// A new module holding one function (see importFunction); null on failure.
mlir::OwningOpRef<mlir::ModuleOp> importModel(mlir::MLIRContext &context,
                                              const std::vector<Node> &outputs,
                                              const std::string &name);

} // namespace nm::compiler

#endif // NEUROMANCER_COMPILER_IMPORTER_H
