//===- Error.h - neuromancer error types ------------------------*- C++ -*-===//
//
// ELEKTRONN2 signals bad input with Python exceptions (ValueError, KeyError,
// TypeError, ...). We keep those names so messages read the same, and add an
// `Expected<T>` so that code built without exceptions in mind (MLIR verifiers)
// can ask the same geometry rules and turn a failure into a diagnostic.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_CORE_ERROR_H
#define NEUROMANCER_CORE_ERROR_H

#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace nm {

enum class ErrorKind {
  Value,          // bad value or shape (Python ValueError)
  Key,            // unknown name (Python KeyError)
  Type,           // wrong number or kind of arguments (Python TypeError)
  NotImplemented, // documented but unsupported combination
  IO,             // file missing, unreadable or foreign
  Runtime,        // anything else
};

/// Base of every exception neuromancer throws; `what()` is the user message.
class Error : public std::runtime_error {
public:
  Error(ErrorKind kind, const std::string &message)
      : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

private:
  ErrorKind kind_;
};

#define NM_DECLARE_ERROR(NAME, KIND)                                           \
  class NAME : public Error {                                                  \
  public:                                                                      \
    explicit NAME(const std::string &message) : Error(KIND, message) {}        \
  };
NM_DECLARE_ERROR(ValueError, ErrorKind::Value)
NM_DECLARE_ERROR(KeyError, ErrorKind::Key)
NM_DECLARE_ERROR(TypeError, ErrorKind::Type)
NM_DECLARE_ERROR(NotImplementedError, ErrorKind::NotImplemented)
NM_DECLARE_ERROR(IOError, ErrorKind::IO)
NM_DECLARE_ERROR(RuntimeError, ErrorKind::Runtime)
#undef NM_DECLARE_ERROR

/// A computation produced a non-finite value (a training step whose loss or
/// gradient is NaN or infinite).
class NumericalError : public RuntimeError {
public:
  using RuntimeError::RuntimeError;
};

/// A failure as a value: kind + message.
struct Failure {
  ErrorKind kind = ErrorKind::Value;
  std::string message;
};

/// Throws the exception class that matches `failure.kind`.
[[noreturn]] void raise(const Failure &failure);

/// Either a value or a Failure. Geometry rules return this so that both the
/// frontend (which throws) and dialect verifiers (which emit diagnostics) can
/// use one implementation.
template <typename T> class Expected {
public:
  Expected(T value) : state_(std::move(value)) {}
  Expected(Failure failure) : state_(std::move(failure)) {}

  explicit operator bool() const { return state_.index() == 0; }
  const T &operator*() const { return std::get<0>(state_); }
  const T *operator->() const { return &std::get<0>(state_); }
  const Failure &failure() const { return std::get<1>(state_); }
  const std::string &message() const { return failure().message; }

  /// The value, or throws the matching exception.
  T take() && {
    if (!*this)
      raise(failure());
    return std::move(std::get<0>(state_));
  }

private:
  std::variant<T, Failure> state_;
};

inline Failure valueError(std::string message) {
  return Failure{ErrorKind::Value, std::move(message)};
}

} // namespace nm

#endif // NEUROMANCER_CORE_ERROR_H
