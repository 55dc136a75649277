//===- ModelTiming.cpp - compile, load and run times of a whole model -----===//
//
// A developer timing program (tagged manual):
//
//   model_timing [neuro3d|neuro3d_pred|seed] [--reps N] [--threads 1,2]
//                [--linalg FILE]
//
// builds the model with the frontend (examples/Models.h) at batch 1 (batch
// 10 for the seed CNN), and reports, through the public API:
//  - the cold compile time of the prediction node (a fresh, empty compile
//    cache directory),
//  - the time to load it again from the disk cache (in-process level
//    cleared),
//  - the median forward time per thread count (nm::set_num_threads),
//  - the system load around the runs;
// or, with --linalg, writes the prediction function lowered to linalg (the
// input of compiler/codegen, e.g. for nm-codegen) and exits.
//
//===----------------------------------------------------------------------===//
#include "examples/Models.h"
#include "neuromancer/compiler/Importer.h"
#include "neuromancer/compiler/codegen/CodeGen.h"
#include "neuromancer/compiler/conversion/NmToLinalg.h"
#include "neuromancer/compiler/jit/CompileCache.h"
#include "neuromancer/frontend/NodeImpl.h"
#include "neuromancer/neuromancer.h"
#include "neuromancer/runtime/ThreadPool.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <unistd.h>

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/raw_ostream.h"

using namespace nm;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::string loadavg() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

} // namespace

int main(int argc, char **argv) {
  std::string which = "neuro3d";
  int reps = 5;
  std::vector<int> threads{1, 2};
  std::string linalgFile;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--linalg" && i + 1 < argc)
      linalgFile = argv[++i];
    else if (a == "--reps" && i + 1 < argc)
      reps = std::atoi(argv[++i]);
    else if (a == "--threads" && i + 1 < argc) {
      threads.clear();
      std::string list = argv[++i];
      for (size_t p = 0; p < list.size();) {
        size_t q = list.find(',', p);
        threads.push_back(std::atoi(list.substr(p, q - p).c_str()));
        p = q == std::string::npos ? list.size() : q + 1;
      }
    } else
      which = a;
  }
  std::filesystem::path cache = std::filesystem::temp_directory_path() /
                                ("nm_model_timing_" + std::to_string(getpid()));
  std::filesystem::create_directories(cache);
  setenv("NEUROMANCER_CACHE_DIR", cache.c_str(), 1);
  set_log_level(LogLevel::Warning);

  double gflop = 0;
  if (which == "seed")
    examples::cnn3d(10);
  else if (which == "neuro3d_pred")
    examples::neuro3d(47, 281);
  else
    examples::neuro3d(23, 185);
  Model *model = &model_manager.current();
  if (model->batch_size() == None)
    model = &rebuild_model(*model, {.imposed_batch_size = 1});
  Node input = model->input_node(), pred = model->prediction_node();
  for (const Node &n : model->nodes())
    if (n.cls() == "Conv")
      gflop += 2.0 * n.computational_cost() / 1e9;

  if (!linalgFile.empty()) {
    mlir::DialectRegistry registry;
    codegen::registerCodegenDialects(registry);
    mlir::MLIRContext context(registry);
    compiler::loadImporterDialects(context);
    auto module = compiler::importModel(context, {pred}, "prediction");
    if (!module || mlir::failed(compiler::lowerNmToLinalg(*module)))
      return 1;
    std::error_code ec;
    llvm::raw_fd_ostream os(linalgFile, ec);
    module->print(os);
    return 0;
  }
  Array x(input.shape().shape());
  std::mt19937 gen(1);
  std::uniform_real_distribution<float> d(0, 1);
  for (int64_t i = 0; i < x.size(); ++i)
    x.setFlat(i, d(gen));

  std::printf("%s: input %s, %.2f GFLOP (2 x conv MACs), load %s\n",
              which.c_str(), x.shapeString().c_str(), gflop, loadavg().c_str());
  auto t0 = Clock::now();
  Array y = pred(x);
  double first = since(t0);
  std::printf("cold compile: %.3f s (first call %.3f s minus its run %.3f "
              "s)\n",
              first - pred.last_exec_time(), first, pred.last_exec_time());
  jit::CompileCache::global().clearMemory();
  pred.impl().executable.reset(); // the node fetches it again

  t0 = Clock::now();
  y = pred(x);
  double load = since(t0);
  std::printf("load from the disk cache: %.4f s (call %.4f s minus its run "
              "%.4f s)\n",
              load - pred.last_exec_time(), load, pred.last_exec_time());

  for (int t : threads) {
    set_num_threads(t);
    std::vector<double> s;
    pred(x); // warm-up
    for (int r = 0; r < reps; ++r) {
      t0 = Clock::now();
      pred(x);
      s.push_back(since(t0));
    }
    std::sort(s.begin(), s.end());
    std::printf("threads %d: median %.4f s (min %.4f, max %.4f) = %.1f "
                "GFLOP/s, load %s\n",
                t, s[s.size() / 2], s.front(), s.back(),
                gflop / s[s.size() / 2], loadavg().c_str());
  }
  std::filesystem::remove_all(cache);
  return 0;
}
