//===- ImporterTest.cpp - seed model and neuro3d through the importer -----===//
//
// The imported IR must verify (so the dialect's rules re-derive every shape
// the frontend computed), carry the frontend's geometry on every value, and
// give the frontend's totals through the cost interface.
//
//===----------------------------------------------------------------------===//
#include "neuromancer/compiler/Importer.h"

#include "examples/Models.h"
#include "mlir/IR/MLIRContext.h"
#include "neuromancer/dialect/IR/NmOps.h"
#include "neuromancer/frontend/NodeImpl.h"
#include "neuromancer/neuromancer.h"

#include "llvm/ADT/SetVector.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

namespace {
using namespace mlir;

/// Cost and #params summed over the aggregate loss and its ancestors.
std::pair<int64_t, int64_t> lossTotals(mlir::func::FuncOp func) {
  mlir::Operation *loss = nullptr;
  func.walk([&](nm::ir::AggregateLossOp op) { loss = op; });
  EXPECT_TRUE(loss);
  llvm::SetVector<mlir::Operation *> ancestors;
  llvm::SmallVector<mlir::Operation *> work = {loss};
  while (!work.empty()) {
    mlir::Operation *op = work.pop_back_val();
    if (!op || !ancestors.insert(op))
      continue;
    for (mlir::Value v : op->getOperands())
      work.push_back(v.getDefiningOp());
  }
  int64_t cost = 0, params = 0;
  for (mlir::Operation *op : ancestors) {
    cost += llvm::cast<nm::ir::CostInterface>(op).getComputationalCost();
    params += llvm::cast<nm::ir::CostInterface>(op).getParamCount();
  }
  return {cost, params};
}

class ImporterTest : public ::testing::Test {
protected:
  void SetUp() override {
    const auto *info = ::testing::UnitTest::GetInstance()->current_test_info();
    name_ = std::string(info->test_suite_name()) + "." + info->name();
    nm::model_manager.newmodel(name_);
  }
  void TearDown() override {
    for (const std::string &n : nm::model_manager.names())
      nm::model_manager.remove(n);
  }
  nm::Model &model() { return nm::model_manager.getmodel(name_); }

  /// Imports {loss, errors, prediction} and checks geometry and totals.
  void checkModel(const nm::examples::Classifier &c, size_t nParams) {
    MLIRContext ctx;
    OwningOpRef<ModuleOp> module =
        nm::compiler::importModel(ctx, {c.loss, c.errors, c.prediction}, "f");
    ASSERT_TRUE(module);
    auto func = *module->getOps<func::FuncOp>().begin();

    // Arguments: the two sources (input, then target), then the params.
    ASSERT_EQ(func.getNumArguments(), 2 + nParams);
    EXPECT_EQ(func.getArgAttrOfType<StringAttr>(0, "nm.input").getValue(),
              c.input.name());
    EXPECT_EQ(func.getArgAttrOfType<StringAttr>(1, "nm.input").getValue(),
              c.target.name());
    EXPECT_EQ(func.getArgAttrOfType<StringAttr>(2, "nm.param").getValue(),
              "conv_w");
    EXPECT_TRUE(func.getArgAttr(2, "nm.trainable"));

    // Every op: loc("<node>") and the frontend's TaggedShape.
    int nOps = 0;
    func.walk([&](nm::ir::CostInterface op) {
      ++nOps;
      auto loc = dyn_cast<NameLoc>(op->getLoc());
      ASSERT_TRUE(loc);
      nm::Node node = model()[loc.getName().str()];
      std::optional<nm::TaggedShape> shape =
          nm::ir::getTaggedShape(op->getResult(0).getType());
      ASSERT_TRUE(shape);
      EXPECT_EQ(shape->shape(), node.shape().shape()) << node.name();
      EXPECT_EQ(shape->tags(), node.shape().tags()) << node.name();
      EXPECT_EQ(shape->fov(), node.shape().fov()) << node.name();
      EXPECT_EQ(shape->strides(), node.shape().strides()) << node.name();
      EXPECT_EQ(shape->offsets(), node.shape().offsets()) << node.name();
      EXPECT_EQ(shape->mfpOffsets(), node.shape().mfpOffsets()) << node.name();
      EXPECT_EQ(op.getComputationalCost(), node.computational_cost())
          << node.name();
      EXPECT_EQ(op.getParamCount(), node.param_count()) << node.name();
    });
    EXPECT_EQ(nOps, static_cast<int>(model().size()) - 2);

    // Totals over the loss's ancestors equal the frontend's.
    auto [cost, params] = lossTotals(func);
    EXPECT_EQ(cost, model().total_computational_cost());
    EXPECT_EQ(params, model().total_params_count());

    std::string text;
    llvm::raw_string_ostream os(text);
    module->print(os, OpPrintingFlags().enableDebugInfo());
    EXPECT_NE(text.find("loc(\"conv1\")"), std::string::npos);
  }

