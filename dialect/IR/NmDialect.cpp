//===- NmDialect.cpp - the nm dialect -------------------------------------===//
#include "neuromancer/dialect/IR/NmDialect.h"

#include "neuromancer/dialect/IR/NmAttrs.h"
#include "neuromancer/dialect/IR/NmOps.h"

#include "neuromancer/core/DType.h"
#include "neuromancer/core/Error.h"

#include "mlir/Interfaces/FunctionInterfaces.h"

using namespace mlir;

#include "neuromancer/dialect/IR/NmDialect.cpp.inc"

namespace nm::ir {
namespace {

/// Checks one nm argument/result attribute by its declared kind.
LogicalResult verifyFunctionAttr(Operation *op, NamedAttribute attr,
                                 bool isArgument) {
  StringRef name = attr.getName().getValue();
  auto expect = [&](bool ok, StringRef kind) -> LogicalResult {
    if (ok)
      return success();
    return op->emitOpError() << "'" << name << "' must be " << kind << ", got "
                             << attr.getValue();
  };
  Attribute value = attr.getValue();
  if (name == NmDialect::kNameAttrName)
    return expect(isa<StringAttr>(value), "a string");
  if (name == NmDialect::kDTypeAttrName) {
    auto s = dyn_cast<StringAttr>(value);
    if (failed(expect(bool(s), "a string")))
      return failure();
    try {
      (void)::nm::parseDType(s.getValue());
    } catch (const ::nm::Error &e) {
      return op->emitOpError() << "'" << name << "': " << e.what();
    }
    return success();
  }
  if (isArgument &&
      (name == NmDialect::kInputAttrName || name == NmDialect::kParamAttrName))
    return expect(isa<StringAttr>(value), "a string");
  if (isArgument && name == NmDialect::kWeightDecayAttrName)
    return expect(isa<FloatAttr>(value), "a float");
  if (isArgument && (name == NmDialect::kTrainableAttrName ||
                     name == NmDialect::kParameterAttrName))
    return expect(isa<UnitAttr>(value), "a unit attribute");
  return op->emitOpError() << "unknown nm "
                           << (isArgument ? "argument" : "result")
                           << " attribute '" << name << "'";
}

} // namespace

LogicalResult NmDialect::verifyRegionArgAttribute(Operation *op, unsigned,
                                                  unsigned argIndex,
                                                  NamedAttribute attr) {
  if (failed(verifyFunctionAttr(op, attr, /*isArgument=*/true)))
    return failure();
  // A trained parameter is a parameter.
  auto func = dyn_cast<FunctionOpInterface>(op);
  if (func && attr.getName() == kTrainableAttrName &&
      !func.getArgAttr(argIndex, kParamAttrName))
    return op->emitOpError()
           << "argument " << argIndex << ": '" << kTrainableAttrName
           << "' without '" << kParamAttrName << "'";
  if (func && attr.getName() == kInputAttrName &&
      func.getArgAttr(argIndex, kParamAttrName))
    return op->emitOpError()
           << "argument " << argIndex << " is both '" << kInputAttrName
           << "' and '" << kParamAttrName << "'";
  return success();
}

LogicalResult NmDialect::verifyRegionResultAttribute(Operation *op, unsigned,
                                                     unsigned,
                                                     NamedAttribute attr) {
  return verifyFunctionAttr(op, attr, /*isArgument=*/false);
}

void NmDialect::initialize() {
  registerAttributes();
  addOperations<
#define GET_OP_LIST
#include "neuromancer/dialect/IR/NmOps.cpp.inc"
      >();
}
} // namespace nm::ir
