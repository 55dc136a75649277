//===- TaggedShape.cpp ----------------------------------------------------===//
#include "neuromancer/core/TaggedShape.h"

#include "neuromancer/core/Format.h"

#include <algorithm>
#include <cctype>
#include <optional>

namespace nm {
namespace {
bool isSpatialTag(char tag) { return tag == 'z' || tag == 'x' || tag == 'y'; }

std::string sizeRepr(int64_t size) {
  return size == None ? "None" : std::to_string(size);
}
} // namespace

Expected<std::string> parseTags(std::string_view tags) {
  std::string parsed;
  bool commaSeparated = tags.find(',') != std::string_view::npos;
  std::string token;
  auto flush = [&]() -> std::optional<Failure> {
    if (token.size() != 1 ||
        kAllowedTags.find(token[0]) == std::string_view::npos)
      return valueError("Unknown tag '" + token + "' in tags '" +
                        std::string(tags) +
                        "'; allowed tags are r, b, s, f, z, x, y");
    if (parsed.find(token[0]) != std::string::npos)
      return valueError("Tag '" + token + "' appears twice in tags '" +
                        std::string(tags) + "'");
    parsed += token[0];
    token.clear();
    return std::nullopt;
  };
  for (char c : tags) {
    if (std::isspace(static_cast<unsigned char>(c)))
      continue;
    if (c == ',') {
      if (auto f = flush())
        return *f;
      continue;
    }
    token += c;
    if (!commaSeparated)
      if (auto f = flush())
        return *f;
  }
  if (commaSeparated || !token.empty())
    if (auto f = flush())
      return *f;
  return parsed;
}

Expected<TaggedShape> TaggedShape::create(Sizes shape, std::string_view tags,
                                          Sizes strides, Sizes fov,
                                          MfpOffsets mfpOffsets) {
  Expected<std::string> parsed = parseTags(tags);
  if (!parsed)
    return parsed.failure();
  TaggedShape sh;
  sh.tags_ = *parsed;
  sh.shape_ = std::move(shape);
  if (sh.tags_.size() != sh.shape_.size())
    return valueError("Tags '" + std::string(tags) + "' name " +
                      std::to_string(sh.tags_.size()) + " axes but the shape " +
                      formatTuple(sh.shape_) + " has " +
                      std::to_string(sh.shape_.size()));
  for (int64_t s : sh.shape_)
    if (s < 0 && s != None)
      return valueError("Negative size in shape " + formatTuple(sh.shape_));
  int64_t nsp = static_cast<int64_t>(sh.spatialAxes().size());
  auto fill = [&](Sizes &v, const char *what) -> std::optional<Failure> {
    if (v.empty())
      v.assign(nsp, 1);
    if (static_cast<int64_t>(v.size()) != nsp)
      return valueError(std::string(what) + " " + formatList(v) + " has " +
                        std::to_string(v.size()) + " entries but tags '" +
                        std::string(tags) + "' have " + std::to_string(nsp) +
                        " spatial axes");
    return std::nullopt;
  };
  sh.strides_ = std::move(strides);
  sh.fov_ = std::move(fov);
  if (auto f = fill(sh.strides_, "strides"))
    return *f;
  if (auto f = fill(sh.fov_, "fov"))
    return *f;
  sh.mfpOffsets_ = std::move(mfpOffsets);
  if (sh.mfpOffsets_.empty())
    sh.mfpOffsets_.push_back(Sizes(nsp, 0));
  for (const Sizes &row : sh.mfpOffsets_)
    if (static_cast<int64_t>(row.size()) != nsp)
      return valueError("mfp offset " + formatList(row) +
                        " does not match the number of spatial axes");
  return sh;
}

TaggedShape::TaggedShape(Sizes shape, std::string_view tags, Sizes strides,
                         Sizes fov, MfpOffsets mfpOffsets) {
  *this = create(std::move(shape), tags, std::move(strides), std::move(fov),
                 std::move(mfpOffsets))
              .take();
}

std::string TaggedShape::tagString() const {
  std::string out;
  for (size_t i = 0; i < tags_.size(); ++i) {
    if (i)
      out += ',';
    out += tags_[i];
  }
  return out;
}

bool TaggedShape::hasTag(char tag) const {
  return tags_.find(tag) != std::string::npos;
}

int64_t TaggedShape::tagIndex(char tag) const {
  size_t i = tags_.find(tag);
  if (i == std::string::npos)
    throw ValueError("Tag '" + std::string(1, tag) + "' not in shape " +
                     repr());
  return static_cast<int64_t>(i);
}

std::vector<int64_t> TaggedShape::spatialAxes() const {
  std::vector<int64_t> axes;
  for (size_t i = 0; i < tags_.size(); ++i)
    if (isSpatialTag(tags_[i]))
      axes.push_back(static_cast<int64_t>(i));
  return axes;
}

Sizes TaggedShape::spatialShape() const {
  Sizes out;
  for (int64_t a : spatialAxes())
    out.push_back(shape_[a]);
  return out;
}

int64_t TaggedShape::spatialSize() const {
  int64_t p = 1;
  for (int64_t s : spatialShape())
    if (s != None)
      p *= s;
  return p;
}

Sizes TaggedShape::offsets() const {
  Sizes out;
  for (int64_t f : fov_) // Python floor division: -1 // 2 == -1.
    out.push_back(f >= 0 ? f / 2 : (f - 1) / 2);
  return out;
}

bool TaggedShape::fovAllCentered() const {
  return std::all_of(fov_.begin(), fov_.end(),
                     [](int64_t f) { return f % 2 != 0; });
}

Sizes TaggedShape::stripnone() const {
  Sizes out;
  for (int64_t s : shape_)
    if (s != None)
      out.push_back(s);
  return out;
}

int64_t TaggedShape::stripnoneProd() const {
  int64_t p = 1;
  for (int64_t s : stripnone())
    p *= s;
  return p;
}

int64_t TaggedShape::stripbatchProd() const {
  int64_t p = 1;
  for (size_t i = 0; i < shape_.size(); ++i)
    if (tags_[i] != 'b' && shape_[i] != None)
      p *= shape_[i];
  return p;
}

TaggedShape TaggedShape::updateShapeAt(int64_t axis, int64_t value,
                                       UpdateMode mode) const {
  TaggedShape out = *this;
  out.floatStrides_ = false;
  int64_t &s = out.shape_.at(axis);
  switch (mode) {
  case UpdateMode::Set:
    s = value;
    break;
  case UpdateMode::Add:
    if (s != None)
      s += value;
    break;
  case UpdateMode::Mult:
    if (s != None)
      s *= value;
    break;
  }
  return out;
}

TaggedShape TaggedShape::updateShape(char tag, int64_t value,
                                     UpdateMode mode) const {
  return updateShapeAt(tagIndex(tag), value, mode);
}

TaggedShape TaggedShape::updateFov(int64_t spatialIndex, int64_t value) const {
  TaggedShape out = *this;
  out.floatStrides_ = false;
  out.fov_.at(spatialIndex) = value;
  return out;
}

TaggedShape TaggedShape::withFov(Sizes fov) const {
  TaggedShape out = *this;
  out.floatStrides_ = false;
  out.fov_ = std::move(fov);
  return out;
}

TaggedShape TaggedShape::withStrides(Sizes strides, bool asFloat) const {
  TaggedShape out = *this;
  out.strides_ = std::move(strides);
  out.floatStrides_ = asFloat;
  return out;
}

TaggedShape TaggedShape::withMfpOffsets(MfpOffsets offsets) const {
  TaggedShape out = *this;
  out.floatStrides_ = false;
  out.mfpOffsets_ = std::move(offsets);
  return out;
}

TaggedShape TaggedShape::addAxis(char afterTag, int64_t size, char tag) const {
  if (hasTag(tag))
    throw ValueError("Tag '" + std::string(1, tag) + "' already in shape " +
                     repr());
  int64_t at = tagIndex(afterTag) + 1;
  Sizes shape = shape_;
  shape.insert(shape.begin() + at, size);
  std::string tags = tags_;
  tags.insert(tags.begin() + at, tag);
  if (isSpatialTag(tag))
    throw NotImplementedError("addAxis of a spatial axis");
  return TaggedShape(shape, tags, strides_, fov_, mfpOffsets_);
}

TaggedShape TaggedShape::delAxis(char tag) const {
  int64_t at = tagIndex(tag);
  Sizes shape = shape_;
  shape.erase(shape.begin() + at);
  std::string tags = tags_;
  tags.erase(tags.begin() + at);
  if (!isSpatialTag(tag))
    return TaggedShape(shape, tags, strides_, fov_, mfpOffsets_);
  // Drop the matching spatial entries of fov, strides and mfp offsets.
  int64_t sp = 0;
  for (int64_t a : spatialAxes()) {
    if (a == at)
      break;
    ++sp;
  }
  Sizes strides = strides_, fov = fov_;
  strides.erase(strides.begin() + sp);
  fov.erase(fov.begin() + sp);
  MfpOffsets mfp = mfpOffsets_;
  for (Sizes &row : mfp)
    row.erase(row.begin() + sp);
  return TaggedShape(shape, tags, strides, fov, mfp);
}

std::string TaggedShape::repr() const {
  std::string out = "[";
  for (size_t i = 0; i < shape_.size(); ++i) {
    if (i)
      out += ", ";
    out += "(" + sizeRepr(shape_[i]) + "," + tags_[i] + ")";
  }
  return out + "]";
}

std::string TaggedShape::extRepr() const {
  Sizes spatial = spatialShape();
  std::string spatialText = "[";
  for (size_t i = 0; i < spatial.size(); ++i)
    spatialText += (i ? ", " : "") + sizeRepr(spatial[i]);
  spatialText += "]";
  return repr() + "\nfov=" + formatList(fov_) +
         ", offsets=" + formatList(offsets()) +
         ", strides=" + formatNumpyArray(strides_, floatStrides_) +
         ", spatial shape=" + spatialText;
}

bool TaggedShape::operator==(const TaggedShape &o) const {
  return shape_ == o.shape_ && tags_ == o.tags_ && strides_ == o.strides_ &&
         fov_ == o.fov_ && mfpOffsets_ == o.mfpOffsets_;
}

} // namespace nm
