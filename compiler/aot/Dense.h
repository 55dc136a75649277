//===- Dense.h - the dense entry point of `neuromancer compile` -*- C++ -*-===//
//
// `neuromancer compile MODEL.h5 --dense --tile 8,32,32 -o DIR` compiles the
// prediction node densified (nm-densify, the function `predict_dense` and
// `neuromancer predict` call) for the input box that yields a dense tile of
// that many output voxels: box = tile + fov - 1 per spatial axis, batch 1.
// A C program then streams a volume of any size through one compiled
// function (examples/embed/stream_dense.c). This file checks the request
// and works out that geometry; Aot.cpp compiles it like any other entry.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_COMPILER_AOT_DENSE_H
#define NEUROMANCER_COMPILER_AOT_DENSE_H

#include "neuromancer/compiler/aot/Aot.h"
#include "neuromancer/compiler/aot/Header.h"
#include "neuromancer/frontend/Backend.h"
#include "neuromancer/frontend/Model.h"

namespace nm::aot {

/// The name of the dense function (and the tail of its C entry point).
inline constexpr const char kDenseFunction[] = "prediction_dense";

/// ValueError for options that do not go with (or lack) --dense: --tile
/// without --dense, --dense without --tile, with --input-shape or with
/// --function. Needs no model.
void checkDenseOptions(const CompileRequest &request);

struct DensePlan {
  Node node;                        // the designated prediction node
  std::vector<int64_t> inputShape;  // the input box, in the input's axes
  std::vector<int64_t> outputShape; // (1, labels, tile...), output's axes
  OutputEpilogue epilogue;          // --classes, --as-uint8
  DenseDoc doc;
};

/// The geometry of `model`'s prediction node densified for request.tile;
/// ValueError for a model without a prediction node, a tile of the wrong
/// length, or a network predict_dense cannot run (several inputs, no
/// channel axis, a batch other than 1, unknown field of view).
DensePlan planDense(const Model &model, const CompileRequest &request);

} // namespace nm::aot

#endif // NEUROMANCER_COMPILER_AOT_DENSE_H
