//===- Schedule.h - ELEKTRONN2's schedules of training variables -*- C++
//-*-===//
//
// `schedules = {var: {kind: ...}}` of an experiment (reference §6.7): `dec`
// multiplies every 1000 steps, `lindec` decreases linearly to 0, `updates`
// sets values at given steps, with ELEKTRONN2's step semantics (the first
// update after optimiser step i = 1000, `updates` at min(1000, first step)).
// A schedule changes a variable through a getter and setter (the model's lr,
// mom, wd, beta2, mixing, dropout_rates, or a config value); values are
// vectors so per-layer rates work like scalars. Its state is saved with the
// trainer's checkpoints.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_TRAIN_SCHEDULE_H
#define NEUROMANCER_TRAIN_SCHEDULE_H

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace nm {

/// One entry of the config's `schedules`: exactly one kind.
struct ScheduleSpec {
  /// "dec", "lindec" or "updates".
  std::string kind;
  /// dec: the factor applied every 1000 steps.
  double factor = 1;
  /// lindec: [n, v0], reaching 0 at step n.
  int64_t n_steps = 0;
  double init_val = 0;
  /// updates: (step, value), value a scalar or one per layer.
  std::vector<std::pair<int64_t, std::vector<double>>> updates;
  bool operator==(const ScheduleSpec &) const = default;
};

/// What a schedule changes.
struct ScheduleTarget {
  std::function<std::vector<double>()> get;
  std::function<void(const std::vector<double> &)> set;
};

class Schedule {
public:
  /// ValueError for an unknown kind ("permut" included: ELEKTRONN2's is
  /// broken), an empty `updates`, unsorted update steps or lindec n <= 0.
  Schedule(std::string variable, const ScheduleSpec &spec,
           ScheduleTarget target);

  /// The step after which update() is due (-1: finished).
  int64_t next_update() const { return next_; }
  /// ELEKTRONN2's Schedule.update(iteration).
  void update(int64_t iteration);
  const std::string &variable() const { return variable_; }
  /// "Schedule for lr:  mode=mult, decay-factor=0.995000, next update=1000\n"
  std::string repr() const;

  /// The changing part (mode, next update, remaining updates), for
  /// checkpoints: a JSON text.
  std::string state() const;
  /// ValueError for a state of another kind of schedule.
  void set_state(const std::string &state);

private:
  void multiply(double factor);
  void advanceAfterSet(int64_t iteration);

  std::string variable_;
  ScheduleTarget target_;
  std::string mode_; // "mult", "set", "lin"
  double factor_ = 1;
  int64_t next_ = 1000;
  double delta_ = 0;
  int64_t nSteps_ = 0;
  bool hasDelta_ = false, hasUpdates_ = false;
  std::vector<int64_t> steps_;
  std::vector<std::vector<double>> values_;
};

} // namespace nm

#endif // NEUROMANCER_TRAIN_SCHEDULE_H
