//===- neuromancer.cpp - the neuromancer command-line tool ----------------===//
//
//   neuromancer info    MODEL.h5               node reprs and model totals
//   neuromancer lower   MODEL.h5 [--node NAME]... [-o FILE]
//                                              the model (or the sub-graphs
//                                              behind the named nodes) as
//                                              nm MLIR
//   neuromancer compile MODEL.h5 -o DIR [--function F]... [--input-shape S]
//                       [--params-as-args] [--name NAME] [--cpu CPU]
//                                              ahead-of-time: DIR/NAME.o,
//                                              DIR/NAME.h and the runtime
//                                              library (compiler/aot/Aot.h)
//
// The command line is CLI11's: `--help` on the tool and on each command
// prints the usage and exits 0; a mistake exits 2 with a one-line error and
// the usage; an error of the work itself (a bad model file, a shape the
// model rejects) exits 1 with its message.
//
//===----------------------------------------------------------------------===//
#include "neuromancer/neuromancer.h"
#include "neuromancer/compiler/aot/Aot.h"
#include "neuromancer/core/AtomicFile.h"
#include "tools/neuromancer/EmbeddedRuntime.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#ifndef NEUROMANCER_VERSION
#define NEUROMANCER_VERSION "0.1.0"
#endif

namespace {

struct Arguments {
  std::string model, output;
  std::vector<std::string> nodes;
  // compile
  std::vector<std::string> functions;
  std::string inputShape, name, cpu;
  bool paramsAsArgs = false;
};

CLI::App *addInfo(CLI::App &app, Arguments &a) {
  CLI::App *cmd = app.add_subcommand("info", "print node reprs and totals");
  cmd->add_option("model", a.model, "model file (HDF5, model.save)")
      ->required();
  return cmd;
}

CLI::App *addLower(CLI::App &app, Arguments &a) {
  CLI::App *cmd = app.add_subcommand(
      "lower", "print the model's designated functions (or the sub-graph of "
               "each named node) as nm MLIR");
  cmd->add_option("model", a.model, "model file (HDF5, model.save)")
      ->required();
  cmd->add_option("--node", a.nodes,
                  "a node whose sub-graph to print; repeat for several")
      ->allow_extra_args(false);
  cmd->add_option("-o,--output", a.output,
                  "output file (default: standard output)");
  return cmd;
}

CLI::App *addCompile(CLI::App &app, Arguments &a) {
  CLI::App *cmd = app.add_subcommand(
      "compile", "compile ahead of time: writes DIR/NAME.o, DIR/NAME.h (C) "
                 "and libneuromancer_runtime.{so,a}");
  cmd->add_option("model", a.model, "model file (HDF5, model.save)")
      ->required();
  cmd->add_option("-o,--output", a.output, "output directory (created)")
      ->required();
  cmd->add_option("--function", a.functions,
                  "prediction (default), prediction_ext, loss or a node "
                  "name; repeat for several entry points")
      ->allow_extra_args(false);
  cmd->add_option("--input-shape", a.inputShape,
                  "size of each axis of the input, e.g. 1,1,23,185,185 "
                  "(needed when the model has None sizes); other patch "
                  "sizes rebuild the model");
  cmd->add_flag("--params-as-args", a.paramsAsArgs,
                "parameters are arguments of the entry points (default: "
                "frozen into the object)");
  cmd->add_option("--name", a.name,
                  "file stem and C prefix (default: DIR's name)");
  cmd->add_option("--cpu", a.cpu,
                  "target CPU, e.g. x86-64-v3 (default: this machine's)");
  return cmd;
}

/// Writes `text` to `path` (atomically: a unique temporary file renamed
/// into place) or to stdout.
void emit(std::string_view text, const std::string &path) {
  if (path.empty()) {
    std::cout << text;
    return;
  }
  nm::writeFileAtomically(path, text);
}

int lower(const Arguments &a) {
  // The IR goes to stdout; the reprs printed while loading would mix in.
  nm::set_log_level(nm::LogLevel::Warning);
  nm::Model &model = nm::modelload(a.model);
  if (a.nodes.empty()) {
    emit(model.to_mlir(), a.output);
    return 0;
  }
  std::string text;
  for (const std::string &name : a.nodes)
    text += model[name].to_mlir();
  emit(text, a.output);
  return 0;
}

int info(const Arguments &a) {
  nm::Model &model = nm::modelload(a.model);
  std::cout << "model '" << model.name() << "': " << model.repr() << "\n";
  return 0;
}

std::string megabytes(std::size_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB", bytes / 1e6);
  return buf;
}

int compile(const Arguments &a) {
  nm::aot::CompileRequest request;
  request.modelPath = a.model;
  request.functions = a.functions;
  if (!a.inputShape.empty())
    request.inputShape = nm::aot::parseShape(a.inputShape);
  request.paramsAsArgs = a.paramsAsArgs;
  request.outputDir = a.output;
  request.name = a.name;
  request.cpu = a.cpu;
  nm::aot::CompileReport report = nm::aot::compileModel(request);
  std::filesystem::path dir(a.output);
  for (const nm::tools::EmbeddedFile &f : nm::tools::embeddedRuntime())
    emit(f.data, (dir / f.name).string());

  std::string entries;
  for (const std::string &e : report.entries)
    entries += (entries.empty() ? "" : ", ") + e;
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.2f s", report.seconds);
  std::cout << "neuromancer: compiled " << entries << " in " << seconds
            << (report.fromCache ? " (loaded from the compile cache)" : "")
            << ", key " << report.key.substr(0, 16) << "\n"
            << "  " << report.objectPath << "  ("
            << megabytes(report.objectBytes) << ", parameters "
            << (a.paramsAsArgs ? "as arguments" : "frozen") << ")\n"
            << "  " << report.headerPath << "\n"
            << "  " << (dir / "libneuromancer_runtime.so").string() << ", "
            << "libneuromancer_runtime.a, neuromancer_runtime.h\n";
  for (const std::string &note : report.notes)
    std::cout << "  note: " << note << "\n";
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"neuromancer: compile, inspect and run 3-D convolutional "
               "networks saved by neuromancer (ELEKTRONN2 models)",
               "neuromancer"};
  app.set_version_flag("--version", "neuromancer " NEUROMANCER_VERSION);
  app.require_subcommand(1);
  Arguments a;
  CLI::App *infoCmd = addInfo(app, a);
  CLI::App *lowerCmd = addLower(app, a);
  addCompile(app, a);    // the remaining command
  (void)nm::log_level(); // reports a bad NEUROMANCER_LOG_LEVEL up front
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    if (e.get_exit_code() != static_cast<int>(CLI::ExitCodes::Success)) {
      // One line saying what was wrong, then the usage of the command.
      std::string what = e.what();
      if (argc > 1 && argv[1][0] != '-' && !app.get_subcommands().size())
        what = "unknown command '" + std::string(argv[1]) +
               "' (expected info, lower or compile)";
      std::cerr << "neuromancer: error: " << what << "\n";
      std::cerr << app.help(); // the failing command's, when one was given
      return 2;
    }
    return app.exit(e);
  }
  try {
    if (lowerCmd->parsed())
      return lower(a);
    if (infoCmd->parsed())
      return info(a);
    return compile(a);
  } catch (const nm::Error &e) {
    std::cerr << "neuromancer: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception &e) {
    std::cerr << "neuromancer: internal error: " << e.what() << "\n";
    return 1;
  }
}
