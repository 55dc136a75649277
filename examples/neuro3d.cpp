//===- neuro3d.cpp - ELEKTRONN2's examples/neuro3d.py model ---------------===//
//
// The anisotropic 3-D CNN for cell-boundary detection on neuro_data_zxy:
// FOV [15, 105, 105], output [5, 21, 21], strides [2, 4, 4].
//
//   bazel run //examples:neuro3d [-- --save neuro3d.h5]
//
//===----------------------------------------------------------------------===//
#include "neuromancer/neuromancer.h"

#include <cstring>
#include <iostream>

namespace {
nm::Model &create_model() {
  nm::Node inp =
      nm::Input({nm::None, 1, 23, 185, 185}, "b,f,z,x,y", {.name = "raw"});
  nm::Node out = nm::Conv(inp, 20, {1, 6, 6}, {1, 2, 2});
  out = nm::Conv(out, 30, {1, 5, 5}, {1, 2, 2});
  out = nm::Conv(out, 40, {1, 5, 5});
  out = nm::Conv(out, 80, {4, 4, 4}, {2, 1, 1});
  out = nm::Conv(out, 100, {3, 4, 4});
  out = nm::Conv(out, 100, {3, 4, 4});
  out = nm::Conv(out, 150, {2, 4, 4});
  out = nm::Conv(out, 200, {1, 4, 4});
  out = nm::Conv(out, 200, {1, 4, 4});
  out = nm::Conv(out, 200, {1, 1, 1});
  out = nm::Conv(out, 2, {1, 1, 1}, {}, {.activation_func = "lin"});
  nm::Node probs = nm::Softmax(out);

  nm::Node target = nm::Input_like(probs, {.override_f = 1, .name = "target"});
  nm::Node loss_pix =
      nm::MultinoulliNLL(probs, target, {.target_is_sparse = true});
  nm::Node loss = nm::AggregateLoss(loss_pix, {.name = "loss"});
  nm::Node errors = nm::Errors(probs, target, {.target_is_sparse = true});

  nm::Model &model = nm::model_manager.getmodel();
  model.designate_nodes({.input_node = inp,
                         .target_node = target,
                         .loss_node = loss,
                         .prediction_node = probs,
                         .prediction_ext = {loss, errors, probs}});
  return model;
}
} // namespace

int main(int argc, char **argv) {
  try {
    nm::Model &model = create_model();
    for (int i = 1; i + 1 < argc; ++i)
      if (!std::strcmp(argv[i], "--save")) {
        model.save(argv[i + 1]);
        std::cout << "saved to " << argv[i + 1] << "\n";
      }
  } catch (const nm::Error &e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
