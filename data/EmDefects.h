//===- EmDefects.h - EM defect augmentations --------------------*- C++ -*-===//
//
// Augmentations for the defects of serial-section EM that ELEKTRONN2 lacks,
// after pytorch_connectomics and gunpowder: elastic deformation, misaligned
// sections (slip and translation), missing sections and motion-blurred
// sections. They act on one example's patch (n_ch, z, x, y) and, for the
// geometric ones, on its dense target patch (the central tps part of the
// patch), so image and labels stay aligned. Every draw comes from the
// caller's generator (the batch's), so batches stay reproducible whatever
// the number of worker threads. Where a displaced read leaves the patch it
// takes the nearest border voxel (the patch is all that is at hand).
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_DATA_EMDEFECTS_H
#define NEUROMANCER_DATA_EMDEFECTS_H

#include "neuromancer/data/Augment.h"
#include "neuromancer/data/Warp.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace nm::data {

/// A smooth random displacement field: control points `spacing` voxels
/// apart draw a displacement U(-magnitude, magnitude) per axis, and voxels
/// between them interpolate it with smoothstep weights (C1, so the field
/// has no kinks at the control points).
struct ElasticArgs {
  /// Control point spacing (z, x, y) in patch voxels.
  Index3 spacing = {4, 16, 16};
  /// The largest displacement (z, x, y) in voxels; 0 leaves an axis fixed
  /// (in-plane only by default: sections are cut, not deformed, along z).
  std::array<double, 3> magnitude = {0, 4, 4};
  bool operator==(const ElasticArgs &) const = default;
};

/// Misaligned sections: a slip shifts one section in-plane, a translation
/// every section from a random z on (as when the alignment of a stack
/// breaks). Images and targets are shifted alike (the labels were drawn on
/// the misaligned data).
struct MisalignArgs {
  /// The shift per in-plane axis is an integer in [-max_shift, max_shift].
  int64_t max_shift = 8;
  /// The fraction of slips; the others are translations.
  double slip_ratio = 0.5;
  bool operator==(const MisalignArgs &) const = default;
};

/// Missing (lost) sections: randint(1, max_sections + 1) distinct sections
/// of every image channel are set to `value`; targets are kept (the
/// network learns to bridge the gap).
struct MissingSectionArgs {
  int64_t max_sections = 1;
  double value = 0;
  bool operator==(const MissingSectionArgs &) const = default;
};

/// Motion-blurred sections: randint(1, max_sections + 1) distinct sections
/// are averaged along a line of randint(lo, hi + 1) voxels in a random
/// in-plane direction (U(0, pi)), bilinear; targets are kept.
struct MotionBlurArgs {
  int64_t max_sections = 1;
  std::array<int64_t, 2> length_range = {5, 11};
  bool operator==(const MotionBlurArgs &) const = default;
};

/// ValueError naming the option (`name`, e.g. "elastic_args") when the
/// arguments are unusable for a patch `ps`.
void checkArgs(const ElasticArgs &a, const std::string &name);
void checkArgs(const MisalignArgs &a, const std::string &name,
               const Index3 &ps);
void checkArgs(const MissingSectionArgs &a, const std::string &name,
               const Index3 &ps);
void checkArgs(const MotionBlurArgs &a, const std::string &name);

/// One example's patch and its dense target patch (target may be null: no
/// targets, img-scalar mode). `discrete` (empty: all) selects the target
/// channels read by nearest neighbour; the others are linear.
struct ExamplePatch {
  float *img = nullptr;
  int64_t n_ch = 1;
  Index3 ps{};
  double *target = nullptr;
  int64_t t_n_ch = 0;
  Index3 tps{};
  const std::vector<bool> *discrete = nullptr;
};

/// Image trilinear, targets nearest (or linear, see `discrete`).
void elasticDeform(const ExamplePatch &p, const ElasticArgs &a, Rng &rng);
void misalign(const ExamplePatch &p, const MisalignArgs &a, Rng &rng);
void missingSection(const ExamplePatch &p, const MissingSectionArgs &a,
                    Rng &rng);
void motionBlur(const ExamplePatch &p, const MotionBlurArgs &a, Rng &rng);

} // namespace nm::data

#endif // NEUROMANCER_DATA_EMDEFECTS_H
