/*===- neuromancer_runtime.h - the C API of libneuromancer_runtime -----===*
 *
 * What a program that embeds ahead-of-time compiled models (`neuromancer
 * compile`, see the README's "C embedding / AOT") links besides the
 * objects: libneuromancer_runtime.so or libneuromancer_runtime.a. Plain C99,
 * usable from C++ (extern "C"); no MLIR, no LLVM.
 *
 *  - Status codes: every generated entry point returns an int, NM_OK (0)
 *    on success; nm_status_string() names the others.
 *  - Threads: compiled functions split their big loops over one
 *    process-wide pool that uses all cores by default
 *    ($NEUROMANCER_NUM_THREADS overrides the default);
 *    nm_runtime_set_num_threads(n) changes it at run time (n <= 0: back to
 *    the default, 1: everything on the calling thread). The pool is the
 *    only global state; compiled functions are reentrant (a call made
 *    while another thread uses the pool runs on its own thread).
 *
 *===------------------------------------------------------------------===*/
#ifndef NEUROMANCER_RUNTIME_H
#define NEUROMANCER_RUNTIME_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Version of this API; the runtime library reports its own with
 * nm_runtime_version(). */
#define NM_RUNTIME_API_VERSION 1

/* Status codes returned by the generated entry points. */
enum nm_status {
  NM_OK = 0,
  /* A required pointer argument was NULL. */
  NM_ERROR_NULL_POINTER = 1,
  /* An argument has a value the function does not accept. */
  NM_ERROR_INVALID_ARGUMENT = 2,
  /* This CPU lacks an instruction-set feature the object was compiled for
   * (see `neuromancer compile --cpu`). */
  NM_ERROR_UNSUPPORTED_CPU = 3,
  /* The call's intermediate buffers exceed the limit (see
   * nm_runtime_max_temp_bytes), or one of them could not be allocated;
   * the outputs are unspecified and everything the call allocated has
   * been freed. */
  NM_ERROR_OUT_OF_MEMORY = 4
};

/* A constant English text for a status code ("ok", "null pointer", ...). */
const char *nm_status_string(int status);

/* The runtime library's version, e.g. "neuromancer runtime 0.1 (API 1)". */
const char *nm_runtime_version(void);

/* The API version the runtime library implements (NM_RUNTIME_API_VERSION
 * of the header it was built with). */
int nm_runtime_api_version(void);

/* NM_OK when this CPU has every feature of `features`, a comma-separated
 * list of LLVM's x86 feature names ("avx2,fma,avx512f"); unknown names are
 * ignored. NM_ERROR_UNSUPPORTED_CPU otherwise. Generated entry points call
 * it with the features their object was compiled for. */
int nm_runtime_check_cpu(const char *features);

/* Sets the number of threads compiled code uses (caller included), at most
 * 1024; n <= 0: the default (all cores, or $NEUROMANCER_NUM_THREADS when it
 * is a number from 1 to 1024; another value is reported once on stderr and
 * ignored). */
void nm_runtime_set_num_threads(int n);

/* The current number of threads (>= 1). */
int nm_runtime_get_num_threads(void);

/* The most bytes of intermediate buffers one call of a compiled function
 * may need: $NEUROMANCER_MAX_TEMP_BYTES (bytes, or a number with a K, M, G
 * or T suffix, powers of 1024; read at every call; another value is
 * reported once on stderr and ignored), else the machine's physical
 * memory. A call whose compile-time estimate exceeds it is refused before
 * it runs (NM_ERROR_OUT_OF_MEMORY). */
int64_t nm_runtime_max_temp_bytes(void);

/* NM_OK, or NM_ERROR_OUT_OF_MEMORY when the last call of a compiled
 * function on this thread was refused (over the limit) or an allocation of
 * it failed (on this thread or on a pool thread working for it). Frees
 * what such a call left allocated and clears the state; the generated
 * entry points call it after the compiled function returns. */
int nm_runtime_call_status(void);

/* ---- Called by compiled code (JIT and AOT alike). The compiler takes the
 * names of these functions from this header (runtime/RuntimeSymbols.h), so
 * this is the one declaration of the ABI between generated code and the
 * runtime. ---- */

/* Runs body(ctx, begin, end) over disjoint ranges covering [0, n) on the
 * pool (the calling thread takes part) and returns when all are done. A
 * call made from inside a body, or while another thread uses the pool, runs
 * serially on the calling thread. */
typedef void (*nm_parallel_body)(void *ctx, int64_t begin, int64_t end);
void nm_runtime_parallel_for(nm_parallel_body body, void *ctx, int64_t n);

/* Memory for the intermediate buffers of compiled code (their malloc and
 * free): 64-byte aligned. Large blocks are kept after free and handed out
 * again, so a function called repeatedly (a forward pass) reuses memory that
 * is already mapped instead of page-faulting fresh pages each call. Blocks
 * of 4 MiB and more start on a 2 MiB boundary and ask the kernel for
 * transparent huge pages (madvise). */
void *nm_runtime_alloc(int64_t size);
void nm_runtime_free(void *ptr);
/* Returns the cached blocks to the system. */
void nm_runtime_release_memory(void);

/* Out-of-memory safety. A compiled function first calls
 * nm_runtime_check_temp_bytes with the compile-time estimate of its
 * intermediate buffers: `bytes` (everything alive at once, each parallel
 * body counted once) plus `per_thread_bytes` (the largest parallel body's
 * buffers) for every further pool thread. Over nm_runtime_max_temp_bytes it
 * records the refusal and returns NM_ERROR_OUT_OF_MEMORY, and the function
 * returns at once; it also starts the calling thread's call state afresh.
 * A failed nm_runtime_alloc returns NULL and records the failure in that
 * state; compiled code then returns early (it tests every allocation, and
 * nm_runtime_call_failed after every parallel loop), the pool runs no
 * further chunks, and later allocations of the call fail too. */
int nm_runtime_check_temp_bytes(int64_t bytes, int64_t per_thread_bytes);
/* Nonzero once the current call has failed (see above). */
int nm_runtime_call_failed(void);

/* AOT objects call libm through the runtime: `neuromancer compile` renames
 * a reference to `expf` into nm_runtime_libm_expf (and so on for every
 * function in runtime/CApi.c), so a program links without -lm. */
#define NM_RUNTIME_LIBM_PREFIX "nm_runtime_libm_"

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* NEUROMANCER_RUNTIME_H */
