//===- TrainCommand.cpp - `neuromancer train` -----------------------------===//
//
// ELEKTRONN2's `elektronn2-train config.py` with a TOML config of the same
// names (train/Config.h). `--resume DIR` continues a run from the
// directory's own config copy and newest checkpoint; `--set` changes the
// values a run may change (max_runtime, n_steps, lr, ...).
//
//===----------------------------------------------------------------------===//
#include "tools/neuromancer/TrainCommand.h"

#include "neuromancer/train/Trainer.h"

#include <filesystem>

namespace fs = std::filesystem;

namespace nm::tools {

CLI::App *addTrain(CLI::App &app, TrainArguments &a) {
  CLI::App *cmd = app.add_subcommand(
      "train", "train a model as ELEKTRONN2's elektronn2-train does: "
               "CONFIG.toml, or --resume SAVE_DIR");
  CLI::Option *config =
      cmd->add_option("config", a.config, "the experiment config (TOML)")
          ->check(CLI::ExistingFile);
  CLI::Option *resume =
      cmd->add_option("--resume", a.resume,
                      "continue the run in this save directory from its "
                      "newest checkpoint")
          ->check(CLI::ExistingDirectory);
  config->excludes(resume);
  cmd->add_option("--set", a.set,
                  "name=value: change max_runtime, n_steps, history_freq, "
                  "lr, mom, wd, beta2, ... (repeatable)");
  cmd->callback([config, resume] {
    if (!config->count() && !resume->count())
      throw CLI::ValidationError("train",
                                 "give a CONFIG.toml or --resume SAVE_DIR");
  });
  return cmd;
}

int train(const TrainArguments &a) {
  ExperimentConfig config;
  TrainerOptions options;
  if (!a.resume.empty()) {
    fs::path dir = fs::absolute(a.resume).lexically_normal();
    if (dir.filename().empty())
      dir = dir.parent_path();
    std::string copy = config_copy_path(dir.string());
    if (!fs::exists(copy))
      throw IOError("cannot resume: '" + dir.string() +
                    "' holds no config copy ('" + copy +
                    "'); is it a neuromancer save directory?");
    config = ExperimentConfig::from_toml_file(copy);
    // The directory is authoritative: it may have been moved.
    config.save_path = dir.parent_path().string();
    config.save_name = dir.filename().string();
    options.resume = true;
    options.overrides = a.set;
  } else {
    config = ExperimentConfig::from_toml_file(a.config);
    for (const std::string &assignment : a.set)
      config.set(assignment);
  }
  Trainer trainer(std::move(config), options);
  return static_cast<int>(trainer.run());
}

} // namespace nm::tools
