//===- Array.cpp ----------------------------------------------------------===//
#include "neuromancer/runtime/Array.h"

#include "neuromancer/core/Error.h"
#include "neuromancer/core/Format.h"

#include <cstdlib>
#include <cstring>

namespace nm {
namespace {

int64_t checkedSize(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t s : shape) {
    if (s < 0)
      throw ValueError("Array shape " + formatTuple(shape) +
                       " has a negative or unknown (None) size");
    n *= s;
  }
  return n;
}

template <typename Fn> auto visit(DType dtype, Fn &&fn) {
  switch (dtype) {
  case DType::Float32:
    return fn(float{});
  case DType::Float64:
    return fn(double{});
  case DType::Int8:
    return fn(int8_t{});
  case DType::Int16:
    return fn(int16_t{});
  case DType::Int32:
    return fn(int32_t{});
  case DType::Int64:
    return fn(int64_t{});
  case DType::UInt8:
    return fn(uint8_t{});
  case DType::UInt16:
    return fn(uint16_t{});
  case DType::UInt32:
    return fn(uint32_t{});
  case DType::UInt64:
    return fn(uint64_t{});
  case DType::Bool:
    return fn(bool{});
  }
  return fn(float{});
}

} // namespace

void Array::Free::operator()(void *p) const { std::free(p); }

void throwDTypeMismatch(DType have, DType want) {
  throw TypeError("Array holds " + dtypeName(have) + ", accessed as " +
                  dtypeName(want));
}

Array::Array() : Array(std::vector<int64_t>{0}) {}

Array::Array(std::vector<int64_t> shape, DType dtype)
    : shape_(std::move(shape)), dtype_(dtype) {
  size_ = checkedSize(shape_);
  // aligned_alloc wants a multiple of the alignment; never ask for 0 bytes.
  std::size_t bytes = nbytes();
  std::size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  void *p = std::aligned_alloc(kAlignment, rounded ? rounded : kAlignment);
  if (!p)
    throw RuntimeError("out of memory allocating an array of shape " +
                       formatTuple(shape_));
  std::memset(p, 0, rounded ? rounded : kAlignment);
  data_.reset(p);
}

Array::Array(const Array &other) : Array(other.shape_, other.dtype_) {
  std::memcpy(raw(), other.raw(), nbytes());
}

Array &Array::operator=(const Array &other) {
  if (this != &other)
    *this = Array(other);
  return *this;
}

Array Array::full(std::vector<int64_t> shape, double value, DType dtype) {
  Array a(std::move(shape), dtype);
  for (int64_t i = 0; i < a.size(); ++i)
    a.setFlat(i, value);
  return a;
}

Array Array::fromVector(std::vector<int64_t> shape,
                        const std::vector<float> &values) {
  Array a(std::move(shape), DType::Float32);
  if (static_cast<int64_t>(values.size()) != a.size())
    throw ValueError("Array::fromVector: " + std::to_string(values.size()) +
                     " values do not fill shape " + a.shapeString());
  std::memcpy(a.raw(), values.data(), a.nbytes());
  return a;
}

double Array::getFlat(int64_t i) const {
  return visit(dtype_, [&](auto tag) {
    using T = decltype(tag);
    return static_cast<double>(static_cast<const T *>(raw())[i]);
  });
}

void Array::setFlat(int64_t i, double value) {
  visit(dtype_, [&](auto tag) {
    using T = decltype(tag);
    static_cast<T *>(raw())[i] = static_cast<T>(value);
    return 0;
  });
}

Array Array::astype(DType dtype) const {
  Array out(shape_, dtype);
  for (int64_t i = 0; i < size_; ++i)
    out.setFlat(i, getFlat(i));
  return out;
}

bool Array::operator==(const Array &other) const {
  return shape_ == other.shape_ && dtype_ == other.dtype_ &&
         std::memcmp(raw(), other.raw(), nbytes()) == 0;
}

std::string Array::shapeString() const { return formatTuple(shape_); }

} // namespace nm
