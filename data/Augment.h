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

} // namespace nm::data

#endif // NEUROMANCER_DATA_AUGMENT_H
