//===- GradientOpsTest.cpp - gradients of every op and loss ---------------===//
//
// For each op and loss whose gradient --nm-autodiff builds beyond the first
// slice of the training core: a small float64 model around it, every
// trainable parameter's compiled gradient against central differences of
// the compiled loss (tolerance 1e-4 relative, argued in GradientCheck.h).
// Activations are smooth (tanh, sig) where the op does not need a kink, so
// that no difference straddles one; parameters that start at special
// values (UpConv's identity init, prelu's slope 1) are randomised.
//
//===----------------------------------------------------------------------===//
#include "tests/api/GradientCheck.h"
#include "tests/frontend/ModelFixture.h"

#include <cmath>
#include <map>
#include <random>

using namespace nm;
using namespace nm::gradcheck;

namespace {

constexpr double kTolerance = 1e-4;

/// The arrays of `data` (by source name) in the order the loss's
/// functions take their inputs (Node::input_nodes).
std::vector<Array> ordered(Node loss,
                           const std::map<std::string, Array> &data) {
  std::vector<Array> batch;
  for (const Node &src : loss.input_nodes())
    batch.push_back(data.at(src.name()));
  return batch;
}

/// Designates x -> loss (target `t` if any), compiles in float64 and
/// returns the worst relative gradient error for the inputs `data`.
double check(Model &m, Node x, std::optional<Node> t, Node loss,
             const std::map<std::string, Array> &data) {
  DesignateOptions d{.input_node = x, .loss_node = loss};
  if (t)
    d.target_node = *t;
  m.designate_nodes(d);
  toFloat64(m);
  return worstGradientError(m, ordered(loss, data));
}

/// SquaredLoss of `out` against a random target; returns the error.
double checkSquared(Model &m, Node x, Node out, std::mt19937 &gen) {
  Node t = Input_like(out, {.name = "target", .dtype = "float64"});
  Node loss = AggregateLoss(SquaredLoss(out, t), {.name = "loss"});
  return check(m, x, t, loss,
               {{"raw", randomArray(x.shape().shape(), gen, -1, 1)},
                {"target", randomArray(t.shape().shape(), gen, -1, 1)}});
}

Node input2d(const Sizes &shape) {
  return Input(shape, "b,f,x,y", {.name = "raw", .dtype = "float64"});
}

} // namespace

TEST_F(ModelTest, MultMergeSplitAndAddGradients) {
  std::mt19937 gen(1);
  Node x = input2d({1, 2, 6, 6});
  Node a = Conv(x, 4, {3, 3}, {}, {.activation_func = "tanh"});
  Node b = Conv(x, 4, {3, 3}, {}, {.activation_func = "sig"});
  std::vector<Node> parts = split(MultMerge(a, b), {.n_out = 2});
  Node s = Add(parts[0], MultMerge(parts[1], parts[0]));
  Node out = Conv(s, 2, {1, 1}, {}, {.activation_func = "lin"});
  EXPECT_LT(checkSquared(model(), x, out, gen), kTolerance);
}

TEST_F(ModelTest, ReshapeAndStrippedSplitGradients) {
  std::mt19937 gen(2);
  Node x = input2d({1, 2, 6, 6});
  Node c = Conv(x, 4, {3, 3}, {}, {.activation_func = "tanh"}); // 4x4x4
  Node r = Reshape(c, {1, 4, 8, 2}, "b,f,x,y");
  // A length-1 piece without its axis, brought back by a reshape.
  std::vector<Node> parts =
      split(r, {.axis = "f", .index = {1}, .strip_singleton_dims = true});
  Node back = Reshape(parts[0], {1, 1, 8, 2}, "b,f,x,y");
  Node merged = Concat({back, parts[1]});
  Node out = Conv(merged, 2, {2, 2}, {}, {.activation_func = "lin"});
  EXPECT_LT(checkSquared(model(), x, out, gen), kTolerance);
}

