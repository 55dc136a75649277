//===- NmAttrs.cpp - #nm.axes, #nm.geometry, #nm.tagged -------------------===//
#include "neuromancer/dialect/IR/NmAttrs.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "neuromancer/dialect/IR/NmDialect.h"

#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;

#include "neuromancer/dialect/IR/NmEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "neuromancer/dialect/IR/NmAttrs.cpp.inc"

namespace nm::ir {

// The dialect's enums mirror core's (core/Enums.h, geometry's ConvMode).
static_assert(static_cast<uint32_t>(ActivationKind::Maxout) ==
              static_cast<uint32_t>(::nm::ActivationKind::Maxout));
static_assert(static_cast<uint32_t>(ActivationKind::Radius) ==
              static_cast<uint32_t>(::nm::ActivationKind::Radius));
static_assert(static_cast<uint32_t>(PoolMode::Sum) ==
              static_cast<uint32_t>(::nm::PoolMode::Sum));
static_assert(static_cast<uint32_t>(BatchNormMode::Predict) ==
              static_cast<uint32_t>(::nm::BatchNormMode::Predict));
static_assert(static_cast<uint32_t>(LRNMode::Channel) ==
              static_cast<uint32_t>(::nm::LRNMode::Channel));

//===----------------------------------------------------------------------===//
// #nm.activation
//===----------------------------------------------------------------------===//

LogicalResult
ActivationAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                       ActivationKind kind, int64_t maxout) {
  if (kind == ActivationKind::Maxout ? maxout < 2 : maxout != 1)
    return emitError() << "activation " << stringifyActivationKind(kind)
                       << ": maxout factor " << maxout
                       << (kind == ActivationKind::Maxout
                               ? " must be at least 2"
                               : " is only for maxout");
  return success();
}

/// `<relu>`, `<maxout 2>`.
Attribute ActivationAttr::parse(AsmParser &parser, Type) {
  StringRef keyword;
  SMLoc loc = parser.getCurrentLocation();
  if (parser.parseLess() || parser.parseKeyword(&keyword))
    return {};
  std::optional<ActivationKind> kind = symbolizeActivationKind(keyword);
  if (!kind) {
    parser.emitError(loc) << "unknown activation '" << keyword << "'";
    return {};
  }
  int64_t maxout = 1;
  if (*kind == ActivationKind::Maxout && parser.parseInteger(maxout))
    return {};
  if (parser.parseGreater())
    return {};
  return getChecked([&] { return parser.emitError(loc); }, parser.getContext(),
                    *kind, maxout);
}

void ActivationAttr::print(AsmPrinter &p) const {
  p << "<" << stringifyActivationKind(getKind());
  if (getKind() == ActivationKind::Maxout)
    p << " " << getMaxout();
  p << ">";
}

void NmDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "neuromancer/dialect/IR/NmAttrs.cpp.inc"
      >();
}

