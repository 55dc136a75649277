//===- BatchCreatorImage.cpp - training batches from HDF5 cubes -----------===//
#include "neuromancer/data/BatchCreatorImage.h"
#include "neuromancer/io/Hdf5.h"

#include "neuromancer/core/Error.h"
#include "neuromancer/core/Format.h"
#include "neuromancer/core/Log.h"
#include "neuromancer/data/Augment.h"
#include "neuromancer/data/CubeReader.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <initializer_list>
#include <limits>
#include <map>
#include <sys/stat.h>
#include <thread>
#include <variant>

namespace nm {

using data::CentreRange;
using data::H5Data;
using data::H5Select;
using data::Index3;
using data::readH5;
using data::Rng;

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

std::string tuple3(const Index3 &v, bool twoD) {
  if (twoD)
    return formatTuple({v[1], v[2]});
  return formatTuple({v[0], v[1], v[2]});
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

} // namespace

//===----------------------------------------------------------------------===//
// Cubes
//===----------------------------------------------------------------------===//

struct BatchCreatorImage::Cube {
  int64_t index = 0;
  std::string name; // for messages: "cube 0 ('raw_0.h5' 'raw')"
  Index3 dsh{};
  std::vector<float> d; // (n_f, z, x, y), normalised
  Index3 tsh{};
  std::vector<double> t; // (t_n_f, z, x, y) cast to t_dtype; scalar: t_n_f
  std::array<CentreRange, 3> ranges{};
  int64_t labelSize = 0; // t.size() of ELEKTRONN2 (sampling weight)
  // h5stream: d and t stay empty; patches are read from these.
  bool stream = false;
  std::string dPath, dKey, lPath, lKey;
  float dDivisor = 1; // integer images: 255 (uint16: 65535)
};

namespace {

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
    // Integer images: /255 (ELEKTRONN2), uint16 by its range.
    if (d.isInteger)
      c->dDivisor = (d.isUnsigned && d.elemSize == 2) ? 65535.f : 255.f;
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
      if (d.isInteger)
        for (float &v : d.f)
          v /= c->dDivisor;
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
    if (scalar && cropScalar_)
      cropToPatch(*c);
    setRanges(*c);
    bool valid = std::find(o.valid_cubes.begin(), o.valid_cubes.end(),
                           c->index) != o.valid_cubes.end();
    (valid ? valid_ : train_).push_back(std::move(c));
  }
}

void BatchCreatorImage::cropToPatch(Cube &c) const {
  // border_mode 'crop': the central part of the image, one voxel larger
  // than the patch, which the interpolation's bounds check needs (E2 cuts
  // exactly the patch size, which leaves no position its warp accepts).
  Index3 ex{}, sh = c.dsh, cut;
  for (int a = 0; a < 3; ++a) {
    cut[a] = std::min(sh[a], ps3_[a] + 1);
    if (sh[a] < ps3_[a])
      return; // setRanges reports the cube as too small
    ex[a] = (sh[a] - cut[a]) / 2;
  }
  std::vector<float> out(nF_ * cut[0] * cut[1] * cut[2]);
  size_t i = 0;
  for (int64_t ch = 0; ch < nF_; ++ch)
    for (int64_t z = 0; z < cut[0]; ++z)
      for (int64_t x = 0; x < cut[1]; ++x) {
        const float *row =
            c.d.data() +
            ((ch * sh[0] + z + ex[0]) * sh[1] + x + ex[1]) * sh[2] + ex[2];
        std::copy(row, row + cut[2], out.data() + i);
        i += cut[2];
      }
  c.d.swap(out);
  c.dsh = cut;
}

