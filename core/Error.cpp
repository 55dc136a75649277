//===- Error.cpp ----------------------------------------------------------===//
#include "neuromancer/core/Error.h"

namespace nm {

void raise(const Failure &failure) {
  switch (failure.kind) {
  case ErrorKind::Value:
    throw ValueError(failure.message);
  case ErrorKind::Key:
    throw KeyError(failure.message);
  case ErrorKind::Type:
    throw TypeError(failure.message);
  case ErrorKind::NotImplemented:
    throw NotImplementedError(failure.message);
  case ErrorKind::IO:
    throw IOError(failure.message);
  case ErrorKind::Runtime:
    break;
  }
  throw RuntimeError(failure.message);
}

} // namespace nm
