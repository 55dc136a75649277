//===- neuro3d_train.cpp - ELEKTRONN2's examples/neuro3d.py, trained ------===//
//
// The experiment of examples/neuro3d.py, line by line as an
// nm::ExperimentConfig, trained by nm::Trainer (what `elektronn2-train
// neuro3d.py` does), then the validation cube predicted densely and its
// error printed next to the majority-class baseline. The main example
// (scripts/run_example.sh) runs it with --model neuro3d_lite on the
// synthetic data set for a few minutes:
//
//   neuro3d_train [--model neuro3d|neuro3d_lite] [--data DIR]
//                 [--save-path DIR] [--max-runtime S] [--n-steps N]
//                 [--lr LR] [--seed N] [--eval-slices N]
//
//===----------------------------------------------------------------------===//
#include "Models.h"

#include "neuromancer/data/CubeReader.h"
#include "neuromancer/train/Trainer.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <ctime>
#include <iostream>

namespace {

struct Options {
  std::string model = "neuro3d";
  std::string data = "~/neuro_data_zxy/";
  std::string savePath = "~/neuromancer_training/";
  double maxRuntime = 7 * 24 * 3600;
  int64_t nSteps = 1000000;
  double lr = 0.0005;
  uint64_t seed = 0;
  int64_t historyFreq = 200;
  int64_t evalSlices = 16;
};

/// examples/neuro3d.py's module-level names, in its order.
nm::ExperimentConfig neuro3dConfig(const Options &o) {
  nm::ExperimentConfig c;
  c.save_path = o.savePath;
  c.preview_data_path = o.data + "/preview_cubes.h5";
  c.preview_kwargs = {.export_class = "1", .max_z_pred = 3};
  c.initial_prev_h = 1.0; // hours: time after which the first preview is made
  c.prev_save_h = 1.0;    // hours: time interval between planned previews
  c.data_class = "BatchCreatorImage";
  c.background_processes = 2;
  c.data_init_kwargs.d_path = o.data;
  c.data_init_kwargs.l_path = o.data;
  for (int i = 0; i < 3; ++i) {
    c.data_init_kwargs.d_files.push_back(
        {"raw_" + std::to_string(i) + ".h5", "raw"});
    c.data_init_kwargs.l_files.push_back(
        {"barrier_int16_" + std::to_string(i) + ".h5", "lab"});
  }
  c.data_init_kwargs.aniso_factor = 2;
  c.data_init_kwargs.valid_cubes = {2};
  c.data_batch_args.grey_augment_channels = {0};
  c.data_batch_args.warp = 0.5;
  c.data_batch_args.warp_args.sample_aniso = true;
  c.data_batch_args.warp_args.perspective = true;
  c.n_steps = o.nSteps;
  c.max_runtime = o.maxRuntime; // in seconds
  c.history_freq = o.historyFreq;
  c.monitor_batch_size = 30;
  c.optimiser = "Adam";
  c.optimiser_params = std::map<std::string, double>{
      {"lr", o.lr}, {"mom", 0.9}, {"beta2", 0.999}, {"wd", 0.5e-4}};
  c.schedules["lr"] = {.kind = "dec", .factor = 0.995}; // every 1000 steps
  c.batch_size = 1;
  c.create_model = [model = o.model]() -> nm::Model & {
    nm::Model &m = nm::model_manager.newmodel(model);
    if (model == "neuro3d_lite")
      nm::examples::neuro3d_lite();
    else
      nm::examples::neuro3d();
    return m;
  };
  // Beyond neuro3d.py: a fixed seed, a name without a clock.
  c.seed = o.seed;
  char stamp[32];
  std::time_t t = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "%y-%m-%d_%H-%M-%S", std::localtime(&t));
  c.save_name = o.model + "__" + stamp;
  return c;
}

