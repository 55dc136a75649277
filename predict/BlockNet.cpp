//===- BlockNet.cpp - the densified network on one block ------------------===//
#include "neuromancer/predict/BlockNet.h"

#include "neuromancer/core/Error.h"
#include "neuromancer/core/Format.h"
#include "neuromancer/frontend/NodeImpl.h"

#include <algorithm>

namespace nm::predict {
namespace {

bool flips(unsigned flip, int axis) { return flip & (4u >> axis); }

int64_t product(const Sizes &s) {
  int64_t p = 1;
  for (int64_t v : s)
    p *= v;
  return p;
}

} // namespace

BlockNet::BlockNet(const Node &node, const NetGeometry &g, const Sizes &tile,
                   bool tta, const OutputEpilogue &epilogue)
    : node_(node), g_(g), epilogue_(epilogue),
      classes_(epilogue.channels(g.labels)), tile_(tile), in_(3), box_(3),
      shift_(ttaShift(g, tta)) {
  for (int a = 0; a < 3; ++a) {
    in_[a] = tile[a] + g.fov[a] - 1;
    box_[a] = in_[a] + std::abs(shift_[a]);
  }
  if (!tta)
    flips_ = {0};
  else
    for (unsigned f = 0; f < (g.twoD ? 4u : 8u); ++f)
      flips_.push_back(f);
}

Sizes BlockNet::boxLo(const Sizes &at) const {
  Sizes lo(3);
  for (int a = 0; a < 3; ++a)
    lo[a] = at[a] - g_.offsets[a] + std::min<int64_t>(0, shift_[a]);
  return lo;
}

Array BlockNet::pass(const std::vector<float> &box, unsigned flip,
                     const OutputEpilogue &epilogue) const {
  // Per axis the box voxel the input's voxel 0 comes from and the step:
  // a flipped axis reads its sub-box (the one shifted by the TTA shift)
  // backwards.
  int64_t origin[3], step[3];
  for (int a = 0; a < 3; ++a) {
    bool f = flips(flip, a);
    int64_t sub =
        f ? std::max<int64_t>(0, shift_[a]) : std::max<int64_t>(0, -shift_[a]);
    origin[a] = f ? sub + in_[a] - 1 : sub;
    step[a] = f ? -1 : 1;
  }
  Sizes shape = {1, g_.channels};
  for (int a = g_.twoD ? 1 : 0; a < 3; ++a)
    shape.push_back(in_[a]);
  Array input(shape, DType::Float32);
  float *dst = input.data<float>();
  for (int64_t c = 0; c < g_.channels; ++c)
    for (int64_t z = 0; z < in_[0]; ++z)
      for (int64_t x = 0; x < in_[1]; ++x) {
        const float *row = box.data() +
                           ((c * box_[0] + origin[0] + step[0] * z) * box_[1] +
                            origin[1] + step[1] * x) *
                               box_[2] +
                           origin[2];
        for (int64_t y = 0; y < in_[2]; ++y)
          *dst++ = row[step[2] * y];
      }
  Array out = call_densified(node_,
                             {g_.inputType == DType::Float32
                                  ? std::move(input)
                                  : input.astype(g_.inputType)},
                             epilogue);
  int64_t channels = epilogue.channels(g_.labels);
  if (out.size() != channels * product(tile_))
    throw ValueError("the model's densified network returned " +
                     out.shapeString() + " for a block of " + formatTuple(in_) +
                     " raw voxels, not " + std::to_string(channels) + " x " +
                     formatTuple(tile_) +
                     ": streaming needs a network of valid convolutions");
  DType want = epilogue.asUint8 ? DType::UInt8 : DType::Float32;
  return out.dtype() == want ? std::move(out) : out.astype(want);
}

void BlockNet::addFlipped(const Array &out, unsigned flip, float *acc) const {
  const float *p = out.data<float>();
  const Sizes &t = tile_;
  auto at = [&](int a, int64_t i) { return flips(flip, a) ? t[a] - 1 - i : i; };
  for (int64_t c = 0; c < g_.labels; ++c)
    for (int64_t z = 0; z < t[0]; ++z)
      for (int64_t x = 0; x < t[1]; ++x) {
        const float *row = p + ((c * t[0] + at(0, z)) * t[1] + at(1, x)) * t[2];
        for (int64_t y = 0; y < t[2]; ++y)
          *acc++ += row[at(2, y)];
      }
}

Array BlockNet::selectAndQuantise(const Array &mean) const {
  int64_t voxels = product(tile_);
  Sizes shape = {classes_, tile_[0], tile_[1], tile_[2]};
  Array out(shape, epilogue_.asUint8 ? DType::UInt8 : DType::Float32);
  const float *p = mean.data<float>();
  for (int64_t i = 0; i < classes_; ++i) {
    int64_t c = epilogue_.classes.empty() ? i : epilogue_.classes[i];
    const float *from = p + c * voxels;
    if (epilogue_.asUint8)
      std::transform(from, from + voxels, out.data<uint8_t>() + i * voxels,
                     probability_to_uint8);
    else
      std::copy(from, from + voxels, out.data<float>() + i * voxels);
  }
  return out;
}

Array BlockNet::predict(const std::vector<float> &box) const {
  if (flips_.size() == 1)
    return pass(box, 0, epilogue_);
  Sizes shape = {g_.labels, tile_[0], tile_[1], tile_[2]};
  Array sum(shape, DType::Float32);
  float *acc = sum.data<float>();
  std::fill(acc, acc + sum.size(), 0.0f);
  for (unsigned flip : flips_)
    addFlipped(pass(box, flip, {}), flip, acc);
  // A power of two: the mean is exact given the sum.
  float n = static_cast<float>(flips_.size());
  for (int64_t i = 0; i < sum.size(); ++i)
    acc[i] /= n;
  return selectAndQuantise(sum);
}

} // namespace nm::predict
