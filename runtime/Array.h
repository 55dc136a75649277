//===- Array.h - owned, aligned, shaped, typed buffers ----------*- C++ -*-===//
//
// nm::Array is what users feed to compiled functions and what parameters live
// in: a contiguous, row-major (C order) buffer aligned to 64 bytes, with a
// shape and a dtype. Copies are deep; moves are cheap.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_RUNTIME_ARRAY_H
#define NEUROMANCER_RUNTIME_ARRAY_H

#include "neuromancer/core/DType.h"

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace nm {

class Array {
public:
  static constexpr std::size_t kAlignment = 64;

  /// An empty float32 array of shape (0,).
  Array();
  /// Zero-filled array.
  explicit Array(std::vector<int64_t> shape, DType dtype = DType::Float32);
  Array(const Array &other);
  Array &operator=(const Array &other);
  Array(Array &&other) noexcept = default;
  Array &operator=(Array &&other) noexcept = default;

  /// Array filled with `value` (converted to dtype).
  static Array full(std::vector<int64_t> shape, double value,
                    DType dtype = DType::Float32);
  /// float32 array from values; `shape` product must equal values.size().
  static Array fromVector(std::vector<int64_t> shape,
                          const std::vector<float> &values);

  const std::vector<int64_t> &shape() const { return shape_; }
  int64_t ndim() const { return static_cast<int64_t>(shape_.size()); }
  int64_t size() const { return size_; }
  DType dtype() const { return dtype_; }
  std::size_t nbytes() const { return size_ * dtypeSize(dtype_); }

  void *raw() { return data_.get(); }
  const void *raw() const { return data_.get(); }
  /// Typed access; throws TypeError when T does not match dtype.
  template <typename T> T *data();
  template <typename T> const T *data() const;

  /// Element i (flat index) converted to double; any dtype.
  double getFlat(int64_t i) const;
  void setFlat(int64_t i, double value);
  /// Copy converted to `dtype`.
  Array astype(DType dtype) const;

  /// Same shape, dtype and bytes.
  bool operator==(const Array &other) const;
  bool operator!=(const Array &other) const { return !(*this == other); }

  /// "(10, 3, 23)" — the shape as numpy prints it.
  std::string shapeString() const;

private:
  struct Free {
    void operator()(void *p) const;
  };
  std::vector<int64_t> shape_;
  int64_t size_ = 0;
  DType dtype_ = DType::Float32;
  std::unique_ptr<void, Free> data_;
};

template <typename T> struct DTypeOf;
template <> struct DTypeOf<float> {
  static constexpr DType value = DType::Float32;
};
template <> struct DTypeOf<double> {
  static constexpr DType value = DType::Float64;
};
template <> struct DTypeOf<int8_t> {
  static constexpr DType value = DType::Int8;
};
template <> struct DTypeOf<int16_t> {
  static constexpr DType value = DType::Int16;
};
template <> struct DTypeOf<int32_t> {
  static constexpr DType value = DType::Int32;
};
template <> struct DTypeOf<int64_t> {
  static constexpr DType value = DType::Int64;
};
template <> struct DTypeOf<uint8_t> {
  static constexpr DType value = DType::UInt8;
};
template <> struct DTypeOf<uint16_t> {
  static constexpr DType value = DType::UInt16;
};
template <> struct DTypeOf<uint32_t> {
  static constexpr DType value = DType::UInt32;
};
template <> struct DTypeOf<uint64_t> {
  static constexpr DType value = DType::UInt64;
};
template <> struct DTypeOf<bool> {
  static constexpr DType value = DType::Bool;
};

void throwDTypeMismatch(DType have, DType want);

template <typename T> T *Array::data() {
  if (DTypeOf<T>::value != dtype_)
    throwDTypeMismatch(dtype_, DTypeOf<T>::value);
  return static_cast<T *>(data_.get());
}

template <typename T> const T *Array::data() const {
  if (DTypeOf<T>::value != dtype_)
    throwDTypeMismatch(dtype_, DTypeOf<T>::value);
  return static_cast<const T *>(data_.get());
}

} // namespace nm

#endif // NEUROMANCER_RUNTIME_ARRAY_H
