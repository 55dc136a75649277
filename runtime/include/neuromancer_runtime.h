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
  NM_ERROR_UNSUPPORTED_CPU = 3
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

/* Sets the number of threads compiled code uses (caller included);
 * n <= 0: the default (all cores, or $NEUROMANCER_NUM_THREADS). */
void nm_runtime_set_num_threads(int n);

/* The current number of threads (>= 1). */
int nm_runtime_get_num_threads(void);

/* Used by compiled code: runs body(ctx, begin, end) over disjoint ranges
 * covering [0, n) on the pool and returns when all are done. */
typedef void (*nm_parallel_body)(void *ctx, int64_t begin, int64_t end);
void nm_runtime_parallel_for(nm_parallel_body body, void *ctx, int64_t n);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* NEUROMANCER_RUNTIME_H */
