//===- CpuBackend.h - the compiler as the frontend's backend ----*- C++ -*-===//
//
// Registers the CPU compiler (driver/) as the frontend's backend
// (frontend/Backend.h). neuromancer/neuromancer.h calls it in every program
// that includes it; programs that include only frontend headers call it
// themselves. No MLIR here: the frontend-facing header stays light.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_COMPILER_BACKEND_CPUBACKEND_H
#define NEUROMANCER_COMPILER_BACKEND_CPUBACKEND_H

namespace nm {

/// Makes the CPU compiler the frontend's backend; idempotent, thread-safe.
void register_cpu_backend();

} // namespace nm

#endif // NEUROMANCER_COMPILER_BACKEND_CPUBACKEND_H