namespace {
bool isSpatial(char tag) { return tag == 'z' || tag == 'x' || tag == 'y'; }

bool allEqual(ArrayRef<int64_t> values, int64_t v) {
  return llvm::all_of(values, [&](int64_t x) { return x == v; });
}

void printList(AsmPrinter &p, ArrayRef<int64_t> values) {
  p << '[';
  llvm::interleaveComma(values, p);
  p << ']';
}

void printMfp(AsmPrinter &p, ArrayRef<int64_t> flat, int64_t n) {
  p << '[';
  int64_t rows = n == 0 ? 1 : static_cast<int64_t>(flat.size()) / n;
  for (int64_t r = 0; r < rows; ++r) {
    if (r)
      p << ", ";
    printList(p, flat.slice(r * n, n));
  }
  p << ']';
}

ParseResult parseList(AsmParser &parser, SmallVectorImpl<int64_t> &out) {
  return parser.parseCommaSeparatedList(AsmParser::Delimiter::Square,
                                        [&]() -> ParseResult {
                                          int64_t v;
                                          if (parser.parseInteger(v))
                                            return failure();
                                          out.push_back(v);
                                          return success();
                                        });
}

ParseResult parseMfp(AsmParser &parser, SmallVectorImpl<int64_t> &flat) {
  return parser.parseCommaSeparatedList(
      AsmParser::Delimiter::Square,
      [&]() -> ParseResult { return parseList(parser, flat); });
}

/// Parses `key = value` for fov, strides and mfp_offsets.
ParseResult parseGeometryEntry(AsmParser &parser, StringRef key,
                               std::optional<SmallVector<int64_t>> &fov,
                               std::optional<SmallVector<int64_t>> &strides,
                               std::optional<SmallVector<int64_t>> &mfp) {
  std::optional<SmallVector<int64_t>> *slot = key == "fov"           ? &fov
                                              : key == "strides"     ? &strides
                                              : key == "mfp_offsets" ? &mfp
                                                                     : nullptr;
  if (!slot)
    return parser.emitError(parser.getCurrentLocation(),
                            "expected 'fov', 'strides' or 'mfp_offsets'");
  if (slot->has_value())
    return parser.emitError(parser.getCurrentLocation(), "duplicate '")
           << key << "'";
  slot->emplace();
  if (parser.parseEqual())
    return failure();
  return key == "mfp_offsets" ? parseMfp(parser, **slot)
                              : parseList(parser, **slot);
}

GeometryAttr buildGeometry(AsmParser &parser, int64_t n,
                           std::optional<SmallVector<int64_t>> fov,
                           std::optional<SmallVector<int64_t>> strides,
                           std::optional<SmallVector<int64_t>> mfp) {
  SmallVector<int64_t> ones(n, 1), zeros(n, 0);
  return GeometryAttr::getChecked(
      [&]() { return parser.emitError(parser.getNameLoc()); },
      parser.getContext(), fov ? *fov : ones, strides ? *strides : ones,
      mfp ? *mfp : zeros);
}
} // namespace

//===----------------------------------------------------------------------===//
// #nm.axes<b,f,z,x,y>
//===----------------------------------------------------------------------===//

int64_t AxesAttr::getNumSpatial() const {
  return llvm::count_if(getTags(), isSpatial);
}

LogicalResult AxesAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               StringRef tags) {
  // core's parseTags validates each tag and rejects duplicates.
  ::nm::Expected<std::string> parsed = ::nm::parseTags(tags.str());
  if (!parsed)
    return emitError() << parsed.message();
  if (*parsed != tags)
    return emitError() << "axes must be stored one tag char per axis, got '"
                       << tags << "'";
  return success();
}

static ParseResult parseTagList(AsmParser &parser, std::string &tags) {
  // A list of single-letter keywords; the caller has consumed '<'.
  StringRef kw;
  auto loc = parser.getCurrentLocation();
  if (parser.parseKeyword(&kw))
    return failure();
  if (kw.size() != 1)
    return parser.emitError(loc, "expected a one-letter axis tag, got '")
           << kw << "'";
  tags += kw;
  return success();
}

Attribute AxesAttr::parse(AsmParser &parser, Type) {
  std::string tags;
  if (parser.parseLess())
    return {};
  if (failed(parser.parseOptionalGreater())) {
    do {
      if (parseTagList(parser, tags))
        return {};
    } while (succeeded(parser.parseOptionalComma()));
    if (parser.parseGreater())
      return {};
  }
  return AxesAttr::getChecked(
      [&]() { return parser.emitError(parser.getNameLoc()); },
      parser.getContext(), tags);
}

static void printTags(AsmPrinter &p, StringRef tags) {
  llvm::interleave(
      tags, [&](char c) { p << c; }, [&]() { p << ','; });
}

void AxesAttr::print(AsmPrinter &p) const {
  p << '<';
  printTags(p, getTags());
  p << '>';
}

//===----------------------------------------------------------------------===//
// #nm.geometry<fov = [...], strides = [...], mfp_offsets = [[...], ...]>
//===----------------------------------------------------------------------===//

