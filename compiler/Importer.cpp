//===- Importer.cpp - frontend graph -> nm dialect ------------------------===//
#include "neuromancer/compiler/Importer.h"

#include "llvm/Support/raw_ostream.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Verifier.h"
#include "neuromancer/core/Enums.h"
#include "neuromancer/core/Geometry.h"
#include "neuromancer/dialect/IR/NmDialect.h"
#include "neuromancer/dialect/IR/NmOps.h"
#include "neuromancer/frontend/Backend.h"
#include "neuromancer/frontend/NodeImpl.h"

#include "llvm/ADT/DenseMap.h"

#include <algorithm>
#include <set>

namespace nm::compiler {

namespace {
using namespace mlir;

ir::ConvMode toDialect(ConvMode mode) {
  switch (mode) {
  case ConvMode::Valid:
    return ir::ConvMode::Valid;
  case ConvMode::Same:
    return ir::ConvMode::Same;
  case ConvMode::Full:
    return ir::ConvMode::Full;
  }
  llvm_unreachable("unknown conv mode");
}

Type elementType(MLIRContext *ctx, DType dtype) {
  switch (dtype) {
  case DType::Float32:
    return Float32Type::get(ctx);
  case DType::Float64:
    return Float64Type::get(ctx);
  case DType::Int8:
  case DType::UInt8:
    return IntegerType::get(ctx, 8);
  case DType::Int16:
  case DType::UInt16:
    return IntegerType::get(ctx, 16);
  case DType::Int32:
  case DType::UInt32:
    return IntegerType::get(ctx, 32);
  default:
    return IntegerType::get(ctx, 64);
  }
}

/// Parameters that become operands: the weights, biases and batch-norm
/// statistics of Conv, UpConv and Perceptron, and the value of ValueNode and
/// InitialState_like. Others are op attributes (dropout_rate,
/// AggregateLoss's mixing_weights, class weights).
bool isOperandParam(const NodeImpl &n, const std::string &name) {
  if (n.cls == "ValueNode" || n.cls == "InitialState_like")
    return name == "value";
  if (n.cls != "Conv" && n.cls != "UpConv" && n.cls != "Perceptron")
    return false;
  return name == "w" || name == "b" || name == "gamma" || name == "mean" ||
         name == "std";
}

class Importer {
public:
  Importer(ModuleOp module) : module_(module), b_(module.getContext()) {}

