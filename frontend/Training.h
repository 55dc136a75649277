//===- Training.h - training steps and optimisers ---------------*- C++ -*-===//
//
// ELEKTRONN2's training API of a Model (reference §3 "Other Model API",
// §6.6): `trainingstep` runs one compiled function that computes the loss,
// its gradients (nm-autodiff) and the optimiser's update of every trainable
// parameter (nm-optimizer-step); `gradients` returns the gradients alone.
// The hyper-parameters are runtime arguments, so changing them compiles
// nothing. Optimiser state lives in the model (and its files).
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_FRONTEND_TRAINING_H
#define NEUROMANCER_FRONTEND_TRAINING_H

#include "neuromancer/core/OrderedDict.h"
#include "neuromancer/runtime/Array.h"

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace nm {

/// Keyword arguments of Model::trainingstep, in ELEKTRONN2's order.
struct TrainingStepOptions {
  /// "SGD", "AdaGrad", "AdaDelta" or "Adam".
  std::string optimiser = "SGD";
  /// Report the loss after the update (one more forward pass) instead of
  /// the loss the gradients were computed from.
  bool update_loss = false;
};

/// What Model::trainingstep returns: ELEKTRONN2's (loss, t_gpu,
/// extra_outputs).
struct StepResult {
  double loss = 0;
  /// Wall-clock seconds of the step.
  double time = 0;
  /// The designated debug outputs, computed before the update.
  std::vector<Array> debug_outputs;
};

/// The optimisers' hyper-parameters and accumulators of one model.
struct OptimiserState {
  /// ELEKTRONN2's shared lr, mom, wd (one set for all optimisers) and
  /// Adam's beta2.
  double lr = 1.0, mom = 0.9, wd = 0.0, beta2 = 0.999;
  /// Per optimiser: the steps it made (Adam's t, AdaGrad's first step) and
  /// its accumulators by argument name "<node>_<param>:<state>".
  struct Accumulators {
    int64_t steps = 0;
    std::map<std::string, Array> arrays;
  };
  std::map<std::string, Accumulators> optimisers;
  /// Training steps made (ELEKTRONN2's `iterations`).
  int64_t iterations = 0;
  /// The seed of the dropout masks, drawn from nm::set_seed's generator at
  /// the first step; step i uses a mix of it and i, so a resumed run draws
  /// the masks an uninterrupted one would.
  std::optional<uint64_t> seed;
  /// The last step times (50) and losses (200), for time_per_step and
  /// loss_smooth.
  std::deque<double> stepTimes, losses;
};

/// The optimisers ELEKTRONN2 creates for a model with a loss.
const std::vector<std::string> &optimiser_names();

} // namespace nm

#endif // NEUROMANCER_FRONTEND_TRAINING_H
