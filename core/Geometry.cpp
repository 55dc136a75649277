//===- Geometry.cpp -------------------------------------------------------===//
#include "neuromancer/core/Geometry.h"

#include "neuromancer/core/Enums.h"

#include "neuromancer/core/Format.h"

#include <cassert>
#include <optional>

namespace nm {
namespace {

int64_t product(const Sizes &v) {
  int64_t p = 1;
  for (int64_t x : v)
    p *= x;
  return p;
}

/// Checks that a per-spatial-axis list has the right length and positive
/// entries; `what` names it in the message.
std::optional<Failure> checkSpatialList(const TaggedShape &in, const Sizes &v,
                                        const std::string &what,
                                        int64_t minimum = 1) {
  if (static_cast<int64_t>(v.size()) != in.nSpatial())
    return valueError(what + " " + formatTuple(v) + " has " +
                      std::to_string(v.size()) + " entries but the input " +
                      in.repr() + " has " + std::to_string(in.nSpatial()) +
                      " spatial axes");
  for (int64_t x : v)
    if (x < minimum)
      return valueError(what + " " + formatTuple(v) +
                        " must have entries >= " + std::to_string(minimum));
  return std::nullopt;
}

Sizes onesIfEmpty(const Sizes &v, int64_t n) {
  return v.empty() ? Sizes(n, 1) : v;
}

int64_t batchOrOne(const TaggedShape &in) {
  if (!in.hasTag('b'))
    return 1;
  int64_t b = in['b'];
  return b == None ? 1 : b;
}

} // namespace

Expected<int64_t> activationFactor(std::string_view act) {
  Expected<Activation> parsed = parseActivation(act);
  if (!parsed)
    return parsed.failure();
  return parsed->maxout;
}

Expected<TaggedShape> activationOutputShape(const TaggedShape &in,
                                            std::string_view act) {
  Expected<Activation> parsed = parseActivation(act);
  if (!parsed)
    return parsed.failure();
  return activationOutputShape(in, *parsed);
}

Expected<TaggedShape> activationOutputShape(const TaggedShape &in,
                                            const Activation &act) {
  int64_t r = act.maxout;
  if (r == 1)
    return in;
  if (!in.hasTag('f') || in['f'] == None || in['f'] % r != 0)
    return valueError("activation_func '" + activationText(act) +
                      "' needs a number of features divisible by " +
                      std::to_string(r) + ", got " + in.repr());
  return in.updateShape('f', in['f'] / r);
}

std::optional<Failure> checkElementwiseFunction(std::string_view f) {
  static constexpr std::string_view kMath[] = {"exp", "log", "sqrt", "square",
                                               "neg"};
  for (std::string_view name : kMath)
    if (f == name)
      return std::nullopt;
  Expected<int64_t> r = activationFactor(f);
  if (r && *r == 1 && f != "prelu")
    return std::nullopt;
  return valueError("Unknown elementwise function '" + std::string(f) +
                    "' for ApplyFunc: expected an activation that keeps the "
                    "shape (tanh, relu, elu, selu, abs, sig, logistic, "
                    "sigmoid, soft+, lin, linear, concentration, radius) or "
                    "exp, log, sqrt, square, neg");
}

char spatialTag(const TaggedShape &shape, int64_t j) {
  return shape.tags()[shape.spatialAxes().at(j)];
}

Expected<ConvMode> parseConvMode(std::string_view mode) {
  if (mode == "valid")
    return ConvMode::Valid;
  if (mode == "same")
    return ConvMode::Same;
  if (mode == "full")
    return ConvMode::Full;
  return valueError("Unknown conv_mode '" + std::string(mode) +
                    "'; expected 'valid', 'same' or 'full'");
}

std::string convModeName(ConvMode mode) {
  switch (mode) {
  case ConvMode::Valid:
    return "valid";
  case ConvMode::Same:
    return "same";
  case ConvMode::Full:
    return "full";
  }
  return "valid";
}

Sizes convWeightShape(const TaggedShape &in, const ConvGeometry &conv) {
  Sizes w = {conv.n_f, in['f']};
  w.insert(w.end(), conv.filter.begin(), conv.filter.end());
  return w;
}

/// The densified conv + pool (ConvGeometry::dilation): taps and pooling
/// window d apart, the pool sliding by 1.
static Expected<TaggedShape> denseConvOutputShape(const TaggedShape &in,
                                                  const ConvGeometry &conv,
                                                  const Sizes &pool) {
  const int64_t nsp = in.nSpatial();
  if (auto f = checkSpatialList(in, conv.dilation, "dilation"))
    return *f;
  if (conv.mode != ConvMode::Valid || conv.mfp)
    return valueError("a dilated (densified) Conv must be a valid conv "
                      "without MFP");
  TaggedShape out = in.updateShape('f', conv.n_f);
  Sizes fov = in.fov();
  const std::vector<int64_t> axes = in.spatialAxes();
  for (int64_t j = 0; j < nsp; ++j) {
    const int64_t n = in[axes[j]], f = conv.filter[j], p = pool[j];
    const int64_t d = conv.dilation[j], step = d * in.strides()[j];
    const char tag = in.tags()[axes[j]];
    int64_t outSize = None;
    if (n != None) {
      outSize = n - (f - 1) * d - (p - 1) * d;
      if (outSize < 1)
        return valueError(
            "Cannot convolve spatial axis '" + std::string(1, tag) +
            "' of length " + std::to_string(n) + " with kernel of size " +
            std::to_string(f) + " and pool " + std::to_string(p) +
            " dilated by " + std::to_string(d) + " (output would be empty).");
    }
    out = out.updateShapeAt(axes[j], outSize);
    fov[j] = (in.fov()[j] > 0 && !conv.invalidateFov)
                 ? in.fov()[j] + (f + p - 2) * step
                 : -1;
  }
  return out.withFov(fov);
}

Expected<TaggedShape> convOutputShape(const TaggedShape &in,
                                      const ConvGeometry &conv) {
  if (!in.hasTag('f'))
    return valueError("Conv needs an input with an 'f' axis, got " + in.repr());
  if (in['f'] == None)
    return valueError("Conv needs a known number of input features, got " +
                      in.repr());
  if (conv.n_f < 1)
    return valueError("Conv needs n_f >= 1, got " + std::to_string(conv.n_f));
  const int64_t nsp = in.nSpatial();
  Sizes pool = onesIfEmpty(conv.pool, nsp);
  if (auto f = checkSpatialList(in, conv.filter, "filter_shape"))
    return *f;
  if (auto f = checkSpatialList(in, pool, "pool_shape"))
    return *f;

  if (!conv.dilation.empty())
    return denseConvOutputShape(in, conv, pool);

  const int64_t nFragments = static_cast<int64_t>(in.mfpOffsets().size());
  if (conv.mfp) {
    int64_t b = in.hasTag('b') ? in['b'] : 1;
    if (b == None || b / nFragments != 1 || b % nFragments != 0)
      return valueError(
          "MFP needs the raw batch size to be 1, but the input " + in.repr() +
          " holds " + (b == None ? std::string("None") : std::to_string(b)) +
          " examples in " + std::to_string(nFragments) + " fragment(s)");
  }

  TaggedShape out = in.updateShape('f', conv.n_f);
  Sizes fov = in.fov(), strides = in.strides();
  const std::vector<int64_t> axes = in.spatialAxes();
  for (int64_t j = 0; j < nsp; ++j) {
    const int64_t n = in[axes[j]], f = conv.filter[j], p = pool[j];
    const char tag = in.tags()[axes[j]];
    if (conv.mode == ConvMode::Same && f % 2 == 0)
      return valueError("conv_mode 'same' needs odd filter sizes, but spatial "
                        "axis '" +
                        std::string(1, tag) + "' has kernel size " +
                        std::to_string(f));
    int64_t k = conv.mode == ConvMode::Valid  ? 1 - f
                : conv.mode == ConvMode::Full ? f - 1
                                              : 0;
    int64_t outSize = None;
    if (n != None) {
      int64_t L = n + k;
      if (L < 1)
        return valueError("Cannot convolve spatial axis '" +
                          std::string(1, tag) + "' of length " +
                          std::to_string(n) + " with kernel of size " +
                          std::to_string(f) + " (output would be empty).");
      if (!conv.mfp && L % p != 0)
        return valueError("Cannot pool spatial axis '" + std::string(1, tag) +
                          "' of length " + std::to_string(n) + " by factor " +
                          std::to_string(p) +
                          " after convolving with kernel of size " +
                          std::to_string(f) + ".");
      if (conv.mfp && (L - p + 1) % p != 0)
        return valueError("Cannot pool spatial axis '" + std::string(1, tag) +
                          "' of length " + std::to_string(n) + " by factor " +
                          std::to_string(p) +
                          " after convolving with kernel of size " +
                          std::to_string(f) + " and using MFP.");
      outSize = L / p;
      if (outSize < 1)
        return valueError("Pooling spatial axis '" + std::string(1, tag) +
                          "' of length " + std::to_string(L) + " by factor " +
                          std::to_string(p) + " leaves nothing.");
    }
    out = out.updateShapeAt(axes[j], outSize);
    fov[j] = (in.fov()[j] > 0 && !conv.invalidateFov)
                 ? in.fov()[j] + (f + p - 2) * in.strides()[j]
                 : -1;
    strides[j] = p * in.strides()[j];
  }
  out = out.withFov(fov).withStrides(strides);

  if (conv.mfp && product(pool) > 1) {
    // Fragment ix (last axis fastest) pools conv_out[ix : ix + L - p + 1];
    // fragments are stacked on the batch axis, fragment-major.
    MfpOffsets offsets;
    Sizes ix(nsp, 0);
    for (int64_t count = 0; count < product(pool); ++count) {
      for (const Sizes &old : in.mfpOffsets()) {
        Sizes row(nsp);
        for (int64_t j = 0; j < nsp; ++j)
          row[j] = old[j] + ix[j] * in.strides()[j];
        offsets.push_back(row);
      }
      for (int64_t j = nsp - 1; j >= 0; --j) {
        if (++ix[j] < pool[j])
          break;
        ix[j] = 0;
      }
    }
    out = out.withMfpOffsets(offsets);
    if (out.hasTag('b'))
      out = out.updateShape('b', product(pool), TaggedShape::UpdateMode::Mult);
  }
  return out;
}

int64_t convCost(const TaggedShape &in, const ConvGeometry &conv) {
  int64_t positions = 1;
  const std::vector<int64_t> axes = in.spatialAxes();
  for (size_t j = 0; j < axes.size(); ++j) {
    int64_t n = in[axes[j]], f = conv.filter.at(j);
    if (n == None)
      continue;
    int64_t d = conv.dilation.empty() ? 1 : conv.dilation.at(j);
    positions *=
        n + (conv.mode == ConvMode::Valid ? 1 - (f - 1) * d - 1 : f - 1);
  }
  return product(convWeightShape(in, conv)) * positions * batchOrOne(in);
}

Expected<TaggedShape> poolOutputShape(const TaggedShape &in, const Sizes &pool,
                                      const Sizes &strideIn,
                                      const Sizes &dilationIn) {
  Sizes stride = strideIn.empty() ? pool : strideIn;
  Sizes dilation = onesIfEmpty(dilationIn, in.nSpatial());
  if (auto f = checkSpatialList(in, pool, "pool_shape"))
    return *f;
  if (auto f = checkSpatialList(in, stride, "stride"))
    return *f;
  if (auto f = checkSpatialList(in, dilation, "dilation"))
    return *f;
  TaggedShape out = in;
  Sizes fov = in.fov(), strides = in.strides();
  const std::vector<int64_t> axes = in.spatialAxes();
  for (size_t j = 0; j < axes.size(); ++j) {
    int64_t n = in[axes[j]], p = pool[j], st = stride[j], d = dilation[j];
    int64_t extent = (p - 1) * d + 1; // input voxels one window spans
    int64_t size = None;
    if (n != None) {
      if (n < extent || (n - extent) % st != 0)
        return valueError(
            "Cannot downsample spatial axis '" +
            std::string(1, in.tags()[axes[j]]) + "' of length " +
            std::to_string(n) + " with pool size " + std::to_string(p) +
            " and stride " + std::to_string(st) +
            (d > 1 ? " dilated by " + std::to_string(d) : "") + ".");
      size = (n - extent) / st + 1;
    }
    out = out.updateShapeAt(axes[j], size);
    fov[j] = in.fov()[j] > 0 ? in.fov()[j] + (p - 1) * d * in.strides()[j] : -1;
    strides[j] = st * in.strides()[j];
  }
  return out.withFov(fov).withStrides(strides);
}

Expected<TaggedShape> upconvOutputShape(const TaggedShape &in, int64_t n_f,
                                        const Sizes &pool) {
  if (!in.hasTag('f') || in['f'] == None)
    return valueError("UpConv needs an input with a known 'f' axis, got " +
                      in.repr());
  if (auto f = checkSpatialList(in, pool, "pool_shape"))
    return *f;
  TaggedShape out = in.updateShape('f', n_f);
  Sizes strides = in.strides();
  const std::vector<int64_t> axes = in.spatialAxes();
  for (size_t j = 0; j < axes.size(); ++j) {
    out = out.updateShapeAt(axes[j], pool[j], TaggedShape::UpdateMode::Mult);
    // Python 3 divides into a float array; int() of it truncates.
    strides[j] = in.strides()[j] / pool[j];
  }
  return out.withFov(Sizes(axes.size(), -1)).withStrides(strides, true);
}

int64_t upconvCost(const TaggedShape &in, int64_t n_f, const Sizes &pool) {
  int64_t positions = 1;
  const std::vector<int64_t> axes = in.spatialAxes();
  for (size_t j = 0; j < axes.size(); ++j) {
    int64_t n = in[axes[j]], p = pool.at(j);
    if (n != None)
      positions *= n * p + (1 - p);
  }
  return n_f * in['f'] * product(pool) * positions * batchOrOne(in);
}

namespace {
Expected<TaggedShape> resizeBothSides(const TaggedShape &in,
                                      const Sizes &amount, int64_t sign,
                                      const char *what) {
  if (auto f = checkSpatialList(in, amount, what, 0))
    return *f;
  TaggedShape out = in;
  const std::vector<int64_t> axes = in.spatialAxes();
  for (size_t j = 0; j < axes.size(); ++j) {
    int64_t n = in[axes[j]];
    if (n == None)
      continue;
    int64_t size = n + sign * 2 * amount[j];
    if (size < 1)
      return valueError(std::string("Cannot ") + what + " spatial axis '" +
                        std::string(1, in.tags()[axes[j]]) + "' of length " +
                        std::to_string(n) + " by " + std::to_string(amount[j]) +
                        " on both sides.");
    out = out.updateShapeAt(axes[j], size);
  }
  return out;
}
} // namespace

Expected<TaggedShape> cropOutputShape(const TaggedShape &in,
                                      const Sizes &crop) {
  return resizeBothSides(in, crop, -1, "crop");
}

Expected<TaggedShape> padOutputShape(const TaggedShape &in, const Sizes &pad) {
  return resizeBothSides(in, pad, +1, "pad");
}

Expected<TaggedShape> concatOutputShape(const std::vector<TaggedShape> &in,
                                        char axis) {
  if (in.empty())
    return valueError("Concat needs at least one input");
  const TaggedShape &first = in.front();
  if (!first.hasTag(axis))
    return valueError("Concat axis '" + std::string(1, axis) + "' is not in " +
                      first.repr());
  int64_t at = first.tagIndex(axis);
  int64_t total = 0;
  for (const TaggedShape &s : in) {
    if (s.tags() != first.tags())
      return valueError("Concat inputs have different axes: " + first.repr() +
                        " and " + s.repr());
    for (int64_t i = 0; i < s.ndim(); ++i)
      if (i != at && s[i] != first[i] && s[i] != None && first[i] != None)
        return valueError("Concat inputs differ on axis '" +
                          std::string(1, s.tags()[i]) + "': " + first.repr() +
                          " and " + s.repr());
    total = (total == None || s[at] == None) ? None : total + s[at];
  }
  return first.updateShapeAt(at, total);
}

Expected<TaggedShape> fragmentsToDenseShape(const TaggedShape &in) {
  int64_t nFrag = static_cast<int64_t>(in.mfpOffsets().size());
  int64_t st = product(in.strides());
  int64_t b = in.hasTag('b') ? in['b'] : None;
  if (b != nFrag || b != st)
    return valueError("FragmentsToDense needs batch size == number of MFP "
                      "fragments == product of strides, but " +
                      in.repr() + " has " + std::to_string(nFrag) +
                      " fragment(s) and strides " + formatList(in.strides()));
  TaggedShape out = in.updateShape('b', 1);
  const std::vector<int64_t> axes = in.spatialAxes();
  for (size_t j = 0; j < axes.size(); ++j)
    out = out.updateShapeAt(axes[j], in.strides()[j],
                            TaggedShape::UpdateMode::Mult);
  return out.withStrides(Sizes(axes.size(), 1))
      .withMfpOffsets({Sizes(axes.size(), 0)});
}

int64_t perceptronInputs(const TaggedShape &in, bool flatten) {
  return flatten ? in.stripbatchProd() : in['f'];
}

Expected<TaggedShape> perceptronOutputShape(const TaggedShape &in, int64_t n_f,
                                            bool flatten) {
  if (n_f < 1)
    return valueError("Perceptron needs n_f >= 1, got " + std::to_string(n_f));
  if (!flatten) {
    if (!in.hasTag('f') || in['f'] == None)
      return valueError("Perceptron needs a known 'f' axis (or flatten=true), "
                        "got " +
                        in.repr());
    return in.updateShape('f', n_f);
  }
  int64_t b = in.hasTag('b') ? in['b'] : 1;
  return TaggedShape::create({b, n_f}, "b,f");
}

Expected<TaggedShape> initialStateShape(const TaggedShape &parent,
                                        int64_t n_f) {
  if (n_f < 1)
    return valueError("InitialState_like needs override_f >= 1, got " +
                      std::to_string(n_f));
  if (!parent.hasTag('f'))
    return valueError("InitialState_like needs a parent with an 'f' axis, "
                      "got " +
                      parent.repr());
  return parent.updateShape('f', n_f);
}

Expected<Sizes> upconvFovFix(const Sizes &inSpatial, const Sizes &outSpatial,
                             const Sizes &strides) {
  Sizes diff(inSpatial.size());
  for (size_t j = 0; j < inSpatial.size(); ++j) {
    diff[j] = inSpatial[j] - (strides[j] * (outSpatial[j] - 1) + 1);
    if (diff[j] % 2 != 0)
      return valueError("FOV is not centered: input spatial shape " +
                        formatList(inSpatial) + " vs. output extent " +
                        formatList(outSpatial) + " at strides " +
                        formatList(strides));
  }
  return diff;
}

bool cnnSizeValid(const std::vector<CnnLayer> &layers, int64_t axis,
                  int64_t size) {
  for (const CnnLayer &l : layers) {
    int64_t f = l.filter.at(axis);
    int64_t p = l.pool.empty() ? 1 : l.pool.at(axis);
    int64_t out = size - f + 1;
    if (out <= 0)
      return false;
    if (p > 1 && (l.mfp ? out % p != 1 : out % p != 0))
      return false;
    size = out / p;
    if (size <= 0)
      return false;
  }
  return true;
}

CnnValidSizes cnnValidSizes(const std::vector<CnnLayer> &layers, int64_t axis) {
  // Backwards from one output voxel: a layer of filter f and pool p needs
  // out = p*s + (mfp ? 1 : 0) (for p > 1) valid pooled sizes s, and
  // in = out + f - 1.
  CnnValidSizes valid;
  for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
    int64_t f = it->filter.at(axis);
    int64_t p = it->pool.empty() ? 1 : it->pool.at(axis);
    int64_t offset = (p > 1 && it->mfp) ? 1 : 0;
    valid.first = p * valid.first + offset + f - 1;
    valid.step *= p;
  }
  assert(cnnSizeValid(layers, axis, valid.first));
  return valid;
}

