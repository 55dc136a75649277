//===- Aot.cpp - ahead-of-time compilation of a saved model ---------------===//
#include "neuromancer/compiler/aot/Aot.h"

#include "Dense.h"
#include "ObjectRewrite.h"
#include "neuromancer/compiler/aot/Header.h"
#include "neuromancer/compiler/codegen/CodeGen.h"
#include "neuromancer/compiler/driver/Driver.h"
#include "neuromancer/compiler/jit/CompileCache.h"
#include "neuromancer/core/AtomicFile.h"
#include "neuromancer/core/Format.h"
#include "neuromancer/core/Geometry.h"
#include "neuromancer/core/Log.h"
#include "neuromancer/dialect/IR/NmDialect.h"
#include "neuromancer/frontend/Backend.h"
#include "neuromancer/frontend/Model.h"
#include "neuromancer/frontend/NodeImpl.h"
#include "neuromancer/runtime/RuntimeSymbols.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"

#include "llvm/ADT/BitVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/SHA256.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace nm::aot {
namespace {

/// Restores the log level on scope exit.
struct QuietLog {
  LogLevel saved = log_level();
  QuietLog() {
    if (saved < LogLevel::Warning)
      set_log_level(LogLevel::Warning);
  }
  ~QuietLog() { set_log_level(saved); }
};

std::string join(const std::vector<std::string> &items,
                 const std::string &sep = ", ") {
  std::string s;
  for (size_t i = 0; i < items.size(); ++i)
    s += (i ? sep : "") + items[i];
  return s;
}

std::string shapeText(const std::vector<int64_t> &shape) {
  std::vector<std::string> parts;
  for (int64_t s : shape)
    parts.push_back(s == None ? "None" : std::to_string(s));
  return join(parts, ",");
}

/// "(None, 1, 23, 185, 185)": a shape as ELEKTRONN2 prints it.
std::string tupleText(const std::vector<int64_t> &shape) {
  std::vector<std::string> parts;
  for (int64_t s : shape)
    parts.push_back(s == None ? "None" : std::to_string(s));
  return "(" + join(parts) + (shape.size() == 1 ? ",)" : ")");
}

//===--- functions
//----------------------------------------------------------===//

struct Selected {
  std::string function; // as asked
  std::string cName;    // C identifier of the function
  std::vector<Node> outputs;
  std::string description;
};

/// The outputs of `function` in `model`; KeyError naming the choices.
Selected select(const Model &model, const std::string &function,
                const std::string &modelPath) {
  Selected s;
  s.function = function;
  s.cName = cIdentifier(function);
  auto designated = [&](const char *role) {
    return ValueError("function '" + function + "': model '" + model.name() +
                      "' (" + modelPath + ") has no designated " + role +
                      "; designate_nodes before saving, or name a node");
  };
  if (function == "prediction") {
    if (!model.prediction_node())
      throw designated("prediction node");
    s.outputs = {model.prediction_node()};
    s.description = "the designated prediction node '" +
                    model.prediction_node().name() + "'";
  } else if (function == "prediction_ext") {
    if (model.prediction_ext().empty())
      throw designated("prediction_ext nodes");
    s.outputs = model.prediction_ext();
    std::vector<std::string> names;
    for (const Node &n : s.outputs)
      names.push_back("'" + n.name() + "'");
    s.description = "the designated prediction_ext nodes " + join(names);
  } else if (function == "loss") {
    if (!model.loss_node())
      throw designated("loss node");
    s.outputs = {model.loss_node()};
    s.description =
        "the designated loss node '" + model.loss_node().name() + "'";
  } else if (model.contains(function)) {
    Node n = model[function];
    if (n.is_source())
      throw ValueError("function '" + function + "': '" + function +
                       "' is an input node; name a node that computes "
                       "something");
    s.outputs = {n};
    s.description = "node '" + function + "' (" + n.cls() + ")";
  } else {
    throw KeyError("unknown function '" + function +
                   "': expected prediction, prediction_ext, loss or a node "
                   "name of model '" +
                   model.name() + "' (" + modelPath +
                   "): " + join(model.names()));
  }
  return s;
}

//===--- the input shape
//----------------------------------------------------===//

std::vector<CnnLayer> convLayers(const Model &model) {
  std::vector<CnnLayer> layers;
  for (const Node &n : model.nodes())
    if (n.cls() == "Conv") {
      const NodeImpl &impl = n.impl();
      layers.push_back({impl.attrs.at("filter_shape").get<Sizes>(),
                        impl.attrs.at("pool_shape").get<Sizes>(),
                        impl.attr<bool>("mfp", false)});
    }
  return layers;
}

/// "105 + 4*k (105, 109, 113, 117, 121, 125, ...)".
std::string describeSizes(const CnnValidSizes &valid) {
  std::vector<std::string> first;
  for (int64_t i = 0; i < 6; ++i)
    first.push_back(std::to_string(valid.first + i * valid.step));
  if (valid.step == 1)
    return std::to_string(valid.first) + " and larger";
  return std::to_string(valid.first) + " + " + std::to_string(valid.step) +
         "*k (" + join(first) + ", ...)";
}

/// ValueError naming axis `axis` of `input` and the valid sizes, or nothing
/// when `size` flows through the conv/pool layers.
void checkSpatialSize(const std::vector<CnnLayer> &layers, const Node &input,
                      int64_t axis, int64_t spatialIndex, int64_t size,
                      const std::string &given) {
  if (cnnSizeValid(layers, spatialIndex, size))
    return;
  CnnValidSizes valid = cnnValidSizes(layers, spatialIndex);
  char tag = input.shape().tags()[axis];
  std::string msg = "--input-shape " + given + ": size " +
                    std::to_string(size) + " of axis '" + tag + "' (axis " +
                    std::to_string(axis) + " of input '" + input.name() +
                    "', " + input.shape().tagString() +
                    ") does not fit the conv/pool layers of the model";
  std::vector<std::string> nearest;
  if (int64_t below = valid.atMost(size); below != None)
    nearest.push_back(std::to_string(below));
  nearest.push_back(std::to_string(valid.atLeast(size)));
  throw ValueError(msg +
                   (nearest.size() == 1 ? ": the nearest valid size is "
                                        : ": the nearest valid sizes are ") +
                   join(nearest, " and ") + "; valid sizes on '" + tag +
                   "' are " + describeSizes(valid));
}

/// Applies --input-shape: checks it against the designated input and
/// rebuilds the model when spatial (or a fixed batch) size changes. Returns
/// the model to compile.
Model &imposeInputShape(Model &model, const Node &input,
                        const std::vector<int64_t> &shape) {
  const TaggedShape &s = input.shape();
  std::string given = shapeText(shape);
  if (static_cast<int64_t>(shape.size()) != s.ndim())
    throw ValueError(
        "--input-shape " + given + " has " + std::to_string(shape.size()) +
        " sizes; input '" + input.name() + "' has " + std::to_string(s.ndim()) +
        " axes (" + s.tagString() + "), shape " + tupleText(s.shape()));
  std::vector<int64_t> spatial = s.spatialAxes();
  std::vector<CnnLayer> layers = convLayers(model);
  bool patchChanges = false, batchChanges = false;
  for (int64_t axis = 0; axis < s.ndim(); ++axis) {
    char tag = s.tags()[axis];
    int64_t want = shape[axis], have = s[axis];
    if (want < 1)
      throw ValueError("--input-shape " + given + ": size of axis '" +
                       std::string(1, tag) + "' must be positive");
    auto sp = std::find(spatial.begin(), spatial.end(), axis);
    if (sp != spatial.end()) {
      if (have != want) {
        checkSpatialSize(layers, input, axis, sp - spatial.begin(), want,
                         given);
        patchChanges = patchChanges || have != None;
      }
    } else if (have != None && have != want) {
      if (tag == 'b')
        batchChanges = true;
      else
        throw ValueError("--input-shape " + given + ": axis '" +
                         std::string(1, tag) + "' of input '" + input.name() +
                         "' has size " + std::to_string(have) +
                         " in the model (" + tupleText(s.shape()) + ", " +
                         s.tagString() + "), not " + std::to_string(want));
    }
  }
  if (!patchChanges && !batchChanges)
    return model;
  ModelLoadOptions options;
  if (patchChanges)
    for (int64_t axis : spatial)
      options.imposed_patch_size.push_back(shape[axis]);
  if (batchChanges)
    options.imposed_batch_size = shape[s.tagIndex('b')];
  try {
    return rebuild_model(model, options);
  } catch (const Error &e) {
    throw ValueError("--input-shape " + given +
                     ": the model cannot be rebuilt for it: " + e.what());
  }
}

//===--- nm IR
//--------------------------------------------------------------===//

/// Sizes for specializeShapes: the designated input gets `inputShape`,
/// other sources their own with None on 'b' replaced by the batch size.
std::vector<std::vector<int64_t>>
sourceShapes(mlir::func::FuncOp func, const Model &model, const Node &input,
             const std::vector<int64_t> &inputShape, const Selected &sel) {
  int64_t batch = None;
  if (!inputShape.empty() && input.shape().hasTag('b'))
    batch = inputShape[input.shape().tagIndex('b')];
  std::vector<std::vector<int64_t>> shapes;
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    auto name = func.getArgAttrOfType<mlir::StringAttr>(
        i, ir::NmDialect::kInputAttrName);
    if (!name)
      continue;
    Node src = model[name.str()];
    const TaggedShape &s = src.shape();
    std::vector<int64_t> shape = s.shape();
    if (src == input && !inputShape.empty())
      shape = inputShape;
    for (int64_t axis = 0; axis < s.ndim(); ++axis) {
      if (shape[axis] != None)
        continue;
      if (s.tags()[axis] == 'b' && batch != None) {
        shape[axis] = batch;
        continue;
      }
      throw ValueError("function '" + sel.function + "': input '" + src.name() +
                       "' has an unknown (None) size on axis '" +
                       std::string(1, s.tags()[axis]) + "' (" +
                       tupleText(s.shape()) + ", " + s.tagString() + ")" +
                       (src == input
                            ? "; give its shape with --input-shape"
                            : "; rebuild the model with that size fixed"));
    }
    shapes.push_back(std::move(shape));
  }
  return shapes;
}

