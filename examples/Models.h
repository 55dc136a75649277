//===- Models.h - the example networks of ELEKTRONN2 ------------*- C++ -*-===//
//
// The models the examples run and the tests check against the documented
// numbers: the 3-D CNN of the "Examples" page and the networks of
// ELEKTRONN2's examples/*.py (neuro3d, neuro3d_lite, unet3d, unet3d_lite,
// unet3d_litelite), node for node as their create_model() builds them.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_EXAMPLES_MODELS_H
#define NEUROMANCER_EXAMPLES_MODELS_H

#include "neuromancer/neuromancer.h"

#include <optional>
#include <string>
#include <vector>

namespace nm::examples {

/// The handles a caller may want after building a classifier.
struct Classifier {
  Node input, prediction, target, loss, errors;
};

/// Input size of an example, for `neuromancer model --patch/--batch`.
struct ModelSize {
  /// Spatial input size (z, x, y); empty: the example's own.
  Sizes patch = {};
  /// Batch size (None allowed); unset: the example's own.
  std::optional<int64_t> batch = std::nullopt;
};

/// The 3-D CNN of the examples page: Input (batch,3,23,183,183) b,f,z,x,y;
/// Conv(32,(1,6,6),(1,2,2)); Conv(64,(4,6,6),(2,2,2)); Conv(5,(3,3,3),lin);
/// Softmax, sparse MultinoulliNLL, AggregateLoss, Errors; designated.
Classifier cnn3d(int64_t batch = 10);
Classifier cnn3d(const ModelSize &size);

/// examples/neuro3d.py: 11 anisotropic Conv layers on (None,1,z,xy,xy),
/// FOV [15,105,105], strides [2,4,4]; designated.
Classifier neuro3d(int64_t z = 23, int64_t xy = 185);
Classifier neuro3d(const ModelSize &size);

/// examples/neuro3d_lite.py: 7 Conv layers on (None,1,11,155,155), FOV
/// [5,39,39], output (4,30,30), strides [2,4,4]; designated.
Classifier neuro3d_lite(const ModelSize &size = {});

/// examples/unet3d.py: Çiçek et al.'s 3-D U-Net, (3,3,3) convs, three
/// (2,2,2) pools and three UpConvMerges on (None,1,116,132,132); designated.
Classifier unet3d(const ModelSize &size = {});

/// examples/unet3d_lite.py: the anisotropic U-Net, (1,3,3) convs and
/// (1,2,2) pools at high resolution, on (None,1,22,140,140); designated.
Classifier unet3d_lite(const ModelSize &size = {});

/// examples/unet3d_litelite.py: unet3d_lite with 20-45 features and a
/// fourth pool, on (None,1,22,140,140); designated.
Classifier unet3d_litelite(const ModelSize &size = {});

/// The names buildExample knows, in this order: cnn3d, neuro3d,
/// neuro3d_lite, unet3d, unet3d_lite, unet3d_litelite.
const std::vector<std::string> &exampleNames();

/// Builds the example `name` into the current model. KeyError listing the
/// valid names for an unknown one; ValueError (the frontend's) for a patch
/// size the layers reject, or a patch without three sizes.
Classifier buildExample(const std::string &name, const ModelSize &size = {});

/// The examples' command line: `--save FILE` saves the current model there.
/// Returns 0, or 1 after printing the error.
int saveIfAsked(int argc, char **argv);

} // namespace nm::examples

#endif // NEUROMANCER_EXAMPLES_MODELS_H
