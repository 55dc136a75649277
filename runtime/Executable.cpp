//===- Executable.cpp - checked calls of compiled functions ---------------===//
#include "neuromancer/runtime/Executable.h"

#include "neuromancer/core/Error.h"
#include "neuromancer/core/Format.h"
#include "neuromancer/runtime/Array.h"
#include "neuromancer/runtime/ThreadPool.h"

#include <cstdio>
#include <utility>

namespace nm {

int64_t ArgSpec::size() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

Executable::Executable(FunctionSignature signature, PackedFunction function,
                       std::shared_ptr<void> owner)
    : signature_(std::move(signature)), function_(function),
      owner_(std::move(owner)) {
  if (!function_)
    throw RuntimeError("Executable '" + signature_.entry +
                       "' has no entry point");
}

namespace {

std::string countMessage(const char *what, size_t required, size_t given) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "\n %i %s required, %i were given.",
                static_cast<int>(required), what, static_cast<int>(given));
  return buf;
}

/// Validates `given` against `specs`; throws TypeError on any mismatch.
template <typename ArrayPtr>
void check(const char *what, const std::vector<ArgSpec> &specs,
           const std::vector<ArrayPtr> &given) {
  if (specs.size() != given.size())
    throw TypeError(countMessage(what, specs.size(), given.size()));
  bool ok = true;
  for (size_t i = 0; i < specs.size(); ++i)
    ok = ok && given[i] && given[i]->shape() == specs[i].shape &&
         given[i]->dtype() == specs[i].dtype;
  if (ok)
    return;
  std::string message = "\nShapes (required - given):\n";
  for (size_t i = 0; i < specs.size(); ++i) {
    message += " " + formatTuple(specs[i].shape) + " " +
               dtypeName(specs[i].dtype) + "\t";
    message +=
        given[i] ? given[i]->shapeString() + " " + dtypeName(given[i]->dtype())
                 : std::string("None None");
    message += "\n";
  }
  throw TypeError(message);
}

/// "128.0 GB", "1.5 MB", "512 bytes" (powers of 1024, one decimal).
std::string formatBytes(int64_t bytes) {
  if (bytes < 1024)
    return std::to_string(bytes) + " bytes";
  const char *units[] = {"KB", "MB", "GB", "TB", "PB", "EB"};
  double value = static_cast<double>(bytes) / 1024;
  int unit = 0;
  while (value >= 1024 && unit < 5) {
    value /= 1024;
    ++unit;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f %s", value, units[unit]);
  return buf;
}

/// The RuntimeError of a call that failed for lack of memory.
RuntimeError outOfMemory(const std::string &function,
                         const CallFailure &failure) {
  if (failure.refused)
    return RuntimeError(
        "'" + function + "' needs " + formatBytes(failure.bytes) +
        " of intermediate buffers, more than the limit of " +
        formatBytes(failure.limit) +
        " (NEUROMANCER_MAX_TEMP_BYTES, default the physical memory); it "
        "was not run");
  return RuntimeError("out of memory allocating " + formatBytes(failure.bytes) +
                      " for '" + function + "'");
}

} // namespace

void Executable::call(const std::vector<const Array *> &inputs,
                      const std::vector<Array *> &outputs) const {
  call(inputs, {}, outputs);
}

void Executable::call(const std::vector<const Array *> &inputs,
                      const std::vector<const Array *> &parameters,
                      const std::vector<Array *> &outputs) const {
  check("inputs", signature_.inputs, inputs);
  check("parameters", signature_.parameters, parameters);
  check("outputs", signature_.outputs, outputs);
  std::vector<void *> args;
  args.reserve(inputs.size() + parameters.size() + outputs.size());
  for (const Array *a : inputs)
    args.push_back(const_cast<void *>(a->raw()));
  for (const Array *a : parameters)
    args.push_back(const_cast<void *>(a->raw()));
  for (Array *a : outputs)
    args.push_back(a->raw());
  callUnchecked(args);
}

void Executable::callUnchecked(const std::vector<void *> &args) const {
  // The packed ABI takes pointers *to* the bare pointers.
  std::vector<void *> slots(args.size());
  for (size_t i = 0; i < args.size(); ++i)
    slots[i] = const_cast<void **>(&args[i]);
  function_(slots.data());
  // The compiled code returns early when it is refused or an allocation
  // fails (ThreadPool.h); the outputs are then unspecified.
  CallFailure failure;
  if (takeCallFailure(failure))
    throw outOfMemory(signature_.entry, failure);
}

} // namespace nm