bool hasDynamicInputs(mlir::func::FuncOp func) {
  for (mlir::Type t : func.getFunctionType().getInputs())
    if (auto rt = mlir::dyn_cast<mlir::RankedTensorType>(t);
        rt && !rt.hasStaticShape())
      return true;
  return false;
}

mlir::DenseElementsAttr constantOf(mlir::RankedTensorType type,
                                   const Array &value) {
  mlir::Type elt = type.getElementType();
  DType dtype = DType::Float32;
  if (elt.isF64())
    dtype = DType::Float64;
  else if (elt.isInteger(1))
    dtype = DType::Bool;
  else if (auto it = mlir::dyn_cast<mlir::IntegerType>(elt)) {
    bool u = it.isUnsigned();
    switch (it.getWidth()) {
    case 8:
      dtype = u ? DType::UInt8 : DType::Int8;
      break;
    case 16:
      dtype = u ? DType::UInt16 : DType::Int16;
      break;
    case 32:
      dtype = u ? DType::UInt32 : DType::Int32;
      break;
    default:
      dtype = u ? DType::UInt64 : DType::Int64;
    }
  } else if (!elt.isF32()) {
    return {};
  }
  Array v = value.dtype() == dtype ? value : value.astype(dtype);
  if (dtype == DType::Bool) {
    llvm::SmallVector<bool> bits;
    for (int64_t i = 0; i < v.size(); ++i)
      bits.push_back(v.getFlat(i) != 0);
    return mlir::DenseElementsAttr::get(type, llvm::ArrayRef<bool>(bits));
  }
  return mlir::DenseElementsAttr::getFromRawBuffer(
      type,
      llvm::ArrayRef<char>(static_cast<const char *>(v.raw()), v.nbytes()));
}

