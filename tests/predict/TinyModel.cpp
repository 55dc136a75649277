//===- TinyModel.cpp - a small model and volume for the CLI tests ---------===//
//
//   tiny_model MODEL.h5 RAW.h5
//
// MODEL.h5: one channel in, 2 classes out, strides (2, 4, 4), fov (3, 8, 8)
// (fixed seed). RAW.h5: "raw" (10, 40, 40) float32 in [0, 1) and "stack"
// (2, 10, 40, 40) float32, so the lit tests of `neuromancer predict` run in
// a second and can name a dataset, omit it, or give the wrong channels.
//
//===----------------------------------------------------------------------===//
#include "neuromancer/neuromancer.h"
#include "tests/predict/H5TestFiles.h"

#include <iostream>
#include <random>

int main(int argc, char **argv) {
  if (argc != 3) {
    std::cerr << "usage: tiny_model MODEL.h5 RAW.h5\n";
    return 2;
  }
  using namespace nm;
  set_log_level(LogLevel::Warning);
  set_seed(7);
  Node input = Input({1, 1, 5, 12, 12}, "b,f,z,x,y", {.name = "raw"});
  Node c1 = Conv(input, 3, {2, 3, 3}, {2, 2, 2}, {.name = "c1"});
  Node c2 =
      Conv(c1, 2, {1, 2, 2}, {1, 2, 2}, {.activation_func = "lin", .name = "c2"});
  Node p = Softmax(c2);
  model_manager.getmodel().designate_nodes(
      {.input_node = input, .prediction_node = p});
  model_manager.getmodel().save(argv[1]);
  std::mt19937 gen(11);
  std::uniform_real_distribution<float> u(0, 1);
  Array raw({10, 40, 40}), stack({2, 10, 40, 40});
  for (int64_t i = 0; i < raw.size(); ++i)
    raw.data<float>()[i] = u(gen);
  for (int64_t i = 0; i < stack.size(); ++i)
    stack.data<float>()[i] = u(gen);
  nm::testing::writeH5(argv[2], "raw", raw);
  nm::testing::writeH5(argv[2], "stack", stack, true);
  return 0;
}