/// MultinoulliNLL on pieces of a softmax: split along 'x' (sparse labels),
/// and one block of an n_indep = 2 softmax (a dense target: ELEKTRONN2's
/// sparse targets of a split n_indep softmax do not line up), whose scale
/// keeps the softmax's n_indep.
TEST_F(ModelTest, SplitSoftmaxMultinoulliNLLGradients) {
  std::mt19937 gen(3);
  Node x = input2d({1, 2, 5, 5});
  Node c = Conv(x, 3, {2, 2}, {}, {.activation_func = "lin"});
  std::vector<Node> rows = split(Softmax(c), {.axis = "x", .n_out = 2});
  Node t1 =
      Input_like(rows[0], {.override_f = 1, .name = "l1", .dtype = "int16"});
  Node c2 = Conv(x, 6, {2, 2}, {}, {.activation_func = "lin", .name = "c2"});
  std::vector<Node> blocks =
      split(Softmax(c2, {.n_indep = 2, .name = "sm2"}), {.n_out = 2});
  Node t2 = Input_like(blocks[1], {.name = "t2", .dtype = "float64"});
  Node loss = AggregateLoss({MultinoulliNLL(rows[0], t1,
                                            {.target_is_sparse = true,
                                             .class_weights = {0.5, 2.0, 1.0}}),
                             MultinoulliNLL(blocks[1], t2, {.name = "nll2"})},
                            {.mixing_weights = {1.0, 0.5}, .name = "loss"});
  Array l1 = randomLabels(t1.shape().shape(), gen, 3);
  l1.setFlat(0, -1); // ignored label
  EXPECT_LT(check(model(), x, t1, loss,
                  {{"raw", randomArray(x.shape().shape(), gen, -1, 1)},
                   {"l1", l1},
                   {"t2", randomArray(t2.shape().shape(), gen, 0, 1)}}),
            kTolerance);
}

/// Reference §6.9's options: example weights (E2's (b, x, y) shape),
/// both lazy-label masks and the weakness, whose target depends on the
/// prediction (so does the normaliser n_up).
TEST_F(ModelTest, MultinoulliNLLWeightsMasksAndWeaknessGradients) {
  std::mt19937 gen(16);
  Node x = input2d({2, 2, 4, 4});
  Node c = Conv(x, 3, {2, 2}, {}, {.activation_func = "lin"});
  Node p = Softmax(c);
  Node t = Input_like(p, {.override_f = 1, .name = "labels", .dtype = "int16"});
  Node ew = Input({2, 3, 3}, "b,x,y", {.name = "ew", .dtype = "float64"});
  Node ml = Input({2, 3}, "b,f", {.name = "ml", .dtype = "float64"});
  Node mn = Input({2, 3}, "b,f", {.name = "mn", .dtype = "float64"});
  Node loss = AggregateLoss(MultinoulliNLL(p, t,
                                           {.target_is_sparse = true,
                                            .class_weights = {1.0, 2.0, 0.5},
                                            .example_weights = ew,
                                            .weakness = 0.3,
                                            .mask_class_labeled = ml,
                                            .mask_class_not_present = mn}),
                            {.name = "loss"});
  Array labels = randomLabels(t.shape().shape(), gen, 3);
  labels.setFlat(1, -1);
  Array mlv({2, 3}, DType::Float64), mnv({2, 3}, DType::Float64);
  for (int64_t i = 0; i < 6; ++i) {
    mlv.setFlat(i, i == 1 || i == 5 ? 0.0 : 1.0);
    mnv.setFlat(i, i == 1 ? 1.0 : 0.0);
  }
  std::map<std::string, Array> data{
      {"raw", randomArray(x.shape().shape(), gen, -1, 1)},
      {"labels", labels},
      {"ew", randomArray({2, 3, 3}, gen, 0.2, 2.0)},
      {"ml", mlv},
      {"mn", mnv}};
  EXPECT_LT(check(model(), x, t, loss, data), kTolerance);
  // The forward by reference §6.9 from the softmax's output: the mean of
  // nll is sum(up + dn) / (n_up + n_dn + 1e-5) (size / C / voxels = 1).
  Array prob = p(data.at("raw"));
  const double eps = 1e-5, w = 0.3, cw[3] = {1.0, 2.0, 0.5};
  double sum = 0, nUp = 0, nDn = 0;
  for (int64_t bi = 0; bi < 2; ++bi)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t v = 0; v < 9; ++v) {
        double pv = prob.getFlat((bi * 3 + c) * 9 + v);
        double label = labels.getFlat(bi * 9 + v);
        double tv = (label == c ? 1.0 : 0.0) * mlv.getFlat(bi * 3 + c);
        tv = (1 - w) * tv + w * pv;
        double wgt = cw[c] * data.at("ew").getFlat(bi * 9 + v);
        double m = mnv.getFlat(bi * 3 + c);
        sum -= tv * wgt * std::log(pv + eps) + m * wgt * std::log(1 - pv + eps);
        nUp += tv;
        nDn += m;
      }
  double expected = sum / (nUp + nDn + eps);
  double got = model().loss(ordered(loss, data)).getFlat(0);
  EXPECT_NEAR(got, expected, 1e-10 * std::abs(expected));
}