/// Replaces every parameter argument of `func` by an arith.constant holding
/// the node's current value and drops the argument.
void freezeParameters(mlir::func::FuncOp func, const Selected &sel) {
  mlir::Block &entry = func.getBody().front();
  mlir::OpBuilder b(func.getContext());
  b.setInsertionPointToStart(&entry);
  llvm::BitVector erase(func.getNumArguments());
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    auto name = func.getArgAttrOfType<mlir::StringAttr>(
        i, ir::NmDialect::kParamAttrName);
    if (!name)
      continue;
    std::optional<ParameterRef> ref = find_parameter(sel.outputs, name.str());
    if (!ref)
      throw RuntimeError("function '" + sel.function + "' needs parameter '" +
                         name.str() + "', which no node provides");
    const Param &param = ref->node.impl().params.at(ref->param);
    auto type =
        mlir::dyn_cast<mlir::RankedTensorType>(func.getArgument(i).getType());
    if (!type || !type.hasStaticShape() ||
        type.getShape() != llvm::ArrayRef<int64_t>(param.value.shape()))
      throw RuntimeError("parameter '" + name.str() +
                         "' does not have the shape of its argument");
    mlir::DenseElementsAttr value = constantOf(type, param.value);
    if (!value)
      throw NotImplementedError("parameter '" + name.str() +
                                "': cannot freeze its element type");
    mlir::BlockArgument arg = func.getArgument(i);
    auto cst = mlir::arith::ConstantOp::create(b, arg.getLoc(), value);
    arg.replaceAllUsesWith(cst.getResult());
    erase.set(i);
  }
  (void)func.eraseArguments(erase);
}

