//===- Config.cpp - ExperimentConfig checks and names ---------------------===//
#include "neuromancer/train/Config.h"

#include "neuromancer/core/Error.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <numeric>

namespace nm {

std::size_t levenshtein(const std::string &a, const std::string &b) {
  if (a.size() < b.size())
    return levenshtein(b, a);
  std::vector<std::size_t> previous(b.size() + 1);
  std::iota(previous.begin(), previous.end(), 0);
  for (std::size_t i = 0; i < a.size(); ++i) {
    std::vector<std::size_t> current{i + 1};
    for (std::size_t j = 0; j < b.size(); ++j)
      current.push_back(std::min(
          {previous[j + 1] + 1, current[j] + 1, previous[j] + (a[i] != b[j])}));
    previous = std::move(current);
  }
  return previous.back();
}

std::string closest_name(const std::string &name,
                         const std::vector<std::string> &candidates) {
  std::string best;
  std::size_t bestDistance = std::string::npos;
  for (const std::string &c : candidates) {
    std::size_t d = levenshtein(name, c);
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return best;
}

namespace {
std::string expandUser(const std::string &path) {
  if (path.rfind("~", 0) != 0 || (path.size() > 1 && path[1] != '/'))
    return path;
  const char *home = std::getenv("HOME");
  return std::string(home ? home : "") + path.substr(1);
}

[[noreturn]] void mustNotBeNone(const std::string &name) {
  throw ValueError("'" + name + "' must not be 'None'");
}
} // namespace

std::string ExperimentConfig::save_dir() const {
  return (std::filesystem::path(expandUser(save_path)) / save_name).string();
}

void ExperimentConfig::check() const {
  if (!create_model && model_load_path.empty())
    throw ValueError("Invalid experiment config: one of 'create_model' or "
                     "'model_load_path' must be given.");
  if (save_name.empty())
    mustNotBeNone("save_name");
  if (save_path.empty())
    mustNotBeNone("save_path");
  if (!batch_size)
    mustNotBeNone("batch_size");
  if (data_class.empty())
    mustNotBeNone("data_class");
  if (!n_steps)
    mustNotBeNone("n_steps");
  if (!max_runtime)
    mustNotBeNone("max_runtime");
  if (!history_freq)
    mustNotBeNone("history_freq");
  if (!monitor_batch_size)
    mustNotBeNone("monitor_batch_size");
  if (optimiser.empty())
    mustNotBeNone("optimiser");
  if (!optimiser_params)
    mustNotBeNone("optimiser_params");
  if (data_class != "BatchCreatorImage")
    throw ValueError("data_class '" + data_class +
                     "' is not known (the data class is 'BatchCreatorImage')");
  const std::vector<std::string> &opts = optimiser_names();
  if (std::find(opts.begin(), opts.end(), optimiser) == opts.end())
    throw ValueError("optimiser '" + optimiser +
                     "' is not known; did you mean '" +
                     closest_name(optimiser, opts) + "'?");
  if (*batch_size < 1)
    throw ValueError("batch_size must be >= 1, not " +
                     std::to_string(*batch_size));
  if (*n_steps < 0 || *history_freq < 1 || *monitor_batch_size < 1 ||
      param_save_it < 1)
    throw ValueError("n_steps must be >= 0 and history_freq, "
                     "monitor_batch_size and param_save_it >= 1");
  if (!(*max_runtime >= 0))
    throw ValueError("max_runtime must be >= 0 seconds");
  if (save_name.find('/') != std::string::npos || save_name == "." ||
      save_name == "..")
    throw ValueError("save_name '" + save_name +
                     "' must be a plain name (no '/'); save_path is its "
                     "parent directory");
  if (background_processes < 0)
    throw ValueError("background_processes must be >= 0");
}

} // namespace nm
