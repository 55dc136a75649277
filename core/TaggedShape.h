//===- TaggedShape.h - shapes with axis tags and geometry ------*- C++ -*-===//
//
// A TaggedShape is ELEKTRONN2's `graphutils.TaggedShape`: a tensor shape whose
// axes carry tags (r: recurrence, b: batch, s: samples, f: features,
// z/x/y: spatial), together with the field of view, strides and MFP fragment
// offsets of the spatial axes. Every method that "changes" a shape returns a
// new one, as the original does.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_CORE_TAGGEDSHAPE_H
#define NEUROMANCER_CORE_TAGGEDSHAPE_H

#include "neuromancer/core/Error.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nm {

/// An unknown size (Python's None), e.g. a batch size fixed only at call time.
inline constexpr int64_t None = -1;

/// The tags ELEKTRONN2 allows.
inline constexpr std::string_view kAllowedTags = "rbsfzxy";

using Sizes = std::vector<int64_t>;
using MfpOffsets = std::vector<Sizes>;

class TaggedShape {
public:
  /// Validating constructor. `tags` is a comma string such as "b,f,z,x,y"
  /// (whitespace ignored) or a plain tag string such as "bfzxy". Empty
  /// `strides`/`fov` mean ones; empty `mfpOffsets` means one zero row.
  static Expected<TaggedShape> create(Sizes shape, std::string_view tags,
                                      Sizes strides = {}, Sizes fov = {},
                                      MfpOffsets mfpOffsets = {});
  /// Same as create(), throwing ValueError on bad input.
  TaggedShape(Sizes shape, std::string_view tags, Sizes strides = {},
              Sizes fov = {}, MfpOffsets mfpOffsets = {});
  TaggedShape() = default;

  // Axes.
  const Sizes &shape() const { return shape_; }
  /// One char per axis, e.g. "bfzxy".
  const std::string &tags() const { return tags_; }
  /// "b,f,z,x,y".
  std::string tagString() const;
  int64_t ndim() const { return static_cast<int64_t>(shape_.size()); }
  bool hasTag(char tag) const;
  /// Index of `tag`; ValueError when absent.
  int64_t tagIndex(char tag) const;
  /// Size of the axis tagged `tag` (may be None); ValueError when absent.
  int64_t operator[](char tag) const { return shape_[tagIndex(tag)]; }
  int64_t operator[](int64_t axis) const { return shape_.at(axis); }

  // Spatial geometry (one entry per spatial axis, in tensor order).
  /// Tensor indices of the z/x/y axes, in tensor order.
  std::vector<int64_t> spatialAxes() const;
  int64_t nSpatial() const { return static_cast<int64_t>(fov_.size()); }
  Sizes spatialShape() const;
  /// Product of the spatial sizes (1 when there are none).
  int64_t spatialSize() const;
  const Sizes &strides() const { return strides_; }
  const Sizes &fov() const { return fov_; }
  /// fov // 2 with Python floor division, so an unknown fov (-1) gives -1.
  Sizes offsets() const;
  const MfpOffsets &mfpOffsets() const { return mfpOffsets_; }
  bool fovAllCentered() const;
  /// True after UpConv: ELEKTRONN2 then holds strides as a float array
  /// (printed "[1. 1.]") until the next copy casts them back to int.
  bool floatStrides() const { return floatStrides_; }

  // Sizes without unknowns.
  Sizes stripnone() const;
  int64_t stripnoneProd() const;
  /// Product over every axis but 'b' (None counts as 1).
  int64_t stripbatchProd() const;

  // Copies with one thing changed ("update*" in ELEKTRONN2).
  enum class UpdateMode { Set, Add, Mult };
  /// A None entry stays None under Add and Mult.
  TaggedShape updateShape(char tag, int64_t value,
                          UpdateMode mode = UpdateMode::Set) const;
  TaggedShape updateShapeAt(int64_t axis, int64_t value,
                            UpdateMode mode = UpdateMode::Set) const;
  /// `spatialIndex` indexes the spatial axes, not the tensor axes.
  TaggedShape updateFov(int64_t spatialIndex, int64_t value) const;
  TaggedShape withFov(Sizes fov) const;
  TaggedShape withStrides(Sizes strides, bool asFloat = false) const;
  TaggedShape withMfpOffsets(MfpOffsets offsets) const;
  /// Inserts an axis right of `afterTag` (ELEKTRONN2's addaxis with a tag).
  TaggedShape addAxis(char afterTag, int64_t size, char tag) const;
  /// Removes the axis tagged `tag`. (ELEKTRONN2's delaxis removes the axis
  /// *right of* the tag, a bug we do not reproduce.)
  TaggedShape delAxis(char tag) const;

  /// "[(10,b), (3,f), (23,z), (183,x), (183,y)]".
  std::string repr() const;
  /// repr + "\nfov=[9, 27, 27], offsets=[4, 13, 13], strides=[2 4 4],
  /// spatial shape=[8, 40, 40]".
  std::string extRepr() const;

  // ELEKTRONN2's spellings of the accessors users read most, so its
  // documentation reads across (shape.ext_repr, shape.spatial_shape, ...).
  std::string ext_repr() const { return extRepr(); }
  Sizes spatial_shape() const { return spatialShape(); }
  int64_t spatial_size() const { return spatialSize(); }
  const MfpOffsets &mfp_offsets() const { return mfpOffsets(); }

  bool operator==(const TaggedShape &other) const;
  bool operator!=(const TaggedShape &other) const { return !(*this == other); }

private:
  Sizes shape_;
  std::string tags_;
  Sizes strides_;
  Sizes fov_;
  MfpOffsets mfpOffsets_;
  bool floatStrides_ = false;
};

/// Parses "b,f,z,x,y" / "bfzxy" into "bfzxy"; validates each tag.
Expected<std::string> parseTags(std::string_view tags);

} // namespace nm

#endif // NEUROMANCER_CORE_TAGGEDSHAPE_H