TEST_F(ModelTest, UpConvGradients) {
  std::mt19937 gen(4);
  Node x =
      Input({1, 2, 2, 3, 3}, "b,f,z,x,y", {.name = "raw", .dtype = "float64"});
  Node c = Conv(x, 3, {1, 2, 2}, {}, {.activation_func = "tanh"}); // 2x2x2
  Node u = UpConv(c, 2, {1, 2, 2}, {.activation_func = "tanh"});   // 2x4x4
  Node v = UpConv(u, 2, {2, 1, 1}, {.activation_func = "lin", .name = "up2"});
  randomiseParam(u, "w", gen, -0.7, 0.7);
  randomiseParam(v, "w", gen, -0.7, 0.7);
  Node out = Conv(v, 2, {2, 2, 2}, {}, {.activation_func = "lin"});
  EXPECT_LT(checkSquared(model(), x, out, gen), kTolerance);
}

TEST_F(ModelTest, LRNGradients) {
  std::mt19937 gen(5);
  Node x = input2d({1, 2, 6, 6});
  Node c = Conv(x, 4, {2, 2}, {}, {.activation_func = "tanh"}); // 5x5
  // A large alpha, so the normalisation's own gradient term matters.
  Node s = LRN(c, {3, 3}, {.alpha = 2.0, .k = 1.0, .beta = 0.75});
  Node ch = LRN(s, {3},
                {.mode = "channel",
                 .alpha = 1.5,
                 .k = 0.5,
                 .beta = 0.6,
                 .name = "lrn_channel"});
  Node out = Conv(ch, 2, {2, 2}, {}, {.activation_func = "lin"});
  EXPECT_LT(checkSquared(model(), x, out, gen), kTolerance);
}

TEST_F(ModelTest, PreluGradients) {
  std::mt19937 gen(6);
  Node x = input2d({1, 2, 7, 7});
  Node c = Conv(x, 3, {2, 2}, {2, 2}, {.activation_func = "prelu"}); // 3x3
  Node d = Perceptron(c, 3, {.activation_func = "prelu"});
  Node u = UpConv(d, 2, {2, 2}, {.activation_func = "prelu"}); // 6x6
  // Slopes on both sides of 0, biases that move the kinks.
  for (Node n : {c, d, u})
    randomiseParam(n, "b", gen, -0.6, 0.9);
  randomiseParam(u, "w", gen, -0.7, 0.7);
  Node out = Conv(u, 2, {2, 2}, {}, {.activation_func = "lin"});
  EXPECT_LT(checkSquared(model(), x, out, gen), kTolerance);
}

TEST_F(ModelTest, MaxoutGradients) {
  std::mt19937 gen(7);
  Node x = input2d({1, 2, 7, 7});
  Node c = Conv(x, 6, {2, 2}, {2, 2}, {.activation_func = "maxout 2"}); // f 3
  Node d = Perceptron(c, 4, {.activation_func = "maxout 2"});           // f 2
  // (UpConv with maxout is left out: ELEKTRONN2's UpConv declares n_f
  // features, its output has n_f / r, and the dialect rejects that.)
  Node out = Conv(d, 2, {2, 2}, {}, {.activation_func = "lin"});
  EXPECT_LT(checkSquared(model(), x, out, gen), kTolerance);
}

