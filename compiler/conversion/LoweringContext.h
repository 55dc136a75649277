//===- LoweringContext.h - state of one function's nm -> linalg rebuild -*-===//
//
// Internal to //compiler/conversion. The driver (NmToLinalg.cpp) rebuilds
// each function that uses nm: a new entry block with plain tensor arguments
// is built next to the old one and every op of the old block is lowered in
// order, reading its tagged types (axis tags, geometry) from the old IR and
// its operands from the value map. LoweringContext holds that per-function
// state: the builder, the value map, the target's layout options and the
// channels-last values that convs and pools hand to each other.
//
// The op families are lowered by free functions
//   LogicalResult lower(ir::XOp op, LoweringContext &ctx);
// one file per family (Layers, Epilogue, Pooling, Losses, Classification,
// DataMovement, Elementwise). Each reads its operands with ctx.get(), builds
// at ctx.builder() and records its result with ctx.set(); on failure it has
// emitted a diagnostic at the op.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_COMPILER_CONVERSION_LOWERINGCONTEXT_H
#define NEUROMANCER_COMPILER_CONVERSION_LOWERINGCONTEXT_H

#include "neuromancer/compiler/conversion/NmToLinalg.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "neuromancer/dialect/IR/NmAttrs.h"
#include "neuromancer/dialect/IR/NmOps.h"

#include <optional>

namespace nm::compiler::lowering {

class LoweringContext {
public:
  LoweringContext(mlir::func::FuncOp func, const NmToLinalgOptions &options)
      : func_(func), b_(func.getContext()), options_(options) {}

  /// Rebuilds the function; on failure it is left unchanged.
  mlir::LogicalResult run();
  /// Lowers one op of the old block at the end of the new one.
  mlir::LogicalResult lowerOp(mlir::Operation *op);

  mlir::OpBuilder &builder() { return b_; }
  const NmToLinalgOptions &options() const { return options_; }

  /// The lowered value of the old value `v`.
  mlir::Value get(mlir::Value v) { return map_.lookup(v); }
  /// Records `lowered` as the lowered value of the old value `v`.
  void map(mlir::Value v, mlir::Value lowered) { map_.map(v, lowered); }
  /// Forgets the lowered value of `v` (of a temporary op of the old IR).
  void forget(mlir::Value v) { map_.erase(v); }
  /// Records the lowered value of `op`'s result, checking its shape.
  mlir::LogicalResult set(mlir::Operation *op, mlir::Value v);

  //===--------------------------------------------------------------------===//
  // Internal layout of conv and pool outputs (the target's options)
  //===--------------------------------------------------------------------===//

  /// Channels of the internal (channels-last) layout of a conv output with
  /// `n` channels: a multiple of options().channelAlignment (on the CPU the
  /// 16-float vector, so register tiles are full). The padded channels hold
  /// finite junk (activation of 0) that the next layer's zero weight rows
  /// cancel.
  int64_t paddedChannels(int64_t n) const;
  /// The nm value `nmInput` as [b, spatial..., f]: its internal value if it
  /// has one with this permutation, else a transpose.
  mlir::Value channelsLastInput(mlir::Location loc, mlir::Value nmInput,
                                llvm::ArrayRef<int64_t> perm);
  /// The tag-order value of the internal value `cl` whose first `channels`
  /// channels are real; remembers `cl` for the consumers.
  mlir::Value fromChannelsLast(mlir::Location loc, mlir::Value cl,
                               llvm::ArrayRef<int64_t> perm, int64_t channels);

private:
  /// Conv and pool outputs in their internal layout [b, spatial..., f]
  /// (channels maybe padded, see paddedChannels), keyed by the tag-order
  /// value they were returned as: the next conv or pool reads them as they
  /// are, with no transposes in between.
  struct ChannelsLastValue {
    mlir::Value value;
    llvm::SmallVector<int64_t> perm;
  };

