//===- TrainerFixture.h - a tiny model and data set for trainer tests -----===//
//
// Three (12, 40, 40) uint8 cubes whose dark voxels are the "barrier" class,
// a two-layer classifier with a (1,3,3) field of view, and a config that
// trains it for a few steps into a fresh directory under the test's
// temporary directory.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_TESTS_TRAIN_TRAINERFIXTURE_H
#define NEUROMANCER_TESTS_TRAIN_TRAINERFIXTURE_H

#include "neuromancer/neuromancer.h"
#include "neuromancer/train/Trainer.h"
#include "tests/data/H5Cubes.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace nm::testing {

inline std::string slurp(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Cube k: smooth bright cells with dark walls, labels = walls.
inline void writeTinyCubes(const std::string &dir) {
  const int64_t Z = 12, X = 40, Y = 40;
  for (int k = 0; k < 3; ++k) {
    std::vector<uint8_t> raw(Z * X * Y);
    std::vector<int16_t> lab(Z * X * Y);
    for (int64_t z = 0; z < Z; ++z)
      for (int64_t x = 0; x < X; ++x)
        for (int64_t y = 0; y < Y; ++y) {
          double v = std::sin(0.45 * x + 0.7 * k + 0.2 * z) *
                     std::cos(0.38 * y - 0.3 * k);
          uint64_t h = (x * 73856093u) ^ (y * 19349663u) ^ (z * 83492791u) ^
                       (k * 2654435761u);
          double noise = static_cast<double>(h % 1000) / 1000.0 - 0.5;
          int64_t i = (z * X + x) * Y + y;
          raw[i] = static_cast<uint8_t>(
              std::clamp(150 + 90 * v + 20 * noise, 0.0, 255.0));
          lab[i] = v < -0.35 ? 1 : 0;
        }
    writeH5<uint8_t>(dir + "/raw_" + std::to_string(k) + ".h5", "raw",
                     {Z, X, Y}, raw);
    writeH5<int16_t>(dir + "/lab_" + std::to_string(k) + ".h5", "lab",
                     {Z, X, Y}, lab);
  }
}

/// Input (None,1,3,9,9) -> Conv(6,(1,3,3)) -> Conv(2,(1,1,1),lin) ->
/// Softmax; sparse MultinoulliNLL, AggregateLoss, Errors; designated.
inline Model &tinyModel() {
  Model &m = model_manager.newmodel();
  Node inp = Input({None, 1, 3, 9, 9}, "b,f,z,x,y", {.name = "raw"});
  Node c = Conv(inp, 6, {1, 3, 3}, {1, 1, 1});
  c = Conv(c, 2, {1, 1, 1}, {}, {.activation_func = "lin"});
  Node pred = Softmax(c);
  Node target =
      Input_like(pred, {.override_f = 1, .name = "target", .dtype = "int16"});
  Node nll = MultinoulliNLL(pred, target, {.target_is_sparse = true});
  Node loss = AggregateLoss(nll, {.name = "loss"});
  Node errors = Errors(pred, target, {.target_is_sparse = true});
  m.designate_nodes({.input_node = inp,
                     .target_node = target,
                     .loss_node = loss,
                     .prediction_node = pred,
                     .prediction_ext = {loss, errors, pred}});
  return m;
}

class TrainerTest : public ::testing::Test {
protected:
  void SetUp() override {
    root_ = ::testing::TempDir() + "/trainer_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_ + "/data");
    writeTinyCubes(root_ + "/data");
  }
  ExperimentConfig config(const std::string &name = "run") const {
    ExperimentConfig c;
    c.save_path = root_ + "/runs";
    c.save_name = name;
    c.create_model = [] { return std::ref(tinyModel()); };
    c.batch_size = 2;
    c.data_class = "BatchCreatorImage";
    c.data_init_kwargs.d_path = root_ + "/data";
    c.data_init_kwargs.l_path = root_ + "/data";
    for (int k = 0; k < 3; ++k) {
      c.data_init_kwargs.d_files.push_back(
          {"raw_" + std::to_string(k) + ".h5", "raw"});
      c.data_init_kwargs.l_files.push_back(
          {"lab_" + std::to_string(k) + ".h5", "lab"});
    }
    c.data_init_kwargs.valid_cubes = {2};
    c.n_steps = 30;
    c.max_runtime = 1e6;
    c.history_freq = 10;
    c.monitor_batch_size = 4;
    c.optimiser = "Adam";
    c.optimiser_params = std::map<std::string, double>{{"lr", 0.01}};
    c.seed = 1;
    return c;
  }
  std::string dir(const std::string &name = "run") const {
    return root_ + "/runs/" + name;
  }
  std::string root_;
};

} // namespace nm::testing

#endif // NEUROMANCER_TESTS_TRAIN_TRAINERFIXTURE_H
