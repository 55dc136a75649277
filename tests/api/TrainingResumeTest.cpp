//===- TrainingResumeTest.cpp - resumed and multithreaded training, bitwise ==//
//
// Issue 19's reproducibility guarantees, bit for bit (memcmp, no
// tolerance):
//  - k steps, save, modelload into a new model, n more steps give the
//    parameters, optimiser state and iterations of an uninterrupted run of
//    k + n steps on the same batches, for every optimiser (AdaGrad's first
//    step and Adam's bias factor depend on the saved step count, the others
//    on their accumulators); rebuild_model carries the state as well.
//    Dropping the loaded accumulators must change the result, so the test
//    cannot pass by ignoring them.
//  - the same steps on 1 and 2 threads give the same parameters.
//
//===----------------------------------------------------------------------===//
#include "neuromancer/frontend/NodeImpl.h"
#include "neuromancer/runtime/ThreadPool.h"
#include "tests/frontend/ModelFixture.h"

#include <cmath>
#include <cstring>
#include <random>

using namespace nm;

namespace {

/// A small 3-D CNN with a sparse MultinoulliNLL loss, in the current
/// model. Big enough that the convolutions and their weight-gradient
/// reductions exceed the compiler's minimum parallel work (2^16
/// iterations), so two threads really split them.
void buildModel() {
  Node x = Input({2, 2, 8, 26, 26}, "b,f,z,x,y", {.name = "raw"});
  Node c = Conv(x, 6, {3, 3, 3}, {1, 2, 2}, {.activation_func = "relu"});
  c = Conv(c, 6, {2, 3, 3}, {},
           {.activation_func = "tanh", .dropout_rate = 0.25});
  c = Conv(c, 3, {1, 1, 1}, {}, {.activation_func = "lin"});
  Node p = Softmax(c);
  Node t = Input_like(p, {.override_f = 1, .name = "labels", .dtype = "int16"});
  Node loss = AggregateLoss(MultinoulliNLL(p, t, {.target_is_sparse = true}),
                            {.name = "loss"});
  model_manager.getmodel().designate_nodes({.input_node = x,
                                            .target_node = t,
                                            .loss_node = loss,
                                            .prediction_node = p});
}

using Batch = std::vector<Array>;

/// `count` seeded batches (raw in [-1, 1], labels 0..2 with a few ignored
/// -1).
std::vector<Batch> makeBatches(const Model &m, int count, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<Batch> out;
  for (int i = 0; i < count; ++i) {
    Array x(m["raw"].shape().shape(), DType::Float32);
    for (int64_t j = 0; j < x.size(); ++j)
      x.setFlat(j, u(gen));
    Array t(m["labels"].shape().shape(), DType::Int16);
    for (int64_t j = 0; j < t.size(); ++j)
      t.setFlat(j, gen() % 17 == 0 ? -1.0 : static_cast<double>(gen() % 3));
    out.push_back({std::move(x), std::move(t)});
  }
  return out;
}

bool sameBytes(const Array &a, const Array &b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

double maxAbsDiff(const Array &a, const Array &b) {
  double worst = 0;
  for (int64_t i = 0; i < a.size() && i < b.size(); ++i)
    worst = std::max(worst, std::abs(a.getFlat(i) - b.getFlat(i)));
  return worst;
}

/// The parameters that differ between `a` and `b` (same graph), as
/// "node.param (max |diff| x)"; empty when all are bit-identical.
std::vector<std::string> differingParams(const Model &a, const Model &b) {
  std::vector<std::string> out;
  for (const Node &n : a.nodes())
    for (const auto &[key, param] : n.impl().params) {
      const Array &other = b[n.name()].impl().params.at(key).value;
      if (!sameBytes(param.value, other))
        out.push_back(n.name() + "." + key + " (max |diff| " +
                      std::to_string(maxAbsDiff(param.value, other)) + ")");
    }
  return out;
}

std::string join(const std::vector<std::string> &v) {
  std::string s;
  for (const std::string &x : v)
    s += (s.empty() ? "" : ", ") + x;
  return s;
}

void expectSameState(const OptimiserState &a, const OptimiserState &b) {
  EXPECT_EQ(a.iterations, b.iterations);
  EXPECT_EQ(a.lr, b.lr);
  EXPECT_EQ(a.mom, b.mom);
  EXPECT_EQ(a.wd, b.wd);
  EXPECT_EQ(a.beta2, b.beta2);
  EXPECT_EQ(a.losses, b.losses);
  ASSERT_EQ(a.optimisers.size(), b.optimisers.size());
  for (const auto &[name, acc] : a.optimisers) {
    ASSERT_TRUE(b.optimisers.count(name)) << name;
    const OptimiserState::Accumulators &other = b.optimisers.at(name);
    EXPECT_EQ(acc.steps, other.steps) << name;
    ASSERT_EQ(acc.arrays.size(), other.arrays.size()) << name;
    for (const auto &[key, value] : acc.arrays) {
      ASSERT_TRUE(other.arrays.count(key)) << key;
      EXPECT_TRUE(sameBytes(value, other.arrays.at(key))) << key;
    }
  }
}

void train(Model &m, const std::vector<Batch> &batches, std::size_t from,
           std::size_t to, const std::string &optimiser) {
  for (std::size_t i = from; i < to; ++i)
    m.trainingstep(batches[i], {.optimiser = optimiser});
}

struct Hyper {
  std::string optimiser;
  double lr;
};

const std::vector<Hyper> kOptimisers = {
    {"SGD", 0.05}, {"AdaGrad", 0.02}, {"AdaDelta", 0.5}, {"Adam", 0.005}};

} // namespace

TEST_F(ModelTest, SaveLoadContinueIsBitIdenticalToAnUninterruptedRun) {
  const std::size_t k = 3, n = 3;
  for (const Hyper &h : kOptimisers) {
    SCOPED_TRACE(h.optimiser);
    Model &m = model_manager.newmodel("uninterrupted_" + h.optimiser);
    buildModel();
    m.set_opt_meta_params(h.optimiser,
                          {{"lr", h.lr}, {"mom", 0.9}, {"wd", 1e-3}});
    std::vector<Batch> batches = makeBatches(m, k + n, 20261202);
    train(m, batches, 0, k, h.optimiser);
    std::string path = tempPath("resume_" + h.optimiser + ".h5");
    m.save(path);
    ModelParamValues atSave = m.get_param_values();
    train(m, batches, k, k + n, h.optimiser);
    EXPECT_EQ(m.iterations(), static_cast<int64_t>(k + n));

    Model &resumed = modelload(path, {.name = "resumed_" + h.optimiser});
    EXPECT_EQ(resumed.iterations(), static_cast<int64_t>(k));
    EXPECT_EQ(resumed.lr(), h.lr);
    train(resumed, batches, k, k + n, h.optimiser);
    std::vector<std::string> diff = differingParams(m, resumed);
    EXPECT_TRUE(diff.empty()) << "differ after resuming: " << join(diff);
    EXPECT_EQ(resumed.iterations(), m.iterations());
    expectSameState(m.optimiser_state(), resumed.optimiser_state());
    EXPECT_EQ(resumed.loss_smooth(), m.loss_smooth());

    // The control: the same file without its accumulators and step counts
    // resumes differently, so the comparison above depends on them.
    Model &fresh = modelload(path, {.name = "fresh_" + h.optimiser});
    OptimiserState stripped = fresh.optimiser_state();
    stripped.optimisers.clear();
    fresh.set_optimiser_state(stripped);
    train(fresh, batches, k, k + n, h.optimiser);
    EXPECT_FALSE(differingParams(m, fresh).empty())
        << "the optimiser state made no difference";
    // And the steps after the save changed the parameters at all.
    EXPECT_FALSE(sameBytes(atSave.at("conv").at("w"),
                           m["conv"].get_param_values().at("w")));
  }
}

TEST_F(ModelTest, RebuildModelContinuesTrainingBitIdentically) {
  const std::size_t k = 2, n = 2;
  buildModel();
  Model &m = model();
  m.set_opt_meta_params("Adam", {{"lr", 0.005}, {"wd", 1e-3}});
  std::vector<Batch> batches = makeBatches(m, k + n, 7);
  train(m, batches, 0, k, "Adam");
  Model &rebuilt = rebuild_model(m, {.name = "rebuilt"});
  EXPECT_EQ(rebuilt.iterations(), static_cast<int64_t>(k));
  train(m, batches, k, k + n, "Adam");
  train(rebuilt, batches, k, k + n, "Adam");
  std::vector<std::string> diff = differingParams(m, rebuilt);
  EXPECT_TRUE(diff.empty()) << join(diff);
  expectSameState(m.optimiser_state(), rebuilt.optimiser_state());
}

TEST_F(ModelTest, OneAndTwoThreadsGiveBitIdenticalSteps) {
  buildModel();
  Model &m = model();
  m.set_opt_meta_params("Adam", {{"lr", 0.005}, {"wd", 1e-3}});
  const ModelParamValues start = m.get_param_values();
  OptimiserState fresh = m.optimiser_state();
  fresh.seed = 42; // both runs draw the same dropout masks
  std::vector<Batch> batches = makeBatches(m, 3, 11);
  // Per thread count: the first batch's loss and gradients, then the
  // parameters after three Adam steps from the same start.
  struct Run {
    double loss;
    ModelParamValues grads, params;
  };
  std::vector<Run> runs;
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    ASSERT_EQ(get_num_threads(), threads);
    m.set_param_values(start);
    m.set_optimiser_state(fresh);
    Run r;
    r.loss = m.loss(batches[0]).getFlat(0);
    r.grads = m.gradients(batches[0]);
    train(m, batches, 0, batches.size(), "Adam");
    r.params = m.get_param_values();
    runs.push_back(std::move(r));
  }
  set_num_threads(0);
  EXPECT_EQ(runs[0].loss, runs[1].loss) << "the forward pass differs";
  // Name every gradient and parameter that differs, so a thread-dependent
  // reduction is found from the report alone.
  for (const auto &[node, values] : runs[0].grads)
    for (const auto &[key, g] : values)
      EXPECT_TRUE(sameBytes(g, runs[1].grads.at(node).at(key)))
          << "gradient of " << node << "." << key
          << " differs between 1 and 2 threads, max |diff| "
          << maxAbsDiff(g, runs[1].grads.at(node).at(key));
  for (const auto &[node, values] : runs[0].params)
    for (const auto &[key, p] : values)
      EXPECT_TRUE(sameBytes(p, runs[1].params.at(node).at(key)))
          << node << "." << key
          << " differs after 3 Adam steps on 1 and 2 threads, max |diff| "
          << maxAbsDiff(p, runs[1].params.at(node).at(key));
}
