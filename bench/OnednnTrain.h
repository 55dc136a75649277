//===- OnednnTrain.h - a training step through oneDNN directly -*- C++ -*-===//
//
// The library bar of train_bench: one training step of a chain of conv
// layers (bench/ConvLayers.h) made of oneDNN 2.6 primitives and plain
// loops, as a user of the library would write it. Forward: conv
// forward_training with bias and fused ReLU, max-pool forward_training
// with workspace, softmax; the sparse NLL (mean over voxels) and its
// gradient with respect to the logits by a loop; backward: max-pool
// backward, ReLU backward (from the ReLU's output), conv backward_weights
// (with bias) and backward_data (not for the first layer); then ELEKTRONN2's
// Adam by a loop over every parameter. Layouts are the ones oneDNN picks
// (format `any`); the reorders between them are steps of the training step
// and timed with it. Primitives are created once, in the constructor, at
// the OpenMP thread count in force (oneDNN sizes its kernels by it).
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_BENCH_ONEDNNTRAIN_H
#define NEUROMANCER_BENCH_ONEDNNTRAIN_H

#include "bench/ConvLayers.h"

#include "oneapi/dnnl/dnnl.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace nm::bench {

/// ELEKTRONN2's Adam: m = b1 m + (1 - b1) g; s = b2 s + (1 - b2) g^2;
/// p -= lr sqrt(1 - b2^t) / (1 - b1^t) m / sqrt(s + eps).
struct AdamHyper {
  double lr = 5e-4, beta1 = 0.9, beta2 = 0.999, eps = 1e-5;
};

/// One row of the per-layer table: medians over the recorded steps.
struct OnednnPhaseTime {
  std::string name, impl;
  double fwdMs = 0, bwdMs = 0;
};

class OnednnTrain {
public:
  /// `layers` with their initial parameters; `input` NCDHW float32;
  /// `labels` the class of every output voxel, shape (n, 1, z, x, y).
  OnednnTrain(const std::vector<ConvLayer> &layers, const nm::Array &input,
              const nm::Array &labels, AdamHyper adam = {});
  // The steps hold pointers into the object.
  OnednnTrain(const OnednnTrain &) = delete;
  OnednnTrain &operator=(const OnednnTrain &) = delete;

  /// One training step; its wall-clock seconds.
  double step();
  /// The loss of the last step, before its update.
  double loss() const { return loss_; }
  /// Layer `i`'s gradients of the last step: [f, c, kz, kx, ky] and [f].
  nm::Array weightGradient(std::size_t i);
  nm::Array biasGradient(std::size_t i);
  /// Per conv layer, then "softmax+NLL" and "Adam": median milliseconds
  /// over the steps since the last clearTimes().
  std::vector<OnednnPhaseTime> phaseTimes() const;
  void clearTimes() { history_.clear(); }
  /// MiB of the memory objects and optimiser state this step allocated
  /// (oneDNN's scratchpads not included).
  double bufferMiB() const { return static_cast<double>(bytes_) / (1 << 20); }

private:
  enum class Phase { Forward, Loss, Backward, Adam };
  struct Op {
    int layer;
    Phase phase;
    std::function<void()> run;
  };
  struct Layer {
    ConvLayer geo;
    std::string impl;
    dnnl::convolution_forward::primitive_desc conv;
    dnnl::pooling_forward::primitive_desc pool;
    dnnl::memory src, w, b, convDst, out, ws, diffW, diffB;
    std::vector<float> mW, sW, mB, sB; // Adam's state, in w's layout
  };

  dnnl::memory alloc(const dnnl::memory::desc &d);
  void add(int layer, Phase phase, const dnnl::primitive &p,
           std::unordered_map<int, dnnl::memory> args);
  dnnl::memory convert(const dnnl::memory &have, const dnnl::memory::desc &want,
                       int layer, Phase phase);
  dnnl::memory buildForward(std::size_t i, dnnl::memory cur);
  dnnl::memory buildLoss(dnnl::memory logits);
  void lossLoop();
  dnnl::memory buildBackward(std::size_t i, dnnl::memory g);
  void buildAdam(std::size_t i);
  void adamLoop(float *p, const float *g, float *m, float *s, std::size_t n);

  dnnl::engine eng_{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm_{eng_};
  AdamHyper adam_;
  std::vector<Layer> layers_;
  std::vector<Op> ops_;
  dnnl::memory input_, prob_, dlogits_;
  std::vector<int32_t> labels_;
  std::size_t bytes_ = 0;
  int64_t t_ = 0; // Adam's step count
  double loss_ = 0;
  /// Per step: forward and backward seconds per layer, then the loss and
  /// Adam phases as two more entries.
  std::vector<std::vector<std::pair<double, double>>> history_;
};

} // namespace nm::bench

#endif // NEUROMANCER_BENCH_ONEDNNTRAIN_H