int64_t GeometryAttr::getNumFragments() const {
  int64_t n = getNumSpatial();
  return n == 0 ? 1 : static_cast<int64_t>(getMfpOffsets().size()) / n;
}

bool GeometryAttr::isDefault() const {
  return allEqual(getFov(), 1) && allEqual(getStrides(), 1) &&
         static_cast<int64_t>(getMfpOffsets().size()) == getNumSpatial() &&
         allEqual(getMfpOffsets(), 0);
}

LogicalResult GeometryAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                   ArrayRef<int64_t> fov,
                                   ArrayRef<int64_t> strides,
                                   ArrayRef<int64_t> mfp) {
  if (fov.size() != strides.size())
    return emitError() << "geometry has " << fov.size() << " fov entries but "
                       << strides.size() << " strides";
  int64_t n = fov.size();
  if (n == 0 ? !mfp.empty()
             : (mfp.empty() || static_cast<int64_t>(mfp.size()) % n != 0))
    return emitError() << "mfp_offsets must be non-empty rows of " << n
                       << " entries (one per spatial axis)";
  for (int64_t f : fov)
    if (f < -1 || f == 0)
      return emitError() << "fov entries must be positive or -1 (unknown), "
                            "got "
                         << f;
  for (int64_t s : strides)
    if (s < 0)
      return emitError() << "strides must be non-negative, got " << s;
  return success();
}

Attribute GeometryAttr::parse(AsmParser &parser, Type) {
  std::optional<SmallVector<int64_t>> fov, strides, mfp;
  if (parser.parseLess())
    return {};
  do {
    StringRef key;
    if (parser.parseKeyword(&key) ||
        parseGeometryEntry(parser, key, fov, strides, mfp))
      return {};
  } while (succeeded(parser.parseOptionalComma()));
  if (parser.parseGreater())
    return {};
  if (!fov && !strides) {
    parser.emitError(parser.getNameLoc(), "geometry needs 'fov' or 'strides'");
    return {};
  }
  int64_t n = fov ? fov->size() : strides->size();
  return buildGeometry(parser, n, fov, strides, mfp);
}

void GeometryAttr::print(AsmPrinter &p) const {
  p << "<fov = ";
  printList(p, getFov());
  p << ", strides = ";
  printList(p, getStrides());
  if (getNumFragments() != 1 || !allEqual(getMfpOffsets(), 0)) {
    p << ", mfp_offsets = ";
    printMfp(p, getMfpOffsets(), getNumSpatial());
  }
  p << '>';
}

//===----------------------------------------------------------------------===//
// #nm.tagged<b,f,z,x,y, fov = [...], strides = [...]>
//===----------------------------------------------------------------------===//

LogicalResult TaggedAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 AxesAttr axes, GeometryAttr geometry) {
  if (!axes || !geometry)
    return emitError() << "#nm.tagged needs axes and geometry";
  if (axes.getNumSpatial() != geometry.getNumSpatial())
    return emitError() << "axes <" << axes.getTags() << "> have "
                       << axes.getNumSpatial()
                       << " spatial axes but the geometry describes "
                       << geometry.getNumSpatial();
  return success();
}

LogicalResult
TaggedAttr::verifyEncoding(ArrayRef<int64_t> shape, Type,
                           function_ref<InFlightDiagnostic()> emitError) const {
  if (static_cast<int64_t>(shape.size()) !=
      static_cast<int64_t>(getAxes().getTags().size()))
    return emitError() << "tensor of rank " << shape.size()
                       << " has an #nm.tagged encoding with "
                       << getAxes().getTags().size() << " axes";
  return success();
}

