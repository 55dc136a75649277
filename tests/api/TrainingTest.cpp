//===- TrainingTest.cpp - gradients, optimisers, training steps -----------===//
//
// The gradients of compiled models against central finite differences of
// the compiled loss (GradientCheck.h argues the tolerance); ELEKTRONN2's
// optimiser rules step by step against hand computation; convergence;
// bad input.
//
//===----------------------------------------------------------------------===//
#include "tests/api/GradientCheck.h"
#include "tests/frontend/ModelFixture.h"

#include <cmath>
#include <random>

using namespace nm;
using namespace nm::gradcheck;

TEST_F(ModelTest, ConvPoolSoftmaxNLLGradientsMatchFiniteDifferences) {
  std::mt19937 gen(7);
  Node x = Input({1, 2, 5, 12, 12}, "b,f,z,x,y",
                 {.name = "raw", .dtype = "float64"});
  Node c = Conv(x, 3, {2, 3, 3}, {2, 2, 2}, {.activation_func = "tanh"});
  c = Conv(c, 4, {1, 2, 2}, {}, {.activation_func = "relu"});
  c = Conv(c, 3, {1, 1, 1}, {}, {.activation_func = "lin"});
  Node p = Softmax(c);
  Node t = Input_like(p, {.override_f = 1, .name = "labels", .dtype = "int16"});
  Node loss = AggregateLoss(
      MultinoulliNLL(
          p, t, {.target_is_sparse = true, .class_weights = {1.0, 2.0, 0.5}}),
      {.name = "loss"});
  model().designate_nodes({.input_node = x,
                           .target_node = t,
                           .loss_node = loss,
                           .prediction_node = p});
  toFloat64(model());
  std::vector<Array> batch{randomArray(x.shape().shape(), gen, -1, 1),
                           randomLabels(t.shape().shape(), gen, 3)};
  batch[1].setFlat(0, -1); // ignored label
  EXPECT_LT(worstGradientError(model(), batch), 1e-4);
  EXPECT_NE(logText().find("Compiling Gradient Func, inputs=[raw, labels]"),
            std::string::npos)
      << logText();
}

TEST_F(ModelTest, AveragePoolAndSquaredLossGradientsMatchFiniteDifferences) {
  std::mt19937 gen(11);
  Node x = Input({2, 1, 9, 9}, "b,f,x,y", {.name = "raw", .dtype = "float64"});
  Node c = Conv(x, 2, {2, 2}, {}, {.activation_func = "sig"});
  c = Pool(c, {2, 2}, {.mode = "average"});
  Node out = Conv(c, 2, {2, 2}, {}, {.activation_func = "lin"});
  Node t = Input_like(out, {.name = "target", .dtype = "float64"});
  Node loss = AggregateLoss(SquaredLoss(out, t), {.name = "loss"});
  model().designate_nodes({.input_node = x,
                           .target_node = t,
                           .loss_node = loss,
                           .prediction_node = out});
  toFloat64(model());
  std::vector<Array> batch{randomArray(x.shape().shape(), gen, -1, 1),
                           randomArray(t.shape().shape(), gen, -1, 1)};
  EXPECT_LT(worstGradientError(model(), batch), 1e-4);
}

TEST_F(ModelTest, OverlappingMaxPoolGradientMatchesFiniteDifferences) {
  std::mt19937 gen(13);
  Node x =
      Input({1, 2, 12, 12}, "b,f,x,y", {.name = "raw", .dtype = "float64"});
  Node c = Conv(x, 3, {2, 2}, {}, {.activation_func = "relu"});
  c = Pool(c, {3, 3}, {.stride = {2, 2}});
  Node out = Conv(c, 2, {2, 2}, {}, {.activation_func = "lin"});
  Node t = Input_like(out, {.name = "target", .dtype = "float64"});
  Node loss = AggregateLoss(AbsLoss(out, t), {.name = "loss"});
  model().designate_nodes({.input_node = x,
                           .target_node = t,
                           .loss_node = loss,
                           .prediction_node = out});
  toFloat64(model());
  std::vector<Array> batch{randomArray(x.shape().shape(), gen, -1, 1),
                           randomArray(t.shape().shape(), gen, -1, 1)};
  EXPECT_LT(worstGradientError(model(), batch), 1e-4);
}

