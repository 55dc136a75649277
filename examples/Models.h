//===- Models.h - the example networks of ELEKTRONN2's documentation -*- C++
//-*-===//
//
// The models the examples run and the tests check against the documented
// numbers: the 3-D CNN of the "Examples" page and examples/neuro3d.py.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_EXAMPLES_MODELS_H
#define NEUROMANCER_EXAMPLES_MODELS_H

#include "neuromancer/neuromancer.h"

namespace nm::examples {

/// The handles a caller may want after building a classifier.
struct Classifier {
  Node input, prediction, target, loss, errors;
};

/// The 3-D CNN of the examples page: Input (batch,3,23,183,183) b,f,z,x,y;
/// Conv(32,(1,6,6),(1,2,2)); Conv(64,(4,6,6),(2,2,2)); Conv(5,(3,3,3),lin);
/// Softmax, sparse MultinoulliNLL, AggregateLoss, Errors; designated.
Classifier cnn3d(int64_t batch = 10);

/// examples/neuro3d.py: 11 anisotropic Conv layers on (None,1,z,xy,xy),
/// FOV [15,105,105], strides [2,4,4]; designated.
Classifier neuro3d(int64_t z = 23, int64_t xy = 185);

/// The examples' command line: `--save FILE` saves the current model there.
/// Returns 0, or 1 after printing the error.
int saveIfAsked(int argc, char **argv);

} // namespace nm::examples

#endif // NEUROMANCER_EXAMPLES_MODELS_H