TEST_F(ModelTest, SumAndAverageExcPadPoolGradients) {
  std::mt19937 gen(8);
  Node x = input2d({1, 2, 8, 8});
  Node c = Conv(x, 2, {2, 2}, {}, {.activation_func = "tanh"}); // 7x7
  Node s = Pool(c, {3, 3}, {.stride = {2, 2}, .mode = "sum"});  // 3x3
  Node a = Pool(c, {3, 3},
                {.stride = {2, 2}, .mode = "average_exc_pad", .name = "avg"});
  Node out = Conv(Add(s, a), 2, {2, 2}, {}, {.activation_func = "lin"});
  EXPECT_LT(checkSquared(model(), x, out, gen), kTolerance);
}

TEST_F(ModelTest, GaussianNLLGradients) {
  std::mt19937 gen(9);
  Node x = input2d({1, 2, 5, 5});
  Node mu = Conv(x, 2, {2, 2}, {}, {.activation_func = "lin", .name = "mu"});
  Node sig =
      Conv(x, 2, {2, 2}, {}, {.activation_func = "soft+", .name = "sig"});
  Node logSig =
      Conv(x, 2, {2, 2}, {}, {.activation_func = "tanh", .name = "logsig"});
  Node t = Input_like(mu, {.name = "target", .dtype = "float64"});
  Node loss = AggregateLoss(
      {GaussianNLL(mu, sig, t),
       GaussianNLL(mu, logSig, t, {.sig_is_log = true, .name = "g_nll_log"})},
      {.name = "loss"});
  EXPECT_LT(check(model(), x, t, loss,
                  {{"raw", randomArray(x.shape().shape(), gen, -1, 1)},
                   {"target", randomArray(t.shape().shape(), gen, -1, 1)}}),
            kTolerance);
}

TEST_F(ModelTest, BetaNLLGradients) {
  std::mt19937 gen(10);
  Node x = input2d({1, 2, 5, 5});
  Node mode =
      Conv(x, 2, {2, 2}, {}, {.activation_func = "sig", .name = "mode"});
  Node conc = Conv(x, 2, {2, 2}, {},
                   {.activation_func = "concentration", .name = "conc"});
  Node t = Input_like(mode, {.name = "target", .dtype = "float64"});
  Node loss = AggregateLoss(BetaNLL(mode, conc, t), {.name = "loss"});
  EXPECT_LT(
      check(model(), x, t, loss,
            {{"raw", randomArray(x.shape().shape(), gen, -1, 1)},
             {"target", randomArray(t.shape().shape(), gen, 0.05, 0.95)}}),
      kTolerance);
}

TEST_F(ModelTest, RampLossAndEuclideanDistanceGradients) {
  std::mt19937 gen(11);
  Node x = input2d({1, 2, 5, 5});
  Node lo = Conv(x, 3, {2, 2}, {}, {.activation_func = "tanh", .name = "lo"});
  Node hi = Conv(x, 3, {2, 2}, {}, {.activation_func = "tanh", .name = "hi"});
  Node p = Conv(x, 3, {2, 2}, {}, {.activation_func = "sig", .name = "p"});
  // Both operands of each loss depend on parameters: both gradients count.
  Node loss = AggregateLoss({RampLoss(lo, hi, {.margin = 0.3, .name = "ramp"}),
                             EuclideanDistance(p, lo, {.name = "dist"})},
                            {.mixing_weights = {1.0, 0.7}, .name = "loss"});
  EXPECT_LT(check(model(), x, std::nullopt, loss,
                  {{"raw", randomArray(x.shape().shape(), gen, -1, 1)}}),
            kTolerance);
}

TEST_F(ModelTest, SameAndFullConv2dGradients) {
  std::mt19937 gen(12);
  Node x = input2d({1, 2, 6, 6});
  Node c = Conv(x, 3, {3, 3}, {2, 2},
                {.conv_mode = "same", .activation_func = "tanh"}); // 3x3
  Node f = Conv(c, 2, {2, 3}, {},
                {.conv_mode = "full", .activation_func = "tanh"}); // 4x5
  Node out =
      Conv(f, 2, {3, 1}, {}, {.conv_mode = "same", .activation_func = "lin"});
  EXPECT_LT(checkSquared(model(), x, out, gen), kTolerance);
}

