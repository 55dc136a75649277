//===- DType.cpp ----------------------------------------------------------===//
#include "neuromancer/core/DType.h"

#include "neuromancer/core/Error.h"

#include <array>
#include <utility>

namespace nm {
namespace {
struct DTypeInfo {
  DType dtype;
  const char *name;
  std::size_t size;
};
constexpr std::array<DTypeInfo, 11> kDTypes = {{
    {DType::Float32, "float32", 4},
    {DType::Float64, "float64", 8},
    {DType::Int8, "int8", 1},
    {DType::Int16, "int16", 2},
    {DType::Int32, "int32", 4},
    {DType::Int64, "int64", 8},
    {DType::UInt8, "uint8", 1},
    {DType::UInt16, "uint16", 2},
    {DType::UInt32, "uint32", 4},
    {DType::UInt64, "uint64", 8},
    {DType::Bool, "bool", 1},
}};

const DTypeInfo &info(DType dtype) {
  for (const DTypeInfo &i : kDTypes)
    if (i.dtype == dtype)
      return i;
  throw ValueError("unknown dtype enumerator");
}
} // namespace

DType parseDType(std::string_view name) {
  if (name == "floatX" || name == "float")
    return DType::Float32;
  for (const DTypeInfo &i : kDTypes)
    if (name == i.name)
      return i.dtype;
  std::string known;
  for (const DTypeInfo &i : kDTypes)
    known += std::string(known.empty() ? "" : ", ") + i.name;
  throw ValueError("Unknown dtype '" + std::string(name) +
                   "'; known dtypes: floatX, " + known);
}

std::string dtypeName(DType dtype) { return info(dtype).name; }
std::size_t dtypeSize(DType dtype) { return info(dtype).size; }
bool isFloat(DType dtype) {
  return dtype == DType::Float32 || dtype == DType::Float64;
}

} // namespace nm
