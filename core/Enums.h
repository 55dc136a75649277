//===- Enums.h - ELEKTRONN2's option enumerations, parsed once --*- C++ -*-===//
//
// The frontend takes ELEKTRONN2's option strings ("relu", "maxout 2",
// "average", "train", ...); they are parsed here, once, into enums that the
// nm dialect stores as typed attributes (dialect/IR/NmEnums.td mirrors the
// numbering) and the compiler switches on. ConvMode lives in Geometry.h.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_CORE_ENUMS_H
#define NEUROMANCER_CORE_ENUMS_H

#include "neuromancer/core/Error.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace nm {

/// ELEKTRONN2's activation functions; aliases (sig/logistic/sigmoid,
/// lin/linear) share one kind.
enum class ActivationKind : uint32_t {
  Tanh = 0,
  Relu = 1,
  PRelu = 2,
  Elu = 3,
  Selu = 4,
  Abs = 5,
  Sigmoid = 6,
  SoftPlus = 7,
  Linear = 8,
  Concentration = 9,
  Radius = 10,
  Maxout = 11,
};

struct Activation {
  ActivationKind kind = ActivationKind::Relu;
  /// Maxout's r (>= 2); 1 for every other kind.
  int64_t maxout = 1;
  bool operator==(const Activation &) const = default;
};

/// "tanh", "relu", ..., "maxout <r>" (r >= 2); ValueError naming the
/// permitted activations otherwise (ELEKTRONN2's message).
Expected<Activation> parseActivation(std::string_view name);
/// ELEKTRONN2's name of a kind: "sig" for Sigmoid, "lin" for Linear,
/// "soft+" for SoftPlus, "maxout" for Maxout.
std::string_view activationName(ActivationKind kind);
/// The activation as ELEKTRONN2 writes it: "relu", "maxout 2".
std::string activationText(const Activation &activation);

/// Pool's `mode`.
enum class PoolMode : uint32_t {
  Max = 0,
  Average = 1,
  AverageIncPad = 2,
  AverageExcPad = 3,
  Sum = 4,
};
Expected<PoolMode> parsePoolMode(std::string_view mode);
std::string_view poolModeName(PoolMode mode);

/// A layer's `batch_normalisation` (absent: none).
enum class BatchNormMode : uint32_t { Train = 0, Fadeout = 1, Predict = 2 };
Expected<BatchNormMode> parseBatchNormMode(std::string_view mode);
std::string_view batchNormModeName(BatchNormMode mode);

/// LRN's `mode`.
enum class LRNMode : uint32_t { Spatial = 0, Channel = 1 };
Expected<LRNMode> parseLRNMode(std::string_view mode);
std::string_view lrnModeName(LRNMode mode);

} // namespace nm

#endif // NEUROMANCER_CORE_ENUMS_H
