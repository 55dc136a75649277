//===- TrainerShell.cpp - the Ctrl+C shell (reference §6.3) ---------------===//
//
// ELEKTRONN2's shell without its Python console: the shortcuts, on the
// trainer's input and output streams (a terminal, or anything a test
// drives). A Ctrl+C inside the shell says how to leave it; end of input
// resumes training.
//
//===----------------------------------------------------------------------===//
#include "train/TrainerState.h"

#include "neuromancer/core/Error.h"
#include "neuromancer/core/Format.h"

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

namespace nm {
namespace {

std::string banner(const std::string &saveName) {
  return "\n    =========================\n"
         "    === NEUROMANCER SHELL ===\n"
         "    =========================\n"
         "    >> " +
         saveName +
         " <<\n"
         "    Shortcuts:\n"
         "    'help' (display this help text),\n"
         "    'q' (leave menu),         'kill'(saving last params),\n"
         "    'sethist <int>',          'setlr <float>',\n"
         "    'setmom <float>',         'setwd <float> (weight decay)\n"
         "    'paramstats' ,            'gradstats',\n"
         "    'actstats' (print statistics)\n"
         "    'sf <nodename>' (save filters as filters_<nodename>.png),\n"
         "    'load <model file>' (its parameters, same architecture),\n"
         "    'save <file>' (a checkpoint: model, optimiser and trainer "
         "state),\n"
         "    'preview' (produce preview predictions),\n"
         "    'debugbatch' (write Batch_test_image.png)\n";
}

/// The word after the command, or an error naming the shortcut.
std::string argument(std::istringstream &words, const std::string &command) {
  std::string arg;
  if (!(words >> arg))
    throw std::out_of_range(command);
  return arg;
}

} // namespace

bool Trainer::State::shell() {
  std::istream &in = options.shell_in ? *options.shell_in : std::cin;
  std::ostream &out = options.shell_out ? *options.shell_out : std::cout;
  const char *pp = isRegression ? "err" : "%";
  char status[512];
  std::snprintf(status, sizeof status,
                "%05lld L_m=%.5f, L=%.4f, train=%.5f, valid=%.5f, "
                "train=%.3f%s, valid=%.3f%s,\n LR=%.2e, MOM=%.6f, %.1f "
                "GPU-it/s, %.1f CPU-it/s, ",
                static_cast<long long>(i), model->loss_smooth(), loss,
                trainLoss, validLoss, trainErr, pp, validErr, pp, model->lr(),
                model->mom(), 1.0 / model->time_per_step(), 1.0 / tPerIt);
  log_info(status + pretty_string_time(tPassed));
  out << banner(config.save_name) << std::flush;
  for (;;) {
    out << user_name() << "@neuromancer: " << std::flush;
    std::string line;
    if (!std::getline(in, line)) {
      if (gInterrupted) { // Ctrl+C while reading
        gInterrupted = 0;
        in.clear();
        out << "\nEnter \"q\" to leave the shell and continue training.\n"
               "Enter \"kill\" to kill the training, saving current "
               "parameters.\n";
        continue;
      }
      out << "\n(end of input: continuing training)\n";
      return false;
    }
    log_debug("(Shell received command \"" + line + "\")");
    std::istringstream words(line);
    std::string command;
    words >> command;
    try {
      if (command.empty()) {
        continue;
      } else if (command == "q") {
        return false;
      } else if (command == "kill") {
        return true;
      } else if (command == "help") {
        out << banner(config.save_name);
      } else if (command == "sethist") {
        config.history_freq = std::stoll(argument(words, command));
      } else if (command == "setlr") {
        model->set_lr(std::stod(argument(words, command)));
      } else if (command == "setmom") {
        model->set_mom(std::stod(argument(words, command)));
      } else if (command == "setwd") {
        model->set_wd(std::stod(argument(words, command)));
      } else if (command == "sf") {
        saveFilters(argument(words, command));
      } else if (command == "preview") {
        previewNow(/*logFailure=*/false);
      } else if (command == "paramstats") {
        model->paramstats();
      } else if (command == "gradstats" || command == "actstats") {
        if (batch.empty())
          out << "No batch yet: train a step first.\n";
        else if (command == "gradstats")
          model->gradstats(batch);
        else
          model->actstats(batch);
      } else if (command == "debugbatch") {
        batchTestImage();
      } else if (command == "load") {
        std::string file = argument(words, command);
        std::string name = model->name();
        Model &loaded = modelload(file);
        ModelParamValues values = loaded.get_param_values();
        std::string loadedName = loaded.name();
        model_manager.getmodel(name);
        model_manager.remove(loadedName);
        model->set_param_values(values);
        out << "Loaded the parameters of '" << file << "'.\n";
      } else if (command == "save") {
        std::string file = argument(words, command);
        if (std::filesystem::exists(file))
          out << "'" << file
              << "' exists; choose another name (nothing written).\n";
        else
          saveCheckpoint(file);
      } else {
        out << "Unknown command '" << command
            << "'; 'help' lists the shortcuts.\n";
      }
    } catch (const std::out_of_range &) {
      out << "IndexError. Probably you forgot to type a value after the "
             "shortcut \""
          << command << "\".\n";
    } catch (const std::invalid_argument &) {
      out << "ValueError. The \"" << command
          << "\" shortcut received an unexpected argument.\n";
    } catch (const Error &e) {
      out << e.what() << "\n";
    }
  }
}

} // namespace nm