Attribute TaggedAttr::parse(AsmParser &parser, Type) {
  std::string tags;
  std::optional<SmallVector<int64_t>> fov, strides, mfp;
  if (parser.parseLess())
    return {};
  do {
    StringRef kw;
    auto loc = parser.getCurrentLocation();
    if (parser.parseKeyword(&kw))
      return {};
    if (kw.size() == 1 && !fov && !strides && !mfp) {
      tags += kw;
      continue;
    }
    if (kw.size() == 1) {
      parser.emitError(loc, "axis tags must come before the geometry");
      return {};
    }
    if (parseGeometryEntry(parser, kw, fov, strides, mfp))
      return {};
  } while (succeeded(parser.parseOptionalComma()));
  if (parser.parseGreater())
    return {};
  auto emit = [&]() { return parser.emitError(parser.getNameLoc()); };
  AxesAttr axes = AxesAttr::getChecked(emit, parser.getContext(), tags);
  if (!axes)
    return {};
  GeometryAttr geometry =
      buildGeometry(parser, axes.getNumSpatial(), fov, strides, mfp);
  if (!geometry)
    return {};
  return TaggedAttr::getChecked(emit, parser.getContext(), axes, geometry);
}

void TaggedAttr::print(AsmPrinter &p) const {
  GeometryAttr g = getGeometry();
  p << '<';
  printTags(p, getAxes().getTags());
  if (!allEqual(g.getFov(), 1)) {
    p << ", fov = ";
    printList(p, g.getFov());
  }
  if (!allEqual(g.getStrides(), 1)) {
    p << ", strides = ";
    printList(p, g.getStrides());
  }
  if (g.getNumFragments() != 1 || !allEqual(g.getMfpOffsets(), 0)) {
    p << ", mfp_offsets = ";
    printMfp(p, g.getMfpOffsets(), g.getNumSpatial());
  }
  p << '>';
}

//===----------------------------------------------------------------------===//
// Tagged tensors <-> nm::TaggedShape
//===----------------------------------------------------------------------===//

TaggedAttr getTaggedAttr(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  return tensor ? dyn_cast_or_null<TaggedAttr>(tensor.getEncoding())
                : TaggedAttr();
}

bool isTaggedTensor(Type type) {
  return static_cast<bool>(getTaggedAttr(type));
}

std::optional<::nm::TaggedShape> getTaggedShape(Type type) {
  TaggedAttr enc = getTaggedAttr(type);
  if (!enc)
    return std::nullopt;
  auto tensor = cast<RankedTensorType>(type);
  ::nm::Sizes shape;
  for (int64_t d : tensor.getShape())
    shape.push_back(ShapedType::isDynamic(d) ? ::nm::None : d);
  GeometryAttr g = enc.getGeometry();
  int64_t n = g.getNumSpatial();
  ::nm::MfpOffsets mfp;
  for (int64_t r = 0; r < g.getNumFragments(); ++r)
    mfp.push_back(::nm::Sizes(g.getMfpOffsets().begin() + r * n,
                              g.getMfpOffsets().begin() + (r + 1) * n));
  ::nm::Expected<::nm::TaggedShape> sh = ::nm::TaggedShape::create(
      shape, enc.getAxes().getTags().str(), ::nm::Sizes(g.getStrides()),
      ::nm::Sizes(g.getFov()), mfp);
  if (!sh)
    return std::nullopt;
  return *sh;
}

TaggedAttr getTaggedAttr(MLIRContext *ctx, const ::nm::TaggedShape &shape) {
  SmallVector<int64_t> mfp;
  for (const ::nm::Sizes &row : shape.mfpOffsets())
    mfp.append(row.begin(), row.end());
  return TaggedAttr::get(
      ctx, AxesAttr::get(ctx, shape.tags()),
      GeometryAttr::get(ctx, shape.fov(), shape.strides(), mfp));
}

RankedTensorType getTaggedTensorType(const ::nm::TaggedShape &shape,
                                     Type elementType) {
  SmallVector<int64_t> dims;
  for (int64_t d : shape.shape())
    dims.push_back(d == ::nm::None ? ShapedType::kDynamic : d);
  return RankedTensorType::get(dims, elementType,
                               getTaggedAttr(elementType.getContext(), shape));
}

} // namespace nm::ir
