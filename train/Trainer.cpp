//===- Trainer.cpp - the training loop (reference §6.3) -------------------===//
//
// ELEKTRONN2's Trainer.run, step for step: i runs from -1 while i < n_steps,
// each iteration gets a batch, makes one training step, records the
// timeline, saves backups every param_save_it steps, previews on the hour
// schedule, updates the schedules, and every history_freq steps monitors,
// checkpoints, plots and logs. Ctrl+C pauses into the shell on a terminal;
// without one SIGINT and SIGTERM save and stop. A non-finite loss changes
// nothing (the training core guarantees it) and drops into the shell, or,
// without a terminal, saves the last good state and stops with status 3.
//
//===----------------------------------------------------------------------===//
#include "train/TrainerState.h"

#include "neuromancer/core/Error.h"
#include "neuromancer/core/Progress.h"

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>

#include <unistd.h>

namespace nm {

volatile std::sig_atomic_t gInterrupted = 0;
volatile std::sig_atomic_t gTerminated = 0;

namespace {

extern "C" void onInterrupt(int) { gInterrupted = 1; }
extern "C" void onTerminate(int) { gTerminated = 1; }

/// Installs the handlers for the duration of run().
class SignalScope {
public:
  SignalScope() {
    gInterrupted = gTerminated = 0;
    // No SA_RESTART: a signal interrupts the shell's blocking read.
    struct sigaction sa {};
    sa.sa_handler = onInterrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &oldInt_);
    sa.sa_handler = onTerminate;
    sigaction(SIGTERM, &sa, &oldTerm_);
  }
  ~SignalScope() {
    sigaction(SIGINT, &oldInt_, nullptr);
    sigaction(SIGTERM, &oldTerm_, nullptr);
  }

private:
  struct sigaction oldInt_ {
  }, oldTerm_{};
};

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

const char *kDivergedText =
    "The NN diverged to `nan` Loss!!!\n You have the chance to inspect the "
    "last used examples and the internal state of the pipeline in the "
    "command line. The last presented training input data is `batch[0]` and "
    "the corresponding target `batch[1]`";

/// Mean of channel 0 of the target (ELEKTRONN2's batch[1][:,0].mean()).
double batchCharacteristic(const std::vector<Array> &batch) {
  if (batch.size() < 2 || batch[1].size() == 0)
    return 0;
  const Array &t = batch[1];
  int64_t perExample = t.size() / t.shape()[0];
  int64_t perChannel = t.shape().size() > 1 ? perExample / t.shape()[1] : 1;
  double sum = 0;
  int64_t n = 0;
  for (int64_t b = 0; b < t.shape()[0]; ++b)
    for (int64_t k = 0; k < perChannel; ++k, ++n)
      sum += t.getFlat(b * perExample + k);
  return n ? sum / static_cast<double>(n) : 0;
}

/// The backup name of step i: "<name>-3k.h5" at multiples of 1000, else the
/// exact step, so no backup replaces another.
std::string backupName(const std::string &name, int64_t i) {
  return "Backup/" + name + "-" +
         (i % 1000 == 0 ? std::to_string(i / 1000) + "k" : std::to_string(i)) +
         ".h5";
}

} // namespace

