//===- EmbeddedRuntime.cpp - libneuromancer_runtime inside the tool -------===//
#include "tools/neuromancer/EmbeddedRuntime.h"

// Defined by the generated EmbeddedRuntimeData.S (.incbin of each file).
extern "C" {
extern const char nm_embedded_runtime_so[], nm_embedded_runtime_so_end[];
extern const char nm_embedded_runtime_a[], nm_embedded_runtime_a_end[];
extern const char nm_embedded_runtime_h[], nm_embedded_runtime_h_end[];
}

namespace nm::tools {

std::vector<EmbeddedFile> embeddedRuntime() {
  auto file = [](std::string_view name, const char *begin, const char *end) {
    return EmbeddedFile{
        name, std::string_view(begin, static_cast<size_t>(end - begin))};
  };
  return {file("libneuromancer_runtime.so", nm_embedded_runtime_so,
               nm_embedded_runtime_so_end),
          file("libneuromancer_runtime.a", nm_embedded_runtime_a,
               nm_embedded_runtime_a_end),
          file("neuromancer_runtime.h", nm_embedded_runtime_h,
               nm_embedded_runtime_h_end)};
}

} // namespace nm::tools
