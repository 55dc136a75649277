//===- NmToLinalg.cpp - the nm -> linalg driver and pass ------------------===//
//
// Whole-function rebuild: for every function that uses nm, a new entry block
// with plain tensor arguments is built next to the old one; each op of the
// old block is lowered in order, reading its tagged types (axis tags,
// geometry) from the old IR and its operands from an IRMapping. Only when
// every op lowered is the old block dropped, so a failure leaves the function
// untouched. nm's tagged tensors carry everything the lowering needs in their
// types, and each nm op becomes a small, different DAG of linalg/tensor ops,
// so a one-pass rebuild is simpler than a TypeConverter + pattern set (there
// are no partial-conversion states to legalise).
//
// This file holds the per-function driver (LoweringContext: dispatch over
// ops, the function boundary, the channels-last values), the module-level
// entry point and the pass; the op families are lowered in their own files
// (LoweringContext.h).
//
//===----------------------------------------------------------------------===//
#include "neuromancer/compiler/conversion/NmToLinalg.h"

#include "LoweringContext.h"
#include "TensorUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Pass/Pass.h"
#include "neuromancer/dialect/IR/NmDialect.h"

#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;

namespace nm::compiler {

#define GEN_PASS_DECL_CONVERTNMTOLINALG
#define GEN_PASS_DEF_CONVERTNMTOLINALG
#define GEN_PASS_REGISTRATION
#include "compiler/conversion/Passes.h.inc"

namespace lowering {

LogicalResult notImplemented(Operation *op, StringRef what) {
  auto d = op->emitError() << "lowering of '" << op->getName()
                           << "' to linalg is not implemented yet";
  if (!what.empty())
    d << " (" << what << ")";
  return failure();
}

FailureOr<SmallVector<int64_t>> channelsLast(Operation *op,
                                             const ::nm::TaggedShape &s) {
  if (!s.hasTag('b') || !s.hasTag('f') || s.nSpatial() < 1 ||
      s.nSpatial() > 3 || s.ndim() != s.nSpatial() + 2) {
    op->emitError() << "lowering of '" << op->getName()
                    << "' to linalg needs axes b, f and 1-3 spatial axes, "
                       "got '"
                    << s.tagString() << "'";
    return failure();
  }
  SmallVector<int64_t> perm{s.tagIndex('b')};
  for (int64_t a : s.spatialAxes())
    perm.push_back(a);
  perm.push_back(s.tagIndex('f'));
  return perm;
}

LogicalResult LoweringContext::set(Operation *op, Value v) {
  auto want = plainType(op->getResult(0).getType());
  if (v.getType() != want)
    return op->emitError() << "internal error in the linalg lowering: "
                           << v.getType() << " instead of " << want;
  map_.map(op->getResult(0), v);
  return success();
}

LogicalResult setResults(LoweringContext &ctx, Operation *op,
                         ValueRange values) {
  assert(values.size() == op->getNumResults() && "one value per result");
  for (auto [r, v] : llvm::zip(op->getResults(), values)) {
    if (v.getType() != plainType(r.getType()))
      return op->emitError()
             << "internal error in the linalg lowering: " << v.getType()
             << " instead of " << plainType(r.getType());
    ctx.map(r, v);
  }
  return success();
}

int64_t LoweringContext::paddedChannels(int64_t n) const {
  if (n <= options_.maxUnpaddedChannels)
    return n;
  return llvm::alignTo(n, options_.channelAlignment);
}

Value LoweringContext::channelsLastInput(Location loc, Value nmInput,
                                         ArrayRef<int64_t> perm) {
  Value v = get(nmInput);
  auto it = channelsLastOf_.find(v);
  if (it != channelsLastOf_.end() && ArrayRef(it->second.perm) == perm)
    return it->second.value;
  return transposeT(b_, loc, v, perm);
}

Value LoweringContext::fromChannelsLast(Location loc, Value cl,
                                        ArrayRef<int64_t> perm,
                                        int64_t channels) {
  Value v = transposeT(b_, loc, sliceLastTo(b_, loc, cl, channels),
                       inversePerm(perm));
  // Without keepChannelsLast the consumers transpose the tag-order value.
  if (options_.keepChannelsLast)
    channelsLastOf_[v] = {cl, SmallVector<int64_t>(perm)};
  return v;
}

LogicalResult LoweringContext::lowerOp(Operation *op) {
  b_.setInsertionPointToEnd(b_.getInsertionBlock());
  for (Type t : op->getResultTypes())
    if (auto rt = dyn_cast<RankedTensorType>(t); rt && !rt.hasStaticShape())
      return op->emitError()
             << "dynamic sizes (None) must be fixed before compiling";
  if (auto ret = dyn_cast<func::ReturnOp>(op)) {
    SmallVector<Value> vals;
    for (Value v : ret.getOperands())
      vals.push_back(get(v));
    func::ReturnOp::create(b_, op->getLoc(), vals);
    return success();
  }
  if (!isa<ir::NmDialect>(op->getDialect())) {
    Operation *clone = b_.clone(*op, map_);
    for (Value r : clone->getResults())
      if (auto rt = dyn_cast<RankedTensorType>(r.getType());
          rt && rt.getEncoding())
        return op->emitError() << "cannot lower a non-nm op on tagged tensors";
    return success();
  }
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<ir::ConvOp, ir::PoolOp, ir::PerceptronOp, ir::SoftmaxOp,
            ir::MultinoulliNLLOp, ir::AggregateLossOp, ir::ClassificationOp,
            ir::ErrorsOp, ir::CropOp, ir::PadOp, ir::ConcatOp, ir::AddOp,
            ir::MultOp, ir::ApplyOp, ir::SliceOp, ir::ReshapeOp,
            ir::FragmentsToDenseOp, ir::ValueOp, ir::InitialStateOp,
            ir::OneHotOp, ir::UpConvOp, ir::LRNOp, ir::BinaryNLLOp,
            ir::SquaredLossOp, ir::AbsLossOp, ir::GaussianNLLOp, ir::BetaNLLOp,
            ir::RampLossOp, ir::EuclideanDistanceOp, ir::ConvGradInputOp,
            ir::ConvGradWeightOp, ir::BiasGradOp, ir::DenseGradInputOp,
            ir::DenseGradWeightOp, ir::PoolGradOp, ir::FillOp, ir::AccumulateOp,
            ir::RetagOp, ir::BroadcastGradOp, ir::ApplyGradOp, ir::CropGradOp,
            ir::PadGradOp, ir::SliceGradOp, ir::SoftmaxGradOp,
            ir::MultinoulliNLLGradOp, ir::LossGradOp, ir::OptimizerUpdateOp,
            ir::BiasActivationOp, ir::BiasActivationGradOp,
            ir::UpConvGradInputOp, ir::UpConvGradWeightOp, ir::LRNGradOp,
            ir::EmbedGradOp, ir::LossOperandGradOp, ir::DropoutOp,
            ir::BatchNormOp, ir::BatchNormGradOp, ir::BatchNormGammaGradOp,
            ir::BatchNormRunningOp, ir::SelectChannelsOp, ir::ToUint8Op>(
          [&](auto o) { return lower(o, *this); })
      .Default([&](Operation *o) { return notImplemented(o); });
}

/// The node name a value carries (NameLoc of its op or argument).
static std::optional<std::string> nameOf(Value v) {
  Location loc = v.getLoc();
  if (auto nl = dyn_cast<NameLoc>(loc))
    return nl.getName().str();
  if (auto fl = dyn_cast<FusedLoc>(loc))
    for (Location l : fl.getLocations())
      if (auto nl = dyn_cast<NameLoc>(l))
        return nl.getName().str();
  return std::nullopt;
}

/// The name of each result of `f` (old block): the node that produced it,
/// or the nm.input name of an argument returned as is; "" if none.
static SmallVector<std::string> resultNames(func::FuncOp f, Block &old) {
  SmallVector<std::string> names;
  auto ret = dyn_cast<func::ReturnOp>(old.getTerminator());
  if (!ret)
    return names;
  for (Value v : ret.getOperands()) {
    std::string n;
    if (auto arg = dyn_cast<BlockArgument>(v)) {
      if (auto s =
              f.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "nm.input"))
        n = s.str();
    } else if (auto nm = nameOf(v)) {
      n = *nm;
    }
    names.push_back(n);
  }
  return names;
}

/// The argument and result attributes that codegen reads: `nm.input = "x"`
/// becomes `nm.name = "x"`; `nm.param = "w"` (+ nm.trainable) becomes
/// `nm.name = "w"` + `nm.parameter` (nm.trainable and nm.weight_decay, which
/// only the nm passes read, are dropped); results get `nm.name` from
/// `resultNames`, and `nm.dtype = "uint<n>"` where the nm result type was
/// unsigned (the lowering makes integers signless; e.g. nm.to_uint8).
static void markBoundary(func::FuncOp f, ArrayRef<std::string> resultNames,
                         TypeRange nmResults) {
  MLIRContext *ctx = f.getContext();
  for (unsigned i = 0; i < f.getNumArguments(); ++i) {
    if (auto s = f.getArgAttrOfType<StringAttr>(i, "nm.input")) {
      f.removeArgAttr(i, StringAttr::get(ctx, "nm.input"));
      f.setArgAttr(i, "nm.name", s);
    } else if (auto p = f.getArgAttrOfType<StringAttr>(i, "nm.param")) {
      f.removeArgAttr(i, StringAttr::get(ctx, "nm.param"));
      f.removeArgAttr(i, StringAttr::get(ctx, "nm.trainable"));
      f.removeArgAttr(i, StringAttr::get(ctx, "nm.weight_decay"));
      f.setArgAttr(i, "nm.name", p);
      f.setArgAttr(i, "nm.parameter", UnitAttr::get(ctx));
    }
  }
  for (unsigned i = 0; i < resultNames.size(); ++i)
    if (!resultNames[i].empty() && !f.getResultAttr(i, "nm.name"))
      f.setResultAttr(i, "nm.name", StringAttr::get(ctx, resultNames[i]));
  for (auto [i, t] : llvm::enumerate(nmResults))
    if (auto rt = dyn_cast<RankedTensorType>(t))
      if (auto it = dyn_cast<IntegerType>(rt.getElementType());
          it && it.isUnsigned())
        f.setResultAttr(
            i, ir::NmDialect::kDTypeAttrName,
            StringAttr::get(ctx, "uint" + std::to_string(it.getWidth())));
}

LogicalResult LoweringContext::run() {
  FunctionType ft = func_.getFunctionType();
  Block &old = func_.getBody().front();
  for (Type t : llvm::concat<const Type>(ft.getInputs(), ft.getResults()))
    if (auto rt = dyn_cast<RankedTensorType>(t); rt && !rt.hasStaticShape())
      return func_.emitError()
             << "dynamic sizes (None) must be fixed before compiling (@"
             << func_.getSymName() << " has " << t << ")";
  SmallVector<Type> inTypes, outTypes;
  for (Type t : ft.getInputs())
    inTypes.push_back(isa<RankedTensorType>(t) ? plainType(t) : t);
  for (Type t : ft.getResults())
    outTypes.push_back(isa<RankedTensorType>(t) ? plainType(t) : t);

  // The new block next to the old one; dropped if any op fails.
  auto *block = new Block();
  for (BlockArgument a : old.getArguments())
    map_.map(a, block->addArgument(inTypes[a.getArgNumber()], a.getLoc()));
  b_.setInsertionPointToEnd(block);
  for (Operation &op : old) {
    if (failed(lowerOp(&op))) {
      block->dropAllDefinedValueUses();
      block->dropAllReferences();
      delete block;
      return failure();
    }
  }
  SmallVector<std::string> names = resultNames(func_, old);
  old.dropAllDefinedValueUses();
  old.dropAllReferences();
  old.erase();
  func_.getBody().push_back(block);
  func_.setFunctionType(
      FunctionType::get(func_.getContext(), inTypes, outTypes));
  markBoundary(func_, names, ft.getResults());
  return success();
}

} // namespace lowering

