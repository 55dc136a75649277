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
// C ABI and no MLIR/LLVM: AOT objects link against this library only.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_RUNTIME_THREADPOOL_H
#define NEUROMANCER_RUNTIME_THREADPOOL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A range of a parallel loop: iterations [begin, end) of the loop whose
/// captured values `ctx` points to.
typedef void (*nm_parallel_body)(void *ctx, int64_t begin, int64_t end);

/// Runs body over [0, n) on the pool; returns when every range is done.
void nm_runtime_parallel_for(nm_parallel_body body, void *ctx, int64_t n);

/// Sets the number of threads (caller included); n <= 0: the default.
void nm_runtime_set_num_threads(int n);

/// The current number of threads (>= 1).
int nm_runtime_get_num_threads(void);

/// Memory for the intermediate buffers of compiled code (their malloc and
/// free): 64-byte aligned. Large blocks are kept after free and handed out
/// again, so a function called repeatedly (a forward pass) reuses memory
/// that is already mapped instead of page-faulting fresh pages each call.
/// Blocks of 4 MiB and more start on a 2 MiB boundary and ask the kernel
/// for transparent huge pages (madvise), which conv windows walk with fewer
/// TLB misses.
void *nm_runtime_alloc(int64_t size);
void nm_runtime_free(void *ptr);
/// Returns the cached blocks to the system.
void nm_runtime_release_memory(void);

#ifdef __cplusplus
} // extern "C"

namespace nm {

/// C++ spellings of the C entry points above.
inline void set_num_threads(int n) { nm_runtime_set_num_threads(n); }
inline int get_num_threads() { return nm_runtime_get_num_threads(); }

/// The default thread count: $NEUROMANCER_NUM_THREADS if set to a positive
/// number, else the number of CPUs this process may run on.
int default_num_threads();

} // namespace nm
#endif

#endif // NEUROMANCER_RUNTIME_THREADPOOL_H