namespace {

/// loss = 0.5 (t - (w x + b))^2 through a one-weight Perceptron.
struct ScalarModel {
  Node x, t, loss;
};

ScalarModel scalarModel() {
  ScalarModel s;
  s.x = Input({1, 1}, "b,f", {.name = "x"});
  Node y = Perceptron(s.x, 1, {.activation_func = "lin"});
  s.t = Input_like(y, {.name = "t"});
  s.loss = AggregateLoss(SquaredLoss(y, s.t), {.name = "loss"});
  return s;
}

} // namespace

/// Three steps of `optimiser`, each checked against the rule of reference
/// §6.6 applied by hand to the gradient of that step.
void checkTrajectory(Model &m, const std::string &optimiser, double wd) {
  ScalarModel s{m["x"], m["t"], m["loss"]};
  m.set_opt_meta_params(optimiser, {{"lr", 0.1}, {"mom", 0.8}, {"wd", wd}});
  std::vector<Array> batch{Array::full({1, 1}, 1.5), Array::full({1, 1}, -0.5)};
  Node dense = m["dot"];
  double w = dense.impl().params.at("w").value.getFlat(0);
  double b = dense.impl().params.at("b").value.getFlat(0);
  double sw1 = 0, sw2 = 0, sb1 = 0, sb2 = 0; // optimiser state of w and b
  const double lr = 0.1, mom = 0.8, beta2 = 0.999, eps = 1e-5;
  for (int step = 1; step <= 3; ++step) {
    ModelParamValues g = m.gradients(batch);
    double gw = g.at("dot").at("w").getFlat(0);
    double gb = g.at("dot").at("b").getFlat(0);
    auto update = [&](double p, double gr, double &s1, double &s2,
                      double decay) {
      if (optimiser == "SGD") {
        s1 = gr + mom * s1;
        return p - lr * (s1 + wd * p * decay);
      }
      if (optimiser == "AdaGrad") {
        s1 += gr * gr * (step == 1 ? 2 : 1);
        return p - lr / std::sqrt(s1) * (gr + wd * p * (decay > 0));
      }
      if (optimiser == "AdaDelta") {
        double dir = gr * std::sqrt(s2 + eps) / std::sqrt(s1 + eps);
        s1 = mom * s1 + (1 - mom) * gr * gr;
        s2 = mom * s2 + (1 - mom) * dir * dir;
        return p - lr * (dir + wd * p * decay);
      }
      double factor =
          std::sqrt(1 - std::pow(beta2, step)) / (1 - std::pow(mom, step));
      s1 = mom * s1 + (1 - mom) * gr;
      s2 = beta2 * s2 + (1 - beta2) * gr * gr;
      return p - lr * (factor * s1 / std::sqrt(s2 + eps) + wd * p * decay);
    };
    w = update(w, gw, sw1, sw2, 1.0); // a weight decays, a bias does not
    b = update(b, gb, sb1, sb2, 0.0);
    m.trainingstep(batch, {.optimiser = optimiser});
    EXPECT_NEAR(dense.impl().params.at("w").value.getFlat(0), w,
                1e-6 * std::max(1.0, std::abs(w)))
        << optimiser << " step " << step;
    EXPECT_NEAR(dense.impl().params.at("b").value.getFlat(0), b,
                1e-6 * std::max(1.0, std::abs(b)))
        << optimiser << " step " << step;
  }
  EXPECT_EQ(m.iterations(), 3);
}

TEST_F(ModelTest, OptimisersFollowElektronn2Rules) {
  for (const std::string &opt : optimiser_names()) {
    for (double wd : {0.0, 0.01}) {
      model_manager.newmodel(opt + std::to_string(wd));
      ScalarModel s = scalarModel();
      model_manager.getmodel().designate_nodes(
          {.input_node = s.x, .target_node = s.t, .loss_node = s.loss});
      checkTrajectory(model_manager.getmodel(), opt, wd);
    }
  }
}

TEST_F(ModelTest, TrainingStepRejectsBadInput) {
  ScalarModel s = scalarModel();
  Model &m = model();
  std::vector<Array> batch{Array::full({1, 1}, 1.0), Array::full({1, 1}, 0.0)};
  EXPECT_THROW(m.trainingstep(batch), ValueError); // no loss designated
  m.designate_nodes(
      {.input_node = s.x, .target_node = s.t, .loss_node = s.loss});
  EXPECT_THROW(m.trainingstep(batch, {.optimiser = "Nesterov"}), ValueError);
  EXPECT_THROW(m.set_opt_meta_params("Adam", {{"momentum", 0.9}}), ValueError);
  EXPECT_THROW(m.trainingstep({batch[0]}), TypeError);
  EXPECT_THROW(m.trainingstep({batch[0], Array::full({2, 1}, 0.0)}), TypeError);
  EXPECT_EQ(m.iterations(), 0);
}