namespace {

/// Whether `f` has nm ops or tagged tensors (else it is left alone).
bool usesNm(func::FuncOp f) {
  auto tagged = [](Type t) { return ir::isTaggedTensor(t); };
  if (llvm::any_of(f.getFunctionType().getInputs(), tagged) ||
      llvm::any_of(f.getFunctionType().getResults(), tagged))
    return true;
  bool found = false;
  f.walk([&](Operation *op) {
    if (isa<ir::NmDialect>(op->getDialect()))
      found = true;
  });
  return found;
}

/// `--convert-nm-to-linalg` (Passes.td): lowerNmToLinalg with the options
/// of the command line.
struct ConvertNmToLinalgPass
    : impl::ConvertNmToLinalgBase<ConvertNmToLinalgPass> {
  using Base::Base;

  void runOnOperation() override {
    NmToLinalgOptions options;
    options.channelAlignment = channelAlignment;
    options.maxUnpaddedChannels = maxUnpaddedChannels;
    options.keepChannelsLast = keepChannelsLast;
    if (failed(lowerNmToLinalg(getOperation(), options)))
      signalPassFailure();
  }
};

} // namespace

LogicalResult lowerNmToLinalg(ModuleOp module,
                              const NmToLinalgOptions &options) {
  if (options.channelAlignment < 1 || options.maxUnpaddedChannels < 0)
    return module.emitError()
           << "convert-nm-to-linalg: channel-alignment must be >= 1 and "
              "max-unpadded-channels >= 0";
  MLIRContext *ctx = module.getContext();
  ctx->getOrLoadDialect<linalg::LinalgDialect>();
  ctx->getOrLoadDialect<tensor::TensorDialect>();
  ctx->getOrLoadDialect<arith::ArithDialect>();
  ctx->getOrLoadDialect<math::MathDialect>();
  ctx->getOrLoadDialect<func::FuncDialect>();
  bool ok = true;
  SmallVector<func::FuncOp> funcs(module.getOps<func::FuncOp>());
  for (func::FuncOp f : funcs) {
    if (f.isExternal() || !usesNm(f))
      continue;
    if (!llvm::hasSingleElement(f.getBody())) {
      f.emitError() << "convert-nm-to-linalg expects single-block functions";
      ok = false;
      continue;
    }
    lowering::LoweringContext function(f, options);
    if (failed(function.run())) {
      ok = false;
      continue;
    }
    // Values no one reads (e.g. the tag-order copy of a conv output that
    // the next conv reads in its internal layout).
    SmallVector<Operation *> ops;
    f.walk([&](Operation *op) { ops.push_back(op); });
    for (Operation *op : llvm::reverse(ops))
      if (isOpTriviallyDead(op))
        op->erase();
  }
  return success(ok);
}

std::unique_ptr<Pass> createNmToLinalgPass() {
  return createConvertNmToLinalg();
}

std::unique_ptr<Pass> createNmToLinalgPass(const NmToLinalgOptions &options) {
  ConvertNmToLinalgOptions o;
  o.channelAlignment = options.channelAlignment;
  o.maxUnpaddedChannels = options.maxUnpaddedChannels;
  o.keepChannelsLast = options.keepChannelsLast;
  return createConvertNmToLinalg(o);
}

void registerNmToLinalgPass() { registerNmConversionPasses(); }

void registerNmToLinalgDialects(DialectRegistry &registry) {
  registry.insert<linalg::LinalgDialect, tensor::TensorDialect,
                  arith::ArithDialect, math::MathDialect, func::FuncDialect>();
}

} // namespace nm::compiler
