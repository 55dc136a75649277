//===- ModelCommand.cpp ---------------------------------------------------===//
#include "tools/neuromancer/ModelCommand.h"

#include "examples/Models.h"
#include "neuromancer/core/Error.h"
#include "neuromancer/core/Format.h"
#include "neuromancer/predict/StreamPredict.h"
#include "neuromancer/train/Visualise.h"

#include <filesystem>
#include <iostream>

namespace nm::tools {
namespace {

std::string joined(const std::vector<std::string> &names) {
  std::string out;
  for (const std::string &n : names)
    out += (out.empty() ? "" : ", ") + n;
  return out;
}

/// A command-line mistake (exit 2) when the name is not an example.
CLI::Validator exampleName() {
  return CLI::Validator(
      [](std::string &text) -> std::string {
        for (const std::string &n : examples::exampleNames())
          if (n == text)
            return "";
        return "unknown model '" + text +
               "'; valid names: " + joined(examples::exampleNames());
      },
      "");
}

/// --patch: three positive whole numbers z,x,y (exit 2 otherwise).
CLI::Validator patchSyntax() {
  return CLI::Validator(
      [](std::string &text) -> std::string {
        try {
          for (int64_t n : predict::parseTriple("--patch", text))
            if (n < 1)
              return "'" + text + "' must be positive on every axis";
          return "";
        } catch (const Error &) {
          return "'" + text + "' is not three whole numbers z,x,y";
        }
      },
      "");
}

/// --batch: a positive whole number or None.
CLI::Validator batchSyntax() {
  return CLI::Validator(
      [](std::string &text) -> std::string {
        if (text == "None" || text == "none")
          return "";
        if (!text.empty() && text.size() < 10 &&
            text.find_first_not_of("0123456789") == std::string::npos &&
            std::stoll(text) > 0)
          return "";
        return "must be a positive whole number or None, not '" + text + "'";
      },
      "");
}

bool exists(const std::string &path) {
  std::error_code ec;
  return std::filesystem::symlink_status(path, ec).type() !=
         std::filesystem::file_type::not_found;
}

/// IOError before anything is built or written when a target exists.
void refuseExisting(const ModelArguments &a) {
  std::vector<std::string> targets;
  if (!a.save.empty())
    targets.push_back(a.save);
  if (!a.graph.empty())
    for (const char *ext : {".dot", ".svg", ".png", ".html"})
      targets.push_back(a.graph + ext);
  for (const std::string &t : targets)
    if (exists(t))
      throw IOError("'" + t +
                    "' exists; pass --overwrite to replace it (nothing was "
                    "written)");
}

examples::ModelSize modelSize(const ModelArguments &a) {
  examples::ModelSize size;
  if (!a.patch.empty())
    size.patch = predict::parseTriple("--patch", a.patch);
  if (a.batch == "None" || a.batch == "none")
    size.batch = None;
  else if (!a.batch.empty())
    size.batch = std::stoll(a.batch);
  return size;
}

} // namespace

CLI::App *addModelCommand(CLI::App &app, ModelArguments &a) {
  CLI::App *cmd = app.add_subcommand(
      "model", "build one of ELEKTRONN2's example networks (" +
                   joined(examples::exampleNames()) +
                   "), print its statistics, save it and/or draw its graph");
  cmd->add_option("name", a.name, "the example network")
      ->required()
      ->check(exampleName());
  cmd->add_option("--save", a.save, "model file to write (HDF5, model.save)")
      ->type_name("FILE");
  cmd->add_option("--patch", a.patch,
                  "spatial input size z,x,y (default: the example's)")
      ->type_name("Z,X,Y")
      ->check(patchSyntax());
  cmd->add_option("--batch", a.batch,
                  "batch size, a number or None (default: the example's)")
      ->type_name("N|None")
      ->check(batchSyntax());
  cmd->add_option("--graph", a.graph,
                  "draw the graph to PREFIX.dot, .svg, .png and .html")
      ->type_name("PREFIX");
  cmd->add_flag("--overwrite", a.overwrite,
                "replace existing files (default: refuse)");
  return cmd;
}

void drawModel(const Model &model, const std::string &prefix) {
  std::vector<std::string> files = visualise_model(model, prefix);
  std::cout << "neuromancer: model graph written to " << joined(files) << "\n";
}

int runModelCommand(const ModelArguments &a) {
  if (!a.overwrite)
    refuseExisting(a);
  examples::ModelSize size = modelSize(a);
  Model &model = model_manager.newmodel(a.name);
  try {
    examples::buildExample(a.name, size);
  } catch (const ValueError &e) {
    if (a.patch.empty())
      throw;
    throw ValueError("--patch " + a.patch + " does not fit " + a.name + ": " +
                     e.what());
  }
  const TaggedShape &out = model.prediction_node().shape();
  std::cout << "neuromancer: " << a.name << ": input "
            << model.input_node().shape().repr() << ", prediction "
            << out.repr() << ", " << formatThousands(model.total_params_count())
            << " parameters\n";
  if (!a.save.empty()) {
    model.save(a.save);
    std::cout << "neuromancer: saved " << a.name << " to " << a.save << "\n";
  }
  if (!a.graph.empty())
    drawModel(model, a.graph);
  return 0;
}

} // namespace nm::tools
