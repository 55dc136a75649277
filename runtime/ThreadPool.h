//===- ThreadPool.h - threads and memory of compiled code -------*- C++ -*-===//
//
// Compiled functions (JIT and AOT alike) split the outermost parallel tile
// loop of each big op into ranges and hand them to
//
//   nm_runtime_parallel_for(body, ctx, n)
//
// which calls body(ctx, begin, end) on disjoint ranges covering [0, n),
// on the calling thread and the pool's workers, and returns when all ranges
// are done. The caller always takes part, so a pool of T threads has T - 1
// workers. A call made from inside a body (nested), or while another thread
// is using the pool, runs serially on the calling thread.
//
// Thread count: all cores by default (the CPUs this process may run on);
// the environment variable NEUROMANCER_NUM_THREADS overrides the default;
// nm_runtime_set_num_threads(n) / nm::set_num_threads(n) set it at run time
// (n <= 0 restores the default).
//
// Memory: nm_runtime_alloc/free serve the intermediate buffers of compiled
// code. Each call of a compiled function has a call state (the calling
// thread's; pool workers use the caller's while they run its chunks) that
// holds the blocks in use and the call's first failure: a refusal by
// nm_runtime_check_temp_bytes (the compile-time estimate over
// NEUROMANCER_MAX_TEMP_BYTES or the physical memory) or a failed
// allocation. After a failure allocations return NULL and parallel loops
// run nothing, so the compiled code (which tests both) returns early; the
// caller then takes the failure (nm_runtime_call_status, takeCallFailure),
// which frees the blocks the call left.
//
// C ABI and no MLIR/LLVM: AOT objects link against this library only.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_RUNTIME_THREADPOOL_H
#define NEUROMANCER_RUNTIME_THREADPOOL_H

// The C declarations (nm_runtime_parallel_for, nm_runtime_alloc, ...) are
// those of the runtime's one ABI header.
#include "neuromancer_runtime.h"

#ifdef __cplusplus

namespace nm {

/// C++ spellings of the C entry points above.
inline void set_num_threads(int n) { nm_runtime_set_num_threads(n); }
inline int get_num_threads() { return nm_runtime_get_num_threads(); }

/// The default thread count: $NEUROMANCER_NUM_THREADS if set to a positive
/// number, else the number of CPUs this process may run on.
int default_num_threads();

/// Why the last call of a compiled function on this thread failed.
struct CallFailure {
  /// true: refused before it ran (its estimate `bytes` of intermediate
  /// buffers exceeds `limit`, nm_runtime_max_temp_bytes); false: an
  /// allocation of `bytes` failed.
  bool refused = false;
  int64_t bytes = 0;
  int64_t limit = 0;
};

/// nm_runtime_call_status with the details: false if the last call on this
/// thread succeeded; else fills `failure`, frees what the call left
/// allocated and clears the state.
bool takeCallFailure(CallFailure &failure);

} // namespace nm
#endif

#endif // NEUROMANCER_RUNTIME_THREADPOOL_H
