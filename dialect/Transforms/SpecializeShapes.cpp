//===- SpecializeShapes.cpp - --nm-specialize-shapes ----------------------===//
//
// Imported functions keep ELEKTRONN2's None sizes as `?`; code generation
// needs static shapes. Rather than re-importing the graph per call shape,
// the types are refined in place: inputs get the call's sizes and every nm
// op re-derives its result from its operands through the shape-inference
// interface (core/Geometry, the frontend's own rules), in block order, which
// is a topological order for the single-block functions the importer makes.
//
//===----------------------------------------------------------------------===//
#include "neuromancer/dialect/Transforms/Passes.h"

#include "neuromancer/dialect/IR/NmAttrs.h"
#include "neuromancer/dialect/IR/NmOps.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringExtras.h"

#include <string>

namespace nm::ir {
#define GEN_PASS_DEF_NMSPECIALIZESHAPES
#include "neuromancer/dialect/Transforms/Passes.h.inc"

namespace {
using namespace mlir;

std::string inputName(func::FuncOp func, unsigned index) {
  if (auto name =
          func.getArgAttrOfType<StringAttr>(index, NmDialect::kInputAttrName))
    return name.str();
  return "#" + std::to_string(index);
}

std::string formatSizes(llvm::ArrayRef<int64_t> sizes) {
  std::string s = "(";
  for (size_t i = 0; i < sizes.size(); ++i)
    s += (i ? ", " : "") + (sizes[i] == ::nm::None ? std::string("None")
                                                   : std::to_string(sizes[i]));
  return s + (sizes.size() == 1 ? ",)" : ")");
}

/// The type of input argument `index` with `sizes` in place of its `?`s.
FailureOr<Type> refinedInputType(func::FuncOp func, unsigned index,
                                 llvm::ArrayRef<int64_t> sizes) {
  Type type = func.getArgument(index).getType();
  std::optional<::nm::TaggedShape> shape = getTaggedShape(type);
  if (!shape)
    return func.emitError() << "input '" << inputName(func, index)
                            << "' is not a tagged tensor: " << type;
  if (static_cast<int64_t>(sizes.size()) != shape->ndim())
    return func.emitError()
           << "input '" << inputName(func, index) << "' has " << shape->ndim()
           << " axes (" << shape->tagString() << "), the given shape "
           << formatSizes(sizes) << " has " << sizes.size();
  ::nm::TaggedShape refined = *shape;
  for (int64_t axis = 0; axis < shape->ndim(); ++axis) {
    int64_t want = (*shape)[axis];
    if (sizes[axis] < 1)
      return func.emitError()
             << "input '" << inputName(func, index) << "': axis '"
             << shape->tags()[axis] << "' cannot have size " << sizes[axis];
    if (want != ::nm::None && want != sizes[axis])
      return func.emitError() << "input '" << inputName(func, index)
                              << "': axis '" << shape->tags()[axis]
                              << "' has size " << want << ", the given shape "
                              << formatSizes(sizes) << " has " << sizes[axis];
    if (want == ::nm::None)
      refined = refined.updateShapeAt(axis, sizes[axis]);
  }
  return Type(getTaggedTensorType(
      refined, cast<RankedTensorType>(type).getElementType()));
}

} // namespace

LogicalResult reinferTypes(func::FuncOp func) {
  for (Operation &op : func.front().without_terminator()) {
    auto iface = dyn_cast<TaggedShapeInferenceInterface>(&op);
    if (!iface)
      continue;
    ::nm::Expected<::nm::TaggedShape> shape = iface.inferOutputShape();
    if (!shape)
      return op.emitOpError() << shape.message();
    Type elementType = iface.inferResultElementType();
    if (!elementType)
      return op.emitOpError() << "cannot infer the result element type";
    op.getResult(0).setType(getTaggedTensorType(*shape, elementType));
  }
  Operation *terminator = func.front().getTerminator();
  func.setFunctionType(FunctionType::get(func.getContext(),
                                         func.front().getArgumentTypes(),
                                         terminator->getOperandTypes()));
  return success();
}

FailureOr<std::vector<std::vector<int64_t>>>
parseShapeOptions(Operation *op, ArrayRef<std::string> shapes,
                  StringRef passName) {
  std::vector<std::vector<int64_t>> parsed;
  for (const std::string &text : shapes) {
    std::vector<int64_t> sizes;
    for (StringRef part : llvm::split(StringRef(text), 'x')) {
      int64_t v = 0;
      if (part.trim().getAsInteger(10, v))
        return op->emitError()
               << passName << ": cannot parse shape '" << text
               << "' (expected sizes joined by 'x', e.g. 1x1x23x185x185)";
      sizes.push_back(v);
    }
    parsed.push_back(std::move(sizes));
  }
  return parsed;
}

namespace {

struct SpecializeShapesPass
    : impl::NmSpecializeShapesBase<SpecializeShapesPass> {
  using NmSpecializeShapesBase::NmSpecializeShapesBase;

  void runOnOperation() override {
    auto parsed =
        parseShapeOptions(getOperation(), shapes, "nm-specialize-shapes");
    if (failed(parsed) || failed(specializeShapes(getOperation(), *parsed)))
      signalPassFailure();
  }
};
} // namespace

LogicalResult
specializeShapes(func::FuncOp func,
                 const std::vector<std::vector<int64_t>> &shapes) {
  if (func.isExternal() || !func.getBody().hasOneBlock())
    return func.emitError() << "nm-specialize-shapes needs a function with "
                               "one block";
  std::vector<unsigned> inputs;
  for (unsigned i = 0; i < func.getNumArguments(); ++i)
    if (func.getArgAttr(i, NmDialect::kInputAttrName))
      inputs.push_back(i);
  if (shapes.size() != inputs.size())
    return func.emitError() << inputs.size() << " input shapes required, "
                            << shapes.size() << " were given";
  for (size_t k = 0; k < inputs.size(); ++k) {
    FailureOr<Type> type = refinedInputType(func, inputs[k], shapes[k]);
    if (failed(type))
      return failure();
    func.getArgument(inputs[k]).setType(*type);
  }
  if (failed(reinferTypes(func)))
    return failure();
  return verify(func);
}

} // namespace nm::ir
