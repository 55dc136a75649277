//===- LossMath.h - helpers of the loss lowerings ---------------*- C++ -*-===//
//
// The pieces that ELEKTRONN2's loss formulas share: theano's xlogy0 and
// gammaln, the -666 "unlabelled" marker of the regression losses and its
// count, and a sum over the feature axis.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_COMPILER_CONVERSION_LOSSMATH_H
#define NEUROMANCER_COMPILER_CONVERSION_LOSSMATH_H

#include "TensorUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "neuromancer/dialect/IR/NmOps.h"

#include <optional>

namespace nm::compiler::lowering {

/// Scalar float arithmetic in one element type, for the loss formulas.
struct ScalarMath {
  mlir::OpBuilder &b;
  mlir::Location l;
  mlir::Type t;
  mlir::Value c(double v) const { return fcst(b, l, t, v); }
  mlir::Value add(mlir::Value x, mlir::Value y) const {
    return mlir::arith::AddFOp::create(b, l, x, y);
  }
  mlir::Value sub(mlir::Value x, mlir::Value y) const {
    return mlir::arith::SubFOp::create(b, l, x, y);
  }
  mlir::Value mul(mlir::Value x, mlir::Value y) const {
    return mlir::arith::MulFOp::create(b, l, x, y);
  }
};

/// theano's xlogy0(x, y): 0 where x == 0, else x * log(y).
mlir::Value xlogy0(mlir::OpBuilder &b, mlir::Location l, mlir::Value x,
                   mlir::Value y);

/// ELEKTRONN2's "unlabelled" marker of the regression losses:
/// theano's isclose(t, -666) = |t + 666| <= 1e-8 + 1e-5 * 666.
mlir::Value isUnlabelled(mlir::OpBuilder &b, mlir::Location l, mlir::Value t);

/// log|Gamma(x)| (theano's gammaln) for x > -8, x not a non-positive
/// integer: Stirling's series at x + 8 (error < 1e-11) minus
/// log|x (x+1) ... (x+7)|. `x` is f64.
mlir::Value lgammaF64(mlir::OpBuilder &b, mlir::Location l, mlir::Value x);

/// psi(x) = d/dx log Gamma(x) for x > -8, x not a non-positive integer: the
/// derivative of lgammaF64 (asymptotic series at x + 8). `x` is f64.
mlir::Value digammaF64(mlir::OpBuilder &b, mlir::Location l, mlir::Value x);

/// The nm.softmax that produced `v` (through nm.slice ops), if any.
ir::SoftmaxOp softmaxOf(mlir::Value v);
/// Whether `v` is a softmax output (or a slice of one); its n_indep.
std::optional<int64_t> softmaxIndep(mlir::Value v);

/// Sums term(inputs) over axis `fI` of the iteration space `shape` (the
/// inputs read through `maps`), applies `post` to each sum and returns the
/// result with a unit axis at `fI`.
mlir::Value
sumOverAxisKeep(mlir::OpBuilder &b, mlir::Location loc, mlir::ValueRange ins,
                llvm::ArrayRef<mlir::AffineMap> maps,
                llvm::ArrayRef<int64_t> shape, int64_t fI, mlir::Type elt,
                BodyFn term,
                mlir::function_ref<mlir::Value(mlir::OpBuilder &,
                                               mlir::Location, mlir::Value)>
                    post);

/// Rank-0 i64 tensor: the number of elements of t that are not the
/// unlabelled marker -666.
mlir::Value labelledCount(mlir::OpBuilder &b, mlir::Location loc, mlir::Value t,
                          mlir::Type elt);

/// size / (count + 1) as an `elt` scalar (count: i64).
mlir::Value labelledScale(mlir::OpBuilder &b, mlir::Location l,
                          mlir::Value count, int64_t size, mlir::Type elt);

/// Whether a label element (any int or float type) is one of the classes
/// 0 .. C-1 (negative labels mark unlabelled voxels).
mlir::Value labelInRange(mlir::OpBuilder &b, mlir::Location l,
                         mlir::Value label, int64_t C);

/// n_up of multinoulli_nll, sum(T), as a rank-0 `elt` tensor: for a sparse
/// target the number of labels that are one of the C classes, for a dense
/// one the sum of its elements.
mlir::Value targetCount(mlir::OpBuilder &b, mlir::Location loc, mlir::Value t,
                        bool sparse, int64_t C, mlir::Type elt);

} // namespace nm::compiler::lowering

#endif // NEUROMANCER_COMPILER_CONVERSION_LOSSMATH_H
