//===- Header.cpp - the C header of an AOT-compiled model -----------------===//
#include "neuromancer/compiler/aot/Header.h"

#include "neuromancer/core/Format.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>

namespace nm::aot {
namespace {

const std::set<std::string> &reservedWords() {
  static const std::set<std::string> words = {
      // C99/C11
      "auto", "break", "case", "char", "const", "continue", "default", "do",
      "double", "else", "enum", "extern", "float", "for", "goto", "if",
      "inline", "int", "long", "register", "restrict", "return", "short",
      "signed", "sizeof", "static", "struct", "switch", "typedef", "union",
      "unsigned", "void", "volatile", "while", "_Bool", "_Complex",
      "_Imaginary", "_Alignas", "_Alignof", "_Atomic", "_Generic", "_Noreturn",
      "_Static_assert", "_Thread_local",
      // C++ (the header is included from C++ too)
      "alignas", "alignof", "and", "and_eq", "asm", "bitand", "bitor", "bool",
      "catch", "char8_t", "char16_t", "char32_t", "class", "compl", "concept",
      "consteval", "constexpr", "constinit", "const_cast", "co_await",
      "co_return", "co_yield", "decltype", "delete", "dynamic_cast", "explicit",
      "export", "false", "friend", "mutable", "namespace", "new", "noexcept",
      "not", "not_eq", "nullptr", "operator", "or", "or_eq", "private",
      "protected", "public", "reinterpret_cast", "requires", "static_assert",
      "static_cast", "template", "this", "thread_local", "throw", "true", "try",
      "typeid", "typename", "using", "virtual", "wchar_t", "xor", "xor_eq",
      // names the entry points use themselves
      "status"};
  return words;
}

std::string upper(std::string s) {
  for (char &c : s)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string shapeTuple(const std::vector<int64_t> &shape) {
  return formatTuple(shape);
}

std::string shapeInitializer(const std::vector<int64_t> &shape) {
  if (shape.empty())
    return "{1}"; // a scalar: one element (C has no empty initialisers)
  std::string s = "{";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "}";
}

/// Wraps `text` into comment lines of at most ~76 columns, each starting
/// with `lead`.
std::string commentLines(const std::string &text, const std::string &lead) {
  std::istringstream words(text);
  std::string out, line, word;
  while (words >> word) {
    if (!line.empty() && line.size() + 1 + word.size() + lead.size() > 76) {
      out += lead + line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty())
    out += lead + line + "\n";
  return out;
}

void emitArgument(std::ostream &os, const std::string &macroBase,
                  const char *role, const ArgumentDoc &a) {
  std::string what = std::string(role) + " '" + a.spec.name +
                     "': " + dtypeName(a.spec.dtype) + ", shape " +
                     shapeTuple(a.spec.shape);
  if (!a.axes.empty())
    what += ", axes " + a.axes;
  if (!a.geometry.empty())
    what += ", " + a.geometry;
  if (!a.dataset.empty())
    what += "; in the model file as dataset " + a.dataset;
  os << "/*\n" << commentLines(what, " * ") << " */\n";
  std::string m = macroBase + "_" + upper(a.cName);
  os << "#define " << m << "_NDIM " << a.spec.shape.size() << "\n";
  os << "#define " << m << "_SHAPE " << shapeInitializer(a.spec.shape) << "\n";
  os << "#define " << m << "_SIZE " << a.spec.size() << " /* elements */\n";
  os << "#define " << m << "_DTYPE \"" << dtypeName(a.spec.dtype) << "\"\n";
  os << "#define " << m << "_AXES \"" << a.axes << "\"\n";
  if (!a.dataset.empty())
    os << "#define " << m << "_DATASET \"" << a.dataset << "\"\n";
}

std::string parameterList(const FunctionDoc &f) {
  std::string s;
  auto add = [&](const ArgumentDoc &a, bool isConst) {
    s += std::string(s.empty() ? "" : ", ") + (isConst ? "const " : "") +
         cType(a.spec.dtype) + " *" + a.cName;
  };
  for (const ArgumentDoc &a : f.inputs)
    add(a, true);
  for (const ArgumentDoc &a : f.parameters)
    add(a, true);
  for (const ArgumentDoc &a : f.outputs)
    add(a, false);
  return s.empty() ? "void" : s;
}

std::string argumentNames(const FunctionDoc &f) {
  std::string s;
  for (const auto *group : {&f.inputs, &f.parameters, &f.outputs})
    for (const ArgumentDoc &a : *group)
      s += (s.empty() ? "" : ", ") + a.cName;
  return s;
}

/// The geometry macros of a dense entry point, with what a streaming
/// program does with them (examples/embed/stream_dense.c).
void emitDense(std::ostream &os, const std::string &F, const FunctionDoc &f) {
  const DenseDoc &d = *f.dense;
  std::string axes = "(" + d.spatialAxes + ")";
  os << "/*\n"
     << commentLines(
            "Dense geometry, per spatial axis " + axes +
                ": each call maps an input box of " + F +
                "_INPUT_BOX voxels (" + F + "_TILE + " + F +
                "_FOV - 1) to a dense tile of " + F + "_TILE output voxels (" +
                F +
                "_NUM_LABELS channels), every voxel predicted (no strides). "
                "Output voxel i of the tile is the prediction for input voxel "
                "i + " +
                F +
                "_OFFSETS of the box. To predict a whole volume of shape n, "
                "mirror it by the offsets on both sides (numpy 'symmetric', "
                "predict_dense's pad_raw) and call the entry point on the "
                "boxes starting at every multiple of the tile, the last one "
                "of each axis moved back to end at n and writing only the "
                "voxels no earlier block wrote. " +
                F + "_STRIDES are the network's strides before densifying.",
            " * ")
     << " */\n";
  os << "#define " << F << "_SPATIAL_NDIM " << d.tile.size() << "\n"
     << "#define " << F << "_SPATIAL_AXES \"" << d.spatialAxes << "\"\n"
     << "#define " << F << "_FOV " << shapeInitializer(d.fov) << "\n"
     << "#define " << F << "_OFFSETS " << shapeInitializer(d.offsets) << "\n"
     << "#define " << F << "_STRIDES " << shapeInitializer(d.strides) << "\n"
     << "#define " << F << "_TILE " << shapeInitializer(d.tile) << "\n"
     << "#define " << F << "_INPUT_BOX " << shapeInitializer(d.inputBox) << "\n"
     << "#define " << F << "_NUM_CHANNELS " << d.channels << "\n"
     << "#define " << F << "_NUM_LABELS " << d.labels << "\n";
  if (!d.classes.empty())
    os << "/* The output channels are the model's classes " << F
       << "_CLASSES, in this order (--classes). */\n"
       << "#define " << F << "_CLASSES " << shapeInitializer(d.classes) << "\n";
}

} // namespace

std::string cIdentifier(std::string_view text) {
  std::string s;
  for (char c : text)
    s += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0])))
    s = "_" + s;
  if (reservedWords().count(s))
    s += "_";
  return s;
}

