//===- BatchCreatorImage.cpp - training batches from HDF5 cubes -----------===//
#include "neuromancer/data/BatchCreatorImage.h"

#include "neuromancer/core/Error.h"
#include "neuromancer/core/Format.h"
#include "neuromancer/core/Log.h"
#include "neuromancer/data/Augment.h"
#include "neuromancer/data/BatchQueue.h"
#include "neuromancer/data/Cube.h"
#include "neuromancer/data/CubeReader.h"
#include "neuromancer/data/EmDefects.h"
#include "neuromancer/data/Targets.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>

namespace nm {

using data::CentreRange;
using data::H5Data;
using data::H5Select;
using data::Index3;
using data::readH5;
using data::Rng;
using data::tuple3;

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
  if (o.border_mode != "crop" && o.border_mode != "keep" &&
      o.border_mode != "mirror" && o.border_mode != "0-pad")
    throw ValueError("BatchCreatorImage: unknown border_mode '" +
                     o.border_mode + "' (crop, keep, mirror, 0-pad)");
  if (!(o.aniso_factor > 0))
    throw ValueError("BatchCreatorImage: aniso_factor must be > 0, not " +
                     formatG(o.aniso_factor));
  borderMode_ = o.border_mode;
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
  const std::pair<const char *, double> probabilities[] = {
      {"nga_blur_noise_probability", o.nga_blur_noise_probability},
      {"blurry_blobs_probability", o.blurry_blobs_probability},
      {"uniform_random_erasing_probability",
       o.uniform_random_erasing_probability},
      {"noisy_random_erasing_probability", o.noisy_random_erasing_probability},
      {"elastic_probability", o.elastic_probability},
      {"misalignment_probability", o.misalignment_probability},
      {"missing_section_probability", o.missing_section_probability},
      {"motion_blur_probability", o.motion_blur_probability}};
  for (const auto &[name, p] : probabilities)
    if (!(p >= 0 && p <= 1))
      throw ValueError(std::string("getbatch: ") + name +
                       " must be in [0, 1], not " + formatG(p));
  if (o.elastic_probability > 0)
    data::checkArgs(o.elastic_args, "elastic_args");
  if (o.misalignment_probability > 0)
    data::checkArgs(o.misalignment_args, "misalignment_args", ps3_);
  if (o.missing_section_probability > 0)
    data::checkArgs(o.missing_section_args, "missing_section_args", ps3_);
  if (o.motion_blur_probability > 0)
    data::checkArgs(o.motion_blur_args, "motion_blur_args");
  if (o.ignore_thresh && !(*o.ignore_thresh >= 0))
    throw ValueError("getbatch: ignore_thresh must be >= 0");
  if (!o.affinities.empty() && o.affinities != "malis" &&
      o.affinities != "affinity")
    throw ValueError("getbatch: unknown affinities '" + o.affinities +
                     "' (malis or affinity)");
  if ((!o.affinities.empty() || o.nhood_targets) && mode_ != "img-img")
    throw ValueError("getbatch: affinities and nhood_targets need image "
                     "targets (img-img mode), not " +
                     mode_);
  // ELEKTRONN2 raises NotImplementedError for 2-D nhood targets and breaks
  // on 2-D affinities (its nhood has three axes).
  if ((!o.affinities.empty() || o.nhood_targets) && twoD_)
    throw NotImplementedError("getbatch: affinities and nhood_targets need a "
                              "3-D network; the patch is " +
                              formatTuple(patchSize_));
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
  c.normalise(d.f.data(), in[0] * in[1] * in[2]);
  data::Volume<float> dv{d.f.data(), nF_, in, ilo, c.dsh};
  data::Volume<double> tv{t.d.data(), tNF_, tn, tlo, c.tsh};
  return data::warpImage(dv, ps3_, M, img) &&
         data::warpTarget(tv, c.dsh, ps3_, tps3_, M, discrete_, vecIx_, target);
}