//===--- files
//--------------------------------------------------------------===//

/// What distinguishes this object from the objects of other compiles: a
/// hash of the compiled object and the renames that make it the AOT object
/// (identical ids mean identical objects).
std::string objectId(llvm::ArrayRef<char> object,
                     const std::map<std::string, std::string> &renames) {
  llvm::SHA256 hasher;
  hasher.update(llvm::StringRef(object.data(), object.size()));
  for (const auto &[from, to] : renames) {
    hasher.update(from);
    hasher.update(llvm::StringRef("\0", 1));
    hasher.update(to);
    hasher.update(llvm::StringRef("\0", 1));
  }
  return llvm::toHex(hasher.final(), /*LowerCase=*/true).substr(0, 16);
}

/// Holds an exclusive flock on a directory while alive.
class DirectoryLock {
public:
  explicit DirectoryLock(const fs::path &dir)
      : fd_(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
    if (fd_ < 0)
      throw IOError("cannot open '" + dir.string() +
                    "': " + std::strerror(errno));
    while (::flock(fd_, LOCK_EX) != 0)
      if (errno != EINTR)
        throw IOError("cannot lock '" + dir.string() +
                      "': " + std::strerror(errno));
  }
  ~DirectoryLock() { ::close(fd_); }
  DirectoryLock(const DirectoryLock &) = delete;
  DirectoryLock &operator=(const DirectoryLock &) = delete;

private:
  int fd_;
};

/// Writes the object and its header as one unit: both temporaries are
/// written first, then renamed in place while holding the directory's lock,
/// so concurrent compiles into one directory leave one compile's pair; the
/// header's reference to the object's marker makes any other pair (a crash
/// between the renames) fail to link.
void writePair(const fs::path &dir, const std::string &objectPath,
               llvm::ArrayRef<char> object, const std::string &headerPath,
               const std::string &header) {
  AtomicFile objectFile(objectPath), headerFile(headerPath);
  objectFile.write(std::string_view(object.data(), object.size()));
  headerFile.write(header);
  DirectoryLock lock(dir);
  objectFile.commit();
  headerFile.commit();
}

std::string axesOf(const Node &n) {
  return n ? n.shape().tagString() : std::string();
}

