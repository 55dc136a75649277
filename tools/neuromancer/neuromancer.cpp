//===- neuromancer.cpp - the neuromancer command-line tool ----------------===//
//
//   neuromancer info    MODEL.h5 [--graph PREFIX]
//                                              node reprs and model totals;
//                                              the graph drawn to
//                                              PREFIX.{dot,svg,png,html}
//   neuromancer model   NAME [--save FILE] [--patch z,x,y] [--batch N]
//                       [--graph PREFIX] [--overwrite]
//                                              one of ELEKTRONN2's example
//                                              networks (ModelCommand.h)
//   neuromancer lower   MODEL.h5 [--node NAME]... [-o FILE]
//                                              the model (or the sub-graphs
//                                              behind the named nodes) as
//                                              nm MLIR
//   neuromancer compile MODEL.h5 -o DIR [--function F]... [--input-shape S]
//                       [--params-as-args] [--name NAME] [--cpu CPU]
//                                              ahead-of-time: DIR/NAME.o,
//                                              DIR/NAME.h and the runtime
//                                              library (compiler/aot/Aot.h)
//   neuromancer compile MODEL.h5 -o DIR --dense --tile z,x,y
//                       [--classes 1,...] [--as-uint8]
//                       [--params-as-args] [--name NAME] [--cpu CPU]
//                                              the same with one entry point,
//                                              NAME_prediction_dense: a dense
//                                              tile per call, for streaming
//                                              (examples/embed/stream_dense.c)
//   neuromancer make-data DIR [--seed N] [--size small|full] [--overwrite]
//                       [--no-png]             a synthetic EM data set in
//                                              neuro_data_zxy's layout
//                                              (data/synthetic)
//   neuromancer predict MODEL.h5 RAW.h5[:DS] -o OUT.h5[:DS] [--pad-raw]
//                       [--as-uint8] [--classes 1,0] [--roi z0,x0,y0:z1,x1,y1]
//                       [--memory 4G] [--tile z,x,y] [--threads N]
//                       [--mean M --std S] [--mask MASK.h5[:DS]] [--tta]
//                       [--overwrite]
//                                              dense prediction of a volume
//                                              of any size, resumable; blocks
//                                              without mask foreground stay
//                                              0; --tta averages the 8 flips
//                                              (8x the time)
//                                              (predict/StreamPredict.h)
//   neuromancer train CONFIG.toml | --resume SAVE_DIR [--set name=value]...
//                                              ELEKTRONN2's elektronn2-train
//                                              (train/Trainer.h)
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
#include "neuromancer/data/synthetic/SyntheticEm.h"
#include "neuromancer/predict/Plan.h"
#include "neuromancer/predict/StreamPredict.h"
#include "tools/neuromancer/EmbeddedRuntime.h"
#include "tools/neuromancer/ModelCommand.h"
#include "tools/neuromancer/TrainCommand.h"

#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#ifndef NEUROMANCER_VERSION
#define NEUROMANCER_VERSION "0.1.0"
#endif

