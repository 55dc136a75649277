//===- Models.cpp ---------------------------------------------------------===//
#include "Models.h"

#include <cstring>
#include <iostream>

namespace nm::examples {
namespace {
/// Softmax head with sparse labels, as both documented models use it.
Classifier classifierHead(const Node &input, const Node &logits,
                          const std::string &targetDtype) {
  Classifier c;
  c.input = input;
  // Softmax infers the number of classes from the 'f' axis.
  c.prediction = Softmax(logits);
  // Sparse labels: one feature holding the class id.
  c.target = Input_like(
      c.prediction, {.override_f = 1, .name = "target", .dtype = targetDtype});
  Node voxelLoss =
      MultinoulliNLL(c.prediction, c.target, {.target_is_sparse = true});
  c.loss = AggregateLoss(voxelLoss, {.name = "loss"});
  c.errors = Errors(c.prediction, c.target, {.target_is_sparse = true});
  model_manager.getmodel().designate_nodes(
      {.input_node = c.input,
       .target_node = c.target,
       .loss_node = c.loss,
       .prediction_node = c.prediction,
       .prediction_ext = {c.loss, c.errors, c.prediction}});
  return c;
}
} // namespace

Classifier cnn3d(int64_t batch) {
  // Input shape: (batch size, features/channels, z, x, y).
  Node image = Input({batch, 3, 23, 183, 183}, "b,f,z,x,y", {.name = "image"});
  // 32 filters of size (1,6,6), max-pooling (1,2,2).
  Node conv0 = Conv(image, 32, {1, 6, 6}, {1, 2, 2});
  Node conv1 = Conv(conv0, 64, {4, 6, 6}, {2, 2, 2});
  Node conv2 = Conv(conv1, 5, {3, 3, 3}, {1, 1, 1}, {.activation_func = "lin"});
  return classifierHead(image, conv2, "int16");
}

Classifier neuro3d(int64_t z, int64_t xy) {
  Node inp = Input({None, 1, z, xy, xy}, "b,f,z,x,y", {.name = "raw"});
  Node out = Conv(inp, 20, {1, 6, 6}, {1, 2, 2});
  out = Conv(out, 30, {1, 5, 5}, {1, 2, 2});
  out = Conv(out, 40, {1, 5, 5});
  // The repository's neuro3d.py pools (2,1,1) here; the docs' snippet omits
  // it, which would make the documented fov and output impossible.
  out = Conv(out, 80, {4, 4, 4}, {2, 1, 1});
  out = Conv(out, 100, {3, 4, 4});
  out = Conv(out, 100, {3, 4, 4});
  out = Conv(out, 150, {2, 4, 4});
  out = Conv(out, 200, {1, 4, 4});
  out = Conv(out, 200, {1, 4, 4});
  out = Conv(out, 200, {1, 1, 1});
  out = Conv(out, 2, {1, 1, 1}, {}, {.activation_func = "lin"});
  return classifierHead(inp, out, "float32");
}

int saveIfAsked(int argc, char **argv) {
  for (int i = 1; i + 1 < argc; ++i)
    if (!std::strcmp(argv[i], "--save")) {
      model_manager.getmodel().save(argv[i + 1]);
      std::cout << "saved to " << argv[i + 1] << "\n";
    }
  return 0;
}

} // namespace nm::examples
