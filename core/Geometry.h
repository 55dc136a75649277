//===- Geometry.h - shape, fov and cost rules of the layers ----*- C++ -*-===//
//
// The geometry rules of ELEKTRONN2 (docs/elektronn2-reference.md §1.4, §2.1) in
// one place. The frontend calls them when a node is built; the nm dialect's
// verifiers and shape inference call the same functions. Failures come back as
// values (Expected) carrying ELEKTRONN2's messages.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_CORE_GEOMETRY_H
#define NEUROMANCER_CORE_GEOMETRY_H

#include "neuromancer/core/Error.h"
#include "neuromancer/core/TaggedShape.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nm {

enum class ConvMode { Valid, Same, Full };
Expected<ConvMode> parseConvMode(std::string_view mode);
std::string convModeName(ConvMode mode);

/// A convolution layer as far as geometry is concerned. `filter` and `pool`
/// have one entry per spatial axis of the input, in tensor order.
struct ConvGeometry {
  int64_t n_f = 0;
  Sizes filter;
  Sizes pool; // empty = all ones
  ConvMode mode = ConvMode::Valid;
  bool mfp = false;
  bool invalidateFov = false;
  /// Empty: ELEKTRONN2's strided conv + pool. Else the densified form the
  /// nm-densify pass makes (à trous): filter taps and pooling window
  /// `dilation` voxels apart and the pool sliding by 1, so the output keeps
  /// the input's stride; valid convs only, no MFP.
  Sizes dilation;
};

/// Output shape of conv (+ max-pool or MFP). Needs an 'f' axis.
Expected<TaggedShape> convOutputShape(const TaggedShape &in,
                                      const ConvGeometry &conv);
/// prod(w_sh) * prod(conv positions before pooling) * batch; 'same' is
/// costed like 'full'.
int64_t convCost(const TaggedShape &in, const ConvGeometry &conv);
/// Weight shape [n_f, n_in, *filter].
Sizes convWeightShape(const TaggedShape &in, const ConvGeometry &conv);

/// Pool (stride defaults to pool): out = (n - p) // st + 1. With a
/// `dilation` (the densified form) the window's taps are d apart:
/// out = (n - (p - 1) * d - 1) // st + 1.
Expected<TaggedShape> poolOutputShape(const TaggedShape &in, const Sizes &pool,
                                      const Sizes &stride = {},
                                      const Sizes &dilation = {});

/// Transposed conv with filter = stride = pool: out = n * p, fov unknown.
Expected<TaggedShape> upconvOutputShape(const TaggedShape &in, int64_t n_f,
                                        const Sizes &pool);
int64_t upconvCost(const TaggedShape &in, int64_t n_f, const Sizes &pool);

/// Crop / pad `amount[k]` on both sides of spatial axis k.
Expected<TaggedShape> cropOutputShape(const TaggedShape &in, const Sizes &crop);
Expected<TaggedShape> padOutputShape(const TaggedShape &in, const Sizes &pad);

/// Concatenation along `axis`: sizes add up, everything else from the first.
Expected<TaggedShape> concatOutputShape(const std::vector<TaggedShape> &in,
                                        char axis);

/// Interleaving of MFP fragments into a dense map.
Expected<TaggedShape> fragmentsToDenseShape(const TaggedShape &in);

/// Dense layer over 'f' (or over everything but 'b' when flattening).
Expected<TaggedShape> perceptronOutputShape(const TaggedShape &in, int64_t n_f,
                                            bool flatten);
/// Inputs per output feature: f, or stripbatch_prod when flattening.
int64_t perceptronInputs(const TaggedShape &in, bool flatten);

/// InitialState_like: a learned vector of length n_f broadcast over the
/// parent's shape with 'f' replaced by n_f (geometry kept).
Expected<TaggedShape> initialStateShape(const TaggedShape &parent, int64_t n_f);

/// Designate-time fov fix for networks with UpConv (fov < 0): the fov becomes
/// in_spatial - (strides * (out_spatial - 1) + 1), which must be even.
Expected<Sizes> upconvFovFix(const Sizes &inSpatial, const Sizes &outSpatial,
                             const Sizes &strides);

/// ELEKTRONN2's activation names: tanh, relu, prelu, elu, selu, abs,
/// sig/logistic/sigmoid, soft+, lin/linear, concentration, radius and
/// "maxout <r>" (r >= 2). Returns the maxout factor r, 1 for every other
/// known activation, or a ValueError naming the permitted ones.
Expected<int64_t> activationFactor(std::string_view activation);
/// Output shape after the activation: maxout r divides the 'f' axis by r
/// (ELEKTRONN2 does `n_f /= r`); everything else keeps the shape.
Expected<TaggedShape> activationOutputShape(const TaggedShape &in,
                                            std::string_view activation);
struct Activation;
Expected<TaggedShape> activationOutputShape(const TaggedShape &in,
                                            const Activation &activation);

/// ApplyFunc's named elementwise functions: an activation that keeps the
/// shape (not maxout, not prelu, which needs parameters) or exp, log, sqrt,
/// square, neg. ValueError naming the permitted ones otherwise.
std::optional<Failure> checkElementwiseFunction(std::string_view function);

/// Name of spatial axis `j` of `shape` ('z', 'x' or 'y').
char spatialTag(const TaggedShape &shape, int64_t j);

/// ELEKTRONN2's utils/cnncalculator for stacks of valid convs (per axis).
struct CnnLayer {
  Sizes filter;
  Sizes pool;
  bool mfp = false;
};
struct CnnCalculation {
  Sizes patch;                // chosen input size per axis
  std::vector<Sizes> fov;     // field of view after each layer, deepest first
  std::vector<Sizes> strides; // strides after each layer, deepest first
  std::vector<std::string> notes; // "patch_size (23) changed to (22) ..."
};
/// True when `size` flows through every layer on axis `axis`.
bool cnnSizeValid(const std::vector<CnnLayer> &layers, int64_t axis,
                  int64_t size);
/// The valid sizes on one axis: first, first + step, first + 2*step, ...
/// (every conv/pool layer maps an arithmetic progression of input sizes onto
/// the valid sizes after it, so there is no upper bound).
struct CnnValidSizes {
  int64_t first = 1, step = 1;
  /// The largest valid size <= `size`, or None when `size` < first.
  int64_t atMost(int64_t size) const;
  /// The smallest valid size >= `size`.
  int64_t atLeast(int64_t size) const;
};
CnnValidSizes cnnValidSizes(const std::vector<CnnLayer> &layers, int64_t axis);
/// Largest valid size <= desired ("size not possible"), or the smallest
/// valid size >= 2 when desired is below it ("size too small"), as
/// ELEKTRONN2's cnncalculator, with no upper limit on the sizes.
Expected<CnnCalculation> cnncalculator(const std::vector<CnnLayer> &layers,
                                       const Sizes &desiredPatch);

} // namespace nm

#endif // NEUROMANCER_CORE_GEOMETRY_H