void BatchCreatorImage::setRanges(Cube &c) const {
  const bool img = mode_ == "img-img";
  for (int a = 0; a < 3; ++a)
    if (c.dsh[a] < ps3_[a])
      throw ValueError("BatchCreatorImage: the patch " + tuple3(ps3_, twoD_) +
                       " is larger than the images " + tuple3(c.dsh, twoD_) +
                       " of " + c.name);
  if (img)
    for (int a = 0; a < 3; ++a)
      if ((c.dsh[a] - c.tsh[a]) % 2 || c.tsh[a] > c.dsh[a])
        throw ValueError("targets must be centered w.r.t. images: labels " +
                         tuple3(c.tsh, false) + " in images " +
                         tuple3(c.dsh, false) + " of " + c.name +
                         " (each difference must be even and >= 0)");
  const char *axes = "zxy";
  for (int a = 0; a < 3; ++a) {
    c.ranges[a] = data::centreRange(c.dsh[a], ps3_[a], img ? c.tsh[a] : -1,
                                    img ? tps3_[a] : -1);
    if (c.ranges[a].empty())
      throw ValueError(
          "BatchCreatorImage: no patch " + tuple3(ps3_, twoD_) + " of " +
          c.name + " holds a fully labelled target patch " +
          tuple3(tps3_, twoD_) + ": the labels " + tuple3(c.tsh, false) +
          " centred in the images " + tuple3(c.dsh, false) +
          " leave no centre on axis " + axes[a] +
          " (the network's field of view leaves no labelled voxel usable)");
  }
}

//===----------------------------------------------------------------------===//
// Construction
//===----------------------------------------------------------------------===//

BatchCreatorImage::BatchCreatorImage(const Node &input, const Node &target,
                                     const BatchCreatorOptions &o) {
  if (!input || !target)
    throw ValueError("BatchCreatorImage: input_node and target_node must be "
                     "nodes");
  const TaggedShape &is = input.shape(), &ts = target.shape();
  patchSize_ = is.spatialShape();
  if (patchSize_.size() != 2 && patchSize_.size() != 3)
    throw ValueError("BatchCreatorImage: the input node '" + input.name() +
                     "' has shape " + is.repr() +
                     "; it needs 2 or 3 spatial axes (z,x,y)");
  for (int64_t v : patchSize_)
    if (v <= 0)
      throw ValueError("BatchCreatorImage: the input node '" + input.name() +
                       "' has unknown spatial sizes " + is.repr());
  inputF_ = is.hasTag('f') ? is['f'] : None;
  tDtype_ = target.dtype();
  twoD_ = patchSize_.size() == 2;
  if (is.ndim() == ts.ndim()) {
    mode_ = "img-img";
    strides_ = ts.strides();
    offsets_ = ts.offsets();
    if (strides_.size() != patchSize_.size())
      throw ValueError("BatchCreatorImage: the target node '" + target.name() +
                       "' " + ts.repr() + " has not the input's spatial axes " +
                       is.repr());
  } else {
    if (ts.ndim() > 2)
      throw ValueError("BatchCreatorImage: the target node '" + target.name() +
                       "' " + ts.repr() + " has neither the input's rank (" +
                       "img-img) nor at most 2 axes (img-scalar)");
    mode_ = "img-scalar";
    strides_.assign(patchSize_.size(), 1);
    offsets_.assign(patchSize_.size(), 0);
  }
  for (size_t a = 0; a < patchSize_.size(); ++a) {
    targetPs_.push_back(patchSize_[a] - 2 * offsets_[a]);
    if (targetPs_.back() <= 0 || offsets_[a] < 0)
      throw ValueError("BatchCreatorImage: the target node's offsets " +
                       formatList(offsets_) + " leave no target in the patch " +
                       formatTuple(patchSize_));
  }
  size_t s = twoD_ ? 1 : 0;
  ps3_ = tps3_ = strides3_ = {1, 1, 1};
  for (size_t a = 0; a < patchSize_.size(); ++a) {
    ps3_[a + s] = patchSize_[a];
    tps3_[a + s] = targetPs_[a];
    strides3_[a + s] = std::max<int64_t>(strides_[a], 1);
  }
  if (o.d_files.empty() || o.d_files.size() != o.l_files.size())
    throw ValueError("d_files and l_files must be lists of same length! (" +
                     std::to_string(o.d_files.size()) + " and " +
                     std::to_string(o.l_files.size()) + " given, at least 1)");
  for (int64_t v : o.valid_cubes)
    if (v < 0 || v >= static_cast<int64_t>(o.d_files.size()))
      throw ValueError("BatchCreatorImage: valid_cubes " +
                       formatList(o.valid_cubes) + " holds " +
                       std::to_string(v) + ", but there are only " +
                       std::to_string(o.d_files.size()) + " cubes (0 to " +
                       std::to_string(o.d_files.size() - 1) + ")");
  if (o.h5stream && (!o.zxy || mode_ != "img-img"))
    throw NotImplementedError("BatchCreatorImage: h5stream (reading patches "
                              "from disk) needs zxy data and the img-img "
                              "mode");
  if (o.border_mode == "mirror" || o.border_mode == "0-pad")
    throw NotImplementedError("BatchCreatorImage: border_mode '" +
                              o.border_mode +
                              "' is not implemented yet ('crop' and 'keep' "
                              "are)");
  if (o.border_mode != "crop" && o.border_mode != "keep")
    throw ValueError("BatchCreatorImage: unknown border_mode '" +
                     o.border_mode + "' (crop, keep, mirror, 0-pad)");
  if (!(o.aniso_factor > 0))
    throw ValueError("BatchCreatorImage: aniso_factor must be > 0, not " +
                     formatG(o.aniso_factor));
  cropScalar_ = o.border_mode == "crop";
  aniso_ = o.aniso_factor;
  vecIx_ = o.target_vec_ix;
  seed_ = o.seed ? *o.seed : next_seed();
  loadCubes(o);
  discrete_.assign(tNF_, !o.target_discrete_ix.has_value());
  if (o.target_discrete_ix)
    for (int64_t c : *o.target_discrete_ix) {
      if (c < 0 || c >= tNF_)
        throw ValueError("BatchCreatorImage: target_discrete_ix holds " +
                         std::to_string(c) + ", but the targets have " +
                         std::to_string(tNF_) + " channel(s)");
      discrete_[c] = true;
    }
  for (const auto &ix : vecIx_)
    for (int64_t c : ix)
      if (c < 0 || c >= tNF_)
        throw ValueError("BatchCreatorImage: target_vec_ix holds " +
                         std::to_string(c) + ", but the targets have " +
                         std::to_string(tNF_) + " channel(s)");
  std::vector<double> prios;
  if (o.cube_prios) {
    prios = *o.cube_prios;
    if (prios.size() != train_.size())
      throw ValueError("BatchCreatorImage: cube_prios has " +
                       std::to_string(prios.size()) + " entries for " +
                       std::to_string(train_.size()) + " training cube(s)");
  } else {
    for (const auto &c : train_)
      prios.push_back(static_cast<double>(c->labelSize));
  }
  double sum = 0;
  for (double p : prios) {
    if (!(p >= 0))
      throw ValueError("BatchCreatorImage: cube_prios must be >= 0");
    sum += p;
  }
  samplingWeight_.push_back(0);
  double acc = 0;
  for (double p : prios)
    samplingWeight_.push_back((acc += p) / sum);
  log_info(repr() + "\n");
}

