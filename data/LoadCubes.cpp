//===- LoadCubes.cpp - BatchCreatorImage: reading and fitting cubes -------===//
//
// The loading half of BatchCreatorImage (reference §6.4, read_files and
// border_treatment): HDF5 cubes to normalised images and cast labels, the
// lazy-label masks, img-scalar border modes, and the patch centre ranges.
//
//===----------------------------------------------------------------------===//
#include "neuromancer/core/Error.h"
#include "neuromancer/core/Format.h"
#include "neuromancer/core/Log.h"
#include "neuromancer/data/BatchCreatorImage.h"
#include "neuromancer/data/Cube.h"
#include "neuromancer/data/CubeReader.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace nm {

using data::H5Data;
using data::H5Select;
using data::Index3;
using data::readH5;

//===----------------------------------------------------------------------===//
// Cube helpers
//===----------------------------------------------------------------------===//

namespace {

/// (ch?, x, y, z) -> (ch?, z, x, y) for zxy=false.
template <typename T> void xyz2zxy(std::vector<T> &v, Sizes &shape) {
  size_t r = shape.size();
  int64_t X = shape[r - 3], Y = shape[r - 2], Z = shape[r - 1];
  int64_t ch = r == 4 ? shape[0] : 1, vol = X * Y * Z;
  std::vector<T> out(v.size());
  for (int64_t c = 0; c < ch; ++c)
    for (int64_t x = 0; x < X; ++x)
      for (int64_t y = 0; y < Y; ++y)
        for (int64_t z = 0; z < Z; ++z)
          out[c * vol + (z * X + x) * Y + y] = v[c * vol + (x * Y + y) * Z + z];
  v.swap(out);
  shape[r - 3] = Z;
  shape[r - 2] = X;
  shape[r - 1] = Y;
}

std::string joinPath(const std::string &dir, const std::string &file) {
  if (dir.empty() || (!file.empty() && file[0] == '/'))
    return file;
  std::string d = dir;
  if (d[0] == '~') {
    const char *home = std::getenv("HOME");
    d = std::string(home ? home : "") + d.substr(1);
  }
  return d.back() == '/' ? d + file : d + "/" + file;
}

/// The integer range of a dtype (for the label overflow check).
void intRange(DType t, double &lo, double &hi) {
  switch (t) {
  case DType::Int8:
    lo = -128, hi = 127;
    return;
  case DType::Int16:
    lo = -32768, hi = 32767;
    return;
  case DType::Int32:
    lo = std::numeric_limits<int32_t>::min(),
    hi = std::numeric_limits<int32_t>::max();
    return;
  case DType::Int64:
    lo = -9.2233720368547758e18, hi = 9.2233720368547758e18;
    return;
  case DType::UInt8:
  case DType::Bool:
    lo = 0, hi = t == DType::Bool ? 1 : 255;
    return;
  case DType::UInt16:
    lo = 0, hi = 65535;
    return;
  case DType::UInt32:
    lo = 0, hi = 4294967295.0;
    return;
  default:
    lo = 0, hi = 1.8446744073709552e19;
  }
}

/// Labels cast to the target dtype, as ELEKTRONN2 does, with its overflow
/// check (and a check of the minimum and of fractions, which a cast would
/// silently change).
void castLabels(std::vector<double> &t, const H5Data &h, DType tDtype,
                const std::string &where) {
  if (isFloat(tDtype)) {
    if (tDtype == DType::Float32)
      for (double &v : t)
        v = static_cast<float>(v);
    return;
  }
  double lo, hi;
  intRange(tDtype, lo, hi);
  double mn = 0, mx = 0;
  if (!t.empty()) {
    auto [a, b] = std::minmax_element(t.begin(), t.end());
    mn = *a, mx = *b;
  }
  const std::string name = dtypeName(tDtype);
  if (mx > hi)
    throw ValueError("Loading of data: targets must be cast to " + name +
                     ", but " + name + " cannot store value " + formatG(mx) +
                     ", maximum allowed value: " + formatG(hi) +
                     ". You may try to renumber targets. (" + where + ")");
  if (mn < lo)
    throw ValueError("Loading of data: targets must be cast to " + name +
                     ", but " + name + " cannot store value " + formatG(mn) +
                     ", minimum allowed value: " + formatG(lo) + ". (" + where +
                     ")");
  if (!h.isInteger)
    for (double v : t)
      if (v != std::floor(v))
        throw ValueError("Loading of data: targets must be cast to " + name +
                         ", but the " + h.typeName + " labels hold " +
                         formatG(v) + ", which is not an integer (" + where +
                         ")");
}

/// The label file's optional lazy-label masks (ELEKTRONN2's `ll_mask`
/// dataset, two rows of t_n_f values; default all 1 and all 0).
void readLlMask(BatchCreatorImage::Cube &c, const std::string &path,
                const std::string &labelKey, int64_t tnf) {
  H5Select sel;
  sel.optional = true;
  H5Data m = readH5(path, "ll_mask", "label", true, sel);
  if (!m.present) {
    c.llMask[0].assign(tnf, 1);
    c.llMask[1].assign(tnf, 0);
    return;
  }
  if (static_cast<int64_t>(m.d.size()) != 2 * tnf)
    throw ValueError("BatchCreatorImage: dataset 'll_mask' of label file '" +
                     path + "' (beside '" + labelKey + "') has shape " +
                     formatTuple(m.shape) + "; expected (2, " +
                     std::to_string(tnf) + ") for " + std::to_string(tnf) +
                     " target channel(s)");
  for (int r = 0; r < 2; ++r)
    for (int64_t i = 0; i < tnf; ++i)
      c.llMask[r].push_back(static_cast<int16_t>(m.d[r * tnf + i]));
}

} // namespace

