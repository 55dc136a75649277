//===- BatchCreatorImage.h - training batches from HDF5 cubes ---*- C++ -*-===//
//
// ELEKTRONN2's BatchCreatorImage (reference §6.4): image and label cubes
// from HDF5 files, randomly placed label-centred patches, flips/swaps and
// warps (Warp.h), grey-value and the other augmentations (Augment.h), EM
// defect augmentations (EmDefects.h), strided targets, affinities and
// nhood targets (Targets.h), lazy-label masks.
//
// Reproducible: batch i of a source is a pure function of (seed, source, i)
// — its generator is derived from the three — so the same seed and options
// give the same batch sequence, synchronously or from any number of
// background worker threads (E2 drew from the process's clock-seeded state
// and, for the warp, from the global np.random).
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_DATA_BATCHCREATORIMAGE_H
#define NEUROMANCER_DATA_BATCHCREATORIMAGE_H

#include "neuromancer/core/DType.h"
#include "neuromancer/core/TaggedShape.h"
#include "neuromancer/data/Augment.h"
#include "neuromancer/data/EmDefects.h"
#include "neuromancer/data/Warp.h"
#include "neuromancer/frontend/Node.h"
#include "neuromancer/runtime/Array.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace nm {

namespace data {
struct H5Data;
} // namespace data

/// (file name relative to the path, HDF5 dataset key).
using H5File = std::pair<std::string, std::string>;

/// ELEKTRONN2's constructor keywords, in its order, then the seed.
struct BatchCreatorOptions {
  std::string d_path;
  std::string l_path;
  std::vector<H5File> d_files;
  std::vector<H5File> l_files;
  /// Sampling weights of the training cubes (unnormalised); default: the
  /// label cube sizes.
  std::optional<std::vector<double>> cube_prios;
  /// Indices (into d_files) of the cubes used for validation only.
  std::vector<int64_t> valid_cubes;
  /// How img-scalar cubes (ELEKTRONN2 ignores it in img-img mode) are fitted
  /// to the patch: "crop" (the central patch plus one voxel, which the
  /// interpolation needs), "keep" (as they are), "mirror" or "0-pad" (axes
  /// smaller than the patch plus one are padded to it, ceil((ps+1-sh)/2)
  /// before and the rest after, by numpy's 'symmetric' mirror, d c b a | a b
  /// c d, or by zeros; larger axes are kept, where E2's np.pad fails).
  std::string border_mode = "crop";
  double aniso_factor = 2;
  /// Target channel triples holding vectors, re-rotated by the warp.
  std::vector<std::array<int64_t, 3>> target_vec_ix;
  /// Target channels interpolated by nearest neighbour; unset: all.
  std::optional<std::vector<int64_t>> target_discrete_ix;
  /// Read each patch's box from disk instead of holding the cubes in memory
  /// (for cubes larger than memory); same batches as without. Labels must
  /// already have the target dtype; zxy data, img-img mode only.
  bool h5stream = false;
  /// Data are (z,x,y) / (ch,z,x,y); false: (x,y,z) / (ch,x,y,z), swapped.
  bool zxy = true;
  /// Explicit input normalisation, in the file's units, replacing the
  /// default (integers / 255 as ELEKTRONN2, uint16 / 65535, floats as they
  /// are): images become (v - mean) / std. One value for every channel or
  /// one per channel; both or neither.
  std::optional<std::vector<double>> mean;
  std::optional<std::vector<double>> std;
  /// Seed of every random draw; unset: drawn from the generator that
  /// nm::set_seed seeds (so set_seed(n) makes a whole program reproducible).
  std::optional<uint64_t> seed;
};

