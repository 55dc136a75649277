//===- TrainCommand.h - `neuromancer train` ---------------------*- C++ -*-===//
#ifndef NEUROMANCER_TOOLS_NEUROMANCER_TRAINCOMMAND_H
#define NEUROMANCER_TOOLS_NEUROMANCER_TRAINCOMMAND_H

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace nm::tools {

struct TrainArguments {
  std::string config, resume;
  std::vector<std::string> set;
};

/// `neuromancer train CONFIG.toml | --resume SAVE_DIR [--set name=value]...`
CLI::App *addTrain(CLI::App &app, TrainArguments &a);

/// Runs the trainer; the exit status is nm::TrainerExit's value.
int train(const TrainArguments &a);

} // namespace nm::tools

#endif // NEUROMANCER_TOOLS_NEUROMANCER_TRAINCOMMAND_H