TEST_F(ModelTest, NonFiniteStepChangesNothing) {
  ScalarModel s = scalarModel();
  Model &m = model();
  m.designate_nodes(
      {.input_node = s.x, .target_node = s.t, .loss_node = s.loss});
  std::vector<Array> batch{Array::full({1, 1}, 1e30), Array::full({1, 1}, 0.0)};
  ModelParamValues before = m.get_param_values();
  try {
    m.trainingstep(batch, {.optimiser = "SGD"});
    ADD_FAILURE() << "no NumericalError";
  } catch (const NumericalError &e) {
    EXPECT_NE(std::string(e.what()).find("unchanged"), std::string::npos)
        << e.what();
  }
  ModelParamValues after = m.get_param_values();
  EXPECT_EQ(before.at("dot").at("w").getFlat(0),
            after.at("dot").at("w").getFlat(0));
  EXPECT_EQ(m.iterations(), 0);
}

namespace {
/// d loss / d w of x = 1 -> Conv 1x1x1 (w, b, lin, dropout `rate`) ->
/// squared loss against 0, with w = 0.5, b = 0.25.
double dropoutWeightGradient(double rate, const std::string &name) {
  model_manager.newmodel(name);
  Node x = Input({1, 1, 4, 50, 50}, "b,f,z,x,y", {.name = "x"});
  Node y = Conv(x, 1, {1, 1, 1}, {},
                {.activation_func = "lin", .dropout_rate = rate});
  Node t = Input_like(y, {.name = "t"});
  Node loss = AggregateLoss(SquaredLoss(y, t), {.name = "loss"});
  Model &m = model_manager.getmodel(name);
  m.designate_nodes({.input_node = x, .target_node = t, .loss_node = loss});
  y.impl().params.at("w").value.setFlat(0, 0.5);
  y.impl().params.at("b").value.setFlat(0, 0.25);
  std::vector<Array> batch{Array::full(x.shape().shape(), 1.0),
                           Array(t.shape().shape())};
  double g = m.gradients(batch).at("conv").at("w").getFlat(0);
  // The same step draws the same mask.
  EXPECT_EQ(g, m.gradients(batch).at("conv").at("w").getFlat(0));
  return g;
}
} // namespace

/// With y = mask * 2 (w + b) per element, d loss / d w is 4 x the kept
/// fraction x the gradient without dropout: 2 for rate 0.5, give or take
/// the binomial spread of 10,000 draws (sd of the ratio 0.02).
TEST_F(ModelTest, DropoutKeepsHalfTheElementsAndScalesThem) {
  double ratio =
      dropoutWeightGradient(0.5, "drop") / dropoutWeightGradient(0.0, "nodrop");
  EXPECT_NEAR(ratio, 2.0, 0.1);
  EXPECT_NE(ratio, 2.0);
  // dropout_rates: a layer built with dropout can change its rate (the
  // functions recompile); 0 switches it off.
  Model &m = model_manager.getmodel("drop");
  EXPECT_EQ(m.dropout_rates(), std::vector<double>{0.5});
  double g = m.gradients({Array::full({1, 1, 4, 50, 50}, 1.0),
                          Array({1, 1, 4, 50, 50})})
                 .at("conv")
                 .at("w")
                 .getFlat(0);
  m.set_dropout_rates({0.0});
  double g0 = m.gradients({Array::full({1, 1, 4, 50, 50}, 1.0),
                           Array({1, 1, 4, 50, 50})})
                  .at("conv")
                  .at("w")
                  .getFlat(0);
  EXPECT_NEAR(g / g0, 2.0, 0.1);
  EXPECT_THROW(m.set_dropout_rates({1.0}), ValueError);
  // mixing: the AggregateLoss weight scales the loss and its gradient.
  EXPECT_EQ(m.mixing(), std::vector<double>{1.0});
  m.set_mixing({3.0});
  double g3 = m.gradients({Array::full({1, 1, 4, 50, 50}, 1.0),
                           Array({1, 1, 4, 50, 50})})
                  .at("conv")
                  .at("w")
                  .getFlat(0);
  EXPECT_NEAR(g3, 3 * g0, 1e-4 * std::abs(3 * g0)); // float32 sums
  EXPECT_THROW(m.set_mixing({1.0, 2.0}), ValueError);
}