/// ELEKTRONN2's getbatch keywords.
struct GetBatchOptions {
  int64_t batch_size = 1;
  /// "train" or "valid".
  std::string source = "train";
  /// Input channels that get greyAugment (train only).
  std::vector<int64_t> grey_augment_channels;
  /// Fraction of examples warped: 0 never, 1 always (E2's True), between:
  /// that probability. Flips and axis swaps happen regardless.
  double warp = 0;
  data::WarpArgs warp_args;
  /// Reject an example when the fraction of negative targets exceeds this.
  std::optional<double> ignore_thresh;
  /// Full-resolution targets instead of targets strided like the network.
  bool force_dense = false;
  /// "", "malis" or "affinity": instead of the target, the affinity graph
  /// of target channel 0 (read as segment ids; edges to the next voxel
  /// along z, x, y) as int16 (bs, 3, *strided target), for "malis"
  /// followed by its connected-component segmentation (bs, 1, ...).
  /// ELEKTRONN2 makes "affinity" of all channels and breaks; we use 0.
  std::string affinities;
  /// Channel 0 of the dense target replaced by its values shifted by each
  /// offset of `nhood` (-1 where none), before striding (3-D only).
  bool nhood_targets = false;
  /// nhood_targets' offsets (z, x, y); empty: ELEKTRONN2's seven (0, +-z,
  /// +-x, +-y).
  std::vector<std::array<int64_t, 3>> nhood;
  /// Append the examples' lazy-label masks: ll_mask1, ll_mask2 int16
  /// (bs, t_n_f), the rows of the label file's optional `ll_mask` dataset
  /// (2, t_n_f) (default: all 1, all 0).
  bool ret_ll_mask = false;
  // Non-geometric augmentations (train only, after greyAugment, in this
  // order; each applied with its probability).
  /// Gaussian blur (sigma 1) then noise (level 0.15) on the whole patch.
  double nga_blur_noise_probability = 0;
  double blurry_blobs_probability = 0;
  data::BlobArgs blurry_blobs_args;
  double uniform_random_erasing_probability = 0;
  data::BlobArgs uniform_random_erasing_args;
  double noisy_random_erasing_probability = 0;
  data::BlobArgs noisy_random_erasing_args;
  // EM defect augmentations (not in ELEKTRONN2; see EmDefects.h): train
  // only, off by default, each applied to an example with its probability.
  // Elastic deformation and misalignment move images and targets (before
  // greyAugment); missing and motion-blurred sections change images only
  // (last, so a missing section stays `value`).
  double elastic_probability = 0;
  data::ElasticArgs elastic_args;
  double misalignment_probability = 0;
  data::MisalignArgs misalignment_args;
  double missing_section_probability = 0;
  data::MissingSectionArgs missing_section_args;
  double motion_blur_probability = 0;
  data::MotionBlurArgs motion_blur_args;
  bool operator==(const GetBatchOptions &) const = default;
};

class BatchCreatorImage {
public:
  /// Reads all cubes. Errors (nm::IOError, KeyError, ValueError) name the
  /// file, dataset and sizes: a missing file or dataset, labels not centred
  /// ("targets must be centered w.r.t. images"), a patch that does not fit
  /// a cube, labels that overflow the target dtype, valid_cubes out of range.
  BatchCreatorImage(const Node &input_node, const Node &target_node,
                    const BatchCreatorOptions &options);
  ~BatchCreatorImage();
  BatchCreatorImage(const BatchCreatorImage &) = delete;
  BatchCreatorImage &operator=(const BatchCreatorImage &) = delete;

  /// The next batch of `options.source`: {images[bs, ch, *ps] float32,
  /// target[bs, t_n_f, *target_ps strided] in the target node's dtype} (img-
  /// scalar: target[bs, t_n_f]); with affinities {images, aff[, seg]};
  /// then, with ret_ll_mask, ll_mask1 and ll_mask2. With background workers the
  /// batch comes from their queue (an error in a worker is rethrown here); the
  /// sequence is the same either way.
  std::vector<Array> getbatch(const GetBatchOptions &options = {});