std::string cType(DType dtype) {
  switch (dtype) {
  case DType::Float32:
    return "float";
  case DType::Float64:
    return "double";
  case DType::Int8:
    return "int8_t";
  case DType::Int16:
    return "int16_t";
  case DType::Int32:
    return "int32_t";
  case DType::Int64:
    return "int64_t";
  case DType::UInt8:
  case DType::Bool: // one byte, 0 or 1
    return "uint8_t";
  case DType::UInt16:
    return "uint16_t";
  case DType::UInt32:
    return "uint32_t";
  case DType::UInt64:
    return "uint64_t";
  }
  return "void";
}

std::string objectMarker(const std::string &prefix, const std::string &id) {
  return prefix + "_object_" + id;
}

/// A reference to the object's marker that every translation unit including
/// the header keeps (`used`), so only the object written with this header
/// links.
static void emitObjectCheck(std::ostringstream &os, const HeaderDoc &doc) {
  std::string marker = objectMarker(doc.prefix, doc.objectId);
  os << "\n/* Ties this header to the " << doc.objectFile
     << " written with it: linked with an\n * object of another compile, "
        "the link fails with an undefined reference to\n * "
     << marker << ". */\n"
     << "extern const char " << marker << ";\n"
     << "#if defined(__GNUC__)\n__attribute__((used))\n#endif\n"
     << "static const char *const " << doc.prefix << "_object_check = &"
     << marker << ";\n";
}

