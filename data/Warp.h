//===- Warp.h - ELEKTRONN2's get_warped_slice --------------------*- C++
//-*-===//
//
// The geometric augmentation of reference §6.5: a 4x4 homogeneous forward
// matrix on (z, x, y, 1),
//   M = T_dest * S_dest * R * W * F * S * S_src * T_src,
// maps source (cube) coordinates to patch coordinates; every patch voxel
// reads the cube at M^-1 * dest (divided by w under perspective), trilinear
// for images and nearest (round half to even, numpy's np.round) for discrete
// targets. Flips and axis swaps are drawn even when warping is off.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_DATA_WARP_H
#define NEUROMANCER_DATA_WARP_H

#include "neuromancer/data/Augment.h"

#include <array>
#include <cstdint>
#include <vector>

namespace nm::data {

using Mat4 = std::array<std::array<double, 4>, 4>;
using Vec3 = std::array<double, 3>;
using Index3 = std::array<int64_t, 3>;

Mat4 identity4();
Mat4 translate4(double dz, double dx, double dy);
Mat4 scale4(double mz, double mx, double my);
/// In-plane rotation of (x, y) by `a` (ELEKTRONN2's rotate_z).
Mat4 rotateZ4(double a);
/// Rotation of (z, x) by `a` (ELEKTRONN2's rotate_y).
Mat4 rotateY4(double a);
Mat4 matmul4(const Mat4 &a, const Mat4 &b);
/// Inverse; ValueError for a singular matrix.
Mat4 invert4(const Mat4 &m);
/// m * (p, 1), divided by w when `homogeneousDivide`.
Vec3 apply4(const Mat4 &m, const Vec3 &p, bool homogeneousDivide);

/// The keyword arguments of get_warped_slice a user sets (warp_args).
struct WarpArgs {
  /// Strength of rotation and warp; getbatch sets 0 for unwarped examples.
  double warp_amount = 1.0;
  bool sample_aniso = true;
  bool lock_z = true;
  bool no_x_flip = false;
  bool perspective = false;
  bool operator==(const WarpArgs &) const = default;
};

/// Where patch centres may lie on one axis: the centre is
/// randint(lo, hi) + (ps % 2) / 2 with lo = trunc(max(ps/2, tps/2 + off)),
/// hi = trunc(min(img - ps/2, lab - tps/2 + off)), off = (img - lab) / 2
/// (without a target: lo = ps/2, hi = img - ps/2). Empty when hi <= lo.
struct CentreRange {
  int64_t lo = 0, hi = 0;
  double remainder = 0; // (ps % 2) / 2
  /// The smallest and largest centre that can be drawn.
  double first() const { return lo + remainder; }
  double last() const { return hi - 1 + remainder; }
  bool empty() const { return hi <= lo; }
};
/// tps/lab < 0 means "no target".
CentreRange centreRange(int64_t img, int64_t ps, int64_t lab = -1,
                        int64_t tps = -1);

/// The random parts of one transform (for tests and for reproducing one).
struct WarpDraw {
  Vec3 centre{};
  Mat4 F = identity4(), S = identity4(), R = identity4(), W = identity4();
};

/// Draws centre, flips, swap, and (when warpAmount != 0) rotation and warp
/// from `rng`, in ELEKTRONN2's order: z, x, y centres; four flips; the swap
/// index (unless no_x_flip); gamma [, phi, theta]; the 16 warp values.
WarpDraw drawWarp(Rng &rng, const std::array<CentreRange, 3> &ranges,
                  double warpAmount, const WarpArgs &args);

/// M = T_dest * S_dest * R * W * F * S * S_src * T_src for patch size `ps`.
Mat4 composeWarp(const WarpDraw &draw, const Index3 &ps, double anisoFactor,
                 bool sampleAniso);

/// A dense (ch, z, x, y) volume read by the warp (row-major, any element):
/// a whole cube, or (h5stream) the box of it that a patch needs, whose
/// voxel 0 is the cube's `origin` and whose cube has shape `full`.
template <typename T> struct Volume {
  const T *data = nullptr;
  int64_t n_ch = 1;
  Index3 shape{};
  Index3 origin{};
  Index3 full{}; // all zero: `shape` (a whole cube)
  Index3 cube() const { return full[0] ? full : shape; }
};

/// The box [lo, hi] (inclusive, +1 for the interpolation) of the image a
/// patch reads; false when it leaves an image of shape `img`.
bool imageBox(const Index3 &img, const Index3 &ps, const Mat4 &M, Index3 &lo,
              Index3 &hi);
/// The box [lo, hi] in label space that the target patch reads; false when
/// it leaves the labels. ValueError when labels or target patch are not
/// centred ("targets must be centered w.r.t. images").
bool targetBox(const Index3 &img, const Index3 &lab, const Index3 &ps,
               const Index3 &tps, const Mat4 &M, Index3 &lo, Index3 &hi);

/// Cuts the warped image patch (n_ch, ps) into `out` (float32): trilinear.
/// Returns false (ELEKTRONN2's WarpingOOBError) when a corner of the source
/// box, +1 for the interpolation, lies outside the image.
bool warpImage(const Volume<float> &img, const Index3 &ps, const Mat4 &M,
               float *out);

/// Cuts the warped target patch (n_ch_t, tps): the central tps part of the
/// patch, shifted by -off into label space, where off = (img - lab) / 2.
/// Channels whose `discrete` flag is set (an empty vector: all) use
/// nearest, the others trilinear.
/// Triples in `vecIx` are re-rotated by M[:3,:3]. Returns false when out of
/// bounds (+1 for interpolation, as ELEKTRONN2 checks).
bool warpTarget(const Volume<double> &lab, const Index3 &imgShape,
                const Index3 &ps, const Index3 &tps, const Mat4 &M,
                const std::vector<bool> &discrete,
                const std::vector<std::array<int64_t, 3>> &vecIx, double *out);

} // namespace nm::data

#endif // NEUROMANCER_DATA_WARP_H
