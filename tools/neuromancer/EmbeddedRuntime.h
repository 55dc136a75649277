//===- EmbeddedRuntime.h - libneuromancer_runtime inside the tool -*- C++
//-*-===//
//
// `neuromancer compile` writes the runtime library (shared and static) and
// its C header next to the object it compiles, from copies built into the
// tool (BUILD: :embedded_runtime), so the tool works wherever it is copied.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_TOOLS_NEUROMANCER_EMBEDDEDRUNTIME_H
#define NEUROMANCER_TOOLS_NEUROMANCER_EMBEDDEDRUNTIME_H

#include <cstddef>
#include <string_view>
#include <vector>

namespace nm::tools {

struct EmbeddedFile {
  std::string_view name; // "libneuromancer_runtime.so", ...
  std::string_view data;
};

/// libneuromancer_runtime.so, libneuromancer_runtime.a and
/// neuromancer_runtime.h, as built with this tool.
std::vector<EmbeddedFile> embeddedRuntime();

} // namespace nm::tools

#endif // NEUROMANCER_TOOLS_NEUROMANCER_EMBEDDEDRUNTIME_H
