//===- CallDetail.h - compiling graph functions (internal) ------*- C++ -*-===//
//
// Internal to //frontend: what node calls (Call.cpp), the model's
// designated functions and training (Training.cpp) share.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_FRONTEND_CALLDETAIL_H
#define NEUROMANCER_FRONTEND_CALLDETAIL_H

#include "neuromancer/frontend/Backend.h"
#include "neuromancer/runtime/Array.h"

#include <memory>
#include <string>
#include <vector>

namespace nm {
class Executable;

namespace detail {

/// True when some source of `outputs` has a None size: compiled code is
/// then specialised on the shapes of each call (ELEKTRONN2's functions
/// accept any size there).
bool needsSpecialisation(const std::vector<Node> &outputs);

/// The specialisation key of a call: its input shapes. TypeError with
/// ELEKTRONN2's count message when the number of inputs is wrong.
std::vector<Sizes> callShapes(const std::vector<Node> &outputs,
                              const std::vector<Array> &inputs);

/// `function` compiled through the registered backend, specialised on
/// `shapes` when given (None sizes); logs ELEKTRONN2's "Compiling <what>,
/// inputs=[...]" and " Compiling done  - in ..." lines.
std::shared_ptr<const Executable>
compileFunction(const GraphFunction &function, const std::string &what,
                const std::vector<Sizes> &shapes = {});

/// Runs `exe` on `inputs` and its bound `parameters` into fresh output
/// arrays (its signature's shapes); the call's wall time in `*seconds`.
std::vector<Array> runExecutable(const Executable &exe,
                                 const std::vector<Array> &inputs,
                                 const std::vector<const Array *> &parameters,
                                 double *seconds = nullptr);

} // namespace detail
} // namespace nm

#endif // NEUROMANCER_FRONTEND_CALLDETAIL_H
