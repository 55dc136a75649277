//===- TensorUtils.h - tensor builders of the nm -> linalg lowering -*- C++
//-*-//
//
// Small builders on statically shaped ranked tensors that every op family of
// the lowering uses: constants, linalg.generic wrappers, reshapes of single
// axes, reductions, pads and slices. They know nothing about nm; the names
// of tensor axes (tags) are resolved by the callers.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_COMPILER_CONVERSION_TENSORUTILS_H
#define NEUROMANCER_COMPILER_CONVERSION_TENSORUTILS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

#include <utility>

namespace nm::compiler::lowering {

using IT = mlir::utils::IteratorType;
using BodyFn = mlir::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                              mlir::ValueRange)>;
using CombineFn = mlir::function_ref<mlir::Value(
    mlir::OpBuilder &, mlir::Location, mlir::Value, mlir::Value)>;

//===----------------------------------------------------------------------===//
// Types, shapes and constants
//===----------------------------------------------------------------------===//

/// `type` (a ranked tensor) without its encoding (#nm.tagged), integers
/// signless as arith wants them (the function boundary keeps ui8 results
/// apart with `nm.dtype`).
mlir::RankedTensorType plainType(mlir::Type type);
mlir::SmallVector<int64_t> shapeOf(mlir::Value v);
mlir::Type eltOf(mlir::Value v);
int64_t numElements(llvm::ArrayRef<int64_t> shape);

mlir::Value emptyT(mlir::OpBuilder &b, mlir::Location loc,
                   llvm::ArrayRef<int64_t> shape, mlir::Type elt);
mlir::Value fcst(mlir::OpBuilder &b, mlir::Location loc, mlir::Type elt,
                 double v);
mlir::Value icst(mlir::OpBuilder &b, mlir::Location loc, mlir::Type elt,
                 int64_t v);
mlir::Value idxC(mlir::OpBuilder &b, mlir::Location l, int64_t v);
/// A tensor of `shape` filled with `v` (linalg.fill).
mlir::Value filled(mlir::OpBuilder &b, mlir::Location loc,
                   llvm::ArrayRef<int64_t> shape, mlir::Type elt,
                   mlir::Value v);
mlir::DenseIntElementsAttr i64Vec(mlir::OpBuilder &b,
                                  llvm::ArrayRef<int64_t> v);

//===----------------------------------------------------------------------===//
// linalg.generic
//===----------------------------------------------------------------------===//

/// One linalg.generic into `init` whose body yields body(block args).
mlir::Value generic(mlir::OpBuilder &b, mlir::Location loc,
                    mlir::ValueRange inputs,
                    llvm::ArrayRef<mlir::AffineMap> inMaps, mlir::Value init,
                    mlir::AffineMap outMap, llvm::ArrayRef<IT> iterators,
                    BodyFn body);
/// out = body(inputs...) elementwise; every input has the output's shape.
mlir::Value elementwise(mlir::OpBuilder &b, mlir::Location loc,
                        mlir::ValueRange inputs, llvm::ArrayRef<int64_t> shape,
                        mlir::Type elt, BodyFn body);
/// A gather: out[i] = fn(indices) over `shape` (no inputs), for data
/// movement that no tensor op expresses.
mlir::Value
gather(mlir::OpBuilder &b, mlir::Location loc, llvm::ArrayRef<int64_t> shape,
       mlir::Type elt,
       mlir::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                      llvm::ArrayRef<mlir::Value>)>
           fn);
/// Map of a rank-(n-1) tensor that lacks dim `axis` of an n-dim space.
mlir::AffineMap dropDimMap(mlir::OpBuilder &b, int64_t rank, int64_t axis);
/// The map of a rank-0 operand in a rank-`rank` iteration space.
mlir::AffineMap scalarMap(mlir::OpBuilder &b, int64_t rank);

//===----------------------------------------------------------------------===//
// Layout changes
//===----------------------------------------------------------------------===//

/// out dim i = in dim perm[i]; composes with a transpose that produced `x`.
mlir::Value transposeT(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                       llvm::ArrayRef<int64_t> perm);
mlir::SmallVector<int64_t> inversePerm(llvm::ArrayRef<int64_t> perm);
/// Collapses a unit axis `axis` away (rank - 1).
mlir::Value dropUnitAxis(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                         int64_t axis);
/// Inserts a unit axis at `axis` (rank + 1).
mlir::Value insertUnitAxis(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::Value x, int64_t axis);
/// Splits axis `axis` of size n*m into [n, m].
mlir::Value splitAxis(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                      int64_t axis, int64_t n, int64_t m);
/// Merges axes `axis` and `axis + 1`.
mlir::Value mergeAxes(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                      int64_t axis);

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

/// Reduces axis `axis` of x with `combine(elem, acc)` from `initValue`;
/// the result has rank - 1 and element type `accElt`.
mlir::Value reduceAxis(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                       int64_t axis, mlir::Type accElt, mlir::Value initValue,
                       CombineFn combine);
/// Reduces every element of x to a rank-0 tensor.
mlir::Value reduceAll(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                      mlir::Type accElt, mlir::Value initValue,
                      CombineFn combine);
mlir::Value addF(mlir::OpBuilder &b, mlir::Location l, mlir::Value x,
                 mlir::Value y);
mlir::Value maxF(mlir::OpBuilder &b, mlir::Location l, mlir::Value x,
                 mlir::Value y);

//===----------------------------------------------------------------------===//
// Pads and slices
//===----------------------------------------------------------------------===//

/// x padded by `lo` in front (and up to `shape` behind) with `value`
/// (tensor.pad); x itself when nothing is padded.
mlir::Value padded(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                   llvm::ArrayRef<int64_t> lo, llvm::ArrayRef<int64_t> shape,
                   mlir::Value value);
/// x with its last dim padded behind to `n` with `value`.
mlir::Value padLastTo(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                      int64_t n, double value);
/// The leading `n` elements of the last dim of x.
mlir::Value sliceLastTo(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                        int64_t n);

//===----------------------------------------------------------------------===//
// Scalars inside linalg.generic bodies
//===----------------------------------------------------------------------===//

/// Clamps index `j` to [0, n-1] and tells whether it was inside.
std::pair<mlir::Value, mlir::Value>
clampIndex(mlir::OpBuilder &b, mlir::Location l, mlir::Value j, int64_t n);
/// A scalar of any int or float type as the float type `elt`.
mlir::Value toFloat(mlir::OpBuilder &b, mlir::Location l, mlir::Value v,
                    mlir::Type elt);
/// A label element (any int or float type) compared with the i64 `c`.
mlir::Value labelEq(mlir::OpBuilder &b, mlir::Location l, mlir::Value label,
                    mlir::Value c);
/// linalg.index `dim` as i64.
mlir::Value indexI64(mlir::OpBuilder &b, mlir::Location l, int64_t dim);

} // namespace nm::compiler::lowering

#endif // NEUROMANCER_COMPILER_CONVERSION_TENSORUTILS_H
