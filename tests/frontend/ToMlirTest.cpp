//===- ToMlirTest.cpp - printing models and nodes as nm IR ----------------===//
#include "ModelFixture.h"

using namespace nm;

TEST_F(ModelTest, ModelToMlirHasTheDesignatedFunctions) {
  examples::cnn3d();
  std::string ir = model().to_mlir();
  EXPECT_NE(ir.find("func.func @prediction("), std::string::npos);
  EXPECT_NE(ir.find("func.func @prediction_ext("), std::string::npos);
  EXPECT_NE(ir.find("func.func @loss("), std::string::npos);
  EXPECT_NE(ir.find("loc(\"conv1\")"), std::string::npos);
  EXPECT_NE(ir.find("#nm.tagged<b,f,z,x,y, fov = [9, 27, 27], strides = "
                    "[2, 4, 4]>"),
            std::string::npos);
}

TEST_F(ModelTest, NodeToMlirIsItsSubGraph) {
  examples::cnn3d();
  std::string ir = model()["conv1"].to_mlir();
  EXPECT_NE(ir.find("func.func @conv1("), std::string::npos);
  EXPECT_EQ(ir.find("nm.softmax"), std::string::npos);
  EXPECT_EQ(ir.find("nm.input = \"target\""), std::string::npos)
      << "conv1 does not need the target";
}

TEST_F(ModelTest, ToMlirErrors) {
  // MultinoulliNLL's example weights must have pred's shape without 'f'
  // (or with f = 1); the dialect's verifier names the node.
  Node x = Input({1, 2, 4, 4}, "b,f,x,y", {.name = "x"});
  Node t = Input_like(x, {.override_f = 1, .name = "t", .dtype = "int16"});
  Node w = Input_like(x, {.name = "w"});
  Node nll = MultinoulliNLL(Softmax(x), t,
                            {.target_is_sparse = true, .example_weights = w});
  try {
    nll.to_mlir();
    FAIL() << "example_weights with f = 2 were accepted";
  } catch (const ValueError &e) {
    EXPECT_NE(std::string(e.what()).find("Cannot lower node 'nll'"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(model().to_mlir(), ValueError) << "nothing designated";
}
