//===- Preview.h - the trainer's prediction previews and images -*- C++ -*-===//
//
// ELEKTRONN2's pictures of a training run besides the plots (reference
// §6.8): prediction previews of a few slices of held-out cubes
// (`preview_slice`, written every `prev_save_h` hours), the first batch with
// its target (`Batch_test_image.png`) and the filters of a Conv layer
// (`filters_<node>.png`, the shell's `sf`). Every PNG is written atomically
// (io/Png.h); images are (x, y) sections: rows x, columns y.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_TRAIN_PREVIEW_H
#define NEUROMANCER_TRAIN_PREVIEW_H

#include "neuromancer/core/TaggedShape.h"
#include "neuromancer/runtime/Array.h"

#include <cstdint>
#include <string>
#include <vector>

namespace nm {

class Model;
class Node;

/// The preview cubes of an HDF5 file as float32 arrays: dataset `key`, or,
/// without a key, every dataset of the root group sorted by name (as
/// ELEKTRONN2's h5load). Integers are scaled to [0, 1] (uint16 / 65535,
/// other integers / 255, as the batch creator does). A 3-D cube with
/// shape[0] > shape[2] is taken as (x, y, z) and transposed (2, 0, 1) to
/// (z, x, y), with a warning. IOError naming the file for a missing or
/// foreign file, KeyError naming the file and dataset (and listing those
/// present) for a missing dataset, ValueError for a non-numeric one.
std::vector<Array> load_preview_data(const std::string &path,
                                     const std::string &key = "");

/// ELEKTRONN2's `Trainer.preview_slice(number=0, export_class='all',
/// max_z_pred=5)` keywords.
struct PreviewOptions {
  /// The file names' hours label when preview_slice gets none.
  int64_t number = 0;
  /// "all"; a class "1"; classes "1,2"; or "malis"/"affinity": one RGB
  /// image of channels 0, 2, 4 per slice.
  std::string export_class = "all";
  /// Prediction slices written per cube.
  int64_t max_z_pred = 5;
};

/// ELEKTRONN2's z_thick: the raw slices cut for a 3-D network with input
/// patch z `patch_z`, output z size `out_z_size` and z stride `stride_z`,
/// enough for `max_z_pred` output slices in one tile (reference §6.8).
int64_t preview_z_thick(int64_t patch_z, int64_t stride_z, int64_t out_z_size,
                        int64_t max_z_pred);
/// The same for a model's input and prediction nodes.
int64_t preview_z_thick(const Model &model, int64_t max_z_pred);

/// Predicts the central slices of every cube (z, x, y) or (ch, z, x, y)
/// with `model.predict_dense` (no padding; the model's input batch size
/// must be 1 or None) and writes, into `dir`, per cube j, written slice z
/// (0 .. max_z_pred - 1, the central ones of the prediction) and class c:
///   `<save_name>-pred-<j>-z<z>-c<c>-<hours>hrs.png` (grey, p * 255), or
///   for "malis"/"affinity" `<save_name>-pred-<j>-aff-z<z>-<hours>hrs.png`;
/// with `write_raw`, the raw section under each written slice (channel 0,
/// grey with vmin 0, vmax 1) as `<save_name>-raw-<j>-z<z>.png`. A 3-D
/// network predicts the central z_thick slices; a 2-D one each of the
/// central slices. `hours_label` names the file ("1.5"); empty: `number`.
/// Returns the paths written. ValueError naming the cube index and shapes
/// for a cube the model cannot predict (too small, wrong rank), or a class
/// the prediction lacks.
std::vector<std::string>
preview_slice(Model &model, const std::vector<Array> &cubes,
              const PreviewOptions &options, const std::string &dir,
              const std::string &save_name, const std::string &hours_label,
              bool write_raw);

/// ELEKTRONN2's `Batch_test_image.png`: the first example of a batch
/// (images (b, ch, [z,] x, y), target (b, k, [z,] x, y)) at the target's
/// central z: on the left the image's channel 0 (its min..max as black to
/// white), on the right the same with the target's channel 0 overlaid:
/// class k > 0 blended in colour k, fractional values in red by their
/// size, 0 and negative (unlabelled) left grey, voxels the target does not
/// cover darkened. Target voxel t lies on image voxel offsets + t * strides
/// and covers a strides-sized block; empty `strides` are 1, empty
/// `offsets` centre the target. ValueError naming the shapes when the
/// target does not fit.
void write_batch_test_image(const std::vector<Array> &batch,
                            const std::string &png_path,
                            const Sizes &strides = {},
                            const Sizes &offsets = {});

/// `filters_<node>.png`: the weights "w" (n_f, n_in, [kz,] kx, ky) of a
/// Conv node as a grid, one row per filter, one (kx, ky) tile per input
/// channel and z (magnified so small kernels are visible), each filter
/// scaled from its min (black) to max (white). ValueError for a node
/// without such weights.
void save_filter_image(const Node &conv, const std::string &png_path);

} // namespace nm

#endif // NEUROMANCER_TRAIN_PREVIEW_H
