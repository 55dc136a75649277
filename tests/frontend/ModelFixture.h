//===- ModelFixture.h - a fresh current model per test ----------*- C++ -*-===//
#ifndef NEUROMANCER_TESTS_MODELFIXTURE_H
#define NEUROMANCER_TESTS_MODELFIXTURE_H

#include "examples/Models.h"
#include "neuromancer/neuromancer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

/// Each test builds into its own new model and captures the log, so tests do
/// not see each other's nodes and can compare printed text.
class ModelTest : public ::testing::Test {
protected:
  void SetUp() override {
    const auto *info = ::testing::UnitTest::GetInstance()->current_test_info();
    modelName_ = std::string(info->test_suite_name()) + "." + info->name();
    nm::model_manager.newmodel(modelName_);
    capture_ = std::make_unique<nm::LogCapture>(nm::LogLevel::Info);
  }
  void TearDown() override {
    capture_.reset();
    for (const std::string &name : nm::model_manager.names())
      nm::model_manager.remove(name);
  }
  nm::Model &model() { return nm::model_manager.getmodel(modelName_); }
  std::string logText() const { return capture_->text(); }
  static std::string readFile(const std::string &path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static std::string tempPath(const std::string &name) {
    return ::testing::TempDir() + "/" + name;
  }

private:
  std::string modelName_;
  std::unique_ptr<nm::LogCapture> capture_;
};

#endif // NEUROMANCER_TESTS_MODELFIXTURE_H
