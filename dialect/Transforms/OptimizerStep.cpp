//===- OptimizerStep.cpp - gradients -> one optimiser step ----------------===//
//
// --nm-optimizer-step (Passes.td): the `<param>:grad` results of
// --nm-autodiff become nm.optimizer_update ops whose new parameters and
// state are the results, so forward, backward and update are one function
// and one call.
//
//===----------------------------------------------------------------------===//
#include "neuromancer/dialect/Transforms/Passes.h"

#include "neuromancer/dialect/IR/NmOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Verifier.h"

namespace nm::ir {
#define GEN_PASS_DEF_NMOPTIMIZERSTEP
#include "neuromancer/dialect/Transforms/Passes.h.inc"

using namespace mlir;

namespace {

struct OptimizerStepPass : impl::NmOptimizerStepBase<OptimizerStepPass> {
  using NmOptimizerStepBase::NmOptimizerStepBase;
  void runOnOperation() override {
    if (failed(addOptimizerStep(getOperation(), optimiser)))
      signalPassFailure();
  }
};

/// The argument `nm.param = name`, or null.
BlockArgument paramArgument(func::FuncOp func, StringRef name) {
  for (BlockArgument a : func.getArguments())
    if (auto s = func.getArgAttrOfType<StringAttr>(a.getArgNumber(),
                                                   NmDialect::kParamAttrName);
        s && s.getValue() == name)
      return a;
  return {};
}

/// Appends an argument `nm.param = name` of `type`.
BlockArgument addParamArgument(func::FuncOp func, Type type, StringRef name,
                               Location loc) {
  OpBuilder b(func.getContext());
  unsigned index = func.getNumArguments();
  (void)func.insertArgument(
      index, type,
      b.getDictionaryAttr(
          b.getNamedAttr(NmDialect::kParamAttrName, b.getStringAttr(name))),
      loc);
  return func.getArgument(index);
}

} // namespace

std::vector<std::string> optimizerStateNames(StringRef optimiser) {
  if (optimiser == "SGD")
    return {"d"};
  if (optimiser == "AdaGrad")
    return {"h"};
  if (optimiser == "AdaDelta")
    return {"s", "d"};
  if (optimiser == "Adam")
    return {"m", "s"};
  return {};
}

LogicalResult addOptimizerStep(func::FuncOp func, StringRef optimiser) {
  std::vector<std::string> stateNames = optimizerStateNames(optimiser);
  if (stateNames.empty())
    return func.emitError()
           << "nm-optimizer-step: unknown optimiser '" << optimiser
           << "' (SGD, AdaGrad, AdaDelta or Adam)";
  auto ret = cast<func::ReturnOp>(func.front().getTerminator());
  SmallVector<DictionaryAttr> resultAttrs;
  func.getAllResultAttrs(resultAttrs);
  struct Update {
    BlockArgument param;
    Value grad;
  };
  SmallVector<Value> kept;
  SmallVector<DictionaryAttr> keptAttrs;
  SmallVector<Update> updates;
  for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
    auto name =
        func.getResultAttrOfType<StringAttr>(i, NmDialect::kNameAttrName);
    if (!name || !name.getValue().ends_with(":grad")) {
      kept.push_back(v);
      keptAttrs.push_back(resultAttrs[i]);
      continue;
    }
    StringRef param = name.getValue().drop_back(5);
    BlockArgument arg = paramArgument(func, param);
    if (!arg)
      return func.emitError() << "nm-optimizer-step: no parameter '" << param
                              << "' for result " << i;
    updates.push_back({arg, v});
  }
  if (updates.empty())
    return func.emitError() << "nm-optimizer-step: no '<param>:grad' results "
                               "(run --nm-autodiff first)";
  OpBuilder b(ret);
  SmallVector<SmallVector<BlockArgument>> states;
  for (const Update &u : updates) {
    StringRef param = func.getArgAttrOfType<StringAttr>(
                              u.param.getArgNumber(), NmDialect::kParamAttrName)
                          .getValue();
    SmallVector<BlockArgument> s;
    for (const std::string &sn : stateNames)
      s.push_back(addParamArgument(func, u.param.getType(),
                                   (param + ":" + sn).str(), u.param.getLoc()));
    states.push_back(s);
  }
  BlockArgument hyper = addParamArgument(
      func,
      RankedTensorType::get({OptimizerUpdateOp::kHyperSize}, b.getF64Type()),
      "hyper", func.getLoc());
  SmallVector<Value> results(kept);
  SmallVector<DictionaryAttr> attrs(keptAttrs);
  auto named = [&](StringRef n) {
    return b.getDictionaryAttr(
        b.getNamedAttr(NmDialect::kNameAttrName, b.getStringAttr(n)));
  };
  for (auto [u, s] : llvm::zip(updates, states)) {
    unsigned i = u.param.getArgNumber();
    StringRef param =
        func.getArgAttrOfType<StringAttr>(i, NmDialect::kParamAttrName)
            .getValue();
    double decay = 0.0;
    if (auto d = func.getArgAttrOfType<FloatAttr>(
            i, NmDialect::kWeightDecayAttrName))
      decay = d.getValueAsDouble();
    SmallVector<Type> types(1 + s.size(), u.param.getType());
    auto update = OptimizerUpdateOp::create(
        b, u.grad.getLoc(), types, u.param, u.grad, ValueRange(ArrayRef(s)),
        hyper, b.getStringAttr(optimiser), b.getF64FloatAttr(decay));
    results.push_back(update.getNewParam());
    attrs.push_back(named(param));
    for (auto [v, sn] : llvm::zip(update.getNewState(), stateNames)) {
      results.push_back(v);
      attrs.push_back(named((param + ":" + sn).str()));
    }
  }
  func::ReturnOp::create(b, ret.getLoc(), results);
  ret.erase();
  func.setFunctionType(FunctionType::get(func.getContext(),
                                         func.getArgumentTypes(),
                                         ValueRange(results).getTypes()));
  func.setAllResultAttrs(attrs);
  return verify(func);
}

} // namespace nm::ir