std::string emitHeader(const HeaderDoc &doc) {
  std::ostringstream os;
  const std::string P = upper(doc.prefix);
  const std::string guard = P + "_H_";
  std::string libs = "-lneuromancer_runtime";
  for (const std::string &l : doc.extraLibraries)
    libs += " " + l;

  os << "/* " << doc.prefix
     << ".h - generated by `neuromancer compile`; do not edit.\n"
     << " *\n"
     << " * Model:   " << doc.modelFile << " (model '" << doc.modelName
     << "')\n"
     << " * Object:  " << doc.objectFile << " for " << doc.triple << ", CPU "
     << doc.cpu << "\n"
     << " *          (compile cache key " << doc.cacheKey.substr(0, 16) << ")\n"
     << " * Params:  "
     << (doc.frozen ? "frozen into the object (the values of the model file)"
                    : "arguments of every entry point (--params-as-args)")
     << "\n"
     << " * Link:    cc app.c " << doc.objectFile << " -L<dir> " << libs << "\n"
     << " *          (<dir> holds libneuromancer_runtime.{so,a} and "
        "neuromancer_runtime.h)\n"
     << " *\n"
     << commentLines(
            "Every buffer is dense, in C (row-major) order, with the dtype "
            "and shape documented below; inputs and parameters are only "
            "read, outputs are written in full and must not overlap any "
            "other argument. Entry points are reentrant: they keep no state "
            "between calls (temporaries are allocated and freed by each "
            "call) and share only the runtime's thread pool, which uses all "
            "cores unless nm_runtime_set_num_threads() says otherwise. They "
            "return NM_OK (0), NM_ERROR_NULL_POINTER for a NULL argument, "
            "NM_ERROR_UNSUPPORTED_CPU when this CPU lacks a feature the "
            "object was compiled for (" +
                P +
                "_CPU_FEATURES), or NM_ERROR_OUT_OF_MEMORY when the call's "
                "intermediate buffers exceed NEUROMANCER_MAX_TEMP_BYTES "
                "(default: the physical memory; the call is refused before "
                "it runs) or one of them cannot be allocated (the outputs "
                "are then unspecified; what the call allocated is freed).",
            " * ")
     << " */\n"
     << "#ifndef " << guard << "\n#define " << guard << "\n\n"
     << "#include <stddef.h>\n#include <stdint.h>\n\n"
     << "#include \"neuromancer_runtime.h\"\n\n"
     << "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n"
     << "/* Instruction-set features the object needs (checked by every entry "
        "point). */\n"
     << "#define " << P << "_CPU_FEATURES \"" << doc.cpuFeatures << "\"\n";
  emitObjectCheck(os, doc);

  for (const FunctionDoc &f : doc.functions) {
    const std::string F = upper(f.entry);
    os << "\n/*=== " << f.function << " "
       << std::string(f.function.size() < 60 ? 66 - f.function.size() : 4, '=')
       << "*\n"
       << commentLines(f.entry + ": " + f.description + ".", " * ")
       << " *===" << std::string(68, '=') << "*/\n\n";
    for (const ArgumentDoc &a : f.inputs)
      emitArgument(os, F, "Input", a);
    for (const ArgumentDoc &a : f.parameters)
      emitArgument(os, F, "Parameter", a);
    for (const ArgumentDoc &a : f.outputs)
      emitArgument(os, F, "Output", a);
    // Positional aliases, for code that does not know the node names.
    auto aliases = [&](const std::vector<ArgumentDoc> &group,
                       const char *kind) {
      for (size_t i = 0; i < group.size(); ++i)
        for (const char *what : {"NDIM", "SHAPE", "SIZE", "DTYPE", "AXES"})
          os << "#define " << F << "_" << kind << i << "_" << what << " " << F
             << "_" << upper(group[i].cName) << "_" << what << "\n";
    };
    aliases(f.inputs, "INPUT");
    aliases(f.parameters, "PARAMETER");
    aliases(f.outputs, "OUTPUT");
    os << "#define " << F << "_NUM_INPUTS " << f.inputs.size() << "\n"
       << "#define " << F << "_NUM_PARAMETERS " << f.parameters.size() << "\n"
       << "#define " << F << "_NUM_OUTPUTS " << f.outputs.size() << "\n";
    if (f.dense)
      emitDense(os, F, f);

    if (!f.parameters.empty()) {
      os << "/* The parameters in argument order, for loading them in a "
            "loop. */\n";
      std::string datasets, sizes;
      for (const ArgumentDoc &a : f.parameters) {
        datasets +=
            std::string(datasets.empty() ? "" : ", ") + "\"" + a.dataset + "\"";
        sizes += (sizes.empty() ? "" : ", ") + std::to_string(a.spec.size());
      }
      os << "#define " << F << "_PARAMETER_DATASETS {" << datasets << "}\n"
         << "#define " << F << "_PARAMETER_SIZES {" << sizes << "}\n";
    }
    os << "\n";

    std::string params = parameterList(f);
    os << "/* The compiled function in " << doc.objectFile
       << " (no checks; call " << f.entry << " instead). */\n"
       << "void " << f.kernel << "(" << params << ");\n";
    if (!f.packed.empty())
      os << "/* The same, packed: args[i] points to a variable holding the "
            "i-th pointer\n * above (inputs, parameters, outputs), for "
            "generic callers. */\n"
         << "void " << f.packed << "(void **args);\n";
    os << "\n";
    os << "/*\n"
       << commentLines("Runs " + f.function + ": reads the " +
                           std::to_string(f.inputs.size()) + " input(s)" +
                           (f.parameters.empty()
                                ? ""
                                : " and " +
                                      std::to_string(f.parameters.size()) +
                                      " parameter(s)") +
                           ", writes the " + std::to_string(f.outputs.size()) +
                           " output(s). Returns NM_OK, NM_ERROR_NULL_POINTER, "
                           "NM_ERROR_UNSUPPORTED_CPU or NM_ERROR_OUT_OF_MEMORY "
                           "(neuromancer_runtime.h).",
                       " * ")
       << " */\n"
       << "static inline int " << f.entry << "(" << params << ") {\n"
       << "  int status = nm_runtime_check_cpu(" << P << "_CPU_FEATURES);\n"
       << "  if (status != NM_OK)\n    return status;\n";
    std::string nullCheck;
    for (const auto *group : {&f.inputs, &f.parameters, &f.outputs})
      for (const ArgumentDoc &a : *group)
        nullCheck += (nullCheck.empty() ? "" : " || ") + ("!" + a.cName);
    if (!nullCheck.empty())
      os << "  if (" << nullCheck << ")\n    return NM_ERROR_NULL_POINTER;\n";
    // The kernel returns early when its intermediate buffers are refused
    // or cannot be allocated; the runtime holds the status.
    os << "  " << f.kernel << "(" << argumentNames(f) << ");\n"
       << "  return nm_runtime_call_status();\n}\n";
  }
  os << "\n#ifdef __cplusplus\n} /* extern \"C\" */\n#endif\n\n#endif /* "
     << guard << " */\n";
  return os.str();
}

} // namespace nm::aot
