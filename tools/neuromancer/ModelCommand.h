//===- ModelCommand.h - `neuromancer model` ---------------------*- C++ -*-===//
//
//   neuromancer model NAME [--save FILE] [--patch z,x,y] [--batch N|None]
//                     [--graph PREFIX] [--overwrite]
//
// Builds one of ELEKTRONN2's example networks (examples/Models.h), which
// prints its node reprs and statistics, and saves it (model.save, atomic)
// and/or draws its graph (train/Visualise.h). Also the `--graph PREFIX`
// option of `neuromancer info`.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_TOOLS_NEUROMANCER_MODELCOMMAND_H
#define NEUROMANCER_TOOLS_NEUROMANCER_MODELCOMMAND_H

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace nm {
class Model;
}

namespace nm::tools {

struct ModelArguments {
  std::string name, save, patch, batch, graph;
  bool overwrite = false;
};

/// Adds the `model` subcommand, filling `a`.
CLI::App *addModelCommand(CLI::App &app, ModelArguments &a);

/// Runs it: 0, or throws nm::Error (an existing file without --overwrite,
/// a patch size the network rejects).
int runModelCommand(const ModelArguments &a);

/// Draws `model` to PREFIX.{dot,svg,png,html} and says so on stdout.
void drawModel(const Model &model, const std::string &prefix);

} // namespace nm::tools

#endif // NEUROMANCER_TOOLS_NEUROMANCER_MODELCOMMAND_H
