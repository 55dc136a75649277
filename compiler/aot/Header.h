//===- Header.h - the C header of an AOT-compiled model ---------*- C++ -*-===//
//
// `neuromancer compile` writes MODEL.o and MODEL.h. The header is plain C99
// (extern "C"-safe, -Wall -Werror clean in C and C++) and documents every
// entry point completely:
//
//   * one entry point per compiled function, `int <prefix>_<function>(...)`:
//     inputs (const T *), then parameters when they are not frozen, then
//     outputs (T *), all bare pointers to dense C-order buffers; it returns
//     NM_OK or an nm_status code (neuromancer_runtime.h);
//   * per argument: shape, dtype and axis tags (and fov/offsets/strides
//     where the node has them) as macros and comments;
//   * the object symbol each entry point calls (`<prefix>_<function>_kernel`,
//     the compiled function with its JIT ABI), its packed form
//     (`<prefix>_<function>_packed(void **args)`, for generic callers) and
//     the CPU features the object needs, checked at every call;
//   * the parameters' datasets in the model file and sizes as initialiser
//     lists, for loading them in a loop (--params-as-args);
//   * for a dense entry point (--dense), the geometry a streaming program
//     needs: fov, offsets, the tile and the input box around it.
//
// No MLIR or LLVM here, so the emitter is tested on its own.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_COMPILER_AOT_HEADER_H
#define NEUROMANCER_COMPILER_AOT_HEADER_H

#include "neuromancer/runtime/Executable.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nm::aot {

/// One argument of an entry point, as the header documents it.
struct ArgumentDoc {
  std::string cName;    // C parameter name (unique within the entry point)
  ArgSpec spec;         // node (or "<node>_<param>") name, shape, dtype
  std::string axes;     // "b,f,z,x,y"; empty when unknown
  std::string geometry; // "fov=[...], offsets=[...], strides=[...]" or empty
  std::string dataset;  // parameters: HDF5 dataset in the model file,
                        // e.g. "/params/conv/w"
};

/// What a streaming program needs to know of a dense entry point
/// (`neuromancer compile --dense`), per spatial axis (z, x, y or x, y).
struct DenseDoc {
  std::vector<int64_t> fov, offsets; // of the network (output voxel i reads
                                     // input voxels [i, i + fov))
  std::vector<int64_t> strides;      // of the network before densifying
  std::vector<int64_t> tile;         // dense output voxels per call
  std::vector<int64_t> inputBox;     // tile + fov - 1
  std::string spatialAxes;           // "z,x,y"
  int64_t channels = 0;
  int64_t labels = 0;           // output channels (the selected classes)
  std::vector<int64_t> classes; // --classes (empty: all, in order)
};

/// One compiled function.
struct FunctionDoc {
  std::string function;    // "prediction", "loss", a node name
  std::string description; // e.g. "the designated prediction node 'softmax'"
  std::string entry;       // C entry point, "<prefix>_<function>"
  std::string kernel;      // object symbol the entry point calls
  std::string packed;      // the packed symbol (void **args), "" if none
  std::vector<ArgumentDoc> inputs, parameters, outputs;
  std::optional<DenseDoc> dense; // a dense entry point's geometry
};

struct HeaderDoc {
  std::string prefix;      // C identifier prefixing every name
  std::string objectFile;  // "neuro3d.o"
  std::string modelFile;   // as given on the command line
  std::string modelName;   // the model's name
  bool frozen = true;      // parameters baked into the object
  std::string triple, cpu; // target of the object
  std::string cpuFeatures; // comma-separated features checked at run time
  std::string cacheKey;    // compile cache key of the object
  std::string objectId;    // the object's marker symbol (objectMarker)
  std::vector<std::string> extraLibraries; // e.g. "-lm", when needed
  std::vector<FunctionDoc> functions;
};

/// The symbol an AOT object defines and its header references, so that a
/// header linked with an object of another compile fails to link (undefined
/// reference) instead of describing buffers the object does not use.
std::string objectMarker(const std::string &prefix, const std::string &id);

/// The header text.
std::string emitHeader(const HeaderDoc &doc);

/// `text` as a C identifier: [A-Za-z0-9_], not starting with a digit, not a
/// C or C++ keyword (a '_' is appended to those).
std::string cIdentifier(std::string_view text);

/// The C type of a dtype's elements ("float", "int16_t", ...).
std::string cType(DType dtype);

} // namespace nm::aot

#endif // NEUROMANCER_COMPILER_AOT_HEADER_H
