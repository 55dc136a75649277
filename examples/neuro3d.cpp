//===- neuro3d.cpp - ELEKTRONN2's examples/neuro3d.py model ---------------===//
//
// The anisotropic 3-D CNN for cell-boundary detection on neuro_data_zxy:
// FOV [15, 105, 105], output [5, 21, 21], strides [2, 4, 4].
//
//   bazel run //examples:neuro3d [-- --save neuro3d.h5]
//
//===----------------------------------------------------------------------===//
#include "Models.h"

#include <iostream>

int main(int argc, char **argv) {
  try {
    nm::examples::neuro3d();
    return nm::examples::saveIfAsked(argc, argv);
  } catch (const nm::Error &e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