BatchCreatorImage::~BatchCreatorImage() { stopBackground(); }

int64_t BatchCreatorImage::training_count() const {
  return static_cast<int64_t>(train_.size());
}
int64_t BatchCreatorImage::valid_count() const {
  return static_cast<int64_t>(valid_.size());
}

std::string BatchCreatorImage::repr() const {
  return formatThousands(tNF_) + "-target Data Set with " +
         formatThousands(nF_) + " input channel(s):\n#train cubes: " +
         formatThousands(training_count()) +
         " and #valid cubes: " + formatThousands(valid_count()) + ", " +
         formatThousands(nLabelled_) + " labelled pixels.";
}

std::string BatchCreatorImage::warp_stats() const {
  int64_t ok = nSuccessfulWarp_, bad = nFailedWarp_;
  char buf[128];
  std::snprintf(buf, sizeof buf,
                "Warp stats: successful: %lld, failed %lld, quota: %.1f",
                static_cast<long long>(ok), static_cast<long long>(bad),
                ok + bad ? double(ok) / double(ok + bad) : 0.0);
  return buf;
}

std::array<CentreRange, 3>
BatchCreatorImage::centre_ranges(const std::string &source,
                                 int64_t index) const {
  const auto &v = source == "valid" ? valid_ : train_;
  if (source != "train" && source != "valid")
    throw ValueError("Unknown data source '" + source + "'");
  if (index < 0 || index >= static_cast<int64_t>(v.size()))
    throw ValueError("BatchCreatorImage: no " + source + " cube " +
                     std::to_string(index));
  return v[index]->ranges;
}

//===----------------------------------------------------------------------===//
// Producing one batch
//===----------------------------------------------------------------------===//

namespace {
/// Consecutive rejected examples after which a batch gives up (instead of
/// looping forever on cubes too small for the warp or all-ignored labels).
constexpr int64_t kMaxRejects = 10000;
} // namespace

