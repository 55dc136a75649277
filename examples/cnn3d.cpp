//===- cnn3d.cpp - the 3-D CNN of ELEKTRONN2's "Examples" page ------------===//
//
// Builds the documentation's model node by node (Models.cpp) and prints, at
// construction time, the same reprs, prediction properties and totals that
// ELEKTRONN2 prints (442.5 Giga Ops, 307,109 parameters, 34.6 Mega Ops per
// pixel).
//
//   bazel run //examples:cnn3d [-- --save model.h5]
//
//===----------------------------------------------------------------------===//
#include "Models.h"

#include <iostream>

int main(int argc, char **argv) {
  try {
    nm::examples::cnn3d();
    nm::Model &model = nm::model_manager.getmodel();
    std::cout << "\n>>> model\n" << model.repr() << "\n";
    std::cout << ">>> conv2.shape.ext_repr\n"
              << model["conv2"].shape().ext_repr() << "\n";
    return nm::examples::saveIfAsked(argc, argv);
  } catch (const nm::Error &e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