std::string geometryOf(const Node &n) {
  if (!n || n.shape().nSpatial() == 0)
    return "";
  const TaggedShape &s = n.shape();
  bool trivial = true;
  for (int64_t v : s.fov())
    trivial = trivial && v == 1;
  for (int64_t v : s.strides())
    trivial = trivial && v == 1;
  if (trivial)
    return "";
  return "fov=" + formatList(s.fov()) + ", offsets=" + formatList(s.offsets()) +
         ", strides=" + formatList(s.strides());
}

/// The dense entry point's geometry for the header; RuntimeError when the
/// densified network does not map the box to the tile (a layer that is not
/// a valid convolution, which nm-densify should have refused).
void describeDense(FunctionDoc &f, const DensePlan &plan) {
  if (f.outputs.size() != 1 || f.outputs[0].spec.shape != plan.outputShape)
    throw RuntimeError("--dense: the densified network maps an input box of " +
                       tupleText(plan.inputShape) + " to " +
                       (f.outputs.empty()
                            ? std::string("nothing")
                            : tupleText(f.outputs[0].spec.shape)) +
                       ", not the dense tile " + tupleText(plan.outputShape));
  const DenseDoc &d = plan.doc;
  f.outputs[0].geometry = "dense (every voxel), fov=" + formatList(d.fov) +
                          ", offsets=" + formatList(d.offsets);
  f.dense = d;
}

/// Unique C names for the arguments of one entry point.
void assignCNames(FunctionDoc &f) {
  std::set<std::string> taken;
  for (auto *group : {&f.inputs, &f.parameters, &f.outputs})
    for (ArgumentDoc &a : *group) {
      std::string base = cIdentifier(a.spec.name), name = base;
      for (int k = 2; taken.count(name); ++k)
        name = base + "_" + std::to_string(k);
      taken.insert(name);
      a.cName = name;
    }
}

/// The functions to compile, the model they live in (rebuilt for
/// --input-shape) and its designated input.
struct Plan {
  Model *model = nullptr;
  Node input;
  std::vector<std::string> names; // as asked
  std::vector<Selected> selected;
  std::optional<DensePlan> dense;
};

std::vector<std::string> uniqueFunctions(const CompileRequest &request) {
  std::vector<std::string> unique;
  for (const std::string &f : request.functions)
    if (std::find(unique.begin(), unique.end(), f) == unique.end())
      unique.push_back(f);
  if (unique.empty())
    unique = {"prediction"};
  return unique;
}

Plan planFunctions(const CompileRequest &request) {
  Plan plan;
  plan.names = uniqueFunctions(request);
  plan.model = &modelload(request.modelPath);
  Model *model = plan.model;
  for (const std::string &f : plan.names)
    select(*model, f, request.modelPath); // unknown names fail here
  Node input = model->input_node();
  if (!input) {
    std::vector<Node> outs;
    for (const std::string &f : plan.names)
      for (const Node &n : select(*model, f, request.modelPath).outputs)
        outs.push_back(n);
    std::vector<Node> sources = source_nodes(outs);
    if (sources.size() == 1)
      input = sources.front();
    else if (!request.inputShape.empty())
      throw ValueError("--input-shape: model '" + model->name() +
                       "' has no designated input node");
  }
  if (!request.inputShape.empty()) {
    model = plan.model = &imposeInputShape(*model, input, request.inputShape);
    if (input)
      input = (*model)[input.name()];
  }
  plan.input = input;
  for (const std::string &f : plan.names)
    plan.selected.push_back(select(*model, f, request.modelPath));
  std::set<std::string> cNames;
  for (const Selected &s : plan.selected)
    if (!cNames.insert(s.cName).second)
      throw ValueError("functions '" + s.function +
                       "' and another one have the same C name '" + s.cName +
                       "'");
  return plan;
}