namespace {

struct Arguments {
  std::string model, output, graph;
  std::vector<std::string> nodes;
  // compile
  std::vector<std::string> functions;
  std::string inputShape, name, cpu, denseTile;
  bool paramsAsArgs = false, dense = false;
  // make-data
  std::string dataDir, size = "full";
  uint64_t seed = 0;
  bool overwrite = false, noPng = false;
  // predict
  std::string raw, classes, roi, memory, tile, mask;
  bool padRaw = false, asUint8 = false, tta = false;
  int threads = 0;
  std::optional<double> mean, std;
};

CLI::App *addInfo(CLI::App &app, Arguments &a) {
  CLI::App *cmd = app.add_subcommand("info", "print node reprs and totals");
  cmd->add_option("model", a.model, "model file (HDF5, model.save)")
      ->required();
  cmd->add_option("--graph", a.graph,
                  "draw the graph to PREFIX.dot, .svg, .png and .html "
                  "(replaced if present)")
      ->type_name("PREFIX");
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
  cmd->add_flag("--dense", a.dense,
                "one entry point NAME_prediction_dense: the prediction node "
                "densified, a dense tile of --tile voxels per call");
  cmd->add_option("--tile", a.denseTile,
                  "with --dense: the dense output voxels per call, e.g. "
                  "8,32,32 (the input box is tile + fov - 1)")
      ->type_name("Z,X,Y");
  cmd->add_option("--classes", a.classes,
                  "with --dense: the 0-based classes the entry point "
                  "returns, in this order (default: all)")
      ->type_name("C,...");
  cmd->add_flag("--as-uint8", a.asUint8,
                "with --dense: return p * 255 truncated to uint8 (clamped)");
  return cmd;
}

/// A uint64 in decimal digits: CLI11 would wrap "-1" to 2^64 - 1 and
/// silently accept a value past 2^64 - 1.
CLI::Validator wholeNumber() {
  return CLI::Validator(
      [](std::string &text) -> std::string {
        errno = 0;
        if (!text.empty() &&
            text.find_first_not_of("0123456789") == std::string::npos &&
            (std::strtoull(text.c_str(), nullptr, 10), errno == 0))
          return "";
        return "must be a whole number from 0 to 18446744073709551615, not '" +
               text + "'";
      },
      "");
}

CLI::App *addMakeData(CLI::App &app, Arguments &a) {
  CLI::App *cmd = app.add_subcommand(
      "make-data", "write a synthetic serial-section EM data set in "
                   "neuro_data_zxy's layout: raw_{0,1,2}.h5, "
                   "barrier_int16_{0,1,2}.h5, preview_cubes.h5");
  cmd->add_option("dir", a.dataDir, "output directory (created)")->required();
  cmd->add_option("--seed", a.seed,
                  "random seed; the same seed gives the same files")
      ->check(wholeNumber())
      ->capture_default_str();
  cmd->add_option("--size", a.size,
                  "full: raw (250,350,350), labels (150,150,150); small: "
                  "raw (64,256,256), labels (40,200,200)")
      ->check(CLI::IsMember({"small", "full"}))
      ->capture_default_str();
  cmd->add_flag("--overwrite", a.overwrite,
                "replace the files of an earlier run (default: refuse)");
  cmd->add_flag("--no-png", a.noPng, "do not write preview_0.png");
  return cmd;
}

CLI::App *addPredict(CLI::App &app, Arguments &a) {
  CLI::App *cmd = app.add_subcommand(
      "predict", "dense prediction of an HDF5 volume of any size, block by "
                 "block within a memory budget, into a chunked compressed "
                 "HDF5 dataset (c, z, x, y); a killed run resumes when "
                 "started again with the same arguments");
  cmd->add_option("model", a.model, "model file (HDF5, model.save)")
      ->required();
  cmd->add_option("raw", a.raw,
                  "RAW.h5[:dataset]: (z,x,y) one channel or (ch,z,x,y); "
                  "without :dataset the file's only dataset")
      ->required();
  cmd->add_option("-o,--output", a.output,
                  "OUT.h5[:dataset] (default dataset: prediction); other "
                  "datasets of OUT.h5 are kept")
      ->required();
  cmd->add_flag("--pad-raw", a.padRaw,
                "mirror-pad the volume (numpy 'symmetric') so the output "
                "covers all of it");
  cmd->add_flag("--as-uint8", a.asUint8, "write probabilities * 255 as uint8");
  cmd->add_option("--classes", a.classes,
                  "0-based classes to write, in this order, e.g. 1 or 2,0 "
                  "(default: all)");
  cmd->add_option("--roi", a.roi,
                  "predict raw voxels z0,x0,y0:z1,x1,y1 only (end excluded); "
                  "the field of view is read around them");
  cmd->add_option("--memory", a.memory,
                  "budget for the blocks in binary units, e.g. 512M, 4G "
                  "(default 4G)");
  cmd->add_option("--tile", a.tile,
                  "output voxels per block z,x,y (default: the block that "
                  "executes the least work within --memory)");
  cmd->add_option("--threads", a.threads, "threads (default: all cores)")
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--mean", a.mean, "normalise as (x - mean) / std");
  cmd->add_option("--std", a.std, "normalise as (x - mean) / std");
  cmd->add_option("--mask", a.mask,
                  "MASK.h5[:dataset] with the raw volume's (z,x,y) shape: "
                  "blocks with no nonzero voxel in what they write are not "
                  "predicted and stay 0 (predicted blocks are not masked)")
      ->type_name("MASK.h5[:DS]");
  cmd->add_flag("--tta", a.tta,
                "test-time augmentation: average the predictions of the 8 "
                "flips of z, x, y (a 2-D model: 4 of x, y); 8x the time");
  cmd->add_flag("--overwrite", a.overwrite,
                "replace an existing output dataset, or start over an "
                "unfinished run made with other arguments");
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
  if (!a.graph.empty())
    nm::tools::drawModel(model, a.graph);
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
  request.dense = a.dense;
  if (!a.denseTile.empty())
    request.tile = nm::aot::parseSizes(a.denseTile, "--tile", "8,32,32");
  if (!a.classes.empty())
    request.classes = nm::predict::parseClasses(a.classes);
  request.asUint8 = a.asUint8;
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

int makeData(const Arguments &a) {
  nm::data::MakeDataOptions options;
  options.seed = a.seed;
  options.size = nm::data::parseSyntheticSize(a.size);
  options.overwrite = a.overwrite;
  options.png = !a.noPng;
  options.progress = [](const std::string &line) {
    std::cout << line << std::endl;
  };
  nm::data::makeSyntheticData(a.dataDir, options);
  return 0;
}

int predict(const Arguments &a) {
  namespace p = nm::predict;
  p::StreamOptions o;
  o.model = a.model;
  std::tie(o.raw, o.rawDataset) = p::splitDatasetPath(a.raw);
  std::tie(o.out, o.outDataset) = p::splitDatasetPath(a.output);
  if (o.outDataset.empty())
    o.outDataset = "prediction";
  o.padRaw = a.padRaw;
  o.asUint8 = a.asUint8;
  o.overwrite = a.overwrite;
  if (!a.classes.empty())
    o.classes = p::parseClasses(a.classes);
  if (!a.roi.empty()) {
    auto [lo, hi] = p::parseRoi(a.roi);
    o.roiLo = lo;
    o.roiHi = hi;
  }
  if (!a.memory.empty())
    o.memory = p::parseMemory(a.memory);
  if (!a.tile.empty())
    o.tile = p::parseTriple("--tile", a.tile);
  o.threads = a.threads;
  o.mean = a.mean;
  o.std = a.std;
  if (!a.mask.empty())
    std::tie(o.mask, o.maskDataset) = p::splitDatasetPath(a.mask);
  o.tta = a.tta;
  o.say = [](const std::string &line) {
    std::cout << "neuromancer: " << line << std::endl;
  };
  p::predictStream(o);
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
  nm::tools::ModelArguments modelArgs;
  CLI::App *modelCmd = nm::tools::addModelCommand(app, modelArgs);
  CLI::App *lowerCmd = addLower(app, a);
  CLI::App *compileCmd = addCompile(app, a);
  CLI::App *makeDataCmd = addMakeData(app, a);
  nm::tools::TrainArguments trainArgs;
  CLI::App *trainCmd = nm::tools::addTrain(app, trainArgs);
  addPredict(app, a);    // the remaining command
  (void)nm::log_level(); // reports a bad NEUROMANCER_LOG_LEVEL up front
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    if (e.get_exit_code() != static_cast<int>(CLI::ExitCodes::Success)) {
      // One line saying what was wrong, then the usage of the command.
      std::string what = e.what();
      if (argc > 1 && argv[1][0] != '-' && !app.get_subcommands().size())
        what = "unknown command '" + std::string(argv[1]) +
               "' (expected info, model, lower, compile, make-data, predict "
               "or train)";
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
    if (compileCmd->parsed())
      return compile(a);
    if (makeDataCmd->parsed())
      return makeData(a);
    if (modelCmd->parsed())
      return nm::tools::runModelCommand(modelArgs);
    if (trainCmd->parsed())
      return nm::tools::train(trainArgs);
    return predict(a);
  } catch (const nm::Error &e) {
    std::cerr << "neuromancer: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception &e) {
    std::cerr << "neuromancer: internal error: " << e.what() << "\n";
    return 1;
  }
}
