//===- Augment.h - seeded generator and grey-value augmentation -*- C++ -*-===//
//
// The random generator every draw of the batch creator comes from, and
// ELEKTRONN2's greyAugment (reference §6.5). The generator's uniform draws
// use 53 bits of a mt19937_64 directly (no std:: distributions), so the same
// seed gives the same batches with every standard library.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_DATA_AUGMENT_H
#define NEUROMANCER_DATA_AUGMENT_H

#include <array>
#include <cstdint>
#include <random>
#include <vector>

namespace nm::data {

/// splitmix64's finaliser: a well-mixed 64-bit value from any 64-bit value.
uint64_t mix64(uint64_t x);

/// numpy RandomState's vocabulary (rand, randint, uniform) on mt19937_64.
class Rng {
public:
  explicit Rng(uint64_t seed) : g_(seed) {}
  /// The generator of batch `index` of `stream` (0 train, 1 valid): a pure
  /// function of the three, so batches do not depend on who produces them.
  static Rng forBatch(uint64_t seed, uint64_t stream, uint64_t index);
  /// Uniform in [0, 1).
  double rand() { return static_cast<double>(g_() >> 11) * 0x1.0p-53; }
  /// Uniform integer in [lo, hi); requires lo < hi.
  int64_t randint(int64_t lo, int64_t hi);
  /// Uniform in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * rand(); }

private:
  std::mt19937_64 g_;
};

/// The parameters greyAugment drew for one channel.
struct GreyParams {
  double alpha, c, gamma;
};

/// greyAugment on `data` (n_ch channels of `channelSize` values each) for
/// the listed channels: alpha = 1 + (U-0.5)*0.3, c = (U-0.5)*0.3,
/// gamma = 2^(2U-1), drawn as three vectors of k = channels.size() values in
/// that order (ELEKTRONN2's rng.rand(k) calls); then per listed channel
/// d = clip(d*alpha + c, 0, 1) ** gamma. Each channel gets its own
/// parameters (ELEKTRONN2 mis-broadcasts them with several channels).
/// ValueError for a channel index out of range. Returns the parameters.
std::vector<GreyParams> greyAugment(float *data, int64_t n_ch,
                                    int64_t channelSize,
                                    const std::vector<int64_t> &channels,
                                    Rng &rng);

/// ELEKTRONN2's noise_augment: d += level * (U - 0.5) on every voxel of
/// every channel. ValueError unless 0 <= level <= 1.
void noiseAugment(float *data, int64_t size, double level, Rng &rng);

/// scipy's 'reflect' boundary, numpy's pad mode 'symmetric' (d c b a | a b
/// c d): the index in [0, n) that index `i` (any integer) mirrors to.
int64_t reflectIndex(int64_t i, int64_t n);

/// scipy.ndimage.gaussian_filter(d, sigma) on one (z, x, y) volume: the
/// same sigma on each axis, truncate 4 (radius int(4 sigma + 0.5)), mode
/// 'reflect' (d c b a | a b c d). In place.
void gaussianFilter(float *data, const std::array<int64_t, 3> &shape,
                    double sigma);

/// The blob augmentations' keywords (ELEKTRONN2's *_args dicts).
struct BlobArgs {
  /// Number of blobs: randint(lo, hi), drawn once for all channels.
  std::array<int64_t, 2> num_blob_range = {5, 15};
  /// Blob side: randint(lo, hi) per blob; the cube is 2 * (side / 2).
  std::array<int64_t, 2> blob_size_range = {10, 32};
  /// blurry_blobs: the blur's sigma; 0: randint(1, 6) per blob.
  double diffuseness = 0;
  /// noisy_random_erasing: the uniform noise's range (ELEKTRONN2's default
  /// (0, 255) on images scaled to [0, 1]).
  std::array<double, 2> noise_range = {0, 255};
  /// uniform_random_erasing: the fill value.
  double value = 0;
  bool operator==(const BlobArgs &) const = default;
};

enum class BlobKind { Blur, Noise, Uniform };

/// ELEKTRONN2's add_blobs: per channel, num_blobs cubes with random centres
/// (at least side/2 from the borders) are blurred, filled with noise or with
/// one value. A side >= the smallest spatial size ends that channel's blobs
/// (E2's `break`). ValueError for empty ranges.
void addBlobs(float *data, int64_t n_ch, const std::array<int64_t, 3> &shape,
              BlobKind kind, const BlobArgs &args, Rng &rng);

} // namespace nm::data

#endif // NEUROMANCER_DATA_AUGMENT_H
