//===- RuntimeSymbols.h - runtime names that generated code calls -*- C++
//-*-===//
//
// The code generator emits calls to the runtime (the parallel loop, the
// allocator), the JIT resolves them, and `neuromancer compile` renames libm
// calls into the runtime. Each name here is taken from the declaration in
// the ABI header neuromancer_runtime.h: NM_RUNTIME_SYMBOL fails to compile
// if the function is not declared there, so the compiler and the runtime
// cannot drift apart.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_RUNTIME_RUNTIMESYMBOLS_H
#define NEUROMANCER_RUNTIME_RUNTIMESYMBOLS_H

#include "neuromancer/runtime/Executable.h"
#include "neuromancer_runtime.h"

/// The name of a function declared in neuromancer_runtime.h (sizeof keeps
/// the check at compile time, without referencing the symbol).
#define NM_RUNTIME_SYMBOL(fn) (static_cast<void>(sizeof(&fn)), #fn)

namespace nm::runtime_symbols {

inline constexpr const char *kParallelFor =
    NM_RUNTIME_SYMBOL(nm_runtime_parallel_for);
inline constexpr const char *kAlloc = NM_RUNTIME_SYMBOL(nm_runtime_alloc);
inline constexpr const char *kFree = NM_RUNTIME_SYMBOL(nm_runtime_free);
/// Out-of-memory safety (MemoryChecks.cpp): the entry's check of the
/// estimate, the test after a called body.
inline constexpr const char *kCheckTempBytes =
    NM_RUNTIME_SYMBOL(nm_runtime_check_temp_bytes);
inline constexpr const char *kCallFailed =
    NM_RUNTIME_SYMBOL(nm_runtime_call_failed);
/// Every runtime symbol starts with it.
inline constexpr const char *kPrefix = "nm_runtime_";
/// libm function `f` of an AOT object becomes kLibmPrefix + f.
inline constexpr const char *kLibmPrefix = NM_RUNTIME_LIBM_PREFIX;
/// Packed entry of compiled function `f`: kPackedPrefix + f (Executable.h).
inline constexpr const char *kPackedPrefix = kPackedEntryPrefix;

} // namespace nm::runtime_symbols

#endif // NEUROMANCER_RUNTIME_RUNTIMESYMBOLS_H
