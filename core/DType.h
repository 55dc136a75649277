//===- DType.h - element types --------------------------------*- C++ -*-===//
#ifndef NEUROMANCER_CORE_DTYPE_H
#define NEUROMANCER_CORE_DTYPE_H

#include <cstddef>
#include <string>
#include <string_view>

namespace nm {

/// Element types, named as numpy names them. `floatX` (Theano's default float)
/// is float32.
enum class DType {
  Float32,
  Float64,
  Int8,
  Int16,
  Int32,
  Int64,
  UInt8,
  UInt16,
  UInt32,
  UInt64,
  Bool,
};

/// Parses "float32", "floatX", "int16", ...; throws ValueError otherwise.
DType parseDType(std::string_view name);
/// The numpy name, e.g. "float32".
std::string dtypeName(DType dtype);
std::size_t dtypeSize(DType dtype);
bool isFloat(DType dtype);

} // namespace nm

#endif // NEUROMANCER_CORE_DTYPE_H