void BatchCreatorImage::check(const GetBatchOptions &o) const {
  if (o.source != "train" && o.source != "valid")
    throw ValueError("Unknown data source '" + o.source + "' (train or valid)");
  if (o.source == "valid" && valid_.empty())
    throw ValueError("No validation set (valid_cubes is empty)");
  if (o.source == "train" && train_.empty())
    throw ValueError("No training set (every cube is in valid_cubes)");
  if (o.batch_size < 1)
    throw ValueError("getbatch: batch_size must be >= 1, not " +
                     std::to_string(o.batch_size));
  if (!(o.warp >= 0 && o.warp <= 1))
    throw ValueError("getbatch: warp must be in [0, 1] (the fraction of "
                     "warped examples), not " +
                     formatG(o.warp));
  for (double p : {o.nga_blur_noise_probability, o.blurry_blobs_probability,
                   o.uniform_random_erasing_probability,
                   o.noisy_random_erasing_probability})
    if (!(p >= 0 && p <= 1))
      throw ValueError("getbatch: augmentation probabilities must be in "
                       "[0, 1], not " +
                       formatG(p));
  if (o.ignore_thresh && !(*o.ignore_thresh >= 0))
    throw ValueError("getbatch: ignore_thresh must be >= 0");
  if (o.affinities == "malis" || o.affinities == "affinity")
    throw NotImplementedError("getbatch: affinities '" + o.affinities +
                              "' are not implemented yet");
  if (!o.affinities.empty())
    throw ValueError("getbatch: unknown affinities '" + o.affinities +
                     "' (malis or affinity)");
  for (int64_t ch : o.grey_augment_channels)
    if (ch < 0 || ch >= nF_)
      throw ValueError("getbatch: grey_augment_channels holds " +
                       std::to_string(ch) + ", but the data have " +
                       std::to_string(nF_) + " channel(s)");
}

const BatchCreatorImage::Cube &BatchCreatorImage::pickCube(int stream,
                                                           Rng &rng) const {
  if (stream == 1)
    return *valid_[rng.randint(0, static_cast<int64_t>(valid_.size()))];
  // The last cube whose cumulative weight is <= p (ELEKTRONN2's rule).
  double p = rng.rand();
  size_t i =
      std::upper_bound(samplingWeight_.begin(), samplingWeight_.end(), p) -
      samplingWeight_.begin() - 1;
  return *train_[std::min(i, train_.size() - 1)];
}