/// Batch normalisation with the batch's statistics: the loss of the
/// gradient function is the training-mode loss, which model.loss (the
/// prediction form, stored statistics) is not, so the finite differences
/// run on a training step's loss (SGD, lr 0: nothing changes).
TEST_F(ModelTest, BatchNormGradientsMatchFiniteDifferences) {
  std::mt19937 gen(17);
  Node x = Input({2, 2, 7, 7}, "b,f,x,y", {.name = "raw", .dtype = "float64"});
  Node c = Conv(x, 3, {2, 2}, {2, 2},
                {.activation_func = "tanh", .batch_normalisation = "train"});
  Node out = Conv(c, 2, {1, 1}, {}, {.activation_func = "lin"});
  Node t = Input_like(out, {.name = "target", .dtype = "float64"});
  Node loss = AggregateLoss(SquaredLoss(out, t), {.name = "loss"});
  Model &m = model();
  m.designate_nodes({.input_node = x, .target_node = t, .loss_node = loss});
  toFloat64(m);
  for (auto &[name, p] : c.impl().params)
    if (name == "gamma" || name == "b")
      for (int64_t i = 0; i < p.value.size(); ++i)
        p.value.setFlat(i, 0.5 + 0.25 * static_cast<double>(i));
  std::vector<Array> batch{randomArray(x.shape().shape(), gen, -1, 1),
                           randomArray(t.shape().shape(), gen, -1, 1)};
  m.set_opt_meta_params("SGD", {{"lr", 0.0}, {"mom", 0.0}});
  ModelParamValues g = m.gradients(batch);
  Array mean0 = c.impl().params.at("mean").value;
  auto trainLoss = [&] {
    // A step with lr 0 changes no parameter but the running averages.
    Array mean = c.impl().params.at("mean").value,
          sd = c.impl().params.at("std").value;
    double l = m.trainingstep(batch, {.optimiser = "SGD"}).loss;
    c.impl().params.at("mean").value = mean;
    c.impl().params.at("std").value = sd;
    return l;
  };
  const double h = 1e-6;
  double worst = 0;
  for (const std::string &pname : {"w", "b", "gamma"}) {
    Array &v = c.impl().params.at(pname).value;
    for (int64_t i = 0; i < v.size(); ++i) {
      double old = v.getFlat(i);
      v.setFlat(i, old + h);
      double up = trainLoss();
      v.setFlat(i, old - h);
      double down = trainLoss();
      v.setFlat(i, old);
      double numeric = (up - down) / (2 * h);
      double analytic = g.at("conv").at(pname).getFlat(i);
      worst = std::max(worst, std::abs(analytic - numeric) /
                                  std::max(std::abs(numeric), 1e-6));
    }
  }
  std::printf("batch norm: worst relative gradient error %.3g\n", worst);
  EXPECT_LT(worst, 1e-4);
  // A real step moves the running mean towards the batch mean.
  m.trainingstep(batch, {.optimiser = "SGD"});
  EXPECT_NE(c.impl().params.at("mean").value.getFlat(0), mean0.getFlat(0));
}

namespace {
/// A synthetic boundary task: smooth random images, label 1 where the
/// image at the output voxel is above 0.6 (about a third of the voxels),
/// so a 3-D CNN must learn a threshold of a local average.
std::vector<Array> boundaryBatch(std::mt19937 &gen, const Sizes &in,
                                 const Sizes &out, int64_t off) {
  std::uniform_real_distribution<double> u(0, 1);
  Array raw(in), labels(out, DType::Int16);
  Array noise(in);
  for (int64_t i = 0; i < noise.size(); ++i)
    noise.setFlat(i, u(gen));
  int64_t Z = in[2], X = in[3], Y = in[4];
  auto at = [&](int64_t z, int64_t x, int64_t y) {
    return noise.getFlat((z * X + x) * Y + y);
  };
  for (int64_t z = 0; z < Z; ++z)
    for (int64_t x = 0; x < X; ++x)
      for (int64_t y = 0; y < Y; ++y) {
        double s = 0;
        int n = 0;
        for (int64_t dx = -1; dx <= 1; ++dx)
          for (int64_t dy = -1; dy <= 1; ++dy)
            if (x + dx >= 0 && x + dx < X && y + dy >= 0 && y + dy < Y) {
              s += at(z, x + dx, y + dy);
              ++n;
            }
        raw.setFlat((z * X + x) * Y + y, s / n);
      }
  for (int64_t z = 0; z < out[2]; ++z)
    for (int64_t x = 0; x < out[3]; ++x)
      for (int64_t y = 0; y < out[4]; ++y)
        labels.setFlat((z * out[3] + x) * out[4] + y,
                       raw.getFlat((z * X + x + off) * Y + y + off) > 0.55);
  return {raw, labels};
}
} // namespace