  FailureOr<func::FuncOp> run(const std::vector<Node> &outputs,
                              const std::string &name,
                              const OutputEpilogue &epilogue) {
    MLIRContext *ctx = module_.getContext();
    // Topological order (parents first) of everything the outputs need.
    for (const Node &out : outputs)
      visit(out.ptr().get());
    // Arguments: sources in all_parents order of the outputs, then params.
    std::vector<const NodeImpl *> sources;
    for (const Node &src : source_nodes(outputs))
      sources.push_back(src.ptr().get());
    SmallVector<Type> argTypes;
    SmallVector<Location> argLocs;
    SmallVector<NamedAttribute> argAttrs;
    std::vector<std::pair<const NodeImpl *, std::string>> params;
    for (const NodeImpl *src : sources) {
      argTypes.push_back(
          ir::getTaggedTensorType(src->shape, elementType(ctx, src->dtype)));
      argLocs.push_back(NameLoc::get(b_.getStringAttr(src->name)));
    }
    for (const NodeImpl *n : order_) {
      if (n->isSource)
        continue;
      for (const auto &[pname, param] : n->params) {
        if (!isOperandParam(*n, pname))
          continue;
        params.emplace_back(n, pname);
        const Sizes &sh = param.value.shape();
        argTypes.push_back(
            RankedTensorType::get(SmallVector<int64_t>(sh.begin(), sh.end()),
                                  elementType(ctx, param.value.dtype())));
        argLocs.push_back(
            NameLoc::get(b_.getStringAttr(n->name + "_" + pname)));
      }
    }
    SmallVector<Type> resultTypes;
    for (const Node &out : outputs)
      resultTypes.push_back(
          ir::getTaggedTensorType(out.shape(), elementType(ctx, out.dtype())));

    b_.setInsertionPointToEnd(module_.getBody());
    auto func =
        func::FuncOp::create(b_, NameLoc::get(b_.getStringAttr(name)), name,
                             b_.getFunctionType(argTypes, resultTypes));
    Block *entry = func.addEntryBlock();
    for (size_t i = 0; i < sources.size(); ++i) {
      entry->getArgument(i).setLoc(argLocs[i]);
      func.setArgAttr(i, ir::NmDialect::kInputAttrName,
                      b_.getStringAttr(sources[i]->name));
      values_[sources[i]] = entry->getArgument(i);
    }
    for (size_t k = 0; k < params.size(); ++k) {
      unsigned i = sources.size() + k;
      const auto &[n, pname] = params[k];
      entry->getArgument(i).setLoc(argLocs[i]);
      func.setArgAttr(i, ir::NmDialect::kParamAttrName,
                      b_.getStringAttr(n->name + "_" + pname));
      const Param &param = n->params.at(pname);
      if (param.trainable)
        func.setArgAttr(i, ir::NmDialect::kTrainableAttrName, b_.getUnitAttr());
      // ELEKTRONN2 decays apply_reg parameters, a BN gamma 3x as much.
      if (param.trainable && param.apply_reg)
        func.setArgAttr(i, ir::NmDialect::kWeightDecayAttrName,
                        b_.getF64FloatAttr(pname == "gamma" ? 3.0 : 1.0));
      paramValues_[{n, pname}] = entry->getArgument(i);
    }

    b_.setInsertionPointToEnd(entry);
    for (const NodeImpl *n : order_) {
      if (n->isSource)
        continue;
      if (failed(emit(*n))) {
        func.erase();
        return failure();
      }
    }
    SmallVector<Value> results;
    for (const Node &out : outputs) {
      FailureOr<Value> r =
          withEpilogue(values_.lookup(out.ptr().get()), epilogue);
      if (failed(r)) {
        func.erase();
        return failure();
      }
      results.push_back(*r);
    }
    func.setFunctionType(
        b_.getFunctionType(argTypes, ValueRange(results).getTypes()));
    func::ReturnOp::create(b_, NameLoc::get(b_.getStringAttr(name)), results);
    if (failed(verify(func))) {
      func.erase();
      return failure();
    }
    return func;
  }

private:
  /// `v` through the output epilogue, at `v`'s location (the node's name).
  /// Checked here: the ops' builders cannot report a type they fail to
  /// infer.
  FailureOr<Value> withEpilogue(Value v, const OutputEpilogue &epilogue) {
    if (!v || epilogue.empty())
      return v;
    Location loc = v.getLoc();
    std::optional<::nm::TaggedShape> s = ir::getTaggedShape(v.getType());
    if (!s || !s->hasTag('f'))
      return emitError(loc) << "the output epilogue needs an output with an "
                               "'f' axis";
    int64_t n = s->shape()[s->tagIndex('f')];
    for (int64_t c : epilogue.classes)
      if (c < 0 || c >= n)
        return emitError(loc) << "class " << c << " does not exist; the "
                              << "output has " << n << " channels";
    if (epilogue.asUint8 &&
        !isa<FloatType>(cast<RankedTensorType>(v.getType()).getElementType()))
      return emitError(loc) << "as_uint8 needs a float output";
    if (!epilogue.classes.empty())
      v = ir::SelectChannelsOp::create(b_, loc, v, epilogue.classes);
    if (epilogue.asUint8)
      v = ir::ToUint8Op::create(b_, loc, v);
    return v;
  }

  void visit(const NodeImpl *n) {
    if (!visited_.insert(n).second)
      return;
    for (const auto &p : n->parents)
      visit(p.get());
    order_.push_back(n);
  }