  std::string name_;
};

TEST_F(ImporterTest, SeedModel) {
  nm::examples::Classifier c = nm::examples::cnn3d(10);
  // 3 convs x (w, b).
  checkModel(c, 6);
  EXPECT_EQ(model().total_params_count(), 307109);
  EXPECT_EQ(c.prediction.shape().fov(), (nm::Sizes{9, 27, 27}));
}

TEST_F(ImporterTest, Neuro3d) {
  nm::examples::Classifier c = nm::examples::neuro3d();
  checkModel(c, 22);
  EXPECT_EQ(model().total_params_count(), 2756042);
  EXPECT_EQ(c.prediction.shape().fov(), (nm::Sizes{15, 105, 105}));
}

TEST_F(ImporterTest, PredictionOnlyNeedsOnlyTheInput) {
  nm::examples::Classifier c = nm::examples::cnn3d(1);
  MLIRContext ctx;
  OwningOpRef<ModuleOp> module =
      nm::compiler::importModel(ctx, {c.prediction}, "predict");
  ASSERT_TRUE(module);
  auto func = *module->getOps<func::FuncOp>().begin();
  // input + 3 x (w, b); the target is not needed.
  EXPECT_EQ(func.getNumArguments(), 7u);
  EXPECT_EQ(func.getNumResults(), 1u);
  EXPECT_EQ(func.getResultTypes()[0],
            nm::ir::getTaggedTensorType(c.prediction.shape(),
                                        Float32Type::get(&ctx)));
}

/// ValueNode, InitialState_like, BetaNLL, RampLoss and BlockedMultinoulliNLL:
/// every node kind the seed models do not use imports and verifies, with the
/// frontend's shapes, costs and parameter counts.
TEST_F(ImporterTest, ValuesStatesAndOtherLosses) {
  nm::Node image = nm::Input({1, 4, 6, 10, 10}, "b,f,z,x,y", {.name = "image"});
  nm::Node conv = nm::Conv(image, 3, {1, 3, 3}, {},
                           {.activation_func = "lin", .name = "conv"});
  // Trainable, with the conv's fov so that Add accepts it.
  nm::Node bias = nm::ValueNode(
      {1, 3, 6, 8, 8}, "b,f,z,x,y",
      {.fov = {1, 3, 3}, .apply_train = true, .name = "bias_map"});
  // Constant (not trainable).
  nm::Node margin =
      nm::ValueNode({1, 3, 6, 8, 8}, "b,f,z,x,y", {.name = "const_map"});
  nm::Node shifted = nm::Add(conv, bias, {.name = "shifted"});
  nm::Node mode = nm::ApplyFunc(shifted, "sig", {.name = "mode"});
  nm::Node conc = nm::ApplyFunc(conv, "concentration", {.name = "conc"});
  nm::Node target = nm::Input_like(conv, {.name = "target"});
  nm::Node beta = nm::BetaNLL(mode, conc, target, {.name = "beta"});
  nm::Node dBig = nm::Input_like(margin, {.name = "d_big"});
  nm::Node ramp = nm::RampLoss(margin, dBig, {.margin = 0.5, .name = "ramp"});
  nm::Node sm = nm::Softmax(conv, {.name = "sm"});
  nm::Node labels = nm::Input_like(
      conv, {.override_f = 1, .name = "labels", .dtype = "int16"});
  nm::Node bnll = nm::BlockedMultinoulliNLL(
      sm, labels,
      {.target_is_sparse = true, .blocking_factor = 0.25, .name = "bnll"});
  nm::Node loss = nm::AggregateLoss({beta, ramp, bnll}, {.name = "loss"});
  nm::Node state = nm::InitialState_like(conv, 5, {.name = "state"});
  // A float64 value with other tags and geometry.
  nm::Node table = nm::ValueNode(
      {2, 5}, "f,x",
      {.strides = {2}, .fov = {3}, .dtype = "float64", .name = "table"});

  MLIRContext ctx;
  OwningOpRef<ModuleOp> module =
      nm::compiler::importModel(ctx, {loss, state, table}, "f");
  ASSERT_TRUE(module);
  auto func = *module->getOps<func::FuncOp>().begin();

  // Arguments: the sources, then the params in topological order, each an
  // untagged static tensor of the frontend param's shape and dtype.
  std::vector<std::string> inputs, params;
  std::map<std::string, Type> paramTypes;
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    if (auto in = func.getArgAttrOfType<StringAttr>(i, "nm.input")) {
      inputs.push_back(in.getValue().str());
      continue;
    }
    auto p = func.getArgAttrOfType<StringAttr>(i, "nm.param");
    ASSERT_TRUE(p) << "argument " << i;
    params.push_back(p.getValue().str());
    paramTypes[params.back()] = func.getArgument(i).getType();
    bool trainable = static_cast<bool>(func.getArgAttr(i, "nm.trainable"));
    EXPECT_EQ(trainable, p.getValue() != "const_map_value" &&
                             p.getValue() != "table_value")
        << params.back();
  }
  EXPECT_EQ(inputs,
            (std::vector<std::string>{"image", "target", "d_big", "labels"}));
  EXPECT_EQ(params, (std::vector<std::string>{
                        "conv_w", "conv_b", "bias_map_value", "const_map_value",
                        "state_value", "table_value"}));
  EXPECT_EQ(paramTypes["bias_map_value"],
            RankedTensorType::get({1, 3, 6, 8, 8}, Float32Type::get(&ctx)));
  EXPECT_EQ(paramTypes["const_map_value"],
            RankedTensorType::get({1, 3, 6, 8, 8}, Float32Type::get(&ctx)));
  EXPECT_EQ(paramTypes["table_value"],
            RankedTensorType::get({2, 5}, Float64Type::get(&ctx)));
  EXPECT_EQ(paramTypes["state_value"],
            RankedTensorType::get({5}, Float32Type::get(&ctx)));