/// A small 3-D CNN trained with Adam for 300 steps reaches less than half
/// the error of always answering the majority class.
TEST_F(ModelTest, SmallCnnLearnsABoundaryTask) {
  std::mt19937 gen(23);
  Node x = Input({1, 1, 3, 24, 24}, "b,f,z,x,y", {.name = "raw"});
  Node c = Conv(x, 8, {1, 3, 3}, {}, {.activation_func = "relu"});
  c = Conv(c, 8, {1, 3, 3}, {}, {.activation_func = "relu"});
  Node p = Softmax(Conv(c, 2, {1, 1, 1}, {}, {.activation_func = "lin"}));
  Node t = Input_like(p, {.override_f = 1, .name = "labels", .dtype = "int16"});
  Node loss = AggregateLoss(MultinoulliNLL(p, t, {.target_is_sparse = true}),
                            {.name = "loss"});
  Model &m = model();
  m.designate_nodes({.input_node = x,
                     .target_node = t,
                     .loss_node = loss,
                     .prediction_node = p});
  m.set_opt_meta_params("Adam", {{"lr", 5e-3}, {"mom", 0.9}});
  Sizes in = x.shape().shape(), out = t.shape().shape();
  double first = 0, last = 0;
  for (int step = 0; step < 300; ++step) {
    StepResult r =
        m.trainingstep(boundaryBatch(gen, in, out, 2), {.optimiser = "Adam"});
    ASSERT_TRUE(std::isfinite(r.loss));
    (step == 0 ? first : last) = r.loss;
  }
  EXPECT_LT(last, first);
  // Held-out batches: error of the prediction and of the majority class.
  int64_t wrong = 0, ones = 0, total = 0;
  for (int k = 0; k < 5; ++k) {
    std::vector<Array> batch = boundaryBatch(gen, in, out, 2);
    Array prob = m.predict({batch[0]});
    int64_t voxels = batch[1].size();
    for (int64_t v = 0; v < voxels; ++v) {
      int label = static_cast<int>(batch[1].getFlat(v));
      int guess = prob.getFlat(voxels + v) > prob.getFlat(v) ? 1 : 0;
      wrong += guess != label;
      ones += label;
    }
    total += voxels;
  }
  double error = static_cast<double>(wrong) / total;
  double majority = static_cast<double>(std::min(ones, total - ones)) / total;
  std::printf("boundary task: error %.3f, majority-class error %.3f, loss "
              "%.3f -> %.3f\n",
              error, majority, first, last);
  EXPECT_GT(majority, 0.2);
  EXPECT_LT(error, 0.5 * majority);
  EXPECT_EQ(m.iterations(), 300);
  // The diagnostics name every array.
  std::vector<Array> probe = boundaryBatch(gen, in, out, 2);
  EXPECT_NE(m.paramstats().find("conv1.w"), std::string::npos);
  EXPECT_NE(m.gradstats(probe).find("conv2.b"), std::string::npos);
  std::string acts = m.actstats(probe);
  EXPECT_NE(acts.find("softmax"), std::string::npos) << acts;
  // A label beyond the classes is refused, and nothing changes.
  std::vector<Array> bad = boundaryBatch(gen, in, out, 2);
  bad[1].setFlat(7, 2);
  ModelParamValues before = m.get_param_values();
  try {
    m.trainingstep(bad, {.optimiser = "Adam"});
    ADD_FAILURE() << "no ValueError";
  } catch (const ValueError &e) {
    EXPECT_NE(std::string(e.what()).find("holds label 2 (element 7)"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(m.iterations(), 300);
  EXPECT_EQ(before.at("conv").at("w").getFlat(0),
            m.get_param_values().at("conv").at("w").getFlat(0));
}
