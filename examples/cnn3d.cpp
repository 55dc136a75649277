//===- cnn3d.cpp - the 3-D CNN of ELEKTRONN2's "Examples" page ------------===//
//
// Builds the documentation's model node by node and prints, at construction
// time, the same reprs, prediction properties and totals that ELEKTRONN2
// prints (442.5 Giga Ops, 307,109 parameters, 34.6 Mega Ops per pixel).
//
//   bazel run //examples:cnn3d [-- --save model.h5]
//
//===----------------------------------------------------------------------===//
#include "neuromancer/neuromancer.h"

#include <cstring>
#include <iostream>

int main(int argc, char **argv) {
  try {
    // Input shape: (batch size, features/channels, z, x, y).
    nm::Node image =
        nm::Input({10, 3, 23, 183, 183}, "b,f,z,x,y", {.name = "image"});
    // 32 filters of size (1,6,6), max-pooling (1,2,2).
    nm::Node conv0 = nm::Conv(image, 32, {1, 6, 6}, {1, 2, 2});
    nm::Node conv1 = nm::Conv(conv0, 64, {4, 6, 6}, {2, 2, 2});
    nm::Node conv2 =
        nm::Conv(conv1, 5, {3, 3, 3}, {1, 1, 1}, {.activation_func = "lin"});
    // Softmax infers 5 classes from the 'f' axis.
    nm::Node class_probs = nm::Softmax(conv2);
    // Sparse labels: one feature holding the class id.
    nm::Node target = nm::Input_like(
        class_probs, {.override_f = 1, .name = "target", .dtype = "int16"});
    nm::Node voxel_loss =
        nm::MultinoulliNLL(class_probs, target, {.target_is_sparse = true});
    nm::Node scalar_loss = nm::AggregateLoss(voxel_loss, {.name = "loss"});
    nm::Node errors =
        nm::Errors(class_probs, target, {.target_is_sparse = true});

    nm::Model &model = nm::model_manager.getmodel();
    model.designate_nodes(
        {.input_node = image,
         .target_node = target,
         .loss_node = scalar_loss,
         .prediction_node = class_probs,
         .prediction_ext = {scalar_loss, errors, class_probs}});

    std::cout << "\n>>> model\n" << model.repr() << "\n";
    std::cout << ">>> conv2.shape.ext_repr\n"
              << conv2.shape().extRepr() << "\n";

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
