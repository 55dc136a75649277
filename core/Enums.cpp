//===- Enums.cpp - ELEKTRONN2's option enumerations, parsed once ----------===//
#include "neuromancer/core/Enums.h"

#include <optional>
#include <utility>

namespace nm {
namespace {

template <typename E>
using NameTable = std::initializer_list<std::pair<std::string_view, E>>;

template <typename E>
std::optional<E> lookup(NameTable<E> table, std::string_view name) {
  for (const auto &[text, value] : table)
    if (text == name)
      return value;
  return std::nullopt;
}

template <typename E> std::string_view nameOf(NameTable<E> table, E value) {
  for (const auto &[text, v] : table)
    if (v == value)
      return text;
  return "?";
}

// The first name of a kind is its ELEKTRONN2 spelling; later ones are
// aliases accepted when parsing.
const NameTable<ActivationKind> kActivations = {
    {"tanh", ActivationKind::Tanh},
    {"relu", ActivationKind::Relu},
    {"prelu", ActivationKind::PRelu},
    {"elu", ActivationKind::Elu},
    {"selu", ActivationKind::Selu},
    {"abs", ActivationKind::Abs},
    {"sig", ActivationKind::Sigmoid},
    {"logistic", ActivationKind::Sigmoid},
    {"sigmoid", ActivationKind::Sigmoid},
    {"soft+", ActivationKind::SoftPlus},
    {"lin", ActivationKind::Linear},
    {"linear", ActivationKind::Linear},
    {"concentration", ActivationKind::Concentration},
    {"radius", ActivationKind::Radius},
    {"maxout", ActivationKind::Maxout},
};

const NameTable<PoolMode> kPoolModes = {
    {"max", PoolMode::Max},
    {"average", PoolMode::Average},
    {"average_inc_pad", PoolMode::AverageIncPad},
    {"average_exc_pad", PoolMode::AverageExcPad},
    {"sum", PoolMode::Sum},
};

const NameTable<BatchNormMode> kBatchNormModes = {
    {"train", BatchNormMode::Train},
    {"fadeout", BatchNormMode::Fadeout},
    {"predict", BatchNormMode::Predict},
};

const NameTable<LRNMode> kLRNModes = {
    {"spatial", LRNMode::Spatial},
    {"channel", LRNMode::Channel},
};

/// "maxout <r>" with r >= 2 -> r.
std::optional<int64_t> maxoutFactorOf(std::string_view name) {
  constexpr std::string_view kMaxout = "maxout ";
  if (name.substr(0, kMaxout.size()) != kMaxout)
    return std::nullopt;
  std::string_view digits = name.substr(kMaxout.size());
  if (digits.empty() || digits.size() >= 10)
    return std::nullopt;
  int64_t r = 0;
  for (char c : digits) {
    if (c < '0' || c > '9')
      return std::nullopt;
    r = r * 10 + (c - '0');
  }
  if (r < 2)
    return std::nullopt;
  return r;
}

} // namespace

Expected<Activation> parseActivation(std::string_view name) {
  if (std::optional<int64_t> r = maxoutFactorOf(name))
    return Activation{ActivationKind::Maxout, *r};
  std::optional<ActivationKind> kind = lookup(kActivations, name);
  if (kind && *kind != ActivationKind::Maxout)
    return Activation{*kind, 1};
  return valueError("Unknown activation_func '" + std::string(name) +
                    "'. Permitted activation_funcs: ['tanh', 'relu', "
                    "'prelu', 'elu', 'selu', 'abs', 'sig', 'logistic', "
                    "'sigmoid', 'soft+', 'lin', 'linear', 'concentration', "
                    "'radius', 'maxout <r>'] (r >= 2)");
}

std::string_view activationName(ActivationKind kind) {
  return nameOf(kActivations, kind);
}

std::string activationText(const Activation &activation) {
  std::string text(activationName(activation.kind));
  if (activation.kind == ActivationKind::Maxout)
    text += " " + std::to_string(activation.maxout);
  return text;
}

Expected<PoolMode> parsePoolMode(std::string_view mode) {
  if (std::optional<PoolMode> m = lookup(kPoolModes, mode))
    return *m;
  return valueError("Unknown pooling mode '" + std::string(mode) +
                    "'; expected max, average, average_inc_pad, "
                    "average_exc_pad or sum");
}

std::string_view poolModeName(PoolMode mode) {
  return nameOf(kPoolModes, mode);
}

Expected<BatchNormMode> parseBatchNormMode(std::string_view mode) {
  if (std::optional<BatchNormMode> m = lookup(kBatchNormModes, mode))
    return *m;
  return valueError("Unknown value '" + std::string(mode) +
                    "' for batch_normalisation; expected 'train', 'fadeout' "
                    "or 'predict'");
}

std::string_view batchNormModeName(BatchNormMode mode) {
  return nameOf(kBatchNormModes, mode);
}

Expected<LRNMode> parseLRNMode(std::string_view mode) {
  if (std::optional<LRNMode> m = lookup(kLRNModes, mode))
    return *m;
  return valueError("Unknown LRN mode '" + std::string(mode) +
                    "'; expected 'spatial' or 'channel'");
}

std::string_view lrnModeName(LRNMode mode) { return nameOf(kLRNModes, mode); }

} // namespace nm