int64_t CnnValidSizes::atMost(int64_t size) const {
  if (size < first)
    return None;
  return first + (size - first) / step * step;
}

int64_t CnnValidSizes::atLeast(int64_t size) const {
  if (size <= first)
    return first;
  return first + (size - first + step - 1) / step * step;
}

Expected<CnnCalculation> cnncalculator(const std::vector<CnnLayer> &layers,
                                       const Sizes &desired) {
  CnnCalculation calc;
  const int64_t ndim = static_cast<int64_t>(desired.size());
  for (int64_t a = 0; a < ndim; ++a) {
    CnnValidSizes valid = cnnValidSizes(layers, a);
    int64_t smallest = valid.atLeast(2), best = valid.atMost(desired[a]);
    int64_t chosen = best == None ? smallest : best;
    if (chosen != desired[a])
      calc.notes.push_back(
          "patch_size (" + std::to_string(desired[a]) + ") changed to (" +
          std::to_string(chosen) + ") (" +
          (best == None ? "size too small" : "size not possible") + ")");
    calc.patch.push_back(chosen);
  }
  Sizes fov(ndim, 1), strides(ndim, 1);
  for (const CnnLayer &l : layers) {
    for (int64_t a = 0; a < ndim; ++a) {
      int64_t p = l.pool.empty() ? 1 : l.pool[a];
      fov[a] += (l.filter[a] + p - 2) * strides[a];
      strides[a] *= p;
    }
    calc.fov.insert(calc.fov.begin(), fov);
    calc.strides.insert(calc.strides.begin(), strides);
  }
  return calc;
}

} // namespace nm