TrainerExit Trainer::run() {
  State &s = *s_;
  ExperimentConfig &c = s.config;
  SignalScope signals;
  double voxelsPerStep = static_cast<double>(s.batchSize * s.data->n_f());
  for (int64_t extent : s.data->patch_size())
    voxelsPerStep *= static_cast<double>(extent);
  Progress progress(stderr, *c.n_steps + 1, (*c.n_steps + 1) * voxelsPerStep,
                    s.i + 1, (s.i + 1) * voxelsPerStep,
                    {.items = "steps", .units = "Vx", .interval = 60});
  if (s.i < 0)
    s.batchTestImage();
  s.runTime = 0;
  TrainerExit exit = TrainerExit::Finished;
  bool stop = false;
  Clock::time_point t0 = Clock::now();
  while (s.i < *c.n_steps && !stop) {
    if (gTerminated || (gInterrupted && !s.interactive)) {
      log_info("Stopping on " +
               std::string(gTerminated ? "SIGTERM" : "SIGINT") +
               ": saving the current state.");
      exit = TrainerExit::Stopped;
      break;
    }
    if (gInterrupted) {
      gInterrupted = 0;
      progress.set_note("paused");
      stop = s.shell();
      exit = stop ? TrainerExit::Stopped : exit;
      t0 = Clock::now();
      continue;
    }
    Clock::time_point tb = Clock::now();
    s.batch = s.withClassWeights(s.data->getbatch(s.batchArgs));
    s.timings.batches += since(tb);
    try {
      StepResult r = s.model->trainingstep(s.batch, {.optimiser = c.optimiser});
      s.timings.steps += r.time;
      s.loss = r.loss;
    } catch (const NumericalError &e) {
      log_warning(e.what());
      log_warning(kDivergedText);
      if (!s.interactive) {
        exit = TrainerExit::Diverged;
        break;
      }
      stop = s.shell();
      exit = stop ? TrainerExit::Stopped : exit;
      t0 = Clock::now();
      continue;
    }
    ++s.i;
    Clock::time_point tk = Clock::now();
    double tPerIt = std::chrono::duration<double>(tk - t0).count();
    s.tPassed += tPerIt;
    s.runTime += tPerIt;
    t0 = tk;
    s.tPerIt = 0.8 * s.tPerIt + 0.2 * tPerIt;
    s.batchChar = batchCharacteristic(s.batch);
    s.appendTimeline({s.i, s.tPassed, s.loss, s.batchChar});
    if (s.options.after_step)
      s.options.after_step(s.i);
    char note[64];
    std::snprintf(note, sizeof note, "loss: %.4f", s.loss);
    progress.set_note(note);
    progress.step(static_cast<double>(s.batch[0].size()));

    if (s.i % c.param_save_it == 0 && s.i > 0) {
      Clock::time_point tc = Clock::now();
      s.saveCheckpoint(s.path(backupName(c.save_name, s.i)));
      s.timings.checkpoints += since(tc);
    }
    if (!s.previewData.empty() &&
        ((s.tPassed - s.lastPreviewT) / 3600 > c.prev_save_h ||
         (s.tPassed / 3600 > c.initial_prev_h && s.lastPreviewT == 0))) {
      s.lastPreviewT = s.tPassed;
      s.previewNow(/*logFailure=*/true);
      t0 = Clock::now(); // previews are not training time
    }
    for (Schedule &schedule : s.schedules)
      if (s.i == schedule.next_update())
        schedule.update(s.i);
    s.timings.bookkeeping += since(tk);
    if (*c.history_freq != 0 && s.i % *c.history_freq == 0) {
      s.historyPoint();
      t0 = Clock::now(); // monitoring is not training time
    }
    if (s.runTime > *c.max_runtime) {
      log_info("Timeout or manual Termination");
      break;
    }
  }
  progress.finish();
  Clock::time_point tc = Clock::now();
  // ELEKTRONN2 saves FINAL after the loop; after a divergence the last good
  // state is the LAST checkpoint a resume starts from.
  const std::string final =
      exit == TrainerExit::Diverged ? "-LAST.h5" : "-FINAL.h5";
  s.saveCheckpoint(s.savePath(final));
  s.writeHistoryCsv();
  s.timings.checkpoints += since(tc);
  if (s.record.timeline.size() > 10)
    s.plot();
  if (exit == TrainerExit::Diverged)
    log_warning("Stopped after a non-finite loss: the last good state is in '" +
                s.savePath(final) + "' (exit status 3).");
  log_info("End of Training");
  log_info(std::string(60, '#') + "\n" + std::string(60, '#') + "\n");
  return exit;
}

} // namespace nm
