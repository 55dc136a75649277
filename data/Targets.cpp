//===- Targets.cpp - target post-processing of getbatch -------------------===//
#include "neuromancer/data/Targets.h"

#include "neuromancer/core/Error.h"
#include "neuromancer/core/Format.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace nm::data {
namespace {

/// The range [lo, hi) of voxels p along one axis of size n whose
/// neighbour p + o is inside too.
void overlap(int64_t n, int64_t o, int64_t &lo, int64_t &hi) {
  lo = std::max<int64_t>(0, -o);
  hi = std::min(n, n - o);
}

int64_t find(std::vector<int64_t> &parent, int64_t i) {
  while (parent[i] != i)
    i = parent[i] = parent[parent[i]]; // path halving
  return i;
}

} // namespace

const std::vector<Index3> &defaultNhood() {
  static const std::vector<Index3> n = {{0, 0, 0}, {1, 0, 0},  {-1, 0, 0},
                                        {0, 1, 0}, {0, -1, 0}, {0, 0, 1},
                                        {0, 0, -1}};
  return n;
}

int64_t nhoodTargets(std::vector<double> &dense, int64_t bs, int64_t n_ch,
                     const Index3 &tps, const std::vector<Index3> &nhood) {
  const int64_t vol = tps[0] * tps[1] * tps[2];
  const int64_t nOut = static_cast<int64_t>(nhood.size()) + n_ch - 1;
  std::vector<double> out(bs * nOut * vol, -1.0);
  for (int64_t b = 0; b < bs; ++b) {
    const double *t0 = dense.data() + b * n_ch * vol;
    double *o = out.data() + b * nOut * vol;
    for (size_t e = 0; e < nhood.size(); ++e, o += vol) {
      // out[p] = t[p - off] where p - off is inside.
      Index3 lo, hi;
      for (int a = 0; a < 3; ++a)
        overlap(tps[a], -nhood[e][a], lo[a], hi[a]);
      for (int64_t z = lo[0]; z < hi[0]; ++z)
        for (int64_t x = lo[1]; x < hi[1]; ++x)
          for (int64_t y = lo[2]; y < hi[2]; ++y)
            o[(z * tps[1] + x) * tps[2] + y] =
                t0[((z - nhood[e][0]) * tps[1] + x - nhood[e][1]) * tps[2] + y -
                   nhood[e][2]];
    }
    std::copy(t0 + vol, t0 + n_ch * vol, o); // channels 1.. as they are
  }
  dense.swap(out);
  return nOut;
}

void writeStrided(Array &out, const std::vector<double> &dense, int64_t n,
                  const Index3 &tps, const Index3 &s) {
  Index3 o;
  for (int a = 0; a < 3; ++a)
    o[a] = (tps[a] + s[a] - 1) / s[a];
  const int64_t vol = tps[0] * tps[1] * tps[2];
  int64_t j = 0;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t z = 0; z < o[0]; ++z)
      for (int64_t x = 0; x < o[1]; ++x)
        for (int64_t y = 0; y < o[2]; ++y, ++j) {
          double v = dense[b * vol + (z * s[0] * tps[1] + x * s[1]) * tps[2] +
                           y * s[2]];
          out.setFlat(j, std::isnan(v) ? -666.0 : v); // E2's NaN hack
        }
}

void segToAffgraph(const double *seg, const Index3 &sh,
                   const std::vector<Index3> &nhood, int16_t *aff) {
  const int64_t vol = sh[0] * sh[1] * sh[2];
  std::fill(aff, aff + vol * static_cast<int64_t>(nhood.size()), 0);
  for (size_t e = 0; e < nhood.size(); ++e, aff += vol) {
    const Index3 &n = nhood[e];
    const int64_t step = (n[0] * sh[1] + n[1]) * sh[2] + n[2];
    Index3 lo, hi;
    for (int a = 0; a < 3; ++a)
      overlap(sh[a], n[a], lo[a], hi[a]);
    for (int64_t z = lo[0]; z < hi[0]; ++z)
      for (int64_t x = lo[1]; x < hi[1]; ++x)
        for (int64_t y = lo[2]; y < hi[2]; ++y) {
          int64_t p = (z * sh[1] + x) * sh[2] + y;
          double a = seg[p], b = seg[p + step];
          aff[p] = a == b && a > 0 && b > 0;
        }
  }
}

void affgraphToSeg(const int16_t *aff, const Index3 &sh,
                   const std::vector<Index3> &nhood, int64_t sizeThresh,
                   int16_t *seg) {
  const int64_t vol = sh[0] * sh[1] * sh[2];
  std::vector<int64_t> parent(vol);
  std::iota(parent.begin(), parent.end(), 0);
  for (size_t e = 0; e < nhood.size(); ++e, aff += vol) {
    const Index3 &n = nhood[e];
    const int64_t step = (n[0] * sh[1] + n[1]) * sh[2] + n[2];
    Index3 lo, hi;
    for (int a = 0; a < 3; ++a)
      overlap(sh[a], n[a], lo[a], hi[a]);
    for (int64_t z = lo[0]; z < hi[0]; ++z)
      for (int64_t x = lo[1]; x < hi[1]; ++x)
        for (int64_t y = lo[2]; y < hi[2]; ++y) {
          int64_t p = (z * sh[1] + x) * sh[2] + y;
          if (aff[p]) {
            int64_t a = find(parent, p), b = find(parent, p + step);
            // The smaller index is the root: roots are first voxels.
            parent[std::max(a, b)] = std::min(a, b);
          }
        }
  }
  std::vector<int64_t> size(vol, 0), id(vol, 0);
  for (int64_t p = 0; p < vol; ++p)
    ++size[find(parent, p)];
  int64_t next = 0;
  for (int64_t p = 0; p < vol; ++p) {
    int64_t r = find(parent, p);
    if (size[r] <= sizeThresh) {
      seg[p] = 0;
      continue;
    }
    if (!id[r]) {
      if (++next > 32767)
        throw ValueError("affinities: the target patch " +
                         formatTuple({sh[0], sh[1], sh[2]}) +
                         " has more than 32767 segments, which int16 (E2's "
                         "seg dtype) cannot number");
      id[r] = next;
    }
    seg[p] = static_cast<int16_t>(id[r]);
  }
}

void makeAffinities(const Array &target, Array &aff, Array &seg) {
  const auto &ts = target.shape();
  const int64_t bs = ts[0], ch = ts[1];
  const Index3 sh = {ts[2], ts[3], ts[4]};
  const int64_t vol = sh[0] * sh[1] * sh[2];
  const std::vector<Index3> nhood = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
  const int64_t ne = static_cast<int64_t>(nhood.size());
  aff = Array({bs, ne, sh[0], sh[1], sh[2]}, DType::Int16);
  seg = Array({bs, 1, sh[0], sh[1], sh[2]}, DType::Int16);
  std::vector<double> ids(vol);
  for (int64_t b = 0; b < bs; ++b) {
    for (int64_t i = 0; i < vol; ++i)
      ids[i] = target.getFlat(b * ch * vol + i);
    int16_t *a = aff.data<int16_t>() + b * ne * vol;
    segToAffgraph(ids.data(), sh, nhood, a);
    affgraphToSeg(a, sh, nhood, 1, seg.data<int16_t>() + b * vol);
  }
}

} // namespace nm::data
