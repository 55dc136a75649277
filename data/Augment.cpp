//===- Augment.cpp - seeded generator and grey-value augmentation ---------===//
#include "neuromancer/data/Augment.h"

#include "neuromancer/core/Error.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
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

void noiseAugment(float *data, int64_t size, double level, Rng &rng) {
  if (!(level >= 0 && level <= 1))
    throw ValueError("noise augmentation: level " + std::to_string(level) +
                     " exceeds either Min (0) or Max (1) level");
  for (int64_t i = 0; i < size; ++i)
    data[i] += static_cast<float>(level * (rng.rand() - 0.5));
}

int64_t reflectIndex(int64_t i, int64_t n) {
  if (n == 1)
    return 0;
  const int64_t period = 2 * n;
  i %= period;
  if (i < 0)
    i += period;
  return i < n ? i : period - 1 - i;
}

namespace {

/// One axis of the separable filter: `count` lines of length n, `stride`
/// apart element to element, starting at `starts`.
void filterLines(float *data, const std::vector<int64_t> &starts, int64_t n,
                 int64_t stride, const std::vector<double> &w) {
  const int64_t r = static_cast<int64_t>(w.size() / 2);
  std::vector<double> line(n), out(n);
  for (int64_t s : starts) {
    for (int64_t i = 0; i < n; ++i)
      line[i] = data[s + i * stride];
    for (int64_t i = 0; i < n; ++i) {
      double acc = 0;
      for (int64_t k = -r; k <= r; ++k)
        acc += w[k + r] * line[reflectIndex(i + k, n)];
      out[i] = acc;
    }
    for (int64_t i = 0; i < n; ++i)
      data[s + i * stride] = static_cast<float>(out[i]);
  }
}

} // namespace

void gaussianFilter(float *data, const std::array<int64_t, 3> &sh,
                    double sigma) {
  if (!(sigma > 0))
    return;
  const int64_t r = static_cast<int64_t>(4.0 * sigma + 0.5);
  std::vector<double> w(2 * r + 1);
  double sum = 0;
  for (int64_t k = -r; k <= r; ++k)
    sum += w[k + r] = std::exp(-0.5 * k * k / (sigma * sigma));
  for (double &v : w)
    v /= sum;
  const int64_t sz = sh[1] * sh[2], sx = sh[2];
  std::vector<int64_t> starts;
  for (int64_t x = 0; x < sh[1]; ++x) // along z
    for (int64_t y = 0; y < sh[2]; ++y)
      starts.push_back(x * sx + y);
  filterLines(data, starts, sh[0], sz, w);
  starts.clear();
  for (int64_t z = 0; z < sh[0]; ++z) // along x
    for (int64_t y = 0; y < sh[2]; ++y)
      starts.push_back(z * sz + y);
  filterLines(data, starts, sh[1], sx, w);
  starts.clear();
  for (int64_t z = 0; z < sh[0]; ++z) // along y
    for (int64_t x = 0; x < sh[1]; ++x)
      starts.push_back(z * sz + x * sx);
  filterLines(data, starts, sh[2], 1, w);
}

void addBlobs(float *data, int64_t n_ch, const std::array<int64_t, 3> &sh,
              BlobKind kind, const BlobArgs &a, Rng &rng) {
  if (a.num_blob_range[1] <= a.num_blob_range[0] ||
      a.blob_size_range[1] <= a.blob_size_range[0] || a.num_blob_range[0] < 0 ||
      a.blob_size_range[0] < 1)
    throw ValueError("blob augmentation: num_blob_range and blob_size_range "
                     "must be (low, high) with 0 <= low < high (sizes >= 1)");
  // Axes of size 1 (a 2-D network's z) take no part: blobs are flat there.
  int64_t restriction = INT64_MAX;
  for (int i = 0; i < 3; ++i)
    if (sh[i] > 1)
      restriction = std::min(restriction, sh[i]);
  const int64_t nBlobs = rng.randint(a.num_blob_range[0], a.num_blob_range[1]);
  const int64_t vol = sh[0] * sh[1] * sh[2];
  for (int64_t ch = 0; ch < n_ch; ++ch) {
    float *d = data + ch * vol;
    for (int64_t b = 0; b < nBlobs; ++b) {
      int64_t size = rng.randint(a.blob_size_range[0], a.blob_size_range[1]);
      if (size >= restriction)
        break; // ELEKTRONN2 gives up on this channel's remaining blobs
      const int64_t delta = size / 2;
      std::array<int64_t, 3> lo, n;
      for (int i = 0; i < 3; ++i) {
        if (sh[i] == 1) {
          lo[i] = 0, n[i] = 1;
          continue;
        }
        lo[i] = rng.randint(delta, sh[i] - delta) - delta;
        n[i] = 2 * delta;
      }
      std::vector<float> blob(n[0] * n[1] * n[2]);
      size_t j = 0;
      for (int64_t z = 0; z < n[0]; ++z)
        for (int64_t x = 0; x < n[1]; ++x)
          for (int64_t y = 0; y < n[2]; ++y)
            blob[j++] =
                d[((lo[0] + z) * sh[1] + lo[1] + x) * sh[2] + lo[2] + y];
      if (kind == BlobKind::Blur) {
        double sigma = a.diffuseness > 0
                           ? a.diffuseness
                           : static_cast<double>(rng.randint(1, 6));
        gaussianFilter(blob.data(), n, sigma);
      } else {
        for (float &v : blob)
          v = static_cast<float>(
              kind == BlobKind::Uniform
                  ? a.value
                  : rng.uniform(a.noise_range[0], a.noise_range[1]));
      }
      j = 0;
      for (int64_t z = 0; z < n[0]; ++z)
        for (int64_t x = 0; x < n[1]; ++x)
          for (int64_t y = 0; y < n[2]; ++y)
            d[((lo[0] + z) * sh[1] + lo[1] + x) * sh[2] + lo[2] + y] =
                blob[j++];
    }
  }
}

} // namespace nm::data
