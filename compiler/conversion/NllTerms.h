//===- NllTerms.h - the terms of ELEKTRONN2's MultinoulliNLL ----*- C++ -*-===//
//
// multinoulli_nll's forward (Losses.cpp) and its gradient
// (LossGradients.cpp) read the same operands in the same iteration space
// (pred's axes with 'f' split into [block, class]) and build the same
// per-element terms of reference §6.9:
//   T  = one-hot(label) or the dense target, times mask_class_labeled,
//        then (1 - w) T + w p with the weakness w;
//   up = -xlogy0(T cw ew, p + 1e-5),  dn = -xlogy0(m cw ew, 1 - p + 1e-5)
//        with m = mask_class_not_present;
//   nll = sum_f (up + dn) size / (n_up + n_dn + 1e-5) / n_indep / C,
//        n_up = sum T, n_dn = sum m over every voxel.
// One place for the operands, their maps and the terms keeps the two in
// step.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_COMPILER_CONVERSION_NLLTERMS_H
#define NEUROMANCER_COMPILER_CONVERSION_NLLTERMS_H

#include "LoweringContext.h"
#include "TensorUtils.h"

namespace nm::compiler::lowering {

class NllTerms {
public:
  static constexpr double kEps = 1e-5;

  /// Reads the lowered operands of `op` (a MultinoulliNLLOp or its
  /// gradient op); C is the softmax's block size. Fails with a diagnostic
  /// at `op` on an inconsistent shape.
  template <typename Op>
  static mlir::FailureOr<NllTerms> build(Op op, LoweringContext &ctx,
                                         int64_t C);

  int64_t rank() const { return R_; }
  int64_t blockDim() const { return fI_; }
  int64_t classDim() const { return cI_; }
  int64_t blocks() const { return nBlocks_; }
  mlir::Type elt() const { return elt_; }
  /// pred as [.., block, class, ..].
  mlir::Value pred() const { return ins_[0]; }
  /// size / (n_indep C): the forward's scale before the normaliser.
  double factor() const { return factor_; }
  bool hasNotPresent() const { return mnIdx_ >= 0; }
  double weakness() const { return weakness_; }

  /// The operands of a generic over the split space and their maps (pred
  /// first); read them in a body with `at`.
  llvm::ArrayRef<mlir::Value> inputs() const { return ins_; }
  llvm::ArrayRef<mlir::AffineMap> maps() const { return maps_; }

  /// The scalars of one element, from a body's arguments `a` (inputs()
  /// first): p, the target T, the weight cw ew (null: 1) and the
  /// not-present mask m (null: none).
  struct At {
    mlir::Value p, t, weight, notPresent;
  };
  At at(mlir::OpBuilder &b, mlir::Location l, mlir::ValueRange a) const;

  /// -(up + dn) of one element: xlogy0(T cw ew, p + eps) [+ xlogy0(m cw
  /// ew, 1 - p + eps)].
  mlir::Value term(mlir::OpBuilder &b, mlir::Location l, const At &e) const;

  /// n_up + n_dn (without the eps), a rank-0 tensor.
  mlir::Value count(mlir::OpBuilder &b, mlir::Location loc) const;

  /// A map of a value with pred's axes but f = 1 (the loss result, its
  /// gradient, example weights) into the split space.
  mlir::AffineMap unitFeatureMap(mlir::OpBuilder &b) const;

private:
  int64_t R_ = 0, fI_ = 0, cI_ = 0, nBlocks_ = 1, C_ = 1;
  int64_t size_ = 1, spatialPerMask_ = 1;
  double factor_ = 1, weakness_ = 0;
  bool sparse_ = false;
  mlir::Type elt_;
  mlir::Value target_, notPresentRaw_;
  llvm::SmallVector<mlir::Value> ins_;
  llvm::SmallVector<mlir::AffineMap> maps_;
  int tIdx_ = 1, cwIdx_ = -1, ewIdx_ = -1, mlIdx_ = -1, mnIdx_ = -1;
  bool targetCountOk_ = true;

  mlir::LogicalResult init(mlir::Operation *op, LoweringContext &ctx,
                           mlir::Value p, mlir::Value t, mlir::Value ew,
                           mlir::Value ml, mlir::Value mn, bool sparse,
                           std::optional<llvm::ArrayRef<double>> cw,
                           double weakness, int64_t C);
};

template <typename Op>
mlir::FailureOr<NllTerms> NllTerms::build(Op op, LoweringContext &ctx,
                                          int64_t C) {
  NllTerms n;
  std::optional<llvm::ArrayRef<double>> cw;
  if (auto w = op.getClassWeights())
    cw = *w;
  if (mlir::failed(n.init(op, ctx, op.getPred(), op.getTarget(),
                          op.getExampleWeights(), op.getMaskClassLabeled(),
                          op.getMaskClassNotPresent(), op.getTargetIsSparse(),
                          cw, op.getWeakness().convertToDouble(), C)))
    return mlir::failure();
  return n;
}

} // namespace nm::compiler::lowering

#endif // NEUROMANCER_COMPILER_CONVERSION_NLLTERMS_H
