//===- InferenceSupport.h - helpers of the ops' type inference --*- C++ -*-===//
//
// Internal to //dialect: what NmOps.cpp and NmOutputOps.cpp share to map an
// op's operands onto core's geometry rules and report their failures
// (ValueError messages, the InferTypeOpInterface glue).
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_DIALECT_IR_INFERENCESUPPORT_H
#define NEUROMANCER_DIALECT_IR_INFERENCESUPPORT_H

#include "neuromancer/core/Error.h"
#include "neuromancer/core/TaggedShape.h"
#include "neuromancer/dialect/IR/NmAttrs.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>

namespace nm::ir::infer {

using ::nm::Expected;
using ::nm::Failure;
using ::nm::TaggedShape;

/// A ValueError whose message is the concatenation of `parts`.
template <typename... Ts> Failure error(const Ts &...parts) {
  std::string s;
  llvm::raw_string_ostream os(s);
  (os << ... << parts);
  return ::nm::valueError(os.str());
}

#define NM_TRY(var, expr)                                                      \
  auto var##OrErr = (expr);                                                    \
  if (!var##OrErr)                                                             \
    return var##OrErr.failure();                                               \
  auto var = *var##OrErr;

#define NM_CHECK(expr)                                                         \
  do {                                                                         \
    if (std::optional<Failure> failure_ = (expr))                              \
      return *failure_;                                                        \
  } while (false)

/// The tagged shape of `v`; an error naming `what` otherwise.
inline Expected<TaggedShape> shapeOf(mlir::Value v, llvm::StringRef what) {
  if (!v)
    return error("missing ", what.str());
  if (std::optional<TaggedShape> s = getTaggedShape(v.getType()))
    return *s;
  return error(what.str(),
               " must be a tensor with an #nm.tagged encoding, got ",
               v.getType());
}

inline mlir::Type elementTypeOf(mlir::Value v) {
  auto t =
      v ? mlir::dyn_cast<mlir::ShapedType>(v.getType()) : mlir::ShapedType();
  return t ? t.getElementType() : mlir::Type();
}

/// InferTypeOpInterface on top of inferTaggedShape/inferElementType.
template <typename OpT>
mlir::LogicalResult inferTaggedType(std::optional<mlir::Location> loc,
                                    typename OpT::Adaptor adaptor,
                                    llvm::SmallVectorImpl<mlir::Type> &types) {
  Expected<TaggedShape> shape = OpT::inferTaggedShape(adaptor);
  if (!shape)
    return mlir::emitOptionalError(loc, shape.message());
  mlir::Type et = OpT::inferElementType(adaptor);
  if (!et)
    return mlir::emitOptionalError(loc, "cannot infer the result element type");
  types.push_back(getTaggedTensorType(*shape, et));
  return mlir::success();
}

} // namespace nm::ir::infer

#define NM_INFER_RETURN_TYPES(OP)                                              \
  LogicalResult OP::inferReturnTypes(MLIRContext *, std::optional<Location> l, \
                                     Adaptor adaptor,                          \
                                     SmallVectorImpl<Type> &types) {           \
    return inferTaggedType<OP>(l, adaptor, types);                             \
  }

/// Result element type = element type of operand 0.
#define NM_FIRST_ELEMENT_TYPE(OP)                                              \
  Type OP::inferElementType(Adaptor a) {                                       \
    return a.getOperands().empty() ? Type()                                    \
                                   : elementTypeOf(a.getOperands().front());   \
  }

#define NM_INFER(OP)                                                           \
  NM_INFER_RETURN_TYPES(OP)                                                    \
  NM_FIRST_ELEMENT_TYPE(OP)

#endif // NEUROMANCER_DIALECT_IR_INFERENCESUPPORT_H