  Value param(const NodeImpl &n, const std::string &name) {
    auto it = paramValues_.find({&n, name});
    return it == paramValues_.end() ? Value() : it->second;
  }

  DenseI64ArrayAttr sizes(const NodeImpl &n, const char *key) {
    return b_.getDenseI64ArrayAttr(n.kwarg<std::vector<int64_t>>(key));
  }

  LogicalResult emit(const NodeImpl &n) {
    MLIRContext *ctx = b_.getContext();
    Location loc = NameLoc::get(b_.getStringAttr(n.name));
    OperationState state(loc, "nm." + opName(n.cls));
    if (state.name.getStringRef() == "nm.")
      return emitError(loc) << "the importer does not support node class '"
                            << n.cls << "' yet";
    for (const auto &p : n.parents) {
      Value v = values_.lookup(p.get());
      if (!v)
        return emitError(loc) << "parent '" << p->name << "' has no value";
      state.addOperands(v);
    }
    auto str = [&](const char *name, const std::string &value) {
      state.addAttribute(name, b_.getStringAttr(value));
    };
    // An option string parsed by core (the only parser of these enums); a
    // bad value is reported at the node.
    auto parsed =
        [&](auto expected) -> FailureOr<std::decay_t<decltype(*expected)>> {
      if (!expected)
        return emitError(loc) << expected.message();
      return *expected;
    };
    auto unit = [&](const char *name, const char *key) {
      if (n.kwarg<bool>(key))
        state.addAttribute(name, b_.getUnitAttr());
    };
    auto f64s = [&](const char *name, const char *key) {
      std::vector<double> v = n.kwarg<std::vector<double>>(key);
      if (!v.empty())
        state.addAttribute(name, b_.getDenseF64ArrayAttr(v));
    };
    auto layer = [&]() -> LogicalResult {
      for (const char *p : {"w", "b"}) {
        Value v = param(n, p);
        if (!v)
          return emitError(loc) << "missing parameter '" << p << "'";
        state.addOperands(v);
      }
      std::string bn = n.kwarg<std::string>("batch_normalisation");
      if (!bn.empty()) {
        for (const char *p : {"gamma", "mean", "std"})
          state.addOperands(param(n, p));
        FailureOr<BatchNormMode> mode = parsed(parseBatchNormMode(bn));
        if (failed(mode))
          return failure();
        state.addAttribute("batch_normalisation",
                           ir::BatchNormModeAttr::get(
                               ctx, static_cast<ir::BatchNormMode>(*mode)));
      }
      FailureOr<Activation> act =
          parsed(parseActivation(n.kwarg<std::string>("activation_func")));
      if (failed(act))
        return failure();
      if (act->kind != ActivationKind::Relu)
        state.addAttribute("activation", ir::ActivationAttr::get(ctx, *act));
      double rate = n.kwarg<double>("dropout_rate");
      if (rate != 0.0)
        state.addAttribute("dropout_rate", b_.getF64FloatAttr(rate));
      return success();
    };

    const std::string &c = n.cls;
    if (c == "Conv") {
      if (failed(layer()))
        return failure();
      std::vector<int64_t> pool = n.kwarg<std::vector<int64_t>>("pool_shape");
      if (!pool.empty())
        state.addAttribute("pool", b_.getDenseI64ArrayAttr(pool));
      FailureOr<ConvMode> mode =
          parsed(parseConvMode(n.kwarg<std::string>("conv_mode")));
      if (failed(mode))
        return failure();
      state.addAttribute("conv_mode",
                         ir::ConvModeAttr::get(ctx, toDialect(*mode)));
      unit("mfp", "mfp");
      unit("invalidate_fov", "invalidate_fov");
    } else if (c == "UpConv") {
      if (failed(layer()))
        return failure();
    } else if (c == "Perceptron") {
      if (failed(layer()))
        return failure();
      unit("flatten", "flatten");
    } else if (c == "ValueNode" || c == "InitialState_like") {
      // The value is a parameter (a function argument); ValueNode's op tags
      // it with the node's geometry, InitialState_like broadcasts it.
      Value v = param(n, "value");
      if (!v)
        return emitError(loc) << "missing parameter 'value'";
      state.addOperands(v);
      if (c == "ValueNode")
        unit("apply_train", "apply_train");
    } else if (c == "Pool") {
      state.addAttribute("pool", sizes(n, "pool_shape"));
      std::vector<int64_t> stride = n.kwarg<std::vector<int64_t>>("stride");
      if (!stride.empty())
        state.addAttribute("stride", b_.getDenseI64ArrayAttr(stride));
      FailureOr<PoolMode> mode =
          parsed(parsePoolMode(n.kwarg<std::string>("mode")));
      if (failed(mode))
        return failure();
      state.addAttribute(
          "mode", ir::PoolModeAttr::get(ctx, static_cast<ir::PoolMode>(*mode)));
    } else if (c == "Crop") {
      state.addAttribute("crop", sizes(n, "crop"));
    } else if (c == "Pad") {
      state.addAttribute("pad", sizes(n, "pad"));
      state.addAttribute("value", b_.getF64FloatAttr(n.kwarg<double>("value")));
    } else if (c == "Concat") {
      str("axis", n.kwarg<std::string>("axis"));
    } else if (c == "ApplyFunc") {
      str("func", n.kwarg<std::string>("functor"));
    } else if (c == "FromTensor") {
      int64_t begin = n.kwarg<int64_t>("begin");
      str("axis", n.kwarg<std::string>("axis"));
      state.addAttribute("start", b_.getI64IntegerAttr(begin));
      state.addAttribute("size",
                         b_.getI64IntegerAttr(n.kwarg<int64_t>("end") - begin));
      unit("strip_singleton_dims", "strip_singleton_dims");
    } else if (c == "LRN") {
      state.addAttribute("filter_shape", sizes(n, "filter_shape"));
      FailureOr<LRNMode> mode =
          parsed(parseLRNMode(n.kwarg<std::string>("mode")));
      if (failed(mode))
        return failure();
      state.addAttribute(
          "mode", ir::LRNModeAttr::get(ctx, static_cast<ir::LRNMode>(*mode)));
      state.addAttribute("alpha", b_.getF64FloatAttr(n.kwarg<double>("alpha")));
      state.addAttribute("k", b_.getF64FloatAttr(n.kwarg<double>("k")));
      state.addAttribute("beta", b_.getF64FloatAttr(n.kwarg<double>("beta")));
    } else if (c == "Softmax" || c == "Classification") {
      state.addAttribute("n_indep",
                         b_.getI64IntegerAttr(n.kwarg<int64_t>("n_indep")));
    } else if (c == "OneHot") {
      state.addAttribute("n_class",
                         b_.getI64IntegerAttr(n.kwarg<int64_t>("n_class")));
      str("axis", n.kwarg<std::string>("axis"));
    } else if (c == "MultinoulliNLL" || c == "BlockedMultinoulliNLL") {
      // Parents: pred, target, then the optional inputs the frontend
      // appended, named in "extra_inputs" (in the op's operand order).
      std::vector<std::string> extra =
          n.attr<std::vector<std::string>>("extra_inputs", {});
      if (n.parents.size() != 2 + extra.size())
        return emitError(loc) << "MultinoulliNLL with node-valued class "
                                 "weights is not supported yet";
      SmallVector<int32_t> segments{1, 1};
      for (const char *k :
           {"example_weights", "mask_class_labeled", "mask_class_not_present"})
        segments.push_back(llvm::is_contained(extra, k) ? 1 : 0);
      state.addAttribute("operandSegmentSizes",
                         b_.getDenseI32ArrayAttr(segments));
      if (c == "MultinoulliNLL")
        state.addAttribute("weakness",
                           b_.getF64FloatAttr(n.kwarg<double>("weakness")));
      unit("target_is_sparse", "target_is_sparse");
      f64s("class_weights", "class_weights");
      if (c == "BlockedMultinoulliNLL")
        state.addAttribute(
            "blocking_factor",
            b_.getF64FloatAttr(n.kwarg<double>("blocking_factor")));
    } else if (c == "_Errors") {
      unit("target_is_sparse", "target_is_sparse");
    } else if (c == "AggregateLoss") {
      f64s("mixing_weights", "mixing_weights");
    } else if (c == "GaussianNLL") {
      unit("sig_is_log", "sig_is_log");
    } else if (c == "BinaryNLL") {
      unit("subtract_label_entropy", "subtract_label_entropy");
    } else if (c == "RampLoss") {
      double margin = n.kwarg<double>("margin");
      if (margin != 0.0)
        state.addAttribute("margin", b_.getF64FloatAttr(margin));
    } else if (c == "SquaredLoss" || c == "AbsLoss") {
      for (const char *k : {"margin", "scale_correction"}) {
        auto it = n.attrs.find(k);
        if (it != n.attrs.end() && it->is_number())
          state.addAttribute(k, b_.getF64FloatAttr(it->get<double>()));
      }
    }
    state.addTypes(ir::getTaggedTensorType(n.shape, elementType(ctx, n.dtype)));
    Operation *op = b_.create(state);
    values_[&n] = op->getResult(0);
    return success();
  }

