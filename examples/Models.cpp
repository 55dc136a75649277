//===- Models.cpp ---------------------------------------------------------===//
#include "Models.h"

#include "neuromancer/core/Format.h"

#include <cstring>
#include <iostream>
#include <utility>

namespace nm::examples {
namespace {
/// Softmax head with sparse labels, as every example uses it. The target is
/// `Input_like(targetRef, override_f=1)`: the U-Nets take it from their last
/// hidden conv (whose fov designate_nodes then fixes), the CNNs from the
/// prediction (targetRef empty).
Classifier classifierHead(const Node &input, const Node &logits,
                          const std::string &targetDtype,
                          const Node &targetRef = {},
                          const std::string &nllName = "nll") {
  Classifier c;
  c.input = input;
  // Softmax infers the number of classes from the 'f' axis.
  c.prediction = Softmax(logits);
  // Sparse labels: one feature holding the class id.
  c.target =
      Input_like(targetRef ? targetRef : c.prediction,
                 {.override_f = 1, .name = "target", .dtype = targetDtype});
  Node voxelLoss = MultinoulliNLL(c.prediction, c.target,
                                  {.target_is_sparse = true, .name = nllName});
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

/// The input shape (batch, features, z, x, y) of an example whose own sizes
/// are `batch` and `patch`, with `size` applied.
Sizes inputShape(const ModelSize &size, int64_t features, int64_t batch,
                 const Sizes &patch) {
  Sizes p = size.patch.empty() ? patch : size.patch;
  if (p.size() != 3)
    throw ValueError("patch size must be three sizes (z, x, y), not " +
                     formatTuple(p));
  for (int64_t n : p)
    if (n < 1)
      throw ValueError("patch size " + formatTuple(p) +
                       " must be positive on every axis");
  int64_t b = size.batch.value_or(batch);
  if (b < 1 && b != None)
    throw ValueError("batch size must be positive or None, not " +
                     std::to_string(b));
  return {b, features, p[0], p[1], p[2]};
}

/// The "raw" input every examples/*.py network starts from.
Node rawInput(const ModelSize &size, const Sizes &patch) {
  return Input(inputShape(size, 1, None, patch), "b,f,z,x,y", {.name = "raw"});
}

/// The U-Nets' output: a linear (1,1,1) conv named 'barr', its Softmax, the
/// target taken from the last hidden conv, NLL named 'nll_barr'.
Classifier unetHead(const Node &inp, const Node &mconv5) {
  Node barr = Conv(mconv5, 2, {1, 1, 1}, {},
                   {.activation_func = "lin", .name = "barr"});
  return classifierHead(inp, barr, "", mconv5, "nll_barr");
}
} // namespace

Classifier cnn3d(int64_t batch) { return cnn3d(ModelSize{.batch = batch}); }

Classifier cnn3d(const ModelSize &size) {
  // Input shape: (batch size, features/channels, z, x, y).
  Node image = Input(inputShape(size, 3, 10, {23, 183, 183}), "b,f,z,x,y",
                     {.name = "image"});
  // 32 filters of size (1,6,6), max-pooling (1,2,2).
  Node conv0 = Conv(image, 32, {1, 6, 6}, {1, 2, 2});
  Node conv1 = Conv(conv0, 64, {4, 6, 6}, {2, 2, 2});
  Node conv2 = Conv(conv1, 5, {3, 3, 3}, {1, 1, 1}, {.activation_func = "lin"});
  return classifierHead(image, conv2, "int16");
}

Classifier neuro3d(int64_t z, int64_t xy) {
  return neuro3d(ModelSize{.patch = {z, xy, xy}});
}

Classifier neuro3d(const ModelSize &size) {
  Node inp = rawInput(size, {23, 185, 185});
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

Classifier neuro3d_lite(const ModelSize &size) {
  Node inp = rawInput(size, {11, 155, 155});
  Node out = Conv(inp, 20, {1, 4, 4}, {1, 2, 2});
  out = Conv(out, 40, {3, 3, 3}, {1, 2, 2});
  out = Conv(out, 150, {2, 4, 4}, {2, 1, 1});
  out = Conv(out, 200, {1, 3, 3});
  out = Conv(out, 200, {1, 3, 3});
  out = Conv(out, 200, {1, 1, 1});
  out = Conv(out, 2, {1, 1, 1}, {}, {.activation_func = "lin"});
  // Input_like(probs, override_f=1): the target takes the prediction's
  // dtype, float32, as in neuro3d.
  return classifierHead(inp, out, "");
}

Classifier unet3d(const ModelSize &size) {
  Node inp = rawInput(size, {116, 132, 132}); // high res
  // Convolution, downsampling of intermediate features
  Node conv0 = Conv(inp, 32, {3, 3, 3});
  Node conv1 = Conv(conv0, 64, {3, 3, 3});
  Node down0 = Pool(conv1, {2, 2, 2}, {.mode = "max"}); // mid res
  Node conv2 = Conv(down0, 64, {3, 3, 3});
  Node conv3 = Conv(conv2, 128, {3, 3, 3});
  Node down1 = Pool(conv3, {2, 2, 2}, {.mode = "max"}); // low res
  Node conv4 = Conv(down1, 128, {3, 3, 3});
  Node conv5 = Conv(conv4, 256, {3, 3, 3});
  Node down2 = Pool(conv5, {2, 2, 2}, {.mode = "max"}); // very low res
  Node conv6 = Conv(down2, 256, {3, 3, 3});
  Node conv7 = Conv(conv6, 512, {3, 3, 3});
  // Merging very low-res features with low-res features
  Node mrg0 = UpConvMerge(conv5, conv7, 512);
  Node mconv0 = Conv(mrg0, 256, {3, 3, 3});
  Node mconv1 = Conv(mconv0, 256, {3, 3, 3});
  // Merging low-res with mid-res features
  Node mrg1 = UpConvMerge(conv3, mconv1, 256);
  Node mconv2 = Conv(mrg1, 128, {3, 3, 3});
  Node mconv3 = Conv(mconv2, 128, {3, 3, 3});
  // Merging mid-res with high-res features
  Node mrg2 = UpConvMerge(conv1, mconv3, 128);
  Node mconv4 = Conv(mrg2, 64, {3, 3, 3});
  Node mconv5 = Conv(mconv4, 64, {3, 3, 3});
  return unetHead(inp, mconv5);
}

Classifier unet3d_lite(const ModelSize &size) {
  Node inp = rawInput(size, {22, 140, 140}); // high res
  // Convolution, downsampling of intermediate features
  Node conv0 = Conv(inp, 32, {1, 3, 3});
  Node conv1 = Conv(conv0, 32, {1, 3, 3});
  Node down0 = Pool(conv1, {1, 2, 2}, {.mode = "max"}); // mid res
  Node conv2 = Conv(down0, 64, {1, 3, 3});
  Node conv3 = Conv(conv2, 64, {1, 3, 3});
  Node down1 = Pool(conv3, {1, 2, 2}, {.mode = "max"}); // low res
  Node conv4 = Conv(down1, 128, {1, 3, 3});
  Node conv5 = Conv(conv4, 128, {1, 3, 3});
  Node down2 = Pool(conv5, {1, 2, 2}, {.mode = "max"}); // very low res
  Node conv6 = Conv(down2, 256, {3, 3, 3});
  Node conv7 = Conv(conv6, 256, {3, 3, 3});
  // Merging very low-res features with low-res features
  Node mrg0 = UpConvMerge(conv5, conv7, 512);
  Node mconv0 = Conv(mrg0, 256, {1, 3, 3});
  Node mconv1 = Conv(mconv0, 256, {1, 3, 3});
  // Merging low-res with mid-res features
  Node mrg1 = UpConvMerge(conv3, mconv1, 256);
  Node mconv2 = Conv(mrg1, 128, {3, 3, 3});
  Node mconv3 = Conv(mconv2, 128, {3, 3, 3});
  // Merging mid-res with high-res features
  Node mrg2 = UpConvMerge(conv1, mconv3, 128);
  Node mconv4 = Conv(mrg2, 64, {3, 3, 3});
  Node mconv5 = Conv(mconv4, 64, {3, 3, 3});
  return unetHead(inp, mconv5);
}

Classifier unet3d_litelite(const ModelSize &size) {
  Node inp = rawInput(size, {22, 140, 140}); // high res
  // Convolution, downsampling of intermediate features
  Node conv0 = Conv(inp, 20, {1, 3, 3});
  Node conv1 = Conv(conv0, 20, {1, 3, 3});
  Node down0 = Pool(conv1, {1, 2, 2}, {.mode = "max"}); // mid res
  Node conv2 = Conv(down0, 30, {1, 3, 3});
  Node conv3 = Conv(conv2, 30, {1, 3, 3});
  Node down1 = Pool(conv3, {1, 2, 2}, {.mode = "max"}); // low res
  Node conv4 = Conv(down1, 35, {1, 3, 3});
  Node conv5 = Conv(conv4, 35, {1, 3, 3});
  Node down2 = Pool(conv5, {1, 2, 2}, {.mode = "max"}); // very low res
  Node conv6 = Conv(down2, 42, {3, 3, 3});
  Node down2b = Pool(conv6, {1, 2, 2}, {.mode = "max"}); // even lower
  Node conv7 = Conv(down2b, 42, {3, 3, 3});
  // Merging very low-res features with low-res features
  Node mrg0 = UpConvMerge(conv5, conv7, 45);
  Node mconv0 = Conv(mrg0, 42, {1, 3, 3});
  Node mconv1 = Conv(mconv0, 42, {1, 3, 3});
  // Merging low-res with mid-res features
  Node mrg1 = UpConvMerge(conv3, mconv1, 42);
  Node mconv2 = Conv(mrg1, 35, {3, 3, 3});
  Node mconv3 = Conv(mconv2, 35, {3, 3, 3});
  // Merging mid-res with high-res features
  Node mrg2 = UpConvMerge(conv1, mconv3, 30);
  Node mconv4 = Conv(mrg2, 20, {3, 3, 3});
  Node mconv5 = Conv(mconv4, 20, {3, 3, 3});
  return unetHead(inp, mconv5);
}

namespace {
using Builder = Classifier (*)(const ModelSize &);
const std::vector<std::pair<std::string, Builder>> &builders() {
  static const std::vector<std::pair<std::string, Builder>> all = {
      {"cnn3d", static_cast<Builder>(cnn3d)},
      {"neuro3d", static_cast<Builder>(neuro3d)},
      {"neuro3d_lite", neuro3d_lite},
      {"unet3d", unet3d},
      {"unet3d_lite", unet3d_lite},
      {"unet3d_litelite", unet3d_litelite}};
  return all;
}
} // namespace

const std::vector<std::string> &exampleNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto &[name, build] : builders())
      n.push_back(name);
    return n;
  }();
  return names;
}

Classifier buildExample(const std::string &name, const ModelSize &size) {
  for (const auto &[known, build] : builders())
    if (known == name)
      return build(size);
  throw KeyError("unknown example model '" + name +
                 "'; valid names: " + formatStringList(exampleNames()));
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
