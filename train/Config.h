//===- Config.h - ELEKTRONN2's ExperimentConfig -----------------*- C++ -*-===//
//
// Everything a training run needs, under ELEKTRONN2's names (reference §6.2)
// and with its defaults (its DefaultConfig included): from C++ as a struct
// (designated initializers, `create_model` a function), from the command
// line as a TOML file with the same names (`neuromancer train CONFIG.toml`).
// Unknown top-level names are warned about with the closest valid name, as
// ELEKTRONN2 does; unknown keys inside the keyword tables (data_init_kwargs,
// data_batch_args, ...) are errors with the closest name, as Python's
// TypeError would be. Mandatory values left unset raise ELEKTRONN2's
// "'n_steps' must not be 'None'".
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_TRAIN_CONFIG_H
#define NEUROMANCER_TRAIN_CONFIG_H

#include "neuromancer/data/BatchCreatorImage.h"
#include "neuromancer/frontend/Model.h"
#include "neuromancer/train/Schedule.h"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace nm {

/// ELEKTRONN2's Trainer.preview_slice keywords (reference §6.8).
struct PreviewKwargs {
  /// The hours label of the first preview file (set by the trainer).
  double number = 0;
  /// "all", a class "1", a list "1,2", "malis" or "affinity".
  std::string export_class = "all";
  int64_t max_z_pred = 5;
  bool operator==(const PreviewKwargs &) const = default;
};

struct ExperimentConfig {
  /// Default: "<config file name>__%y-%m-%d_%H-%M-%S".
  std::string save_name;
  /// The parent of the save directory; "~" is expanded.
  std::string save_path = "~/neuromancer_training/";
  /// Builds (and designates) the model; C++ only. Alternatively:
  std::function<Model &()> create_model;
  /// A model file written by Model::save, `neuromancer model` or an
  /// example's --save, loaded with model_load_args.
  std::string model_load_path;
  ModelLoadOptions model_load_args;
  std::optional<int64_t> batch_size;
  /// An HDF5 file of preview cubes and optionally the dataset key (empty:
  /// every dataset of the file).
  std::string preview_data_path;
  std::string preview_data_key;
  PreviewKwargs preview_kwargs;
  /// "BatchCreatorImage" (the only data class).
  std::string data_class;
  BatchCreatorOptions data_init_kwargs;
  /// getbatch keywords, not batch_size and not source.
  GetBatchOptions data_batch_args;
  std::optional<int64_t> n_steps;
  /// Seconds of training per run (a resumed run gets it again).
  std::optional<double> max_runtime;
  std::optional<int64_t> history_freq;
  std::optional<int64_t> monitor_batch_size;
  /// "SGD", "AdaGrad", "AdaDelta" or "Adam".
  std::string optimiser;
  /// lr, mom, wd, beta2.
  std::optional<std::map<std::string, double>> optimiser_params;
  /// Variable name -> schedule (lr, mom, wd, beta2, mixing, dropout_rates,
  /// or a config value such as history_freq).
  std::map<std::string, ScheduleSpec> schedules;
  /// Appended to every batch as the loss's last input (ELEKTRONN2's).
  std::optional<std::vector<double>> class_weights;

  // ELEKTRONN2's DefaultConfig values that a config may override.
  bool plot_on = true;
  bool print_status = true;
  int64_t param_save_it = 10000;
  double initial_prev_h = 1.0;
  double prev_save_h = 3.0;
  /// Threads producing batches in the background (0: none).
  int64_t background_processes = 0;

  // Beyond ELEKTRONN2.
  /// The seed of every random draw of the run (batches, augmentations,
  /// dropout, a created model's initial weights).
  uint64_t seed = 0;

  /// The config file this came from ("" for C++); names the config copy.
  std::string config_file;

  /// ELEKTRONN2's check_config: ValueError "'n_steps' must not be 'None'"
  /// for a missing mandatory value, and for values that cannot work.
  void check() const;
  /// <save_path>/<save_name>, "~" expanded.
  std::string save_dir() const;

  /// Reads a TOML config (IOError for an unreadable file, ValueError naming
  /// file, line and key for a bad value); `warnings` receives the unknown
  /// names with their closest valid name (also logged). Does not check().
  static ExperimentConfig from_toml_file(const std::string &path);
  static ExperimentConfig from_toml(const std::string &text,
                                    const std::string &source);
  /// The config as TOML (create_model cannot be written: a config made
  /// in C++ is resumed from its checkpoints' model).
  std::string to_toml() const;
  /// Applies "name=value" (TOML value syntax, e.g. lr=1e-4,
  /// optimiser_params.lr=1e-4, max_runtime=3600) as `--set` does;
  /// ValueError for a name that cannot be changed this way.
  void set(const std::string &assignment);
};

/// The valid top-level names of a config.
const std::vector<std::string> &config_names();

/// ELEKTRONN2's Levenshtein distance and the closest of `candidates`.
std::size_t levenshtein(const std::string &a, const std::string &b);
std::string closest_name(const std::string &name,
                         const std::vector<std::string> &candidates);

} // namespace nm

#endif // NEUROMANCER_TRAIN_CONFIG_H
