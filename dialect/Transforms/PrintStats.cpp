//===- PrintStats.cpp - --nm-print-stats ----------------------------------===//
//
// Prints ELEKTRONN2's per-node stats and Model.designate_nodes totals
// (docs/elektronn2-reference.md §2.3, §2.4) from the cost interface; numbers
// are formatted by core's Format.h, so they read exactly like the frontend's.
//
//===----------------------------------------------------------------------===//
#include "neuromancer/dialect/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "neuromancer/core/Format.h"
#include "neuromancer/dialect/IR/NmOps.h"

#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/raw_ostream.h"

namespace nm::ir {
#define GEN_PASS_DEF_NMPRINTSTATS
#include "neuromancer/dialect/Transforms/Passes.h.inc"

namespace {
using namespace mlir;

bool isLoss(Operation *op) { return op && op->hasTrait<IsLoss>(); }

/// "conv" from loc("conv"), else the op name.
std::string nodeName(Operation *op) {
  Location loc = op->getLoc();
  if (auto fused = dyn_cast<FusedLoc>(loc);
      fused && !fused.getLocations().empty())
    loc = fused.getLocations().front();
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().str();
  return op->getName().getStringRef().str();
}

/// ELEKTRONN2's class name of the node an op stands for.
std::string className(Operation *op) {
  static const llvm::StringMap<StringRef> kNames = {
      {"conv", "Conv"},
      {"upconv", "UpConv"},
      {"perceptron", "Perceptron"},
      {"pool", "Pool"},
      {"crop", "Crop"},
      {"pad", "Pad"},
      {"fragments_to_dense", "FragmentsToDense"},
      {"slice", "FromTensor"},
      {"reshape", "Reshape"},
      {"concat", "Concat"},
      {"add", "Add"},
      {"mult", "MultMerge"},
      {"apply", "ApplyFunc"},
      {"lrn", "LRN"},
      {"value", "ValueNode"},
      {"initial_state", "InitialState_like"},
      {"softmax", "Softmax"},
      {"onehot", "OneHot"},
      {"multinoulli_nll", "MultinoulliNLL"},
      {"binary_nll", "BinaryNLL"},
      {"squared_loss", "SquaredLoss"},
      {"abs_loss", "AbsLoss"},
      {"gaussian_nll", "GaussianNLL"},
      {"beta_nll", "BetaNLL"},
      {"ramp_loss", "RampLoss"},
      {"euclidean_distance", "EuclideanDistance"},
      {"aggregate_loss", "AggregateLoss"},
      {"classification", "Classification"},
      {"errors", "_Errors"},
  };
  StringRef name = op->getName().stripDialect();
  if (name == "multinoulli_nll" && op->hasAttr("blocking_factor"))
    return "BlockedMultinoulliNLL";
  auto it = kNames.find(name);
  return (it == kNames.end() ? name : it->second).str();
}

struct PrintStatsPass : impl::NmPrintStatsBase<PrintStatsPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      printFunction(func);
  }

  void printFunction(func::FuncOp func) {
    llvm::raw_ostream &os = llvm::outs();
    os << "nm-print-stats @" << func.getSymName() << "\n";
    SmallVector<Operation *> nmOps;
    func.walk([&](Operation *op) {
      if (isa<CostInterface>(op))
        nmOps.push_back(op);
    });
    for (Operation *op : nmOps)
      printNode(os, op);

    // The loss: a loss op feeding no other loss op (the last such one).
    Operation *root = nullptr;
    for (Operation *op : nmOps)
      if (isLoss(op) && llvm::none_of(op->getUsers(), isLoss))
        root = op;
    Operation *prediction = nullptr;
    if (root) {
      prediction = root;
      while (isLoss(prediction) && prediction->getNumOperands() &&
             prediction->getOperand(0).getDefiningOp())
        prediction = prediction->getOperand(0).getDefiningOp();
    } else {
      func.walk([&](func::ReturnOp ret) {
        if (ret.getNumOperands())
          root = ret.getOperand(0).getDefiningOp();
      });
      prediction = root;
    }
    if (!root || !isa<CostInterface>(root)) {
      os << "(no loss and no returned nm op: no totals)\n";
      return;
    }

    // all_parents of the loss: the loss and its transitive nm producers.
    llvm::SetVector<Operation *> ancestors;
    SmallVector<Operation *> work = {root};
    while (!work.empty()) {
      Operation *op = work.pop_back_val();
      if (!isa<CostInterface>(op) || !ancestors.insert(op))
        continue;
      for (Value v : op->getOperands())
        if (Operation *def = v.getDefiningOp())
          work.push_back(def);
    }
    int64_t cost = 0;
    llvm::SetVector<Value> params;
    for (Operation *op : ancestors) {
      auto c = cast<CostInterface>(op);
      cost += c.getComputationalCost();
      for (Value p : c.getTrainableParams())
        params.insert(p);
    }
    int64_t nParams = countElements(params.getArrayRef());

    std::optional<::nm::TaggedShape> predShape =
        prediction ? getTaggedShape(prediction->getResult(0).getType())
                   : std::nullopt;
    int64_t pixels = predShape ? predShape->spatialSize() : 1;
    if (predShape)
      os << "Prediction properties:\n" << predShape->extRepr() << "\n";
    os << "\nTotal Computational Cost of Model: "
       << ::nm::pretty_string_ops(static_cast<double>(cost))
       << "\nTotal number of trainable parameters: "
       << ::nm::formatThousands(nParams) << ".\nComputational Cost per pixel: "
       << ::nm::pretty_string_ops(static_cast<double>(cost) /
                                  static_cast<double>(pixels))
       << "\n";
  }

  void printNode(llvm::raw_ostream &os, Operation *op) {
    auto c = cast<CostInterface>(op);
    int64_t count = c.getParamCount(), cost = c.getComputationalCost();
    os << "<" << className(op) << "-Node> '" << nodeName(op) << "' \n  ";
    if (count > 0)
      os << "#Params=" << ::nm::formatThousands(count) << " ";
    if (cost > 0)
      os << "Comp.Cost=" << ::nm::pretty_string_ops(static_cast<double>(cost))
         << ", ";
    std::optional<::nm::TaggedShape> out =
        getTaggedShape(op->getResult(0).getType());
    os << "Out:" << (out ? out->repr() : std::string("?")) << "\n";
  }
};
} // namespace
} // namespace nm::ir
