//===- Layers.h - the node constructors (ELEKTRONN2's vocabulary) -*- C++
//-*-===//
//
// One function per ELEKTRONN2 node class, with the same name and positional
// arguments. Python keyword arguments become option structs used with C++20
// designated initializers, fields in ELEKTRONN2's keyword order:
//
//   nm::Node c = nm::Conv(image, 32, {1, 6, 6}, {1, 2, 2},
//                         {.activation_func = "lin", .name = "logits"});
//
// Each call validates its input, computes shape, fov, cost and parameters,
// registers the node in the current model and logs its repr.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_FRONTEND_LAYERS_H
#define NEUROMANCER_FRONTEND_LAYERS_H

#include "neuromancer/frontend/Node.h"

#include <optional>
#include <string>
#include <vector>

namespace nm {

//===----------------------------------------------------------------------===//
// node_basic
//===----------------------------------------------------------------------===//

struct InputOptions {
  std::string name = "input";
  std::string dtype = "float32";
  Sizes strides = {};
  Sizes fov = {};
  bool hardcoded_shape = false;
  bool print_repr = true;
};
/// A source of data: shape (nm::None for unknown sizes) and tags such as
/// "b,f,z,x,y".
Node Input(const Sizes &shape, const std::string &tags,
           const InputOptions &options = {});

struct InputLikeOptions {
  /// Replaces the size of the 'f' axis (0: keep).
  int64_t override_f = 0;
  std::string name = "input";
  /// Empty: ref's dtype.
  std::string dtype = "";
  bool print_repr = true;
  bool hardcoded_shape = false;
};
/// An Input with ref's shape, tags, strides and fov (e.g. a target).
Node Input_like(const Node &ref, const InputLikeOptions &options = {});

struct ConcatOptions {
  std::string axis = "f";
  std::string name = "concat";
  bool print_repr = true;
};
Node Concat(const std::vector<Node> &parent_nodes,
            const ConcatOptions &options = {});

struct MergeOptions {
  std::string name = "";
  bool print_repr = true;
};
/// Elementwise sum; shapes must be equal.
Node Add(const Node &n1, const Node &n2, const MergeOptions &options = {});
/// Elementwise product; shapes must be equal.
Node MultMerge(const Node &n1, const Node &n2,
               const MergeOptions &options = {});

struct ApplyFuncOptions {
  /// Extra scalar arguments of the function (e.g. the slope of "elu").
  std::vector<double> args = {};
  std::string name = "apply";
  bool print_repr = false;
};
/// Applies a named elementwise function (any activation name, "exp", "log",
/// "sqrt", "square", "neg", ...). The shape is unchanged.
Node ApplyFunc(const Node &parent, const std::string &functor,
               const ApplyFuncOptions &options = {});

struct SplitOptions {
  std::string axis = "f";
  /// Split points (exclusive ends of all but the last piece) ...
  std::vector<int64_t> index = {};
  /// ... or the number of equal pieces.
  int64_t n_out = 0;
  bool strip_singleton_dims = false;
  std::string name = "split";
};
std::vector<Node> split(const Node &node, const SplitOptions &options = {});

struct ValueNodeOptions {
  Sizes strides = {};
  Sizes fov = {};
  std::string dtype = "float32";
  bool apply_train = false;
  /// Initial value (default zeros).
  std::optional<Array> value = std::nullopt;
  std::string name = "value_state";
  bool print_repr = true;
};
/// A constant or trainable value (a parameter named "value").
Node ValueNode(const Sizes &shape, const std::string &tags,
               const ValueNodeOptions &options = {});

struct InitialStateLikeOptions {
  std::string dtype = "";
  std::string name = "initial_state";
  bool print_repr = true;
};
/// A learned vector of length override_f broadcast over parent's shape.
Node InitialState_like(const Node &parent, int64_t override_f,
                       const InitialStateLikeOptions &options = {});

//===----------------------------------------------------------------------===//
// neural
//===----------------------------------------------------------------------===//

struct PerceptronOptions {
  std::string activation_func = "relu";
  bool flatten = false;
  /// "", "train", "fadeout" or "predict".
  std::string batch_normalisation = "";
  double dropout_rate = 0;
  std::string name = "dot";
  bool print_repr = true;
  std::optional<Array> w, b, gamma, mean, std;
};
Node Perceptron(const Node &parent, int64_t n_f,
                const PerceptronOptions &options = {});
/// ELEKTRONN2's alias of Perceptron.
Node Dot(const Node &parent, int64_t n_f,
         const PerceptronOptions &options = {});

struct ConvOptions {
  /// "valid", "same" (odd kernels) or "full".
  std::string conv_mode = "valid";
  std::string activation_func = "relu";
  /// Max-fragment-pooling: all pooling phases as extra batch entries.
  bool mfp = false;
  std::string batch_normalisation = "";
  double dropout_rate = 0;
  std::string name = "conv";
  bool print_repr = true;
  std::optional<Array> w, b, gamma, mean, std;
  bool invalidate_fov = false;
};
/// Convolution (filter per spatial axis), then max-pooling (pool_shape,
/// empty = ones) or MFP, batch normalisation, activation, dropout.
Node Conv(const Node &parent, int64_t n_f, const Sizes &filter_shape,
          const Sizes &pool_shape = {}, const ConvOptions &options = {});

struct UpConvOptions {
  std::string activation_func = "relu";
  bool identity_init = true;
  std::string batch_normalisation = "";
  double dropout_rate = 0;
  std::string name = "upconv";
  bool print_repr = true;
  std::optional<Array> w, b, gamma, mean, std;
};
/// Transposed convolution with filter = stride = pool_shape.
Node UpConv(const Node &parent, int64_t n_f, const Sizes &pool_shape,
            const UpConvOptions &options = {});

struct PoolOptions {
  /// Empty: = pool_shape.
  Sizes stride = {};
  bool mfp = false;
  /// "max", "average" (= "average_inc_pad"), "average_exc_pad" or "sum".
  std::string mode = "max";
  std::string name = "pool";
  bool print_repr = true;
};
Node Pool(const Node &parent, const Sizes &pool_shape,
          const PoolOptions &options = {});

struct CropOptions {
  std::string name = "crop";
  bool print_repr = true;
};
/// Removes crop[k] voxels from both sides of spatial axis k.
Node Crop(const Node &parent, const Sizes &crop,
          const CropOptions &options = {});

struct PadOptions {
  double value = 0.0;
  std::string name = "pad";
  bool print_repr = true;
};
/// Adds pad[k] voxels of `value` on both sides of spatial axis k.
Node Pad(const Node &parent, const Sizes &pad, const PadOptions &options = {});

struct FragmentsToDenseOptions {
  std::string name = "to_dense";
  bool print_repr = true;
};
/// Interleaves MFP fragments (batch) into a dense map.
Node FragmentsToDense(const Node &parent,
                      const FragmentsToDenseOptions &options = {});

struct AutoMergeOptions {
  /// Features of the UpConv inserted when the strides differ.
  int64_t upconv_n_f = 0;
  /// "concat" or "add".
  std::string merge_mode = "concat";
  bool disable_upconv = false;
  UpConvOptions upconv_kwargs = {};
  std::string name = "merge";
  bool print_repr = true;
};
/// U-Net skip merge: upsample the coarser input, crop the larger one,
/// concatenate (upconv features first) or add.
Node AutoMerge(const Node &parent1, const Node &parent2,
               const AutoMergeOptions &options = {});
Node UpConvMerge(const Node &parent1, const Node &parent2,
                 const AutoMergeOptions &options = {});
/// ELEKTRONN2's positional form, `UpConvMerge(conv5, conv7, 512)` in its
/// U-Net examples: `upconv_n_f` before the keyword options. ValueError if
/// the options give another upconv_n_f.
Node AutoMerge(const Node &parent1, const Node &parent2, int64_t upconv_n_f,
               const AutoMergeOptions &options = {});
Node UpConvMerge(const Node &parent1, const Node &parent2, int64_t upconv_n_f,
                 const AutoMergeOptions &options = {});

struct LRNOptions {
  /// "spatial" or "channel".
  std::string mode = "spatial";
  double alpha = 0.0001;
  double k = 1;
  double beta = 0.75;
  std::string name = "LRN";
  bool print_repr = true;
};
/// Local response normalisation x / (k + alpha * mean_sq)^beta.
Node LRN(const Node &parent, const Sizes &filter_shape,
         const LRNOptions &options = {});

//===----------------------------------------------------------------------===//
// various
//===----------------------------------------------------------------------===//

struct ReshapeOptions {
  Sizes strides = {};
  Sizes fov = {};
  std::string name = "reshape";
  bool print_repr = true;
};
/// New shape and tags; the number of non-batch elements must not change.
Node Reshape(const Node &parent, const Sizes &shape, const std::string &tags,
             const ReshapeOptions &options = {});

//===----------------------------------------------------------------------===//
// loss
//===----------------------------------------------------------------------===//

struct SoftmaxOptions {
  /// 0: 'auto' (f / n_indep).
  int64_t n_class = 0;
  int64_t n_indep = 1;
  std::string name = "softmax";
  bool print_repr = true;
};
/// Softmax over 'f' (or n_indep softmaxes over blocks of n_class). A parent
/// with an activation must use activation_func = "lin".
Node Softmax(const Node &parent, const SoftmaxOptions &options = {});

struct OneHotOptions {
  std::string axis = "f";
  std::string name = "onehot";
  bool print_repr = true;
};
Node OneHot(const Node &target, int64_t n_class,
            const OneHotOptions &options = {});

struct MultinoulliNLLOptions {
  bool target_is_sparse = false;
  std::vector<double> class_weights = {};
  Node example_weights = {};
  double weakness = 0;
  Node mask_class_labeled = {};
  Node mask_class_not_present = {};
  std::string name = "nll";
  bool print_repr = true;
};
/// Voxel-wise negative log-likelihood of a Softmax prediction.
Node MultinoulliNLL(const Node &pred, const Node &target,
                    const MultinoulliNLLOptions &options = {});

struct BlockedMultinoulliNLLOptions {
  bool target_is_sparse = false;
  std::vector<double> class_weights = {};
  Node example_weights = {};
  double blocking_factor = 0.5;
  std::string name = "nll";
  bool print_repr = true;
};
Node BlockedMultinoulliNLL(const Node &pred, const Node &target,
                           const BlockedMultinoulliNLLOptions &options = {});

struct ClassificationOptions {
  int64_t n_class = 0; // auto
  int64_t n_indep = 0; // auto
  std::string name = "cls";
  bool print_repr = true;
};
/// argmax per block of a softmax (or > 0.5 of a sigmoid).
Node Classification(const Node &pred,
                    const ClassificationOptions &options = {});

struct ErrorsOptions {
  bool target_is_sparse = false;
  int64_t n_class = 0; // auto
  int64_t n_indep = 0; // auto
  std::string name = "errors";
  bool print_repr = true;
};
/// Fraction of misclassified voxels (creates 'cls for errors').
Node Errors(const Node &pred, const Node &target,
            const ErrorsOptions &options = {});

struct GaussianNLLOptions {
  bool sig_is_log = false;
  std::string name = "g_nll";
  bool print_repr = true;
};
Node GaussianNLL(const Node &mu, const Node &sig, const Node &target,
                 const GaussianNLLOptions &options = {});

struct BetaNLLOptions {
  std::string name = "beta_nll";
  bool print_repr = true;
};
Node BetaNLL(const Node &mode, const Node &concentration, const Node &target,
             const BetaNLLOptions &options = {});

struct BinaryNLLOptions {
  bool subtract_label_entropy = false;
  std::string name = "binary_nll";
  bool print_repr = true;
};
Node BinaryNLL(const Node &pred, const Node &target,
               const BinaryNLLOptions &options = {});

struct RegressionLossOptions {
  std::optional<double> margin = std::nullopt;
  std::optional<double> scale_correction = std::nullopt;
  std::string name = "";
  bool print_repr = true;
};
/// scale * 0.5 (t - p)^2, mean over f.
Node SquaredLoss(const Node &pred, const Node &target,
                 const RegressionLossOptions &options = {});
/// scale * |t - p|, mean over f.
Node AbsLoss(const Node &pred, const Node &target,
             const RegressionLossOptions &options = {});

struct EuclideanDistanceOptions {
  std::string name = "se";
  bool print_repr = true;
};
Node EuclideanDistance(const Node &pred, const Node &target,
                       const EuclideanDistanceOptions &options = {});

struct RampLossOptions {
  double margin = 0;
  std::string name = "se";
  bool print_repr = true;
};
Node RampLoss(const Node &d_low, const Node &d_big,
              const RampLossOptions &options = {});

struct AggregateLossOptions {
  /// Default: ones.
  std::vector<double> mixing_weights = {};
  std::string name = "total_loss";
  bool print_repr = true;
};
/// mean_k(mean(loss_k) * w_k).
Node AggregateLoss(const std::vector<Node> &parent_nodes,
                   const AggregateLossOptions &options = {});
Node AggregateLoss(const Node &parent,
                   const AggregateLossOptions &options = {});

} // namespace nm

#endif // NEUROMANCER_FRONTEND_LAYERS_H
