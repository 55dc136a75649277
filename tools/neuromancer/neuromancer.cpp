//===- neuromancer.cpp - the neuromancer command-line tool ----------------===//
//
//   neuromancer info  MODEL.h5                 node reprs and model totals
//   neuromancer lower MODEL.h5 [--node NAME]... [-o FILE]
//                                              the model (or the sub-graphs
//                                              behind the named nodes) as
//                                              nm MLIR
//
//===----------------------------------------------------------------------===//
#include "neuromancer/neuromancer.h"

#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

namespace {

constexpr const char *kUsage =
    "usage: neuromancer <command> [options]\n"
    "\n"
    "commands:\n"
    "  info  MODEL.h5                         print node reprs and totals\n"
    "  lower MODEL.h5 [--node NAME]... [-o FILE]\n"
    "                                         print the model's designated\n"
    "                                         functions (or the sub-graph of\n"
    "                                         each named node) as nm MLIR\n";

struct Arguments {
  std::string command, model, output;
  std::vector<std::string> nodes;
};

/// Parses argv; throws nm::ValueError with a message for the user.
Arguments parse(int argc, char **argv) {
  if (argc < 2)
    throw nm::ValueError("missing command");
  Arguments a;
  a.command = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        throw nm::ValueError("option " + arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--node")
      a.nodes.push_back(value());
    else if (arg == "-o" || arg == "--output")
      a.output = value();
    else if (!arg.empty() && arg[0] == '-')
      throw nm::ValueError("unknown option " + arg);
    else if (a.model.empty())
      a.model = arg;
    else
      throw nm::ValueError("unexpected argument '" + arg + "'");
  }
  if (a.model.empty())
    throw nm::ValueError("'" + a.command + "' needs a model file");
  return a;
}

/// Writes `text` to `path` (via a temporary file, renamed) or stdout.
void emit(const std::string &text, const std::string &path) {
  if (path.empty()) {
    std::cout << text;
    return;
  }
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << text;
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

} // namespace

int main(int argc, char **argv) {
  try {
    Arguments a = parse(argc, argv);
    if (a.command == "lower")
      return lower(a);
    if (a.command == "info")
      return info(a);
    throw nm::ValueError("unknown command '" + a.command + "'");
  } catch (const nm::Error &e) {
    std::cerr << "neuromancer: error: " << e.what() << "\n";
    if (e.kind() == nm::ErrorKind::Value &&
        (argc < 2 ||
         std::strcmp(argv[1], "lower") && std::strcmp(argv[1], "info")))
      std::cerr << "\n" << kUsage;
    return 1;
  }
}
