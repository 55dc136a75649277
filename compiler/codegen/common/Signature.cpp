//===- Signature.cpp - the ABI of a compiled function ---------------------===//
#include "neuromancer/compiler/codegen/common/Signature.h"
#include "neuromancer/compiler/codegen/common/Utils.h"

#include "neuromancer/core/DType.h"
#include "neuromancer/dialect/IR/NmDialect.h"

#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace nm::codegen {

namespace {

llvm::Expected<DType> dtypeOf(Type type, DictionaryAttr attrs) {
  if (attrs)
    if (auto name = attrs.getAs<StringAttr>(ir::NmDialect::kDTypeAttrName)) {
      try {
        return parseDType(name.getValue());
      } catch (const std::exception &e) {
        return makeError(e.what());
      }
    }
  if (type.isF32())
    return DType::Float32;
  if (type.isF64())
    return DType::Float64;
  if (type.isInteger(1))
    return DType::Bool;
  if (auto it = dyn_cast<IntegerType>(type)) {
    bool u = it.isUnsigned();
    switch (it.getWidth()) {
    case 8:
      return u ? DType::UInt8 : DType::Int8;
    case 16:
      return u ? DType::UInt16 : DType::Int16;
    case 32:
      return u ? DType::UInt32 : DType::Int32;
    case 64:
      return u ? DType::UInt64 : DType::Int64;
    }
  }
  std::string s;
  llvm::raw_string_ostream(s) << type;
  return makeError("unsupported element type " + s);
}

llvm::Expected<ArgSpec> argSpec(Type type, DictionaryAttr attrs,
                                const std::string &defaultName) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || !tensor.hasStaticShape()) {
    std::string s;
    llvm::raw_string_ostream(s) << type;
    return makeError("'" + defaultName +
                     "': expected a statically shaped tensor, got " + s);
  }
  ArgSpec spec;
  spec.name = defaultName;
  if (attrs)
    if (auto name = attrs.getAs<StringAttr>(ir::NmDialect::kNameAttrName))
      spec.name = name.str();
  spec.shape.assign(tensor.getShape().begin(), tensor.getShape().end());
  auto dtype = dtypeOf(tensor.getElementType(), attrs);
  if (!dtype)
    return dtype.takeError();
  spec.dtype = *dtype;
  return spec;
}

} // namespace

llvm::Expected<FunctionSignature> signatureOf(func::FuncOp func) {
  FunctionSignature sig;
  sig.entry = func.getSymName().str();
  FunctionType type = func.getFunctionType();
  for (unsigned i = 0; i < type.getNumInputs(); ++i) {
    DictionaryAttr attrs = func.getArgAttrDict(i);
    bool isParam = attrs && attrs.get(ir::NmDialect::kParameterAttrName);
    auto spec = argSpec(type.getInput(i), attrs,
                        (isParam ? "param" : "arg") + std::to_string(i));
    if (!spec)
      return spec.takeError();
    if (!isParam && !sig.parameters.empty())
      return makeError("function '" + sig.entry +
                       "': parameters must follow the inputs");
    (isParam ? sig.parameters : sig.inputs).push_back(std::move(*spec));
  }
  for (unsigned i = 0; i < type.getNumResults(); ++i) {
    auto spec = argSpec(type.getResult(i), func.getResultAttrDict(i),
                        "result" + std::to_string(i));
    if (!spec)
      return spec.takeError();
    sig.outputs.push_back(std::move(*spec));
  }
  if (sig.outputs.empty())
    return makeError("function '" + sig.entry + "' has no results");
  return sig;
}

} // namespace nm::codegen