namespace {

void writeTarget(Array &out, const std::vector<double> &dense, int64_t n,
                 const Index3 &tps, const Index3 &s) {
  // n examples x channels of tps boxes, strided by s.
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

} // namespace

bool BatchCreatorImage::cutFromDisk(const Cube &c, const data::Mat4 &M,
                                    float *img, double *target) const {
  // Both boxes first: nothing is read for an example that is redrawn.
  Index3 ilo, ihi, tlo, thi, in, tn;
  if (!data::imageBox(c.dsh, ps3_, M, ilo, ihi) ||
      !data::targetBox(c.dsh, c.tsh, ps3_, tps3_, M, tlo, thi))
    return false;
  H5Select si, st;
  si.box = st.box = true;
  for (int a = 0; a < 3; ++a) {
    in[a] = ihi[a] - ilo[a] + 1;
    tn[a] = thi[a] - tlo[a] + 1;
  }
  si.lo = ilo, si.n = in, st.lo = tlo, st.n = tn;
  H5Data d = readH5(c.dPath, c.dKey, "data", false, si);
  H5Data t = readH5(c.lPath, c.lKey, "label", true, st);
  if (c.dDivisor != 1)
    for (float &v : d.f)
      v /= c.dDivisor;
  data::Volume<float> dv{d.f.data(), nF_, in, ilo, c.dsh};
  data::Volume<double> tv{t.d.data(), tNF_, tn, tlo, c.tsh};
  return data::warpImage(dv, ps3_, M, img) &&
         data::warpTarget(tv, c.dsh, ps3_, tps3_, M, discrete_, vecIx_, target);
}

void BatchCreatorImage::augment(float *d, const GetBatchOptions &o,
                                Rng &rng) const {
  const int64_t psVol = ps3_[0] * ps3_[1] * ps3_[2];
  if (!o.grey_augment_channels.empty())
    data::greyAugment(d, nF_, psVol, o.grey_augment_channels, rng);
  // ELEKTRONN2 discards the blur's result (blur_augment without
  // data_overwrite); we apply what its documentation describes.
  if (o.nga_blur_noise_probability > 0 &&
      rng.rand() < o.nga_blur_noise_probability) {
    for (int64_t c = 0; c < nF_; ++c)
      data::gaussianFilter(d + c * psVol, ps3_, 1.0);
    data::noiseAugment(d, nF_ * psVol, 0.15, rng);
  }
  if (o.blurry_blobs_probability > 0 && rng.rand() < o.blurry_blobs_probability)
    data::addBlobs(d, nF_, ps3_, data::BlobKind::Blur, o.blurry_blobs_args,
                   rng);
  if (o.uniform_random_erasing_probability > 0 &&
      rng.rand() < o.uniform_random_erasing_probability)
    data::addBlobs(d, nF_, ps3_, data::BlobKind::Uniform,
                   o.uniform_random_erasing_args, rng);
  if (o.noisy_random_erasing_probability > 0 &&
      rng.rand() < o.noisy_random_erasing_probability)
    data::addBlobs(d, nF_, ps3_, data::BlobKind::Noise,
                   o.noisy_random_erasing_args, rng);
}

std::vector<Array> BatchCreatorImage::produce(int stream, uint64_t index,
                                              const GetBatchOptions &o) const {
  Rng rng = Rng::forBatch(seed_, static_cast<uint64_t>(stream), index);
  const bool scalar = mode_ == "img-scalar";
  const int64_t bs = o.batch_size;
  const int64_t psVol = ps3_[0] * ps3_[1] * ps3_[2];
  const int64_t tVol = scalar ? 1 : tps3_[0] * tps3_[1] * tps3_[2];
  Sizes imgShape = {bs, nF_};
  imgShape.insert(imgShape.end(), patchSize_.begin(), patchSize_.end());
  Array images(imgShape, DType::Float32);
  float *img = images.data<float>();
  std::vector<double> dense(bs * tNF_ * tVol);
  int64_t count = 0, rejects = 0;
  while (count < bs) {
    const Cube &c = pickCube(stream, rng);
    bool doWarp = o.warp >= 1 || (o.warp > 0 && rng.rand() < o.warp);
    data::WarpArgs wa = o.warp_args;
    if (!doWarp)
      wa.warp_amount = 0;
    data::WarpDraw draw = data::drawWarp(rng, c.ranges, wa.warp_amount, wa);
    data::Mat4 M = data::composeWarp(draw, ps3_, aniso_, wa.sample_aniso);
    float *di = img + count * nF_ * psVol;
    double *dt = dense.data() + count * tNF_ * tVol;
    bool ok;
    if (c.stream) {
      ok = cutFromDisk(c, M, di, dt);
    } else {
      ok = data::warpImage({c.d.data(), nF_, c.dsh}, ps3_, M, di);
      if (ok && !scalar)
        ok = data::warpTarget({c.t.data(), tNF_, c.tsh}, c.dsh, ps3_, tps3_, M,
                              discrete_, vecIx_, dt);
    }
    if (ok && scalar)
      std::copy(c.t.begin(), c.t.end(), dt);
    if (ok) {
      ++nSuccessfulWarp_;
    } else {
      ++nFailedWarp_;
    }
    if (ok && o.ignore_thresh) {
      int64_t neg =
          std::count_if(dt, dt + tNF_ * tVol, [](double v) { return v < 0; });
      ok = double(neg) / double(tNF_ * tVol) <= *o.ignore_thresh;
    }
    if (!ok) {
      if (++rejects >= kMaxRejects)
        throw RuntimeError(
            "getbatch: " + std::to_string(kMaxRejects) +
            " examples in a row were rejected (the warped patch " +
            tuple3(ps3_, twoD_) +
            " fell outside the cube, or more than "
            "ignore_thresh of its targets were negative); last tried: " +
            c.name + ", images " + tuple3(c.dsh, false));
      continue;
    }
    rejects = 0;
    if (stream == 0)
      augment(di, o, rng);
    ++count;
  }
  Sizes tShape = {bs, tNF_};
  Index3 s = strides3_;
  if (o.force_dense)
    s = {1, 1, 1};
  if (!scalar)
    for (int a = twoD_ ? 1 : 0; a < 3; ++a)
      tShape.push_back((tps3_[a] + s[a] - 1) / s[a]);
  Array target(tShape, tDtype_);
  if (scalar)
    writeTarget(target, dense, bs * tNF_, {1, 1, 1}, {1, 1, 1});
  else
    writeTarget(target, dense, bs * tNF_, tps3_, s);
  return {std::move(images), std::move(target)};
}

//===----------------------------------------------------------------------===//
// Background production
//===----------------------------------------------------------------------===//

/// Workers claim batch indices in order, produce them concurrently and file
/// each result (or its exception) under its index; the caller takes them in
/// index order. At most `queue` batches are ahead of the caller.
class BatchCreatorImage::Prefetcher {
public:
  Prefetcher(const BatchCreatorImage &owner, int stream,
             GetBatchOptions options, uint64_t first, int workers, int queue)
      : owner_(owner), stream_(stream), options_(std::move(options)),
        claim_(first), consumed_(first),
        queue_(static_cast<uint64_t>(std::max(queue, 1))) {
    for (int i = 0; i < workers; ++i)
      threads_.emplace_back([this] { work(); });
  }
  ~Prefetcher() {
    {
      std::lock_guard<std::mutex> lock(m_);
      stop_ = true;
    }
    workCv_.notify_all();
    for (auto &t : threads_)
      t.join();
  }
  const GetBatchOptions &options() const { return options_; }
  /// The index of the next batch the caller gets.
  uint64_t next() {
    std::lock_guard<std::mutex> lock(m_);
    return consumed_;
  }
  std::vector<Array> pop() {
    std::unique_lock<std::mutex> lock(m_);
    readyCv_.wait(lock, [&] { return results_.count(consumed_) != 0; });
    Result r = std::move(results_[consumed_]);
    results_.erase(consumed_++);
    lock.unlock();
    workCv_.notify_all();
    if (auto *e = std::get_if<std::exception_ptr>(&r))
      std::rethrow_exception(*e);
    return std::move(std::get<std::vector<Array>>(r));
  }

private:
  using Result = std::variant<std::vector<Array>, std::exception_ptr>;
  void work() {
    std::unique_lock<std::mutex> lock(m_);
    for (;;) {
      workCv_.wait(lock, [&] {
        return stop_ || (!failed_ && claim_ < consumed_ + queue_);
      });
      if (stop_)
        return;
      uint64_t i = claim_++;
      lock.unlock();
      Result r;
      try {
        r = owner_.produce(stream_, i, options_);
      } catch (...) {
        r = std::current_exception();
      }
      lock.lock();
      // After a failure no new batches are started: the caller reaches the
      // failed index (all earlier ones are in progress) and gets the error.
      if (std::holds_alternative<std::exception_ptr>(r))
        failed_ = true;
      results_.emplace(i, std::move(r));
      readyCv_.notify_all();
    }
  }

