//===- FrontendAloneTest.cpp - //frontend links and runs without a compiler
//===//
//
// This test depends on //frontend only (no MLIR, no LLVM, no compiler): it
// shows that the frontend library links on its own, that models build,
// print and save without a backend, and that what needs a compiler (calling
// a node, to_mlir) says how to get one instead of crashing.
//
//===----------------------------------------------------------------------===//
#include "neuromancer/core/Error.h"
#include "neuromancer/frontend/Backend.h"
#include "neuromancer/frontend/Layers.h"
#include "neuromancer/frontend/Model.h"

#include <gtest/gtest.h>

#include <memory>
#include <new>
#include <stdexcept>
#include <string>

namespace {

nm::Node smallNet() {
  nm::model_manager.newmodel();
  nm::Node in = nm::Input({1, 1, 5, 12, 12}, "b,f,z,x,y", {.name = "raw"});
  nm::Node c =
      nm::Conv(in, 4, {1, 3, 3}, {1, 2, 2}, {.activation_func = "lin"});
  return nm::Softmax(c);
}

TEST(FrontendAlone, ModelsBuildWithoutABackend) {
  nm::Node p = smallNet();
  EXPECT_FALSE(nm::has_backend());
  EXPECT_EQ(p.shape().repr(), "[(1,b), (4,f), (5,z), (5,x), (5,y)]");
  EXPECT_GT(p.all_params_count(), 0);
  std::vector<nm::Node> sources = nm::source_nodes({p});
  ASSERT_EQ(sources.size(), 1u);
  EXPECT_EQ(sources.front().name(), "raw");
  auto w = nm::find_parameter({p}, "conv_w");
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->node.name(), "conv");
  EXPECT_EQ(w->param, "w");
  EXPECT_FALSE(nm::find_parameter({p}, "conv_nope").has_value());
}

TEST(FrontendAlone, CompilingNeedsABackendAndSaysSo) {
  nm::Node p = smallNet();
  nm::Array x({1, 1, 5, 12, 12}, nm::DType::Float32);
  try {
    p(x);
    FAIL() << "calling a node without a backend did not throw";
  } catch (const nm::RuntimeError &e) {
    std::string what = e.what();
    EXPECT_NE(what.find("no compiler backend is registered"), std::string::npos)
        << what;
    EXPECT_NE(what.find("//:neuromancer"), std::string::npos) << what;
  }
  EXPECT_THROW(p.to_mlir(), nm::RuntimeError);
}

/// A backend whose compiler fails below neuromancer's own checks.
class FailingBackend : public nm::Backend {
public:
  explicit FailingBackend(bool outOfMemory) : outOfMemory_(outOfMemory) {}
  std::string name() const override { return "failing"; }
  std::string to_mlir(const std::vector<nm::GraphFunction> &,
                      const std::string &) const override {
    return "";
  }
  std::shared_ptr<const nm::Executable> compile(const nm::GraphFunction &,
                                                const std::string &,
                                                const std::vector<nm::Sizes> &,
                                                bool &) const override {
    if (outOfMemory_)
      throw std::bad_alloc();
    throw std::runtime_error("filesystem error: disk on fire");
  }

private:
  bool outOfMemory_;
};

// Runs last: it registers a backend.
TEST(FrontendAlone, FailuresBelowTheBackendBecomeErrors) {
  nm::Node p = smallNet();
  nm::Array x({1, 1, 5, 12, 12}, nm::DType::Float32);
  nm::register_backend(std::make_shared<FailingBackend>(false));
  try {
    p(x);
    FAIL() << "no exception";
  } catch (const nm::RuntimeError &e) {
    EXPECT_NE(std::string(e.what()).find("compiling softmax failed: "
                                         "filesystem error: disk on fire"),
              std::string::npos)
        << e.what();
  }
  nm::register_backend(std::make_shared<FailingBackend>(true));
  try {
    p(x);
    FAIL() << "no exception";
  } catch (const nm::RuntimeError &e) {
    EXPECT_NE(std::string(e.what()).find("out of memory compiling"),
              std::string::npos)
        << e.what();
  }
}

} // namespace