/// The dense prediction of the central `slices` label sections of the
/// validation cube against its labels: the error of argmax and that of
/// always answering the majority class.
void evaluate(nm::Model &model, const Options &o) {
  std::string dir = o.data + "/";
  if (dir[0] == '~')
    dir = std::string(std::getenv("HOME")) + dir.substr(1);
  nm::data::H5Data raw =
      nm::data::readH5(dir + "raw_2.h5", "raw", "data", false);
  nm::data::H5Data lab =
      nm::data::readH5(dir + "barrier_int16_2.h5", "lab", "label", true);
  // The labelled box (centred in raw) of the central sections, and the raw
  // box around it that the network's offsets need.
  nm::Sizes net = model.prediction_node().shape().offsets();
  const int64_t slices = std::min(o.evalSlices, lab.shape[0]);
  int64_t labLo[3] = {(lab.shape[0] - slices) / 2, 0, 0};
  int64_t labN[3] = {slices, lab.shape[1], lab.shape[2]};
  int64_t rawLo[3], rawN[3];
  for (int a = 0; a < 3; ++a) {
    rawLo[a] = (raw.shape[a] - lab.shape[a]) / 2 + labLo[a] - net[a];
    rawN[a] = labN[a] + 2 * net[a];
    if (rawLo[a] < 0 || rawLo[a] + rawN[a] > raw.shape[a])
      throw nm::ValueError("the validation cube has too little raw data "
                           "around its labels for this network");
  }
  nm::Array image({1, rawN[0], rawN[1], rawN[2]});
  for (int64_t z = 0; z < rawN[0]; ++z)
    for (int64_t x = 0; x < rawN[1]; ++x)
      for (int64_t y = 0; y < rawN[2]; ++y)
        image.setFlat((z * rawN[1] + x) * rawN[2] + y,
                      raw.f[((z + rawLo[0]) * raw.shape[1] + x + rawLo[1]) *
                                raw.shape[2] +
                            y + rawLo[2]] /
                          255.0);
  nm::Array probs = model.predict_dense(image);
  const int64_t plane = labN[0] * labN[1] * labN[2];
  if (probs.size() != 2 * plane)
    throw nm::ValueError("unexpected prediction size");
  double wrong = 0, barrier = 0, n = 0;
  for (int64_t z = 0; z < labN[0]; ++z)
    for (int64_t x = 0; x < labN[1]; ++x)
      for (int64_t y = 0; y < labN[2]; ++y) {
        int64_t p = (z * labN[1] + x) * labN[2] + y;
        double label =
            lab.d[((z + labLo[0]) * lab.shape[1] + x) * lab.shape[2] + y];
        bool predicted = probs.getFlat(plane + p) > probs.getFlat(p);
        wrong += predicted != (label == 1);
        barrier += label == 1;
        n += 1;
      }
  double error = 100 * wrong / n;
  double baseline = 100 * std::min(barrier, n - barrier) / n;
  std::printf("Validation cube (raw_2.h5, central %lld sections, %.0f "
              "labelled voxels): error %.2f %% (majority-class baseline "
              "%.2f %%, ratio %.2f)\n",
              static_cast<long long>(slices), n, error, baseline,
              error / baseline);
}

} // namespace

int main(int argc, char **argv) {
  Options o;
  CLI::App app{"Trains ELEKTRONN2's neuro3d (examples/neuro3d.py) and "
               "evaluates it on the validation cube"};
  app.add_option("--model", o.model, "neuro3d or neuro3d_lite")
      ->check(CLI::IsMember({"neuro3d", "neuro3d_lite"}));
  app.add_option("--data", o.data, "the neuro_data_zxy directory");
  app.add_option("--save-path", o.savePath, "where the run's directory goes");
  app.add_option("--max-runtime", o.maxRuntime, "seconds of training");
  app.add_option("--n-steps", o.nSteps, "training steps");
  app.add_option("--lr", o.lr, "Adam's learning rate");
  app.add_option("--history-freq", o.historyFreq, "steps between monitors");
  app.add_option("--seed", o.seed, "the seed of every random draw");
  app.add_option("--eval-slices", o.evalSlices,
                 "label sections of the validation cube to evaluate");
  CLI11_PARSE(app, argc, argv);
  try {
    nm::Trainer trainer(neuro3dConfig(o));
    nm::TrainerExit exit = trainer.run();
    const nm::TrainerTimings &t = trainer.timings();
    double loop = t.batches + t.bookkeeping + t.checkpoints;
    std::printf("Loop timings over %lld steps: steps %.2f s; waiting for "
                "batches %.3f s, bookkeeping %.3f s, checkpoints %.3f s "
                "(overhead %.2f %% of the step time); monitor %.2f s, "
                "pictures %.2f s\n",
                static_cast<long long>(trainer.steps_done()), t.steps,
                t.batches, t.bookkeeping, t.checkpoints, 100 * loop / t.steps,
                t.monitor, t.pictures);
    if (exit != nm::TrainerExit::Finished)
      return static_cast<int>(exit);
    trainer.preview();
    evaluate(trainer.model(), o);
    std::printf("Plots, previews and checkpoints: %s\n",
                trainer.save_dir().c_str());
  } catch (const nm::Error &e) {
    std::cerr << "neuro3d_train: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
