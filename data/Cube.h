//===- Cube.h - one image/label cube of BatchCreatorImage -------*- C++ -*-===//
//
// Internal to //data (BatchCreatorImage's files): a loaded cube, or with
// h5stream the shapes and file names patches are read from.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_DATA_CUBE_H
#define NEUROMANCER_DATA_CUBE_H

#include "neuromancer/core/Format.h"
#include "neuromancer/data/BatchCreatorImage.h"

#include <string>
#include <vector>

namespace nm {

struct BatchCreatorImage::Cube {
  int64_t index = 0;
  std::string name; // for messages: "cube 0 ('raw_0.h5' 'raw', labels ...)"
  data::Index3 dsh{};
  std::vector<float> d; // (n_f, z, x, y), normalised
  data::Index3 tsh{};
  std::vector<double> t; // (t_n_f, z, x, y) cast to t_dtype; scalar: t_n_f
  std::array<data::CentreRange, 3> ranges{};
  int64_t labelSize = 0; // t.size() of ELEKTRONN2 (sampling weight)
  /// Lazy-label masks (ELEKTRONN2's ll_mask): two rows of t_n_f values;
  /// default (all 1, all 0).
  std::array<std::vector<int16_t>, 2> llMask;
  // h5stream: d and t stay empty; patches are read from these.
  bool stream = false;
  std::string dPath, dKey, lPath, lKey;
  /// Normalisation per input channel: (v - mean) / div. Integer images
  /// default to (0, 255) (uint16: 65535), floats to (0, 1).
  std::vector<float> mean, div;
  void normalise(float *v, int64_t channelSize) const {
    for (size_t c = 0; c < div.size(); ++c) {
      if (mean[c] == 0 && div[c] == 1)
        continue;
      float *p = v + c * channelSize;
      for (int64_t i = 0; i < channelSize; ++i)
        p[i] = (p[i] - mean[c]) / div[c];
    }
  }
};

namespace data {
/// "(z, x, y)", or "(x, y)" for a 2-D network.
inline std::string tuple3(const Index3 &v, bool twoD) {
  if (twoD)
    return formatTuple({v[1], v[2]});
  return formatTuple({v[0], v[1], v[2]});
}
} // namespace data

} // namespace nm

#endif // NEUROMANCER_DATA_CUBE_H