  const BatchCreatorImage &owner_;
  const int stream_;
  const GetBatchOptions options_;
  std::mutex m_;
  std::condition_variable workCv_, readyCv_;
  uint64_t claim_, consumed_;
  const uint64_t queue_;
  bool stop_ = false, failed_ = false;
  std::map<uint64_t, Result> results_;
  std::vector<std::thread> threads_;
};

void BatchCreatorImage::stopBackground() {
  for (int s = 0; s < 2; ++s)
    if (prefetch_[s]) {
      next_[s] = prefetch_[s]->next();
      prefetch_[s].reset();
    }
}

void BatchCreatorImage::set_background(int workers, int queue_size) {
  if (workers < 0 || queue_size < 0)
    throw ValueError("set_background: workers and queue_size must be >= 0");
  std::lock_guard<std::mutex> lock(mutex_);
  stopBackground();
  workers_ = workers;
  queueSize_ = queue_size ? queue_size : 2 * workers;
}

std::vector<Array> BatchCreatorImage::getbatch(const GetBatchOptions &o) {
  check(o);
  const int s = o.source == "train" ? 0 : 1;
  std::lock_guard<std::mutex> lock(mutex_);
  if (workers_ == 0)
    return produce(s, next_[s]++, o);
  auto &p = prefetch_[s];
  if (p && !(p->options() == o)) {
    next_[s] = p->next();
    p.reset();
  }
  if (!p)
    p = std::make_unique<Prefetcher>(*this, s, o, next_[s], workers_,
                                     queueSize_);
  try {
    return p->pop();
  } catch (...) {
    next_[s] = p->next();
    p.reset();
    throw;
  }
}

} // namespace nm