/// --dense: the prediction node, densified for request.tile.
Plan planDenseFunction(const CompileRequest &request) {
  Plan plan;
  plan.model = &modelload(request.modelPath);
  plan.dense = planDense(*plan.model, request);
  plan.input = plan.dense->node.input_nodes().front();
  Selected s;
  s.function = kDenseFunction;
  s.cName = cIdentifier(s.function);
  s.outputs = {plan.dense->node};
  s.description = "the designated prediction node '" + plan.dense->node.name() +
                  "', densified: every voxel of a tile of " +
                  tupleText(request.tile) + " in one call";
  plan.names = {s.function};
  plan.selected = {s};
  return plan;
}

/// The nm module, as a node call (or predict_dense, for --dense) would
/// import it.
void buildModule(driver::Compilation &compilation, const Plan &plan,
                 const CompileRequest &request) {
  for (const Selected &s : plan.selected) {
    GraphFunction function{s.function, s.outputs};
    if (plan.dense)
      function.epilogue = plan.dense->epilogue;
    mlir::func::FuncOp func = compilation.import(function);
    if (plan.dense)
      compilation.densify(func, {plan.dense->inputShape});
    else if (hasDynamicInputs(func))
      compilation.specialise(func, sourceShapes(func, *plan.model, plan.input,
                                                request.inputShape, s));
    if (!request.paramsAsArgs)
      freezeParameters(func, s);
  }
}

/// The header's account of compiled function `s`: entry point, symbols,
/// every argument's shape, axes and geometry.
FunctionDoc describeFunction(const Selected &s,
                             const jit::ObjectResult &compiled,
                             const Model &model, const std::string &prefix,
                             const Plan &plan) {
  auto sig = std::find_if(
      compiled.functions.begin(), compiled.functions.end(),
      [&](const FunctionSignature &f) { return f.entry == s.function; });
  if (sig == compiled.functions.end())
    throw RuntimeError("the compiled object lacks function '" + s.function +
                       "'");
  FunctionDoc f;
  f.function = s.function;
  f.description = s.description;
  f.entry = prefix + "_" + s.cName;
  f.kernel = f.entry + "_kernel";
  f.packed = f.entry + "_packed";
  auto nodeNamed = [&](const std::string &name) {
    return model.contains(name) ? model[name] : Node();
  };
  for (const ArgSpec &a : sig->inputs) {
    Node n = nodeNamed(a.name);
    f.inputs.push_back({"", a, axesOf(n), geometryOf(n), ""});
  }
  for (const ArgSpec &a : sig->parameters) {
    std::optional<ParameterRef> ref = find_parameter(s.outputs, a.name);
    std::string dataset =
        ref ? "/params/" + ref->node.name() + "/" + ref->param : "";
    f.parameters.push_back({"", a, "", "", dataset});
  }
  for (size_t i = 0; i < sig->outputs.size(); ++i) {
    Node n = i < s.outputs.size() ? s.outputs[i] : Node();
    f.outputs.push_back({"", sig->outputs[i], axesOf(n), geometryOf(n), ""});
  }
  if (plan.dense)
    describeDense(f, *plan.dense);
  return f;
}

} // namespace

std::vector<int64_t> parseShape(const std::string &text) {
  return parseSizes(text, "--input-shape", "1,1,23,185,185");
}

std::vector<int64_t> parseSizes(const std::string &text,
                                const std::string &option,
                                const std::string &example) {
  std::vector<int64_t> shape;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item.erase(0, item.find_first_not_of(" ("));
    item.erase(item.find_last_not_of(" )") + 1);
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception &) {
      used = 0;
    }
    if (item.empty() || used != item.size() || v < 1)
      throw ValueError(option + " '" + text +
                       "': expected positive sizes separated by commas, "
                       "e.g. " +
                       example);
    shape.push_back(v);
  }
  if (shape.empty())
    throw ValueError(option + " '" + text + "' is empty");
  return shape;
}