void BatchCreatorImage::loadCubes(const BatchCreatorOptions &o) {
  const bool scalar = mode_ == "img-scalar";
  std::vector<std::shared_ptr<Cube>> cubes;
  for (size_t k = 0; k < o.d_files.size(); ++k) {
    const std::string dp = joinPath(o.d_path, o.d_files[k].first);
    const std::string lp = joinPath(o.l_path, o.l_files[k].first);
    log_info("Loading " + o.d_files[k].first + " and " + o.l_files[k].first);
    H5Select meta;
    meta.metaOnly = o.h5stream; // h5stream: shapes and types only
    H5Data d = readH5(dp, o.d_files[k].second,
                      "data (d_files[" + std::to_string(k) + "])", false, meta);
    H5Data t = readH5(lp, o.l_files[k].second,
                      "label (l_files[" + std::to_string(k) + "])", true, meta);
    auto c = std::make_shared<Cube>();
    c->index = static_cast<int64_t>(k);
    c->name = "cube " + std::to_string(k) + " ('" + dp + "' '" +
              o.d_files[k].second + "', labels '" + lp + "' '" +
              o.l_files[k].second + "')";
    if (d.shape.size() != 3 && d.shape.size() != 4)
      throw ValueError("BatchCreatorImage: images of " + c->name +
                       " have shape " + formatTuple(d.shape) +
                       "; expected (z,x,y) or (ch,z,x,y)");
    size_t tRank = t.shape.size();
    if (scalar ? tRank != 1 : (tRank != 3 && tRank != 4))
      throw ValueError("BatchCreatorImage: labels of " + c->name +
                       " have shape " + formatTuple(t.shape) +
                       (scalar ? "; scalar targets must be 1d"
                               : "; expected (z,x,y) or (ch,z,x,y)"));
    if (!o.zxy) {
      xyz2zxy(d.f, d.shape);
      if (!scalar)
        xyz2zxy(t.d, t.shape);
    }
    int64_t nf = d.shape.size() == 4 ? d.shape[0] : 1;
    for (int a = 0; a < 3; ++a)
      c->dsh[a] = d.shape[d.shape.size() - 3 + a];
    int64_t tnf = scalar ? t.shape[0] : (tRank == 4 ? t.shape[0] : 1);
    if (!scalar)
      for (int a = 0; a < 3; ++a)
        c->tsh[a] = t.shape[tRank - 3 + a];
    if (k == 0) {
      nF_ = nf;
      tNF_ = tnf;
    } else if (nf != nF_ || tnf != tNF_) {
      throw ValueError("BatchCreatorImage: " + c->name + " has " +
                       std::to_string(nf) + " input and " +
                       std::to_string(tnf) + " target channel(s); cube 0 has " +
                       std::to_string(nF_) + " and " + std::to_string(tNF_));
    }
    normalisation(*c, d, o);
    readLlMask(*c, lp, o.l_files[k].second, tnf);
    nLabelled_ += scalar ? 1 : c->tsh[0] * c->tsh[1] * c->tsh[2];
    c->labelSize =
        scalar ? t.shape[0] : tnf * c->tsh[0] * c->tsh[1] * c->tsh[2];
    if (o.h5stream) {
      // Patches are read as they are, without the cast and its check
      // (ELEKTRONN2 asserts the same).
      if (t.typeName != dtypeName(tDtype_))
        throw ValueError("BatchCreatorImage: h5stream reads labels without "
                         "a cast, but the labels of " +
                         c->name + " are " + t.typeName +
                         " and the target node's dtype is " +
                         dtypeName(tDtype_));
      c->stream = true;
      c->dPath = dp, c->dKey = o.d_files[k].second;
      c->lPath = lp, c->lKey = o.l_files[k].second;
    } else {
      c->normalise(d.f.data(), c->dsh[0] * c->dsh[1] * c->dsh[2]);
      castLabels(t.d, t, tDtype_, c->name);
      c->d = std::move(d.f);
      c->t = std::move(t.d);
    }
    cubes.push_back(std::move(c));
  }
  if (inputF_ != None && inputF_ != nF_)
    throw ValueError("BatchCreatorImage: the input node has " +
                     std::to_string(inputF_) + " channel(s), the data " +
                     std::to_string(nF_) + " (" + cubes[0]->name + ")");
  for (auto &c : cubes) {
    if (scalar)
      borderTreatment(*c);
    setRanges(*c);
    bool valid = std::find(o.valid_cubes.begin(), o.valid_cubes.end(),
                           c->index) != o.valid_cubes.end();
    (valid ? valid_ : train_).push_back(std::move(c));
  }
}

