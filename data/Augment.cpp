//===- Augment.cpp - seeded generator and grey-value augmentation ---------===//
#include "neuromancer/data/Augment.h"

#include "neuromancer/core/Error.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace nm::data {

uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

Rng Rng::forBatch(uint64_t seed, uint64_t stream, uint64_t index) {
  return Rng(mix64(mix64(mix64(seed) ^ stream) ^ index));
}

int64_t Rng::randint(int64_t lo, int64_t hi) {
  if (hi <= lo)
    throw ValueError("randint: low >= high (" + std::to_string(lo) +
                     " >= " + std::to_string(hi) + ")");
  auto span = static_cast<double>(hi - lo);
  auto k = static_cast<int64_t>(std::floor(rand() * span));
  return lo + std::min<int64_t>(k, hi - lo - 1);
}

std::vector<GreyParams> greyAugment(float *data, int64_t n_ch,
                                    int64_t channelSize,
                                    const std::vector<int64_t> &channels,
                                    Rng &rng) {
  for (int64_t ch : channels)
    if (ch < 0 || ch >= n_ch)
      throw ValueError("grey_augment_channels: channel " + std::to_string(ch) +
                       " is out of range for " + std::to_string(n_ch) +
                       " input channel(s)");
  const size_t k = channels.size();
  std::vector<GreyParams> p(k);
  // Three vector draws in ELEKTRONN2's order: all alphas, all cs, all gammas.
  for (auto &q : p)
    q.alpha = 1 + (rng.rand() - 0.5) * 0.3;
  for (auto &q : p)
    q.c = (rng.rand() - 0.5) * 0.3;
  for (auto &q : p)
    q.gamma = std::pow(2.0, rng.rand() * 2 - 1);
  for (size_t i = 0; i < k; ++i) {
    float *d = data + channels[i] * channelSize;
    const double a = p[i].alpha, c = p[i].c, g = p[i].gamma;
    for (int64_t j = 0; j < channelSize; ++j) {
      double v = std::clamp(d[j] * a + c, 0.0, 1.0);
      d[j] = static_cast<float>(std::pow(v, g));
    }
  }
  return p;
}

} // namespace nm::data
