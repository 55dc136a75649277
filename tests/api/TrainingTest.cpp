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
      MultinoulliNLL(p, t, {.target_is_sparse = true,
                            .class_weights = {1.0, 2.0, 0.5}}),
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
  std::vector<Array> batch{Array::full({1, 1}, 1.5),
                           Array::full({1, 1}, -0.5)};
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
      double factor = std::sqrt(1 - std::pow(beta2, step)) /
                      (1 - std::pow(mom, step));
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
  m.designate_nodes({.input_node = s.x, .target_node = s.t, .loss_node = s.loss});
  EXPECT_THROW(m.trainingstep(batch, {.optimiser = "Nesterov"}), ValueError);
  EXPECT_THROW(m.set_opt_meta_params("Adam", {{"momentum", 0.9}}), ValueError);
  EXPECT_THROW(m.trainingstep({batch[0]}), TypeError);
  EXPECT_THROW(m.trainingstep({batch[0], Array::full({2, 1}, 0.0)}), TypeError);
  EXPECT_EQ(m.iterations(), 0);
}

TEST_F(ModelTest, NonFiniteStepChangesNothing) {
  ScalarModel s = scalarModel();
  Model &m = model();
  m.designate_nodes({.input_node = s.x, .target_node = s.t, .loss_node = s.loss});
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