  // Every op: the node's class, TaggedShape, dtype, cost and #params.
  std::map<std::string, std::string> opOf;
  int64_t allParams = 0;
  func.walk([&](nm::ir::CostInterface op) {
    auto loc = dyn_cast<NameLoc>(op->getLoc());
    ASSERT_TRUE(loc);
    nm::Node node = model()[loc.getName().str()];
    opOf[node.name()] = op->getName().getStringRef().str();
    EXPECT_EQ(op->getResult(0).getType(),
              nm::ir::getTaggedTensorType(node.shape(),
                                          node.dtype() == nm::DType::Float64
                                              ? Type(Float64Type::get(&ctx))
                                              : Type(Float32Type::get(&ctx))))
        << node.name();
    EXPECT_EQ(op.getComputationalCost(), node.computational_cost())
        << node.name();
    EXPECT_EQ(op.getParamCount(), node.param_count()) << node.name();
    allParams += op.getParamCount();
  });
  EXPECT_EQ(opOf["bias_map"], "nm.value");
  EXPECT_EQ(opOf["const_map"], "nm.value");
  EXPECT_EQ(opOf["table"], "nm.value");
  EXPECT_EQ(opOf["state"], "nm.initial_state");
  EXPECT_EQ(opOf["beta"], "nm.beta_nll");
  EXPECT_EQ(opOf["ramp"], "nm.ramp_loss");
  EXPECT_EQ(opOf["bnll"], "nm.multinoulli_nll");
  // Everything but the four inputs is an op.
  EXPECT_EQ(opOf.size(), model().size() - 4);

  // The values the frontend reports, so the checks above compare something.
  EXPECT_EQ(bias.param_count(), 3 * 6 * 8 * 8);
  EXPECT_EQ(margin.param_count(), 0);
  EXPECT_EQ(table.param_count(), 0);
  EXPECT_EQ(table.shape().fov(), (nm::Sizes{3}));
  EXPECT_EQ(state.param_count(), 5);
  EXPECT_EQ(state.computational_cost(), 0);
  EXPECT_EQ(beta.computational_cost(), 3 * 6 * 8 * 8);
  EXPECT_EQ(ramp.shape().shape(), (nm::Sizes{1, 1, 6, 8, 8}));
  EXPECT_EQ(ramp.computational_cost(), 3 * 6 * 8 * 8);
  EXPECT_EQ(state.shape().shape(), (nm::Sizes{1, 5, 6, 8, 8}));
  EXPECT_EQ(state.shape().fov(), (nm::Sizes{1, 3, 3}));
  EXPECT_EQ(allParams, conv.param_count() + bias.param_count() + 5);

  // Op details: ValueNode's value is its argument; margin, blocking_factor.
  func.walk([&](nm::ir::ValueOp op) {
    auto arg = dyn_cast<BlockArgument>(op.getValue());
    ASSERT_TRUE(arg);
    auto name =
        func.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "nm.param");
    EXPECT_EQ(name.getValue().str(),
              cast<NameLoc>(op->getLoc()).getName().str() + "_value");
    EXPECT_EQ(op.getApplyTrain(), name.getValue() == "bias_map_value");
  });
  EXPECT_EQ(func.getResultTypes()[2],
            nm::ir::getTaggedTensorType(table.shape(), Float64Type::get(&ctx)));
  func.walk([&](nm::ir::RampLossOp op) {
    EXPECT_EQ(op.getMargin().convertToDouble(), 0.5);
  });
  func.walk([&](nm::ir::MultinoulliNLLOp op) {
    ASSERT_TRUE(op.getBlockingFactor());
    EXPECT_EQ(op.getBlockingFactor()->convertToDouble(), 0.25);
    EXPECT_TRUE(op.getTargetIsSparse());
  });

  // Totals over the loss's ancestors equal the frontend's all_* counts.
  auto [cost, count] = lossTotals(func);
  EXPECT_EQ(cost, loss.all_computational_cost());
  EXPECT_EQ(count, loss.all_params_count());
}

} // namespace