namespace {

/// The source index of padded position i (of an axis padded by `before`)
/// on an axis of n voxels; -1 for a zero.
int64_t padSource(int64_t i, int64_t before, int64_t n, bool mirror) {
  int64_t j = i - before;
  if (j >= 0 && j < n)
    return j;
  return mirror ? data::reflectIndex(j, n) : -1;
}

} // namespace

void BatchCreatorImage::borderTreatment(Cube &c) const {
  // ELEKTRONN2 fits img-scalar cubes to exactly the patch; we fit them to
  // the patch plus one voxel, which the interpolation's bounds check needs
  // (exactly the patch leaves no position its warp accepts).
  if (borderMode_ == "keep")
    return;
  const bool crop = borderMode_ == "crop";
  Index3 sh = c.dsh, out, before;
  for (int a = 0; a < 3; ++a) {
    const int64_t want = ps3_[a] + 1;
    if (crop) {
      if (sh[a] < ps3_[a])
        return; // setRanges reports the cube as too small
      out[a] = std::min(sh[a], want);
      before[a] = -((sh[a] - out[a]) / 2); // a negative pad crops
    } else {
      out[a] = std::max(sh[a], want);
      before[a] = (out[a] - sh[a] + 1) / 2; // numpy's ceil on the left
    }
  }
  const bool mirror = borderMode_ == "mirror";
  std::vector<float> d(nF_ * out[0] * out[1] * out[2]);
  size_t i = 0;
  for (int64_t ch = 0; ch < nF_; ++ch)
    for (int64_t z = 0; z < out[0]; ++z) {
      int64_t sz = padSource(z, before[0], sh[0], mirror);
      for (int64_t x = 0; x < out[1]; ++x) {
        int64_t sx = padSource(x, before[1], sh[1], mirror);
        for (int64_t y = 0; y < out[2]; ++y, ++i) {
          int64_t sy = padSource(y, before[2], sh[2], mirror);
          d[i] = sz < 0 || sx < 0 || sy < 0
                     ? 0.f
                     : c.d[((ch * sh[0] + sz) * sh[1] + sx) * sh[2] + sy];
        }
      }
    }
  c.d.swap(d);
  c.dsh = out;
}