  /// ELEKTRONN2's background_processes: `workers` threads produce the
  /// following batches into a queue of `queue_size` (0: 2 * workers) while
  /// the caller trains; 0 workers: synchronous. A getbatch with other
  /// options than the queued ones discards the queue (and recomputes).
  void set_background(int workers, int queue_size = 0);
  int background_workers() const { return workers_; }

  /// The index of the next batch getbatch returns for `source` ("train" or
  /// "valid"): with the seed, the whole state of the batch sequence, so a
  /// checkpoint that stores it resumes the sequence exactly.
  uint64_t batch_index(const std::string &source);
  /// Continues the sequence of `source` at batch `index` (discarding what
  /// background workers prepared).
  void set_batch_index(const std::string &source, uint64_t index);

  /// "1-target Data Set with 1 input channel(s):\n#train cubes: 2 and
  /// #valid cubes: 1, 10,125,000 labelled pixels."
  std::string repr() const;
  /// "Warp stats: successful: 10, failed 2, quota: 0.8".
  std::string warp_stats() const;

  // Geometry, as ELEKTRONN2 names it.
  const Sizes &patch_size() const { return patchSize_; }
  const Sizes &target_ps() const { return targetPs_; }
  const Sizes &strides() const { return strides_; }
  const Sizes &offsets() const { return offsets_; }
  /// "img-img" or "img-scalar".
  const std::string &mode() const { return mode_; }
  DType t_dtype() const { return tDtype_; }
  int64_t n_f() const { return nF_; }
  int64_t t_n_f() const { return tNF_; }
  int64_t n_labelled_pixel() const { return nLabelled_; }
  int64_t training_count() const;
  int64_t valid_count() const;
  uint64_t seed() const { return seed_; }
  /// Where patch centres of cube `index` (of `source`) may lie, per axis
  /// (z, x, y; a 2-D network has z of size 1).
  std::array<data::CentreRange, 3> centre_ranges(const std::string &source,
                                                 int64_t index) const;

  struct Cube;
  class Prefetcher;

private:
  std::vector<Array> produce(int stream, uint64_t index,
                             const GetBatchOptions &options) const;
  void check(const GetBatchOptions &options) const;
  void augment(float *patch, double *target, const GetBatchOptions &options,
               data::Rng &rng) const;
  std::vector<Array> finish(Array images, std::vector<double> &dense,
                            const std::vector<const Cube *> &cubes,
                            const GetBatchOptions &options) const;
  bool cutFromDisk(const Cube &cube, const data::Mat4 &M, float *img,
                   double *target) const;
  const Cube &pickCube(int stream, data::Rng &rng) const;
  void loadCubes(const BatchCreatorOptions &options);
  void normalisation(Cube &cube, const data::H5Data &d,
                     const BatchCreatorOptions &options) const;
  void borderTreatment(Cube &cube) const;
  void setRanges(Cube &cube) const;
  void stopBackground();

  Sizes patchSize_, targetPs_, strides_, offsets_;
  data::Index3 ps3_{}, tps3_{}, strides3_{};
  bool twoD_ = false;
  std::string mode_;
  DType tDtype_ = DType::Float32;
  int64_t nF_ = 0, tNF_ = 0, nLabelled_ = 0;
  int64_t inputF_ = None;
  double aniso_ = 2;
  std::string borderMode_ = "crop";
  std::vector<bool> discrete_;
  std::vector<std::array<int64_t, 3>> vecIx_;
  uint64_t seed_ = 0;
  std::vector<std::shared_ptr<const Cube>> train_, valid_;
  std::vector<double> samplingWeight_; // cumulative, starting at 0
  mutable std::atomic<int64_t> nSuccessfulWarp_{0}, nFailedWarp_{0};

  std::mutex mutex_; // getbatch callers
  uint64_t next_[2] = {0, 0};
  int workers_ = 0, queueSize_ = 0;
  std::unique_ptr<Prefetcher> prefetch_[2];
};

} // namespace nm

#endif // NEUROMANCER_DATA_BATCHCREATORIMAGE_H
