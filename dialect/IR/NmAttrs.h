//===- NmAttrs.h - nm attributes and tagged tensor helpers ------*- C++ -*-===//
//
// #nm.axes, #nm.geometry and the tensor encoding #nm.tagged, plus the
// conversions between tagged tensor types and core's nm::TaggedShape.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_DIALECT_IR_NMATTRS_H
#define NEUROMANCER_DIALECT_IR_NMATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/TensorEncoding.h"
#include "neuromancer/core/Enums.h"
#include "neuromancer/core/TaggedShape.h"

#include <optional>

#include "neuromancer/dialect/IR/NmEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "neuromancer/dialect/IR/NmAttrs.h.inc"

namespace nm::ir {

/// True for a ranked tensor whose encoding is #nm.tagged.
bool isTaggedTensor(mlir::Type type);

/// The encoding of `type`, or null.
TaggedAttr getTaggedAttr(mlir::Type type);

/// The TaggedShape of a tagged tensor type (dynamic dims become nm::None);
/// nullopt when `type` is not a tagged tensor.
std::optional<::nm::TaggedShape> getTaggedShape(mlir::Type type);

/// The encoding that describes `shape` (tags, fov, strides, MFP offsets).
TaggedAttr getTaggedAttr(mlir::MLIRContext *ctx,
                         const ::nm::TaggedShape &shape);

/// tensor<...x elementType, #nm.tagged<...>> for `shape` (None -> `?`).
mlir::RankedTensorType getTaggedTensorType(const ::nm::TaggedShape &shape,
                                           mlir::Type elementType);

} // namespace nm::ir

#endif // NEUROMANCER_DIALECT_IR_NMATTRS_H
