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
    Operation *loss = nullptr;
    func.walk([&](nm::ir::AggregateLossOp op) { loss = op; });
    ASSERT_TRUE(loss);
    llvm::SetVector<Operation *> ancestors;
    SmallVector<Operation *> work = {loss};
    while (!work.empty()) {
      Operation *op = work.pop_back_val();
      if (!op || !ancestors.insert(op))
        continue;
      for (Value v : op->getOperands())
        work.push_back(v.getDefiningOp());
    }
    int64_t cost = 0, params = 0;
    for (Operation *op : ancestors) {
      cost += cast<nm::ir::CostInterface>(op).getComputationalCost();
      params += cast<nm::ir::CostInterface>(op).getParamCount();
    }
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

} // namespace
