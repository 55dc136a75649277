//===- neuromancer.cpp - the neuromancer command-line tool ----------------===//
//
//   neuromancer info    MODEL.h5               node reprs and model totals
//   neuromancer lower   MODEL.h5 [--node NAME]... [-o FILE]
//                                              the model (or the sub-graphs
//                                              behind the named nodes) as
//                                              nm MLIR
//   neuromancer compile MODEL.h5 [--function F]... [--input-shape B,F,Z,X,Y]
//                       [--params-as-args] [--name NAME] [--cpu CPU] -o DIR
//                                              ahead-of-time: DIR/NAME.o,
//                                              DIR/NAME.h and the runtime
//                                              library (compiler/aot/Aot.h)
//
//===----------------------------------------------------------------------===//
#include "neuromancer/neuromancer.h"
#include "neuromancer/compiler/aot/Aot.h"
#include "tools/neuromancer/EmbeddedRuntime.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

namespace {

constexpr const char *kUsage =
    "usage: neuromancer <command> [options]\n"
    "\n"
    "commands:\n"
    "  info    MODEL.h5                       print node reprs and totals\n"
    "  lower   MODEL.h5 [--node NAME]... [-o FILE]\n"
    "                                         print the model's designated\n"
    "                                         functions (or the sub-graph of\n"
    "                                         each named node) as nm MLIR\n"
    "  compile MODEL.h5 -o DIR [--function F]... [--input-shape SHAPE]\n"
    "          [--params-as-args] [--name NAME] [--cpu CPU]\n"
    "                                         compile ahead of time: writes\n"
    "                                         DIR/NAME.o, DIR/NAME.h (C) and\n"
    "                                         libneuromancer_runtime.{so,a}\n"
    "\n"
    "compile options:\n"
    "  --function F        prediction (default), prediction_ext, loss or a\n"
    "                      node name; repeat for several entry points\n"
    "  --input-shape S     size of each axis of the input, e.g.\n"
    "                      1,1,23,185,185 (needed when the model has None\n"
    "                      sizes); other patch sizes rebuild the model\n"
    "  --params-as-args    parameters are arguments of the entry points\n"
    "                      (default: frozen into the object)\n"
    "  --name NAME         file stem and C prefix (default: DIR's name)\n"
    "  --cpu CPU           target CPU, e.g. x86-64-v3 (default: this one)\n";

/// A mistake on the command line: the usage follows the message.
struct UsageError : nm::ValueError {
  using nm::ValueError::ValueError;
};

struct Arguments {
  std::string command, model, output;
  std::vector<std::string> nodes;
  // compile
  std::vector<std::string> functions;
  std::string inputShape, name, cpu;
  bool paramsAsArgs = false;
};

/// Parses argv; throws UsageError with a message for the user.
Arguments parse(int argc, char **argv) {
  if (argc < 2)
    throw UsageError("missing command");
  Arguments a;
  a.command = argv[1];
  if (a.command != "info" && a.command != "lower" && a.command != "compile")
    throw UsageError("unknown command '" + a.command + "'");
  bool compile = a.command == "compile";
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        throw UsageError("option " + arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--node" && a.command == "lower")
      a.nodes.push_back(value());
    else if (arg == "-o" || arg == "--output")
      a.output = value();
    else if (compile && arg == "--function")
      a.functions.push_back(value());
    else if (compile && arg == "--input-shape")
      a.inputShape = value();
    else if (compile && arg == "--params-as-args")
      a.paramsAsArgs = true;
    else if (compile && arg == "--name")
      a.name = value();
    else if (compile && arg == "--cpu")
      a.cpu = value();
    else if (!arg.empty() && arg[0] == '-')
      throw UsageError("unknown option " + arg + " for '" + a.command + "'");
    else if (a.model.empty())
      a.model = arg;
    else
      throw UsageError("unexpected argument '" + arg + "'");
  }
  if (a.model.empty())
    throw UsageError("'" + a.command + "' needs a model file");
  if (compile && a.output.empty())
    throw UsageError("'compile' needs an output directory (-o DIR)");
  return a;
}

/// Writes `text` to `path` (via a temporary file, renamed) or stdout.
void emit(std::string_view text, const std::string &path) {
  if (path.empty()) {
    std::cout << text;
    return;
  }
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!out)
      throw nm::IOError("cannot write '" + path + "'");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw nm::IOError("cannot write '" + path + "'");
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
  try {
    Arguments a = parse(argc, argv);
    if (a.command == "lower")
      return lower(a);
    if (a.command == "info")
      return info(a);
    return compile(a);
  } catch (const UsageError &e) {
    std::cerr << "neuromancer: error: " << e.what() << "\n\n" << kUsage;
    return 1;
  } catch (const nm::Error &e) {
    std::cerr << "neuromancer: error: " << e.what() << "\n";
    return 1;
  }
}
