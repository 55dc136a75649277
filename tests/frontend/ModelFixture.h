//===- ModelFixture.h - a fresh current model per test ----------*- C++ -*-===//
#ifndef NEUROMANCER_TESTS_MODELFIXTURE_H
#define NEUROMANCER_TESTS_MODELFIXTURE_H

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

/// The model of ELEKTRONN2's examples page (reference §2.5).
struct SeedModel {
  nm::Node image, conv0, conv1, conv2, probs, target, nll, loss, errors;
  static SeedModel build(int64_t batch = 10) {
    SeedModel m;
    m.image =
        nm::Input({batch, 3, 23, 183, 183}, "b,f,z,x,y", {.name = "image"});
    m.conv0 = nm::Conv(m.image, 32, {1, 6, 6}, {1, 2, 2});
    m.conv1 = nm::Conv(m.conv0, 64, {4, 6, 6}, {2, 2, 2});
    m.conv2 =
        nm::Conv(m.conv1, 5, {3, 3, 3}, {1, 1, 1}, {.activation_func = "lin"});
    m.probs = nm::Softmax(m.conv2);
    m.target = nm::Input_like(
        m.probs, {.override_f = 1, .name = "target", .dtype = "int16"});
    m.nll = nm::MultinoulliNLL(m.probs, m.target, {.target_is_sparse = true});
    m.loss = nm::AggregateLoss(m.nll, {.name = "loss"});
    m.errors = nm::Errors(m.probs, m.target, {.target_is_sparse = true});
    nm::model_manager.getmodel().designate_nodes(
        {.input_node = m.image,
         .target_node = m.target,
         .loss_node = m.loss,
         .prediction_node = m.probs,
         .prediction_ext = {m.loss, m.errors, m.probs}});
    return m;
  }
};

/// examples/neuro3d.py (reference §2.5, with the repo's (2,1,1) pool).
inline nm::Node buildNeuro3d(int64_t z = 23, int64_t xy = 185) {
  nm::Node inp =
      nm::Input({nm::None, 1, z, xy, xy}, "b,f,z,x,y", {.name = "raw"});
  nm::Node out = nm::Conv(inp, 20, {1, 6, 6}, {1, 2, 2});
  out = nm::Conv(out, 30, {1, 5, 5}, {1, 2, 2});
  out = nm::Conv(out, 40, {1, 5, 5});
  out = nm::Conv(out, 80, {4, 4, 4}, {2, 1, 1});
  out = nm::Conv(out, 100, {3, 4, 4});
  out = nm::Conv(out, 100, {3, 4, 4});
  out = nm::Conv(out, 150, {2, 4, 4});
  out = nm::Conv(out, 200, {1, 4, 4});
  out = nm::Conv(out, 200, {1, 4, 4});
  out = nm::Conv(out, 200, {1, 1, 1});
  out = nm::Conv(out, 2, {1, 1, 1}, {}, {.activation_func = "lin"});
  nm::Node probs = nm::Softmax(out);
  nm::Node target = nm::Input_like(probs, {.override_f = 1, .name = "target"});
  nm::Node nll = nm::MultinoulliNLL(probs, target, {.target_is_sparse = true});
  nm::Node loss = nm::AggregateLoss(nll, {.name = "loss"});
  nm::Node errors = nm::Errors(probs, target, {.target_is_sparse = true});
  nm::model_manager.getmodel().designate_nodes(
      {.input_node = inp,
       .target_node = target,
       .loss_node = loss,
       .prediction_node = probs,
       .prediction_ext = {loss, errors, probs}});
  return probs;
}

#endif // NEUROMANCER_TESTS_MODELFIXTURE_H
