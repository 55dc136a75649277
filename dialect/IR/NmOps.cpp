//===- NmOps.cpp - nm operations ------------------------------------------===//
//
// Shape/geometry inference of every op calls neuromancer/core/Geometry.h;
// this file only maps operands and attributes onto those rules and checks
// the parameter shapes the rules take for granted.
//
//===----------------------------------------------------------------------===//
#include "neuromancer/dialect/IR/NmOps.h"
#include "InferenceSupport.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/OpImplementation.h"
#include "neuromancer/core/Geometry.h"

#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using ::nm::Expected;
using ::nm::Failure;
using ::nm::Sizes;
using ::nm::TaggedShape;

#include "neuromancer/dialect/IR/NmInterfaces.cpp.inc"

namespace nm::ir {
using namespace infer;
namespace {

Expected<Sizes> paramShape(Value v, StringRef what) {
  auto t = v ? dyn_cast<RankedTensorType>(v.getType()) : RankedTensorType();
  if (!t || !t.hasStaticShape())
    return error(what.str(), " must be a statically shaped tensor");
  return Sizes(t.getShape().begin(), t.getShape().end());
}

std::string str(const Sizes &s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i)
    out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

Sizes toSizes(std::optional<ArrayRef<int64_t>> v) {
  return v ? Sizes(v->begin(), v->end()) : Sizes();
}

bool sizesCompatible(int64_t a, int64_t b) {
  return a == b || a == ::nm::None || b == ::nm::None;
}

/// Same tags and compatible sizes on every axis except `except` (a tag, or 0).
std::optional<Failure> checkSameShape(const TaggedShape &a,
                                      const TaggedShape &b, StringRef what,
                                      char except = 0) {
  bool ok = a.tags() == b.tags();
  for (int64_t i = 0; ok && i < a.ndim(); ++i)
    if (a.tags()[i] != except && !sizesCompatible(a[i], b[i]))
      ok = false;
  if (ok)
    return std::nullopt;
  return error(what.str(), " ", b.repr(), " does not match ", a.repr(),
               except ? std::string(" (except on axis '") + except + "')"
                      : std::string());
}

std::optional<Failure> checkTag(const TaggedShape &s, StringRef tag,
                                StringRef what) {
  if (tag.size() != 1 || !s.hasTag(tag[0]))
    return error(what.str(), " '", tag.str(), "' is not an axis of ", s.repr());
  return std::nullopt;
}

/// Bias, batch-norm operands, activation and dropout of a layer with n_f
/// (pre-maxout) output features.
std::optional<Failure> checkLayerParams(Value b, ValueRange bn, int64_t nF,
                                        const ::nm::Activation &act,
                                        std::optional<BatchNormMode> bnMode,
                                        double dropout) {
  Expected<Sizes> bShape = paramShape(b, "bias");
  if (!bShape)
    return bShape.failure();
  Sizes expected =
      act.kind == ::nm::ActivationKind::PRelu ? Sizes{nF, 2} : Sizes{nF};
  if (*bShape != expected)
    return error("bias must have shape ", str(expected), " for n_f = ", nF,
                 " and activation '", ::nm::activationText(act), "', got ",
                 str(*bShape));
  if (bnMode) {
    if (bn.size() != 3)
      return error("batch_normalisation '",
                   stringifyBatchNormMode(*bnMode).str(),
                   "' needs 3 bn operands (gamma, mean, std), got ", bn.size());
    for (Value v : bn) {
      Expected<Sizes> s = paramShape(v, "bn operand");
      if (!s)
        return s.failure();
      if (*s != Sizes{nF})
        return error("bn operands must have shape [", nF, "], got ", str(*s));
    }
  } else if (!bn.empty()) {
    return error("bn operands given without batch_normalisation");
  }
  if (dropout < 0.0 || dropout >= 1.0)
    return error("dropout_rate must be in [0, 1), got ", dropout);
  return std::nullopt;
}

SmallVector<Value> layerParams(Value w, Value b, ValueRange bn,
                               std::optional<BatchNormMode> bnMode) {
  SmallVector<Value> params = {w, b};
  if (bnMode &&
      (*bnMode == BatchNormMode::Train || *bnMode == BatchNormMode::Fadeout) &&
      !bn.empty())
    params.push_back(bn.front());
  return params;
}

int64_t sizeOf(Value v) {
  if (std::optional<TaggedShape> s = getTaggedShape(v.getType()))
    return s->stripnoneProd();
  return countElements({v});
}

} // namespace

//===----------------------------------------------------------------------===//
// Interface helpers
//===----------------------------------------------------------------------===//

int64_t defaultCost(Operation *op) {
  return op->getNumOperands() ? sizeOf(op->getOperand(0)) : 0;
}

int64_t countElements(ArrayRef<Value> values) {
  int64_t n = 0;
  for (Value v : values)
    if (auto t = dyn_cast<RankedTensorType>(v.getType());
        t && t.hasStaticShape())
      n += t.getNumElements();
  return n;
}

LogicalResult verifyTaggedShapeInference(Operation *op) {
  auto iface = cast<TaggedShapeInferenceInterface>(op);
  Expected<TaggedShape> inferred = iface.inferOutputShape();
  if (!inferred)
    return op->emitOpError() << inferred.message();
  Type elementType = iface.inferResultElementType();
  if (!elementType)
    return op->emitOpError() << "cannot infer the result element type";
  Type declared = op->getResult(0).getType();
  RankedTensorType expected = getTaggedTensorType(*inferred, elementType);
  if (declared != expected)
    return op->emitOpError()
           << "result type " << declared
           << " does not match the geometry rules, which give " << expected;
  return success();
}

//===----------------------------------------------------------------------===//
// Layers with parameters
//===----------------------------------------------------------------------===//

namespace {
double toDouble(const llvm::APFloat &f) { return f.convertToDouble(); }
} // namespace

Expected<TaggedShape> ConvOp::inferTaggedShape(Adaptor a) {
  NM_TRY(in, shapeOf(a.getInput(), "input"));
  NM_TRY(w, paramShape(a.getW(), "weight"));
  if (static_cast<int64_t>(w.size()) != in.nSpatial() + 2)
    return error("weight must have shape [n_f, n_in, *filter] with ",
                 in.nSpatial(), " filter sizes for input ", in.repr(), ", got ",
                 str(w));
  if (in.hasTag('f') && in['f'] != w[1])
    return error("weight ", str(w), " expects n_in = ", w[1],
                 " input features but the input ", in.repr(), " has ",
                 in.hasTag('f') ? in['f'] : 0);
  ::nm::ConvGeometry g;
  g.n_f = w[0];
  g.filter = Sizes(w.begin() + 2, w.end());
  g.pool = toSizes(a.getPool());
  g.mode = toCore(a.getConvMode());
  g.mfp = a.getMfp();
  g.invalidateFov = a.getInvalidateFov();
  g.dilation = toSizes(a.getDilation());
  NM_CHECK(checkLayerParams(
      a.getB(), a.getBn(), g.n_f, activationOf(a.getActivation()),
      a.getBatchNormalisation(), toDouble(a.getDropoutRate())));
  NM_TRY(out, ::nm::convOutputShape(in, g));
  return ::nm::activationOutputShape(out, activationOf(a.getActivation()));
}
NM_INFER(ConvOp)

int64_t ConvOp::getComputationalCost() {
  std::optional<TaggedShape> in = getTaggedShape(getInput().getType());
  Expected<Sizes> w = paramShape(getW(), "weight");
  if (!in || !w)
    return 0;
  ::nm::ConvGeometry g;
  g.n_f = (*w)[0];
  g.filter = Sizes(w->begin() + 2, w->end());
  g.pool = toSizes(getPool());
  g.mode = toCore(getConvMode());
  g.mfp = getMfp();
  g.dilation = toSizes(getDilation());
  return ::nm::convCost(*in, g);
}

SmallVector<Value> ConvOp::getTrainableParams() {
  return layerParams(getW(), getB(), getBn(), getBatchNormalisation());
}

Expected<TaggedShape> UpConvOp::inferTaggedShape(Adaptor a) {
  NM_TRY(in, shapeOf(a.getInput(), "input"));
  NM_TRY(w, paramShape(a.getW(), "weight"));
  if (static_cast<int64_t>(w.size()) != in.nSpatial() + 2)
    return error("weight must have shape [n_f, n_in, *pool] with ",
                 in.nSpatial(), " pool sizes for input ", in.repr(), ", got ",
                 str(w));
  if (!in.hasTag('f') || in['f'] != w[1])
    return error("weight ", str(w), " expects n_in = ", w[1],
                 " input features but the input is ", in.repr());
  NM_CHECK(checkLayerParams(
      a.getB(), a.getBn(), w[0], activationOf(a.getActivation()),
      a.getBatchNormalisation(), toDouble(a.getDropoutRate())));
  NM_TRY(out, ::nm::upconvOutputShape(in, w[0], Sizes(w.begin() + 2, w.end())));
  return ::nm::activationOutputShape(out, activationOf(a.getActivation()));
}
NM_INFER(UpConvOp)

int64_t UpConvOp::getComputationalCost() {
  std::optional<TaggedShape> in = getTaggedShape(getInput().getType());
  Expected<Sizes> w = paramShape(getW(), "weight");
  if (!in || !w)
    return 0;
  return ::nm::upconvCost(*in, (*w)[0], Sizes(w->begin() + 2, w->end()));
}

SmallVector<Value> UpConvOp::getTrainableParams() {
  return layerParams(getW(), getB(), getBn(), getBatchNormalisation());
}

Expected<TaggedShape> PerceptronOp::inferTaggedShape(Adaptor a) {
  NM_TRY(in, shapeOf(a.getInput(), "input"));
  NM_TRY(w, paramShape(a.getW(), "weight"));
  bool flatten = a.getFlatten();
  if (!flatten && (!in.hasTag('f') || in['f'] == ::nm::None))
    return error("Perceptron needs a known 'f' axis (or flatten), got ",
                 in.repr());
  int64_t nIn = ::nm::perceptronInputs(in, flatten);
  if (w.size() != 2 || w[0] != nIn)
    return error("weight must have shape [n_in, n_f] with n_in = ", nIn,
                 flatten ? " (flattened input " : " (input ", in.repr(),
                 "), got ", str(w));
  NM_CHECK(checkLayerParams(
      a.getB(), a.getBn(), w[1], activationOf(a.getActivation()),
      a.getBatchNormalisation(), toDouble(a.getDropoutRate())));
  NM_TRY(out, ::nm::perceptronOutputShape(in, w[1], flatten));
  return ::nm::activationOutputShape(out, activationOf(a.getActivation()));
}
NM_INFER(PerceptronOp)

int64_t PerceptronOp::getComputationalCost() {
  Expected<Sizes> w = paramShape(getW(), "weight");
  return w && w->size() == 2 ? sizeOf(getInput()) * (*w)[1] : 0;
}

SmallVector<Value> PerceptronOp::getTrainableParams() {
  return layerParams(getW(), getB(), getBn(), getBatchNormalisation());
}

//===----------------------------------------------------------------------===//
// Values and learned states
//===----------------------------------------------------------------------===//

Expected<TaggedShape> ValueOp::inferTaggedShape(Adaptor) {
  return error("nm.value takes its tags and geometry from the declared "
               "result type");
}

Expected<TaggedShape> ValueOp::inferOutputShape() {
  NM_TRY(value, paramShape(getValue(), "value"));
  NM_TRY(out, shapeOf(getOutput(), "result"));
  if (out.shape() != value)
    return error("result ", out.repr(), " must have the shape of the value, ",
                 str(value));
  return out;
}
Type ValueOp::inferResultElementType() { return elementTypeOf(getValue()); }
int64_t ValueOp::getComputationalCost() { return 0; }

SmallVector<Value> ValueOp::getTrainableParams() {
  if (getApplyTrain())
    return {getValue()};
  return {};
}

Expected<TaggedShape> InitialStateOp::inferTaggedShape(Adaptor a) {
  NM_TRY(in, shapeOf(a.getInput(), "input"));
  NM_TRY(value, paramShape(a.getValue(), "value"));
  if (value.size() != 1)
    return error("value must have shape [n_f], got ", str(value));
  return ::nm::initialStateShape(in, value[0]);
}
NM_INFER_RETURN_TYPES(InitialStateOp)
Type InitialStateOp::inferElementType(Adaptor a) {
  return elementTypeOf(a.getValue());
}
int64_t InitialStateOp::getComputationalCost() { return 0; }
SmallVector<Value> InitialStateOp::getTrainableParams() { return {getValue()}; }

//===----------------------------------------------------------------------===//
// Geometry
//===----------------------------------------------------------------------===//

Expected<TaggedShape> PoolOp::inferTaggedShape(Adaptor a) {
  NM_TRY(in, shapeOf(a.getInput(), "input"));
  return ::nm::poolOutputShape(in, Sizes(a.getPool()), toSizes(a.getStride()),
                               toSizes(a.getDilation()));
}
NM_INFER(PoolOp)

OpFoldResult PoolOp::fold(FoldAdaptor) {
  auto ones = [](ArrayRef<int64_t> v) {
    return llvm::all_of(v, [](int64_t x) { return x == 1; });
  };
  if (ones(getPool()) && (!getStride() || ones(*getStride())) &&
      getInput().getType() == getType())
    return getInput();
  return {};
}

Expected<TaggedShape> CropOp::inferTaggedShape(Adaptor a) {
  NM_TRY(in, shapeOf(a.getInput(), "input"));
  return ::nm::cropOutputShape(in, Sizes(a.getCrop()));
}
NM_INFER(CropOp)
int64_t CropOp::getComputationalCost() { return 0; }

OpFoldResult CropOp::fold(FoldAdaptor) {
  if (llvm::all_of(getCrop(), [](int64_t x) { return x == 0; }) &&
      getInput().getType() == getType())
    return getInput();
  return {};
}

Expected<TaggedShape> PadOp::inferTaggedShape(Adaptor a) {
  NM_TRY(in, shapeOf(a.getInput(), "input"));
  return ::nm::padOutputShape(in, Sizes(a.getPad()));
}
NM_INFER(PadOp)
int64_t PadOp::getComputationalCost() { return 0; }

OpFoldResult PadOp::fold(FoldAdaptor) {
  if (llvm::all_of(getPad(), [](int64_t x) { return x == 0; }) &&
      getInput().getType() == getType())
    return getInput();
  return {};
}

Expected<TaggedShape> FragmentsToDenseOp::inferTaggedShape(Adaptor a) {
  NM_TRY(in, shapeOf(a.getInput(), "input"));
  return ::nm::fragmentsToDenseShape(in);
}
NM_INFER(FragmentsToDenseOp)
int64_t FragmentsToDenseOp::getComputationalCost() { return 0; }

Expected<TaggedShape> SliceOp::inferTaggedShape(Adaptor a) {
  NM_TRY(in, shapeOf(a.getInput(), "input"));
  StringRef axis = a.getAxis();
  NM_CHECK(checkTag(in, axis, "slice axis"));
  int64_t start = static_cast<int64_t>(a.getStart()),
          size = static_cast<int64_t>(a.getSize()), n = in[axis[0]];
  if (start < 0 || size < 1 || (n != ::nm::None && start + size > n))
    return error("slice [", start, ", ", start + size,
                 ") is out of range for "
                 "axis '",
                 axis.str(), "' of ", in.repr());
  TaggedShape out = in.updateShape(axis[0], size);
  if (a.getStripSingletonDims() && size == 1)
    out = out.delAxis(axis[0]);
  return out;
}
NM_INFER(SliceOp)
int64_t SliceOp::getComputationalCost() { return 0; }

Expected<TaggedShape> ReshapeOp::inferTaggedShape(Adaptor a) {
  return shapeOf(a.getInput(), "input");
}

Expected<TaggedShape> ReshapeOp::inferOutputShape() {
  NM_TRY(in, shapeOf(getInput(), "input"));
  NM_TRY(out, shapeOf(getOutput(), "result"));
  if (in.stripbatchProd() != out.stripbatchProd())
    return error("Reshape must preserve the number of non-batch elements: ",
                 in.repr(), " has ", in.stripbatchProd(), ", ", out.repr(),
                 " has ", out.stripbatchProd());
  return out;
}
Type ReshapeOp::inferResultElementType() { return elementTypeOf(getInput()); }
int64_t ReshapeOp::getComputationalCost() { return 0; }

//===----------------------------------------------------------------------===//
// Merges and elementwise
//===----------------------------------------------------------------------===//

Expected<TaggedShape> ConcatOp::inferTaggedShape(Adaptor a) {
  std::vector<TaggedShape> shapes;
  for (Value v : a.getInputs()) {
    NM_TRY(s, shapeOf(v, "input"));
    shapes.push_back(s);
    if (elementTypeOf(v) != elementTypeOf(a.getInputs().front()))
      return error("Concat inputs have different element types");
  }
  if (a.getAxis().size() != 1)
    return error("Concat axis must be one tag, got '", a.getAxis().str(), "'");
  return ::nm::concatOutputShape(shapes, a.getAxis()[0]);
}
NM_INFER(ConcatOp)
int64_t ConcatOp::getComputationalCost() { return 0; }

namespace {
Expected<TaggedShape> elementwiseMerge(Value lhs, Value rhs, StringRef what) {
  NM_TRY(l, shapeOf(lhs, "lhs"));
  NM_TRY(r, shapeOf(rhs, "rhs"));
  if (l.tags() != r.tags() || l.shape() != r.shape())
    return error(what.str(), " needs equal shapes, got ", l.repr(), " and ",
                 r.repr());
  if (elementTypeOf(lhs) != elementTypeOf(rhs))
    return error(what.str(), " needs equal element types");
  return l;
}
} // namespace

Expected<TaggedShape> AddOp::inferTaggedShape(Adaptor a) {
  return elementwiseMerge(a.getLhs(), a.getRhs(), "Add");
}
NM_INFER(AddOp)
int64_t AddOp::getComputationalCost() { return 0; }

Expected<TaggedShape> MultOp::inferTaggedShape(Adaptor a) {
  return elementwiseMerge(a.getLhs(), a.getRhs(), "MultMerge");
}
NM_INFER(MultOp)

Expected<TaggedShape> ApplyOp::inferTaggedShape(Adaptor a) {
  NM_TRY(in, shapeOf(a.getInput(), "input"));
  if (std::optional<Failure> failure =
          ::nm::checkElementwiseFunction(a.getFunc().str()))
    return *failure;
  return in;
}
NM_INFER(ApplyOp)

Expected<TaggedShape> BiasActivationOp::inferTaggedShape(Adaptor a) {
  NM_TRY(in, shapeOf(a.getInput(), "input"));
  NM_CHECK(checkTag(in, "f", "feature axis"));
  ::nm::Activation act = activationOf(a.getActivation());
  NM_CHECK(checkLayerParams(a.getB(), {}, in['f'], act, std::nullopt, 0.0));
  return ::nm::activationOutputShape(in, act);
}
NM_INFER(BiasActivationOp)

Expected<TaggedShape> LRNOp::inferTaggedShape(Adaptor a) {
  NM_TRY(in, shapeOf(a.getInput(), "input"));
  ArrayRef<int64_t> filter = a.getFilterShape();
  if (llvm::any_of(filter, [](int64_t x) { return x < 1; }))
    return error("LRN filter_shape entries must be >= 1");
  if (a.getMode() == LRNMode::Spatial) {
    if (static_cast<int64_t>(filter.size()) != in.nSpatial())
      return error("LRN in 'spatial' mode needs one filter size per spatial "
                   "axis of ",
                   in.repr());
  } else if (filter.size() != 1 || filter[0] % 2 == 0) {
    return error("LRN in 'channel' mode needs one odd window size");
  }
  return in;
}
NM_INFER(LRNOp)

//===----------------------------------------------------------------------===//
// Outputs, losses, evaluation
//===----------------------------------------------------------------------===//

Expected<TaggedShape> SoftmaxOp::inferTaggedShape(Adaptor a) {
  NM_TRY(in, shapeOf(a.getInput(), "input"));
  int64_t nIndep = static_cast<int64_t>(a.getNIndep());
  if (!in.hasTag('f'))
    return error("Softmax needs an 'f' axis, got ", in.repr());
  if (nIndep < 1 || (in['f'] != ::nm::None && in['f'] % nIndep != 0))
    return error("Softmax: n_indep = ", nIndep,
                 " must divide the number of features of ", in.repr());
  return in;
}
NM_INFER(SoftmaxOp)

LogicalResult SoftmaxOp::verify() {
  // ELEKTRONN2: the parent must have activation_func 'lin' if it has one.
  if (Operation *def = getInput().getDefiningOp())
    if (isa<ConvOp, UpConvOp, PerceptronOp>(def)) {
      ::nm::Activation act =
          activationOf(def->getAttrOfType<ActivationAttr>("activation"));
      if (act.kind != ::nm::ActivationKind::Linear)
        return emitOpError() << "input must come from a layer with "
                                "activation 'lin', got '"
                             << ::nm::activationText(act) << "'";
    }
  return success();
}

Expected<TaggedShape> OneHotOp::inferTaggedShape(Adaptor a) {
  NM_TRY(in, shapeOf(a.getTarget(), "target"));
  NM_CHECK(checkTag(in, a.getAxis(), "OneHot axis"));
  int64_t nClass = static_cast<int64_t>(a.getNClass());
  if (nClass < 1)
    return error("OneHot needs n_class >= 1, got ", nClass);
  if (in[a.getAxis()[0]] != 1)
    return error("OneHot target must have size 1 on axis '", a.getAxis().str(),
                 "', got ", in.repr());
  return in.updateShape(a.getAxis()[0], nClass);
}
NM_INFER_RETURN_TYPES(OneHotOp)
Type OneHotOp::inferElementType(Adaptor a) {
  Value t = a.getTarget();
  return t ? Float32Type::get(t.getContext()) : Type();
}

namespace {
/// n_indep of the softmax that produced `pred` (through nm.slice), or 1.
int64_t softmaxIndep(Value pred) {
  Operation *def = pred ? pred.getDefiningOp() : nullptr;
  while (auto slice = dyn_cast_or_null<SliceOp>(def))
    def = slice.getInput().getDefiningOp();
  if (auto sm = dyn_cast_or_null<SoftmaxOp>(def))
    return static_cast<int64_t>(sm.getNIndep());
  return 1;
}

/// Loss with a target of pred's shape and a result of pred's shape with
/// f = 1 (or pred's shape when `keepF`).
Expected<TaggedShape> pairLoss(Value pred, Value target, bool keepF) {
  NM_TRY(p, shapeOf(pred, "pred"));
  NM_TRY(t, shapeOf(target, "target"));
  NM_CHECK(checkSameShape(p, t, "target"));
  if (keepF)
    return p;
  if (!p.hasTag('f'))
    return error("loss needs an 'f' axis, got ", p.repr());
  return p.updateShape('f', 1);
}
} // namespace

Expected<TaggedShape> MultinoulliNLLOp::inferTaggedShape(Adaptor a) {
  NM_TRY(p, shapeOf(a.getPred(), "pred"));
  NM_TRY(t, shapeOf(a.getTarget(), "target"));
  if (!p.hasTag('f'))
    return error("MultinoulliNLL needs an 'f' axis, got ", p.repr());
  int64_t nIndep = softmaxIndep(a.getPred());
  if (a.getTargetIsSparse()) {
    NM_CHECK(checkSameShape(p, t, "sparse target", 'f'));
    if (t['f'] != nIndep)
      return error("sparse target must have f = ", nIndep,
                   " (one label per independent softmax), got ", t.repr());
  } else {
    NM_CHECK(checkSameShape(p, t, "dense target"));
  }
  if (std::optional<ArrayRef<double>> cw = a.getClassWeights()) {
    int64_t nClass = p['f'] == ::nm::None ? ::nm::None : p['f'] / nIndep;
    if (nClass != ::nm::None && static_cast<int64_t>(cw->size()) != nClass)
      return error("class_weights has ", cw->size(), " entries but there are ",
                   nClass, " classes");
  }
  return p.updateShape('f', 1);
}
NM_INFER(MultinoulliNLLOp)

LogicalResult MultinoulliNLLOp::verify() {
  Operation *def = getPred().getDefiningOp();
  while (auto slice = dyn_cast_or_null<SliceOp>(def))
    def = slice.getInput().getDefiningOp();
  if (!isa_and_nonnull<SoftmaxOp>(def))
    return emitOpError() << "pred must be produced by nm.softmax (or an "
                            "nm.slice of one)";
  TaggedShape ps = *getTaggedShape(getPred().getType());
  auto same = [](int64_t a, int64_t b) {
    return a == b || a == ::nm::None || b == ::nm::None;
  };
  if (Value ew = getExampleWeights()) {
    // ELEKTRONN2's (b, z, x, y), or pred's shape with f = 1.
    TaggedShape es = *getTaggedShape(ew.getType());
    TaggedShape want =
        es.hasTag('f') ? ps.updateShape('f', 1) : ps.delAxis('f');
    bool ok = es.tags() == want.tags();
    for (int64_t i = 0; ok && i < es.ndim(); ++i)
      ok = same(es.shape()[i], want.shape()[i]);
    if (!ok)
      return emitOpError() << "example_weights must have shape " << want.repr()
                           << " (pred's without 'f', or "
                           << "with f = 1), got " << es.repr();
  }
  for (auto [name, m] :
       {std::pair{"mask_class_labeled", getMaskClassLabeled()},
        std::pair{"mask_class_not_present", getMaskClassNotPresent()}}) {
    if (!m)
      continue;
    TaggedShape ms = *getTaggedShape(m.getType());
    if (ms.ndim() != 2 || !ps.hasTag('b') || !same(ms.shape()[0], ps['b']) ||
        !same(ms.shape()[1], ps['f']))
      return emitOpError() << name << " must be [batch, classes] = [" << ps['b']
                           << ", " << ps['f'] << "], got " << ms.repr();
  }
  return success();
}

Expected<TaggedShape> BinaryNLLOp::inferTaggedShape(Adaptor a) {
  return pairLoss(a.getPred(), a.getTarget(), /*keepF=*/true);
}
NM_INFER(BinaryNLLOp)

Expected<TaggedShape> SquaredLossOp::inferTaggedShape(Adaptor a) {
  return pairLoss(a.getPred(), a.getTarget(), /*keepF=*/false);
}
NM_INFER(SquaredLossOp)

Expected<TaggedShape> AbsLossOp::inferTaggedShape(Adaptor a) {
  return pairLoss(a.getPred(), a.getTarget(), /*keepF=*/false);
}
NM_INFER(AbsLossOp)

Expected<TaggedShape> EuclideanDistanceOp::inferTaggedShape(Adaptor a) {
  return pairLoss(a.getPred(), a.getTarget(), /*keepF=*/false);
}
NM_INFER(EuclideanDistanceOp)

Expected<TaggedShape> GaussianNLLOp::inferTaggedShape(Adaptor a) {
  NM_TRY(mu, shapeOf(a.getMu(), "mu"));
  NM_TRY(sig, shapeOf(a.getSig(), "sig"));
  NM_CHECK(checkSameShape(mu, sig, "sig"));
  return pairLoss(a.getMu(), a.getTarget(), /*keepF=*/true);
}
NM_INFER(GaussianNLLOp)

Expected<TaggedShape> BetaNLLOp::inferTaggedShape(Adaptor a) {
  NM_TRY(mode, shapeOf(a.getMode(), "mode"));
  NM_TRY(conc, shapeOf(a.getConcentration(), "concentration"));
  NM_CHECK(checkSameShape(mode, conc, "concentration"));
  return pairLoss(a.getMode(), a.getTarget(), /*keepF=*/true);
}
NM_INFER(BetaNLLOp)

Expected<TaggedShape> RampLossOp::inferTaggedShape(Adaptor a) {
  NM_TRY(low, shapeOf(a.getDLow(), "d_low"));
  NM_TRY(big, shapeOf(a.getDBig(), "d_big"));
  NM_CHECK(checkSameShape(low, big, "d_big"));
  if (!low.hasTag('f'))
    return error("RampLoss needs an 'f' axis, got ", low.repr());
  return low.updateShape('f', 1);
}
NM_INFER(RampLossOp)

Expected<TaggedShape> AggregateLossOp::inferTaggedShape(Adaptor a) {
  if (a.getLosses().empty())
    return error("AggregateLoss needs at least one loss");
  for (Value v : a.getLosses()) {
    NM_TRY(s, shapeOf(v, "loss"));
    (void)s;
  }
  if (std::optional<ArrayRef<double>> w = a.getMixingWeights())
    if (w->size() != a.getLosses().size())
      return error("mixing_weights has ", w->size(), " entries for ",
                   a.getLosses().size(), " losses");
  return TaggedShape::create({1}, "f");
}
NM_INFER(AggregateLossOp)

int64_t AggregateLossOp::getComputationalCost() {
  int64_t cost = 0;
  for (Value v : getLosses())
    cost += sizeOf(v);
  return cost;
}

Expected<TaggedShape> ErrorsOp::inferTaggedShape(Adaptor a) {
  NM_TRY(cls, shapeOf(a.getCls(), "cls"));
  NM_TRY(t, shapeOf(a.getTarget(), "target"));
  if (a.getTargetIsSparse())
    NM_CHECK(checkSameShape(cls, t, "sparse target"));
  else
    NM_CHECK(checkSameShape(cls, t, "dense target", 'f'));
  return TaggedShape::create({1}, "f");
}
NM_INFER_RETURN_TYPES(ErrorsOp)
Type ErrorsOp::inferElementType(Adaptor a) {
  Value c = a.getCls();
  return c ? Float32Type::get(c.getContext()) : Type();
}

} // namespace nm::ir

#define GET_OP_CLASSES
#include "neuromancer/dialect/IR/NmOps.cpp.inc"
