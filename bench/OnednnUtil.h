//===- OnednnUtil.h - small helpers around oneDNN 2.6 -----------*- C++ -*-===//
//
// What cnn_bench (forward) and OnednnTrain (training step) both need when
// they call Debian's oneDNN directly: its version, a primitive's
// implementation name, 5-D dims, and its thread count. Debian builds
// oneDNN with the OpenMP runtime (libdnnl.so links libgomp), so its thread
// count is OpenMP's.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_BENCH_ONEDNNUTIL_H
#define NEUROMANCER_BENCH_ONEDNNUTIL_H

#include "bench/ConvLayers.h"

#include "oneapi/dnnl/dnnl.hpp"

#include <string>

extern "C" void omp_set_num_threads(int);
extern "C" int omp_get_max_threads(void);

namespace nm::bench {

/// "oneDNN 2.6.3".
inline std::string onednnVersion() {
  const dnnl_version_t *v = dnnl_version();
  return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) +
         "." + std::to_string(v->patch);
}

/// The implementation oneDNN chose, e.g. "jit:avx512_core".
inline std::string implOf(const dnnl::primitive_desc_base &pd) {
  const char *s = pd.impl_info_str();
  return s ? s : "?";
}

inline dnnl::memory::dims dims5(int64_t n, int64_t c, const Sizes3 &s) {
  return {n, c, s[0], s[1], s[2]};
}

} // namespace nm::bench

#endif // NEUROMANCER_BENCH_ONEDNNUTIL_H