  static std::string opName(const std::string &cls) {
    static const std::map<std::string, std::string> kOps = {
        {"Conv", "conv"},
        {"UpConv", "upconv"},
        {"Perceptron", "perceptron"},
        {"Pool", "pool"},
        {"Crop", "crop"},
        {"Pad", "pad"},
        {"FragmentsToDense", "fragments_to_dense"},
        {"FromTensor", "slice"},
        {"Reshape", "reshape"},
        {"Concat", "concat"},
        {"Add", "add"},
        {"MultMerge", "mult"},
        {"ApplyFunc", "apply"},
        {"LRN", "lrn"},
        {"Softmax", "softmax"},
        {"OneHot", "onehot"},
        {"MultinoulliNLL", "multinoulli_nll"},
        {"BlockedMultinoulliNLL", "multinoulli_nll"},
        {"BinaryNLL", "binary_nll"},
        {"SquaredLoss", "squared_loss"},
        {"AbsLoss", "abs_loss"},
        {"GaussianNLL", "gaussian_nll"},
        {"BetaNLL", "beta_nll"},
        {"RampLoss", "ramp_loss"},
        {"ValueNode", "value"},
        {"InitialState_like", "initial_state"},
        {"EuclideanDistance", "euclidean_distance"},
        {"AggregateLoss", "aggregate_loss"},
        {"Classification", "classification"},
        {"_Errors", "errors"},
    };
    auto it = kOps.find(cls);
    return it == kOps.end() ? std::string() : it->second;
  }

  ModuleOp module_;
  OpBuilder b_;
  std::set<const NodeImpl *> visited_;
  std::vector<const NodeImpl *> order_;
  llvm::DenseMap<const NodeImpl *, Value> values_;
  std::map<std::pair<const NodeImpl *, std::string>, Value> paramValues_;
};
} // namespace

void loadImporterDialects(MLIRContext &context) {
  context.loadDialect<ir::NmDialect, func::FuncDialect>();
}

FailureOr<func::FuncOp> importFunction(ModuleOp module,
                                       const std::vector<Node> &outputs,
                                       const std::string &name,
                                       const OutputEpilogue &epilogue) {
  loadImporterDialects(*module.getContext());
  return Importer(module).run(outputs, name, epilogue);
}

OwningOpRef<ModuleOp> importModel(MLIRContext &context,
                                  const std::vector<Node> &outputs,
                                  const std::string &name) {
  loadImporterDialects(context);
  OwningOpRef<ModuleOp> module = ModuleOp::create(UnknownLoc::get(&context));
  if (failed(importFunction(*module, outputs, name, {})))
    return nullptr;
  return module;
}

} // namespace nm::compiler