CompileReport compileModel(const CompileRequest &request) {
  if (request.outputDir.empty())
    throw ValueError("compile needs an output directory (-o DIR)");
  checkDenseOptions(request);
  if (!request.cpu.empty())
    checkCpuName(request.cpu);
  fs::path dir(request.outputDir);
  std::string stem = request.name;
  if (stem.empty()) {
    fs::path p = dir;
    while (!p.empty() && p.filename().empty())
      p = p.parent_path();
    stem = p.filename().string();
  }
  if (stem.empty() || stem == "." || stem == "..")
    throw ValueError("cannot name the output after '" + request.outputDir +
                     "'; give --name");
  const std::string prefix = cIdentifier(stem);

  QuietLog quiet;
  Plan plan =
      request.dense ? planDenseFunction(request) : planFunctions(request);
  Model *model = plan.model;
  std::vector<Selected> &selected = plan.selected;
  driver::Compilation compilation("'" + join(plan.names, "', '") + "'");
  buildModule(compilation, plan, request);
  codegen::CompileOptions options;
  options.codegenThreads = 1; // one ELF object for the user's link
  if (!request.cpu.empty())
    options.target.cpu = request.cpu;
  jit::ObjectResult compiled = compilation.compileObject(options);

  // Symbols into the model's namespace, libm through the runtime.
  CompileReport report;
  HeaderDoc doc;
  doc.prefix = prefix;
  doc.objectFile = stem + ".o";
  doc.modelFile = request.modelPath;
  doc.modelName = model->name();
  doc.frozen = !request.paramsAsArgs;
  codegen::TargetInfo host = codegen::hostTarget();
  doc.triple = host.triple;
  doc.cpu = request.cpu.empty() ? host.cpu : request.cpu;
  doc.cpuFeatures = checkedCpuFeatures(options.target);
  doc.cacheKey = compiled.key;

  std::map<std::string, std::string> renames;
  for (const Selected &s : selected) {
    FunctionDoc f = describeFunction(s, compiled, *model, prefix, plan);
    renames[s.function] = f.kernel;
    renames[runtime_symbols::kPackedPrefix + s.function] = f.packed;
    assignCNames(f);
    report.entries.push_back(f.entry);
    doc.functions.push_back(std::move(f));
  }
  auto symbols = listSymbols(compiled.object);
  if (!symbols)
    throw RuntimeError("cannot read the compiled object: " +
                       llvm::toString(symbols.takeError()));
  for (const std::string &sym : symbols->defined)
    if (!renames.count(sym))
      renames[sym] = prefix + "__" + sym;
  static const std::set<std::string> libc = {
      "malloc",        "free",           "calloc", "realloc",
      "aligned_alloc", "posix_memalign", "memcpy", "memmove",
      "memset",        "memcmp",         "abort"};
  const auto &libm = runtimeLibmFunctions();
  std::vector<std::string> foreign;
  for (const std::string &sym : symbols->undefined) {
    if (std::find(libm.begin(), libm.end(), sym) != libm.end())
      renames[sym] = runtime_symbols::kLibmPrefix + sym;
    else if (!libc.count(sym) && sym.rfind(runtime_symbols::kPrefix, 0) != 0)
      foreign.push_back(sym);
  }
  if (!foreign.empty()) {
    doc.extraLibraries.push_back("<libraries defining " + join(foreign) + ">");
    report.notes.push_back("the object also calls " + join(foreign) +
                           " (not in libc or libneuromancer_runtime)");
  }
  doc.objectId = objectId(compiled.object, renames);
  auto object = renameSymbols(compiled.object, renames,
                              {objectMarker(prefix, doc.objectId)});
  if (!object)
    throw RuntimeError("cannot rename the object's symbols: " +
                       llvm::toString(object.takeError()));

  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    throw IOError("cannot create '" + dir.string() + "': " + ec.message());
  report.objectPath = (dir / (stem + ".o")).string();
  report.headerPath = (dir / (stem + ".h")).string();
  writePair(dir, report.objectPath, *object, report.headerPath,
            emitHeader(doc));
  report.key = compiled.key;
  report.fromCache = compiled.source == jit::CacheSource::Disk;
  report.seconds = compiled.seconds;
  report.objectBytes = object->size();
  return report;
}

} // namespace nm::aot
