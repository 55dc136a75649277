//===- Aot.h - ahead-of-time compilation of a saved model -------*- C++ -*-===//
//
// `neuromancer compile MODEL.h5 --function prediction --input-shape
// 1,1,23,185,185 -o build/neuro3d` is compileModel(): it writes
// build/neuro3d/neuro3d.o and build/neuro3d/neuro3d.h (see Header.h) and
// takes the JIT's road to the object:
//
//   modelload -> (rebuild_model for another patch size) -> the compile
//   driver (driver/Driver.h): import -> specialise (None sizes) -> [freeze
//   the parameters] -> compileObject (cache keyed by the nm IR,
//   convert-nm-to-linalg, codegen)
//
// so the object's code is the compile cache's entry for that function:
// with --params-as-args it is the very entry `model.predict(x)` compiles
// for an input of that shape; frozen, the parameters are arith.constants
// of the nm function before the lowering. The object is then written with
// its symbols renamed into the model's namespace (`<prefix>_<f>_kernel`
// and the packed `<prefix>_<f>_packed`, so objects of several models link
// together) and its libm references pointed at libneuromancer_runtime
// (nm_runtime_libm_*), so a program links the object with that library alone.
// Section contents are the cache entry's, byte for byte.
//
// `neuromancer compile MODEL.h5 --dense --tile 8,32,32 -o build/dense`
// takes the same road with the densify step of predict_dense in place of
// specialise: the prediction node, densified (nm-densify) for the input
// box of tile + fov - 1 voxels (batch 1), becomes one entry point
// `<prefix>_prediction_dense` that maps such a box to a dense tile of
// class probabilities; the header adds the fov, offsets, tile and box as
// macros, so a C program streams a volume of any size block by block
// (examples/embed/stream_dense.c). Dense.h works out that geometry.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_COMPILER_AOT_AOT_H
#define NEUROMANCER_COMPILER_AOT_AOT_H

#include <cstdint>
#include <string>
#include <vector>

namespace nm::aot {

struct CompileRequest {
  std::string modelPath;
  /// "prediction", "prediction_ext", "loss" or node names; empty:
  /// {"prediction"}. Several functions go into one object.
  std::vector<std::string> functions;
  /// Shape of the designated input (b,f,spatial... in the input's axis
  /// order); empty: the model's own, which must then be fully known.
  std::vector<int64_t> inputShape;
  bool paramsAsArgs = false;
  /// Output directory (created); files are <dir>/<name>.o and .h.
  std::string outputDir;
  /// C prefix and file stem; empty: the directory's last component.
  std::string name;
  /// Target CPU (LLVM name, e.g. "x86-64-v3"); empty: this machine's.
  std::string cpu;
  /// One entry point, `<prefix>_prediction_dense`: the prediction node
  /// densified for a box of `tile` dense output voxels (Dense.h). Excludes
  /// `functions` and `inputShape`.
  bool dense = false;
  /// Dense output voxels per call, one size per spatial axis (z, x, y).
  std::vector<int64_t> tile;
  /// With `dense`: the output epilogue, as `neuromancer predict`'s
  /// --classes (0-based, in this order; empty: all) and --as-uint8.
  std::vector<int64_t> classes;
  bool asUint8 = false;
};

struct CompileReport {
  std::string objectPath, headerPath;
  std::vector<std::string> entries; // C entry points
  std::string key;                  // compile cache key
  bool fromCache = false;           // the cache had the object
  double seconds = 0;               // wall time of the object step
  std::size_t objectBytes = 0;
  std::vector<std::string> notes; // human-readable remarks
};

/// Throws nm::Error (ValueError, KeyError, IOError, RuntimeError) with a
/// message for the user: a missing model file, an unknown function, a
/// wrong input shape (naming the axis and the valid sizes), ...
CompileReport compileModel(const CompileRequest &request);

/// "1,1,23,185,185" -> {1, 1, 23, 185, 185}; ValueError naming `option`
/// and showing `example` otherwise.
std::vector<int64_t> parseSizes(const std::string &text,
                                const std::string &option,
                                const std::string &example);
/// parseSizes for --input-shape.
std::vector<int64_t> parseShape(const std::string &text);

} // namespace nm::aot

#endif // NEUROMANCER_COMPILER_AOT_AOT_H