  mlir::func::FuncOp func_;
  mlir::OpBuilder b_;
  NmToLinalgOptions options_;
  mlir::IRMapping map_;
  llvm::DenseMap<mlir::Value, ChannelsLastValue> channelsLastOf_;
};

/// The tagged shape (axis tags, geometry) of an nm value of the old IR.
inline ::nm::TaggedShape tagged(mlir::Value v) {
  return *ir::getTaggedShape(v.getType());
}

/// "lowering of 'nm.<op>' to linalg is not implemented yet[ (what)]".
mlir::LogicalResult notImplemented(mlir::Operation *op,
                                   llvm::StringRef what = "");

/// Permutation tag order -> [b, spatial..., f]; an error unless the axes
/// are b, f and 1-3 spatial ones.
mlir::FailureOr<llvm::SmallVector<int64_t>>
channelsLast(mlir::Operation *op, const ::nm::TaggedShape &s);

//===----------------------------------------------------------------------===//
// Shared pieces of the layer lowerings (Epilogue.cpp, Pooling.cpp)
//===----------------------------------------------------------------------===//

/// Epilogue over a channels-last tensor y [..., F]: bias, BN (predict),
/// activation (maxout reduces F by r).
mlir::FailureOr<mlir::Value> epilogue(mlir::OpBuilder &b, mlir::Operation *op,
                                      mlir::Location loc, mlir::Value y,
                                      mlir::Value bias, mlir::ValueRange bn,
                                      std::optional<ir::BatchNormMode> bnMode,
                                      const ::nm::Activation &act);
/// epilogue() of a channels-last pre-BN tensor y [..., F] with the batch
/// mean and std (over every axis but F) in place of the stored ones.
mlir::FailureOr<mlir::Value> trainEpilogue(mlir::OpBuilder &b,
                                           mlir::Operation *op,
                                           mlir::Location loc, mlir::Value y,
                                           mlir::Value bias, mlir::Value gamma,
                                           const ::nm::Activation &act);
/// Conv or Perceptron with batch_normalisation = 'train': the layer without
/// BN, bias and activation, then trainEpilogue().
mlir::LogicalResult lowerTrainBN(ir::ConvOp op, LoweringContext &ctx);
mlir::LogicalResult lowerTrainBN(ir::PerceptronOp op, LoweringContext &ctx);

/// Pooling of a channels-last tensor [N, spatial..., F]; `dilation` (empty:
/// ones) spaces the window's taps (nm-densify's dilated pools).
mlir::FailureOr<mlir::Value>
pool(mlir::OpBuilder &b, mlir::Operation *op, mlir::Location loc, mlir::Value x,
     llvm::ArrayRef<int64_t> window, llvm::ArrayRef<int64_t> stride,
     ir::PoolMode mode, llvm::ArrayRef<int64_t> dilation = {});

/// linalg.conv_{1,2,3}d_n*c_*cf of the channels-last x [N, S..., C] and the
/// weights wt [*filter, C, F] into a zero-filled `outShape` [N, S'..., F].
mlir::Value namedConv(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                      mlir::Value wt, llvm::ArrayRef<int64_t> outShape,
                      llvm::ArrayRef<int64_t> dilation);

/// LRN 'spatial': the sum of x (or x^2 with `square`) over the window of
/// odd sizes `filter` around each voxel, zero-padded: a 'same' conv with a
/// constant kernel per feature. The window is symmetric, so the sum is its
/// own adjoint (the LRN gradient uses it too).
mlir::FailureOr<mlir::Value> lrnSpatialSum(mlir::OpBuilder &b,
                                           mlir::Operation *op, mlir::Value x,
                                           const ::nm::TaggedShape &s,
                                           llvm::ArrayRef<int64_t> filter,
                                           bool square);

/// LRN 'channel': the sum of x^2 over a window of odd width `win` along
/// 'f', the edges replicated (a clamped index).
mlir::FailureOr<mlir::Value> lrnChannelSumSq(mlir::OpBuilder &b,
                                             mlir::Operation *op, mlir::Value x,
                                             const ::nm::TaggedShape &s,
                                             int64_t win);

/// Records the lowered values of every result of `op` (multi-result ops).
mlir::LogicalResult setResults(LoweringContext &ctx, mlir::Operation *op,
                               mlir::ValueRange values);

//===----------------------------------------------------------------------===//
// Op families
//===----------------------------------------------------------------------===//

// Layers.cpp: weight layers and local response normalisation.
mlir::LogicalResult lower(ir::ConvOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::PerceptronOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::UpConvOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::LRNOp op, LoweringContext &ctx);

// Pooling.cpp: pooling and the interleaving of max-fragment-pooling output.
mlir::LogicalResult lower(ir::PoolOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::FragmentsToDenseOp op, LoweringContext &ctx);

// Losses.cpp: softmax and the losses.
mlir::LogicalResult lower(ir::SoftmaxOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::MultinoulliNLLOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::AggregateLossOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::SquaredLossOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::AbsLossOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::BinaryNLLOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::GaussianNLLOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::BetaNLLOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::RampLossOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::EuclideanDistanceOp op, LoweringContext &ctx);

// Epilogue.cpp: a layer's bias and activation split off by
// --nm-decompose-layers.
mlir::LogicalResult lower(ir::BiasActivationOp op, LoweringContext &ctx);

// Classification.cpp: predicted classes and the error rate.
mlir::LogicalResult lower(ir::ClassificationOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::ErrorsOp op, LoweringContext &ctx);

// OutputEpilogue.cpp: class selection and uint8 output of prediction,
// fused with the softmax they follow.
mlir::LogicalResult lower(ir::SelectChannelsOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::ToUint8Op op, LoweringContext &ctx);

// DataMovement.cpp: ops that move or copy elements.
mlir::LogicalResult lower(ir::CropOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::PadOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::ConcatOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::SliceOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::ReshapeOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::ValueOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::InitialStateOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::OneHotOp op, LoweringContext &ctx);

// ConvGradients.cpp: gradients of the weight layers.
mlir::LogicalResult lower(ir::ConvGradInputOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::ConvGradWeightOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::BiasGradOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::DenseGradInputOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::DenseGradWeightOp op, LoweringContext &ctx);

mlir::LogicalResult lower(ir::UpConvGradInputOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::UpConvGradWeightOp op, LoweringContext &ctx);

// ActivationGradients.cpp: the gradient of nm.bias_activation.
mlir::LogicalResult lower(ir::BiasActivationGradOp op, LoweringContext &ctx);

// LRNGradients.cpp: the gradient of local response normalisation.
mlir::LogicalResult lower(ir::LRNGradOp op, LoweringContext &ctx);

// PoolGradients.cpp: the gradient of pooling.
mlir::LogicalResult lower(ir::PoolGradOp op, LoweringContext &ctx);

// ElementwiseGradients.cpp: seeds, sums and the gradients of elementwise
// functions and data movement.
mlir::LogicalResult lower(ir::FillOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::AccumulateOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::RetagOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::BroadcastGradOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::ApplyGradOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::CropGradOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::PadGradOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::SliceGradOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::EmbedGradOp op, LoweringContext &ctx);

// LossGradients.cpp: gradients of softmax and the losses.
mlir::LogicalResult lower(ir::SoftmaxGradOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::MultinoulliNLLGradOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::LossGradOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::LossOperandGradOp op, LoweringContext &ctx);

// BatchNorm.cpp: batch normalisation with batch statistics (training).
mlir::LogicalResult lower(ir::BatchNormOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::BatchNormGradOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::BatchNormGammaGradOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::BatchNormRunningOp op, LoweringContext &ctx);

// Dropout.cpp: the training-time dropout mask.
mlir::LogicalResult lower(ir::DropoutOp op, LoweringContext &ctx);

// Optimisers.cpp: ELEKTRONN2's parameter updates.
mlir::LogicalResult lower(ir::OptimizerUpdateOp op, LoweringContext &ctx);

// Elementwise.cpp: elementwise arithmetic and ApplyFunc.
mlir::LogicalResult lower(ir::AddOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::MultOp op, LoweringContext &ctx);
mlir::LogicalResult lower(ir::ApplyOp op, LoweringContext &ctx);

} // namespace nm::compiler::lowering

#endif // NEUROMANCER_COMPILER_CONVERSION_LOWERINGCONTEXT_H