void BatchCreatorImage::augment(float *d, double *t, const GetBatchOptions &o,
                                Rng &rng) const {
  const int64_t psVol = ps3_[0] * ps3_[1] * ps3_[2];
  // Each augmentation draws only when its probability is > 0, so batches
  // without it stay what they were.
  auto happens = [&](double p) { return p > 0 && rng.rand() < p; };
  const data::ExamplePatch ex{
      d, nF_, ps3_, mode_ == "img-img" ? t : nullptr, tNF_, tps3_, &discrete_};
  if (happens(o.elastic_probability))
    data::elasticDeform(ex, o.elastic_args, rng);
  if (happens(o.misalignment_probability))
    data::misalign(ex, o.misalignment_args, rng);
  if (!o.grey_augment_channels.empty())
    data::greyAugment(d, nF_, psVol, o.grey_augment_channels, rng);
  // ELEKTRONN2 discards the blur's result (blur_augment without
  // data_overwrite); we apply what its documentation describes.
  if (happens(o.nga_blur_noise_probability)) {
    for (int64_t c = 0; c < nF_; ++c)
      data::gaussianFilter(d + c * psVol, ps3_, 1.0);
    data::noiseAugment(d, nF_ * psVol, 0.15, rng);
  }
  if (happens(o.blurry_blobs_probability))
    data::addBlobs(d, nF_, ps3_, data::BlobKind::Blur, o.blurry_blobs_args,
                   rng);
  if (happens(o.uniform_random_erasing_probability))
    data::addBlobs(d, nF_, ps3_, data::BlobKind::Uniform,
                   o.uniform_random_erasing_args, rng);
  if (happens(o.noisy_random_erasing_probability))
    data::addBlobs(d, nF_, ps3_, data::BlobKind::Noise,
                   o.noisy_random_erasing_args, rng);
  if (happens(o.missing_section_probability))
    data::missingSection(ex, o.missing_section_args, rng);
  if (happens(o.motion_blur_probability))
    data::motionBlur(ex, o.motion_blur_args, rng);
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
  std::vector<const Cube *> picked;
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
    // Only for cubes without lazy labels in the second mask row (E2).
    if (ok && o.ignore_thresh &&
        std::all_of(c.llMask[1].begin(), c.llMask[1].end(),
                    [](int16_t v) { return v == 0; })) {
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
      augment(di, dt, o, rng);
    picked.push_back(&c);
    ++count;
  }
  return finish(std::move(images), dense, picked, o);
}

std::vector<Array>
BatchCreatorImage::finish(Array images, std::vector<double> &dense,
                          const std::vector<const Cube *> &cubes,
                          const GetBatchOptions &o) const {
  const bool scalar = mode_ == "img-scalar";
  const int64_t bs = o.batch_size;
  int64_t tnf = tNF_;
  if (o.nhood_targets) {
    std::vector<Index3> nhood(o.nhood.begin(), o.nhood.end());
    tnf = data::nhoodTargets(dense, bs, tNF_, tps3_,
                             nhood.empty() ? data::defaultNhood() : nhood);
  }
  Sizes tShape = {bs, tnf};
  Index3 s = strides3_;
  if (o.force_dense)
    s = {1, 1, 1};
  if (!scalar)
    for (int a = twoD_ ? 1 : 0; a < 3; ++a)
      tShape.push_back((tps3_[a] + s[a] - 1) / s[a]);
  Array target(tShape, tDtype_);
  if (scalar)
    data::writeStrided(target, dense, bs * tnf, {1, 1, 1}, {1, 1, 1});
  else
    data::writeStrided(target, dense, bs * tnf, tps3_, s);
  std::vector<Array> ret;
  ret.push_back(std::move(images));
  if (o.affinities.empty()) {
    ret.push_back(std::move(target));
  } else {
    Array aff, seg;
    data::makeAffinities(target, aff, seg);
    ret.push_back(std::move(aff));
    if (o.affinities == "malis")
      ret.push_back(std::move(seg));
  }
  if (o.ret_ll_mask)
    for (int r = 0; r < 2; ++r) {
      Array m({bs, tNF_}, DType::Int16);
      for (int64_t b = 0; b < bs; ++b)
        std::copy(cubes[b]->llMask[r].begin(), cubes[b]->llMask[r].end(),
                  m.data<int16_t>() + b * tNF_);
      ret.push_back(std::move(m));
    }
  return ret;
}

} // namespace nm