void BatchCreatorImage::normalisation(Cube &c, const H5Data &d,
                                      const BatchCreatorOptions &o) const {
  if (o.mean.has_value() != o.std.has_value())
    throw ValueError("BatchCreatorImage: the options mean and std must be "
                     "given together (" +
                     std::string(o.mean ? "mean" : "std") + " is set)");
  if (!o.mean) {
    // ELEKTRONN2 divides every integer type by 255; uint16 (16-bit EM)
    // would then exceed 1 by far, so it is divided by its range.
    float div = !d.isInteger                        ? 1.f
                : (d.isUnsigned && d.elemSize == 2) ? 65535.f
                                                    : 255.f;
    c.mean.assign(nF_, 0.f);
    c.div.assign(nF_, div);
    return;
  }
  for (const auto *v : {&*o.mean, &*o.std})
    if (v->size() != 1 && static_cast<int64_t>(v->size()) != nF_)
      throw ValueError("BatchCreatorImage: the option " +
                       std::string(v == &*o.mean ? "mean" : "std") + " has " +
                       std::to_string(v->size()) + " values; " + c.name +
                       " has " + std::to_string(nF_) +
                       " channel(s) (give 1 or one per channel)");
  for (double s : *o.std)
    if (!(s > 0) || !std::isfinite(s))
      throw ValueError("BatchCreatorImage: the option std must be > 0 and "
                       "finite, not " +
                       formatG(s));
  c.mean.clear();
  c.div.clear();
  for (int64_t ch = 0; ch < nF_; ++ch) {
    c.mean.push_back(
        static_cast<float>((*o.mean)[o.mean->size() > 1 ? ch : 0]));
    c.div.push_back(static_cast<float>((*o.std)[o.std->size() > 1 ? ch : 0]));
  }
}

void BatchCreatorImage::setRanges(Cube &c) const {
  const bool img = mode_ == "img-img";
  for (int a = 0; a < 3; ++a)
    if (c.dsh[a] < ps3_[a])
      throw ValueError("BatchCreatorImage: the patch " +
                       data::tuple3(ps3_, twoD_) +
                       " is larger than the images " +
                       data::tuple3(c.dsh, twoD_) + " of " + c.name);
  if (img)
    for (int a = 0; a < 3; ++a)
      if ((c.dsh[a] - c.tsh[a]) % 2 || c.tsh[a] > c.dsh[a])
        throw ValueError("targets must be centered w.r.t. images: labels " +
                         data::tuple3(c.tsh, false) + " in images " +
                         data::tuple3(c.dsh, false) + " of " + c.name +
                         " (each difference must be even and >= 0)");
  const char *axes = "zxy";
  for (int a = 0; a < 3; ++a) {
    c.ranges[a] = data::centreRange(c.dsh[a], ps3_[a], img ? c.tsh[a] : -1,
                                    img ? tps3_[a] : -1);
    if (c.ranges[a].empty())
      throw ValueError(
          "BatchCreatorImage: no patch " + data::tuple3(ps3_, twoD_) + " of " +
          c.name + " holds a fully labelled target patch " +
          data::tuple3(tps3_, twoD_) + ": the labels " +
          data::tuple3(c.tsh, false) + " centred in the images " +
          data::tuple3(c.dsh, false) + " leave no centre on axis " + axes[a] +
          " (the network's field of view leaves no labelled voxel usable)");
  }
}

} // namespace nm