TEST_F(ModelTest, Conv1dGradients) {
  std::mt19937 gen(13);
  Node x = Input({2, 2, 11}, "b,f,x", {.name = "raw", .dtype = "float64"});
  Node c = Conv(x, 3, {3}, {3}, {.activation_func = "tanh"}); // 3
  Node f = Conv(c, 2, {2}, {}, {.conv_mode = "full", .activation_func = "sig"});
  Node out =
      Conv(f, 2, {3}, {}, {.conv_mode = "same", .activation_func = "lin"});
  EXPECT_LT(checkSquared(model(), x, out, gen), kTolerance);
}

TEST_F(ModelTest, SameConv3dGradients) {
  std::mt19937 gen(14);
  Node x =
      Input({1, 1, 3, 4, 4}, "b,f,z,x,y", {.name = "raw", .dtype = "float64"});
  Node c = Conv(x, 2, {3, 3, 3}, {1, 2, 2},
                {.conv_mode = "same", .activation_func = "tanh"});
  Node out = Conv(c, 2, {1, 2, 2}, {},
                  {.conv_mode = "full", .activation_func = "lin"});
  EXPECT_LT(checkSquared(model(), x, out, gen), kTolerance);
}

TEST_F(ModelTest, UndifferentiableOpsFailWithADiagnostic) {
  std::mt19937 gen(15);
  Node x = input2d({1, 1, 7, 7});
  Node c = Conv(x, 2, {1, 1}, {2, 2}, {.activation_func = "tanh", .mfp = true});
  Node d = FragmentsToDense(c);
  Node t = Input_like(d, {.name = "target", .dtype = "float64"});
  Node loss = AggregateLoss(SquaredLoss(d, t), {.name = "loss"});
  model().designate_nodes(
      {.input_node = x, .target_node = t, .loss_node = loss});
  toFloat64(model());
  try {
    model().gradients({randomArray(x.shape().shape(), gen, -1, 1),
                       randomArray(t.shape().shape(), gen, -1, 1)});
    ADD_FAILURE() << "no error";
  } catch (const nm::Error &e) {
    EXPECT_NE(std::string(e.what()).find("is not implemented yet"),
              std::string::npos)
        << e.what();
  }
}

/// A Perceptron's softmax ('b,f': the class axis is the innermost one)
/// through a sparse NLL and, unfused (nm.softmax_grad itself), a squared
/// loss. n_indep = 1 and 2.
void checkFlatSoftmax(Model &m, int64_t nIndep) {
  std::mt19937 gen(17);
  Node x = Input({3, 4}, "b,f", {.name = "raw", .dtype = "float64"});
  Node h = Perceptron(x, 5, {.activation_func = "tanh"});
  Node z = Perceptron(h, 6, {.activation_func = "lin", .name = "logits"});
  Node p = Softmax(z, {.n_indep = nIndep});
  Node t =
      Input_like(p, {.override_f = nIndep, .name = "labels", .dtype = "int16"});
  Node pt = Input_like(p, {.name = "target", .dtype = "float64"});
  Node loss = AggregateLoss(
      {MultinoulliNLL(p, t, {.target_is_sparse = true}), SquaredLoss(p, pt)},
      {.name = "loss"});
  EXPECT_LT(check(m, x, t, loss,
                  {{"raw", randomArray(x.shape().shape(), gen, -1, 1)},
                   {"labels", randomLabels(t.shape().shape(), gen, 6 / nIndep)},
                   {"target", randomArray(pt.shape().shape(), gen, 0, 1)}}),
            kTolerance);
}

TEST_F(ModelTest, FlatSoftmaxGradients) { checkFlatSoftmax(model(), 1); }

// With n_indep = 2 on 'b,f' the forward softmax was wrong once (upstream's
// alias folding misread a 2-D read of the class blocks; see
// nm-split-transfers-of-expanded-shapes).
TEST_F(ModelTest, FlatSoftmaxIndependentBlocksGradients) {
  checkFlatSoftmax(model(), 2);
}
