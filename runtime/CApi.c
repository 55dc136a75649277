/*===- CApi.c - libneuromancer_runtime's C API --------------------------===*
 *
 * Status texts, version, the CPU-feature check of generated entry points
 * and the libm entry points AOT objects call (see below). The thread pool
 * itself is ThreadPool.cpp; including its header here checks that the
 * public header declares its functions identically.
 *
 *===------------------------------------------------------------------===*/
#define _GNU_SOURCE 1 /* roundeven */

#include "neuromancer_runtime.h"

#include "neuromancer/runtime/ThreadPool.h"

#include <math.h>
#include <string.h>

const char *nm_status_string(int status) {
  switch (status) {
  case NM_OK:
    return "ok";
  case NM_ERROR_NULL_POINTER:
    return "null pointer argument";
  case NM_ERROR_INVALID_ARGUMENT:
    return "invalid argument";
  case NM_ERROR_UNSUPPORTED_CPU:
    return "this CPU lacks an instruction-set feature the compiled code needs";
  case NM_ERROR_OUT_OF_MEMORY:
    return "out of memory";
  default:
    return "unknown status";
  }
}

const char *nm_runtime_version(void) {
  return "neuromancer runtime 0.1 (API 1)";
}

int nm_runtime_api_version(void) { return NM_RUNTIME_API_VERSION; }

#if defined(__x86_64__) || defined(__i386__)
/* `name` (length n) is an x86 feature this CPU lacks. */
static int missingFeature(const char *name, size_t n) {
#define NM_FEATURE(str)                                                        \
  if (n == sizeof(str) - 1 && !memcmp(name, str, n))                           \
    return !__builtin_cpu_supports(str);
  NM_FEATURE("sse4.1")
  NM_FEATURE("sse4.2")
  NM_FEATURE("avx")
  NM_FEATURE("avx2")
  NM_FEATURE("fma")
  NM_FEATURE("bmi")
  NM_FEATURE("bmi2")
  NM_FEATURE("avx512f")
  NM_FEATURE("avx512bw")
  NM_FEATURE("avx512vl")
  NM_FEATURE("avx512dq")
  NM_FEATURE("avx512cd")
  NM_FEATURE("avx512vnni")
  NM_FEATURE("avx512bf16")
  NM_FEATURE("avx512fp16")
  NM_FEATURE("avx512vbmi")
  NM_FEATURE("avx512vbmi2")
  NM_FEATURE("avx512ifma")
  NM_FEATURE("avx512bitalg")
  NM_FEATURE("avx512vpopcntdq")
#undef NM_FEATURE
  return 0;
}
#endif

int nm_runtime_check_cpu(const char *features) {
#if defined(__x86_64__) || defined(__i386__)
  if (!features)
    return NM_OK;
  __builtin_cpu_init();
  while (*features) {
    const char *end = strchr(features, ',');
    size_t n = end ? (size_t)(end - features) : strlen(features);
    if (missingFeature(features, n))
      return NM_ERROR_UNSUPPORTED_CPU;
    features += n + (end ? 1 : 0);
  }
#else
  (void)features;
#endif
  return NM_OK;
}

/* libm entry points of AOT objects. Generated code calls libm for some math
 * (expf for softmax, tanhf, ...); `neuromancer compile` renames those
 * references in the objects it writes to nm_runtime_libm_<name>, so a
 * program links the object with this library alone (no -lm: the runtime
 * carries that dependency). */
#define NM_LIBM1(fn)                                                           \
  float nm_runtime_libm_##fn##f(float x);                                      \
  float nm_runtime_libm_##fn##f(float x) { return fn##f(x); }                  \
  double nm_runtime_libm_##fn(double x);                                       \
  double nm_runtime_libm_##fn(double x) { return fn(x); }
#define NM_LIBM2(fn)                                                           \
  float nm_runtime_libm_##fn##f(float x, float y);                             \
  float nm_runtime_libm_##fn##f(float x, float y) { return fn##f(x, y); }      \
  double nm_runtime_libm_##fn(double x, double y);                             \
  double nm_runtime_libm_##fn(double x, double y) { return fn(x, y); }
NM_LIBM1(exp)
NM_LIBM1(exp2)
NM_LIBM1(expm1)
NM_LIBM1(log)
NM_LIBM1(log2)
NM_LIBM1(log10)
NM_LIBM1(log1p)
NM_LIBM1(sqrt)
NM_LIBM1(cbrt)
NM_LIBM1(sin)
NM_LIBM1(cos)
NM_LIBM1(tan)
NM_LIBM1(asin)
NM_LIBM1(acos)
NM_LIBM1(atan)
NM_LIBM1(sinh)
NM_LIBM1(cosh)
NM_LIBM1(tanh)
NM_LIBM1(asinh)
NM_LIBM1(acosh)
NM_LIBM1(atanh)
NM_LIBM1(erf)
NM_LIBM1(erfc)
NM_LIBM1(floor)
NM_LIBM1(ceil)
NM_LIBM1(round)
NM_LIBM1(roundeven)
NM_LIBM1(trunc)
NM_LIBM1(rint)
NM_LIBM1(nearbyint)
NM_LIBM1(fabs)
NM_LIBM2(pow)
NM_LIBM2(atan2)
NM_LIBM2(fmod)
NM_LIBM2(hypot)
NM_LIBM2(copysign)
NM_LIBM2(fmin)
NM_LIBM2(fmax)
float nm_runtime_libm_fmaf(float x, float y, float z);
float nm_runtime_libm_fmaf(float x, float y, float z) { return fmaf(x, y, z); }
double nm_runtime_libm_fma(double x, double y, double z);
double nm_runtime_libm_fma(double x, double y, double z) {
  return fma(x, y, z);
}

/* The thread pool's entry points, referenced so that linking this file
 * (alwayslink) brings ThreadPool.o into both packagings of the library. */
void (*const nm_runtime_exports_[])(void) = {
    (void (*)(void))nm_runtime_parallel_for,
    (void (*)(void))nm_runtime_set_num_threads,
    (void (*)(void))nm_runtime_get_num_threads,
    (void (*)(void))nm_runtime_max_temp_bytes,
    (void (*)(void))nm_runtime_check_temp_bytes,
    (void (*)(void))nm_runtime_call_failed,
    (void (*)(void))nm_runtime_call_status,
};
