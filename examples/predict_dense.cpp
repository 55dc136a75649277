//===- predict_dense.cpp - dense prediction of a whole volume -------------===//
//
// ELEKTRONN2's two documented predict_dense examples (docs/elektronn2-
// reference.md §5.1) on random volumes:
//
//   bazel run //examples:predict_dense -- neuro3d
//     neuro3d on (1, 32, 160, 160), no padding: 2 blocks, output
//     (2, 18, 56, 56) (each block stitched from 32 strided calls)
//   bazel run //examples:predict_dense -- cnn3d-mfp
//     the examples page's 3-D CNN rebuilt with MFP on (3, 50, 300, 300) with
//     pad_raw: "Predicting img (3, 58, 326, 326) in 16 Blocks: (4, 2, 2)",
//     output (5, 50, 300, 300)
//
// Options: --strategy densify|mfp|stitch (default densify), --threads N.
//
//===----------------------------------------------------------------------===//
#include "Models.h"

#include "neuromancer_runtime.h"

#include <CLI/CLI.hpp>

#include <iostream>
#include <random>

namespace {

nm::Array randomImage(nm::Sizes shape) {
  std::mt19937 gen(42);
  nm::Array raw(std::move(shape), nm::DType::UInt8);
  uint8_t *p = raw.data<uint8_t>();
  for (int64_t i = 0; i < raw.size(); ++i)
    p[i] = static_cast<uint8_t>(gen() % 256);
  return raw;
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"ELEKTRONN2's predict_dense examples", "predict_dense"};
  std::string example, strategy = "densify";
  int threads = 0;
  app.add_option("example", example, "neuro3d or cnn3d-mfp")
      ->required()
      ->check(CLI::IsMember({"neuro3d", "cnn3d-mfp"}));
  app.add_option("--strategy", strategy, "densify (default), mfp or stitch")
      ->check(CLI::IsMember({"densify", "mfp", "stitch"}));
  app.add_option("--threads", threads, "threads (default: all cores)");
  CLI11_PARSE(app, argc, argv);
  nm_runtime_set_num_threads(threads);
  try {
    nm::Array pred;
    if (example == "neuro3d") {
      nm::Model &model = nm::model_manager.newmodel("neuro3d");
      nm::examples::neuro3d();
      pred = model.predict_dense(randomImage({1, 32, 160, 160}),
                                 {.strategy = strategy});
    } else {
      nm::Model &trained = nm::model_manager.newmodel("cnn3d");
      nm::examples::cnn3d();
      nm::Model &mfp = nm::rebuild_model(
          trained, {.override_mfp_to_active = true, .imposed_batch_size = 1});
      pred = mfp.predict_dense(randomImage({3, 50, 300, 300}),
                               {.pad_raw = true, .strategy = strategy});
    }
    std::cout << "prediction " << pred.shapeString() << " "
              << nm::dtypeName(pred.dtype()) << "\n";
    return 0;
  } catch (const nm::Error &e) {
    std::cerr << "predict_dense: error: " << e.what() << "\n";
    return 1;
  }
}
