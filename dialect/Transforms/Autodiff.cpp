//===- Autodiff.cpp - reverse-mode differentiation of nm functions --------===//
//
// --nm-autodiff (Passes.td). One reverse sweep over the function's block:
// the gradient of each value is the sum (nm.accumulate) of what its users'
// GradientInterface hands back. Only "active" values get gradients: those
// that depend on a trainable parameter and that the loss depends on, so
// no gradient is built for inputs, labels or the first layer's input.
//
//===----------------------------------------------------------------------===//
#include "neuromancer/dialect/Transforms/Passes.h"

#include "neuromancer/dialect/IR/NmOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/DenseSet.h"

namespace nm::ir {
#define GEN_PASS_DEF_NMAUTODIFF
#include "neuromancer/dialect/Transforms/Passes.h.inc"

using namespace mlir;

namespace {

/// The values between the trainable parameters and the loss.
class ActiveValues {
public:
  ActiveValues(func::FuncOp func, Value loss) {
    Block &body = func.front();
    for (BlockArgument a : body.getArguments())
      if (func.getArgAttr(a.getArgNumber(), NmDialect::kTrainableAttrName))
        fromParam_.insert(a);
    for (Operation &op : body.without_terminator())
      if (llvm::any_of(op.getOperands(),
                       [&](Value v) { return fromParam_.contains(v); }))
        fromParam_.insert(op.result_begin(), op.result_end());
    toLoss_.insert(loss);
    for (Operation &op : llvm::reverse(body.without_terminator()))
      if (llvm::any_of(op.getResults(),
                       [&](Value v) { return toLoss_.contains(v); }))
        toLoss_.insert(op.operand_begin(), op.operand_end());
  }
  bool contains(Value v) const {
    return fromParam_.contains(v) && toLoss_.contains(v);
  }

private:
  llvm::DenseSet<Value> fromParam_, toLoss_;
};

/// Adds `g` to the gradient of `v` collected so far.
void accumulate(OpBuilder &b, DenseMap<Value, Value> &grads, Value v, Value g) {
  auto [it, inserted] = grads.try_emplace(v, g);
  if (!inserted)
    it->second = AccumulateOp::create(b, g.getLoc(), it->second, g);
}

struct AutodiffPass : impl::NmAutodiffBase<AutodiffPass> {
  void runOnOperation() override {
    if (failed(differentiate(getOperation())))
      signalPassFailure();
  }
};

} // namespace

void appendNamedResults(func::FuncOp func, ArrayRef<Value> values,
                        ArrayRef<std::string> names) {
  auto ret = cast<func::ReturnOp>(func.front().getTerminator());
  SmallVector<Value> operands(ret.getOperands());
  SmallVector<DictionaryAttr> attrs;
  func.getAllResultAttrs(attrs);
  OpBuilder b(ret);
  for (auto [v, name] : llvm::zip(values, names)) {
    operands.push_back(v);
    attrs.push_back(b.getDictionaryAttr(
        b.getNamedAttr(NmDialect::kNameAttrName, b.getStringAttr(name))));
  }
  func::ReturnOp::create(b, ret.getLoc(), operands);
  ret.erase();
  func.setFunctionType(FunctionType::get(func.getContext(),
                                         func.getArgumentTypes(),
                                         ValueRange(operands).getTypes()));
  func.setAllResultAttrs(attrs);
}

LogicalResult differentiate(func::FuncOp func) {
  if (func.isExternal() || !func.getBody().hasOneBlock())
    return func.emitError() << "nm-autodiff needs a function with one block";
  Block &body = func.front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  if (ret.getNumOperands() == 0)
    return func.emitError() << "nm-autodiff: the first result must be the "
                               "loss, the function returns nothing";
  Value loss = ret.getOperand(0);
  auto lossType = cast<RankedTensorType>(loss.getType());
  if (!isa<FloatType>(lossType.getElementType()) || !lossType.hasStaticShape())
    return func.emitError() << "nm-autodiff: the loss must be a statically "
                               "shaped float tensor, got "
                            << lossType;
  ActiveValues active(func, loss);
  SmallVector<Operation *> forward;
  for (Operation &op : body.without_terminator())
    forward.push_back(&op);

  OpBuilder b(ret);
  DenseMap<Value, Value> grads;
  // The gradient of the loss's mean.
  grads[loss] = FillOp::create(
      b, loss.getLoc(), lossType,
      b.getF64FloatAttr(1.0 / static_cast<double>(lossType.getNumElements())));
  for (Operation *op : llvm::reverse(forward)) {
    if (op->getNumResults() != 1 || !grads.count(op->getResult(0)))
      continue;
    SmallVector<bool> needed;
    for (Value v : op->getOperands())
      needed.push_back(active.contains(v));
    if (llvm::none_of(needed, [](bool n) { return n; }))
      continue;
    auto gi = dyn_cast<GradientInterface>(op);
    if (!gi)
      return op->emitOpError() << "has no gradient";
    SmallVector<Value> operandGrads(op->getNumOperands());
    if (failed(gi.buildGradients(b, grads[op->getResult(0)], needed,
                                 operandGrads)))
      return failure();
    for (auto [v, g] : llvm::zip(op->getOperands(), operandGrads))
      if (g)
        accumulate(b, grads, v, g);
  }

  SmallVector<Value> results;
  SmallVector<std::string> names;
  for (BlockArgument a : body.getArguments()) {
    unsigned i = a.getArgNumber();
    if (!func.getArgAttr(i, NmDialect::kTrainableAttrName))
      continue;
    auto name = func.getArgAttrOfType<StringAttr>(i, NmDialect::kParamAttrName);
    Value g = grads.lookup(a);
    if (!g)
      g = FillOp::create(b, a.getLoc(), a.getType(), b.getF64FloatAttr(0.0));
    results.push_back(g);
    names.push_back(name.str() + ":grad");
  }
  appendNamedResults(func, results, names);
  return verify(func);
}

} // namespace nm::ir
