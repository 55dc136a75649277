//===- LayersTest.cpp - node kinds, initialisation, bad input -------------===//
#include "ModelFixture.h"

#include <cmath>

using namespace nm;

TEST_F(ModelTest, MnistModel) { // vector 17
  Node inp = Input({None, 1, 26, 26}, "b,f,y,x", {.name = "input"});
  Node c0 = Conv(inp, 12, {3, 3}, {2, 2}, {.batch_normalisation = "train"});
  Node c1 = Conv(c0, 36, {3, 3}, {2, 2}, {.batch_normalisation = "train"});
  Node c2 = Conv(c1, 64, {3, 3}, {1, 1}, {.batch_normalisation = "train"});
  Node d0 = Perceptron(c2, 200, {.flatten = true});
  Node d1 = Perceptron(d0, 10, {.activation_func = "lin"});
  Node probs = Softmax(d1);
  Node target =
      Input_like(probs, {.override_f = 1, .name = "target", .dtype = "int16"});
  Node nll = MultinoulliNLL(probs, target, {.target_is_sparse = true});
  Node loss = AggregateLoss(nll, {.name = "loss"});
  model().designate_nodes({.input_node = inp,
                           .target_node = target,
                           .loss_node = loss,
                           .prediction_node = probs});
  EXPECT_EQ(c0.shape().repr(), "[(None,b), (12,f), (12,y), (12,x)]");
  EXPECT_EQ(c0.param_count(), 132);
  EXPECT_EQ(c1.shape().spatialShape(), (Sizes{5, 5}));
  EXPECT_EQ(c1.param_count(), 3960);
  EXPECT_EQ(c2.shape().spatialShape(), (Sizes{3, 3}));
  EXPECT_EQ(c2.param_count(), 20864);
  EXPECT_EQ(d0.shape().repr(), "[(None,b), (200,f)]");
  EXPECT_EQ(d0.param_count(), 115400);
  EXPECT_EQ(d1.param_count(), 2010);
  EXPECT_EQ(model().total_params_count(), 142366);
  EXPECT_EQ(model().total_computational_cost(), 754853);
  EXPECT_NE(logText().find("Total Computational Cost of Model: 754.9 kilo Ops"),
            std::string::npos);
  EXPECT_EQ(probs.shape().fov(), Sizes{});
  // BN mean/std are not trainable and not counted.
  ParamValues p = c0.get_param_values();
  EXPECT_EQ(p.keys(),
            (std::vector<std::string>{"w", "b", "gamma", "mean", "std"}));
}

TEST_F(ModelTest, PerceptronShapes) { // vector 24
  Node inp = Input({2, 3, 4, 4}, "b,f,x,y");
  Node dot = Perceptron(inp, 5);
  Node flat = Perceptron(inp, 5, {.flatten = true});
  EXPECT_EQ(dot.shape().shape(), (Sizes{2, 5, 4, 4}));
  EXPECT_EQ(dot.param_count(), 20);
  EXPECT_EQ(dot.computational_cost(), 480);
  EXPECT_EQ(flat.shape().repr(), "[(2,b), (5,f)]");
  EXPECT_EQ(flat.param_count(), 245);
  EXPECT_EQ(flat.computational_cost(), 480);
  EXPECT_EQ(flat.name(), "dot1");
  EXPECT_NE(flat.repr().find("n_f=5, act='relu', input was flattened, "),
            std::string::npos);
}

TEST_F(ModelTest, PreluAndBatchNormParams) { // vector 25
  Node inp = Input({1, 3, 8, 8}, "b,f,x,y");
  Node prelu = Conv(inp, 4, {3, 3}, {}, {.activation_func = "prelu"});
  Node bn = Conv(inp, 4, {3, 3}, {}, {.batch_normalisation = "train"});
  EXPECT_EQ(prelu.param_count(), 116);
  EXPECT_EQ(bn.param_count(), 116);
  EXPECT_EQ(prelu.shape().spatialShape(), (Sizes{6, 6}));
  Array b = prelu.get_param_values().at("b");
  ASSERT_EQ(b.shape(), (Sizes{4, 2}));
  EXPECT_FLOAT_EQ(b.getFlat(0), 1.0f / 9);
  EXPECT_FLOAT_EQ(b.getFlat(1), 1.0f);
  EXPECT_NE(bn.repr().find("BN in 'train' mode "), std::string::npos);
  Node predictBn = Conv(inp, 4, {3, 3}, {}, {.batch_normalisation = "predict"});
  EXPECT_EQ(predictBn.param_count(), 112) << "gamma is frozen in predict mode";
}

TEST_F(ModelTest, InitialisationFollowsElektronn2) {
  Node inp = Input({1, 16, 10, 10, 10}, "b,f,z,x,y");
  Node relu = Conv(inp, 32, {3, 3, 3}, {1, 2, 2});
  Array b = relu.get_param_values().at("b");
  for (int64_t i = 0; i < b.size(); ++i)
    ASSERT_FLOAT_EQ(b.getFlat(i), 1.0f / 27);
  // Glorot normal: std = sqrt(2 / ((n_in + n_out / prod(pool)) * kernel)).
  Array w = relu.get_param_values().at("w");
  double sum = 0, sq = 0;
  for (int64_t i = 0; i < w.size(); ++i) {
    sum += w.getFlat(i);
    sq += w.getFlat(i) * w.getFlat(i);
  }
  double mean = sum / w.size(), std = std::sqrt(sq / w.size() - mean * mean);
  double expected = std::sqrt(2.0 / ((16 + 32.0 / 4) * 27));
  EXPECT_NEAR(std, expected, 0.03 * expected);
  EXPECT_NEAR(mean, 0, 0.05 * expected);
  Node sig = Conv(inp, 2, {1, 1, 1}, {}, {.activation_func = "sigmoid"});
  EXPECT_FLOAT_EQ(sig.get_param_values().at("b").getFlat(1), 0.5f);
  Node lin = Conv(inp, 2, {1, 1, 1}, {}, {.activation_func = "lin"});
  EXPECT_LE(std::abs(lin.get_param_values().at("b").getFlat(0)), 1e-6);
}

TEST_F(ModelTest, SeedMakesInitialisationReproducible) {
  Node inp = Input({1, 2, 6, 6}, "b,f,x,y");
  set_seed(7);
  Array a = Conv(inp, 3, {3, 3}).get_param_values().at("w");
  set_seed(7);
  Array b = Conv(inp, 3, {3, 3}).get_param_values().at("w");
  Array c = Conv(inp, 3, {3, 3}).get_param_values().at("w");
  EXPECT_EQ(a, b);
  EXPECT_NE(b, c);
}

TEST_F(ModelTest, GivenWeightsAreUsedAndChecked) {
  Node inp = Input({1, 1, 5}, "b,f,x");
  Array w = Array::full({2, 1, 3}, 0.25);
  Node c = Conv(inp, 2, {3}, {}, {.w = w});
  EXPECT_EQ(c.get_param_values().at("w"), w);
  EXPECT_THROW(Conv(inp, 2, {3}, {}, {.w = Array({2, 1, 2})}), ValueError);
}

TEST_F(ModelTest, UpConvAndFovFix) { // vector 23
  Node inp = Input({1, 1, 12, 12}, "b,f,x,y");
  Node c = Conv(inp, 8, {3, 3}, {2, 2});
  Node up = UpConv(c, 4, {2, 2});
  EXPECT_EQ(c.param_count(), 80);
  EXPECT_EQ(c.computational_cost(), 7200);
  EXPECT_EQ(up.shape().shape(), (Sizes{1, 4, 10, 10}));
  EXPECT_EQ(up.shape().fov(), (Sizes{-1, -1}));
  EXPECT_EQ(up.param_count(), 132);
  EXPECT_EQ(up.computational_cost(), 10368);
  EXPECT_NE(up.repr().find("2d upconv, kernel=(2, 2)"), std::string::npos);
  // identity_init: w[i, i, ...] = 1, b = 0.
  Array w = up.get_param_values().at("w");
  EXPECT_FLOAT_EQ(w.getFlat(0), 1.0f);
  EXPECT_FLOAT_EQ(up.get_param_values().at("b").getFlat(0), 0.0f);
  Node logits = Conv(up, 2, {1, 1}, {}, {.activation_func = "lin"});
  Node probs = Softmax(logits);
  model().designate_nodes({.input_node = inp, .prediction_node = probs});
  EXPECT_EQ(probs.shape().fov(), (Sizes{2, 2})) << "in 12 - out 10";
  EXPECT_EQ(probs.shape().offsets(), (Sizes{1, 1}));
}

TEST_F(ModelTest, PoolCropPadConcatAddSplit) {
  Node inp = Input({1, 2, 9, 9}, "b,f,x,y");
  Node pool = Pool(inp, {3, 3}, {.stride = {2, 2}});
  EXPECT_EQ(pool.shape().spatialShape(), (Sizes{4, 4}));
  EXPECT_EQ(pool.computational_cost(), 162);
  EXPECT_EQ(Crop(inp, {1, 2}).shape().spatialShape(), (Sizes{7, 5}));
  EXPECT_EQ(Pad(inp, {1, 0}).shape().spatialShape(), (Sizes{11, 9}));
  Node cat = Concat({inp, inp});
  EXPECT_EQ(cat.shape()['f'], 4);
  EXPECT_EQ(cat.computational_cost(), 0);
  EXPECT_EQ(Add(inp, inp).computational_cost(), 0);
  EXPECT_EQ(MultMerge(inp, inp).computational_cost(), 162);
  std::vector<Node> parts = split(cat, {.n_out = 2});
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].shape()['f'], 2);
  EXPECT_EQ(parts[1].name(), "split1");
  std::vector<Node> ones =
      split(cat, {.index = {1}, .strip_singleton_dims = true});
  EXPECT_EQ(ones[0].shape().tags(), "bxy");
  EXPECT_EQ(ones[1].shape()['f'], 3);
  EXPECT_THROW(Add(inp, cat), ValueError);
  EXPECT_THROW(Pool(inp, {2, 2}, {.mfp = true}), NotImplementedError);
}

TEST_F(ModelTest, AutoMergeBuildsUpConvCropConcat) {
  Node inp = Input({1, 4, 20, 20}, "b,f,x,y");
  Node fine = Conv(inp, 8, {3, 3});            // 18, stride 1
  Node coarse = Conv(fine, 8, {3, 3}, {2, 2}); // 8, stride 2
  Node merged = AutoMerge(fine, coarse, {.upconv_n_f = 6});
  // UpConv(coarse) -> 16; fine 18 cropped by 1 each side; upconv first.
  EXPECT_EQ(merged.shape().shape(), (Sizes{1, 14, 16, 16}));
  EXPECT_EQ(merged.parents()[0].cls(), "UpConv");
  EXPECT_EQ(merged.parents()[1].cls(), "Crop");
  EXPECT_THROW(AutoMerge(fine, coarse), ValueError) << "needs upconv_n_f";
}

TEST_F(ModelTest, UpConvMergeTakesUpconvNfPositionally) {
  // ELEKTRONN2's unet3d.py: nm.UpConvMerge(conv5, conv7, 512).
  Node inp = Input({1, 4, 20, 20}, "b,f,x,y");
  Node fine = Conv(inp, 8, {3, 3});
  Node coarse = Conv(fine, 8, {3, 3}, {2, 2});
  Node merged = UpConvMerge(fine, coarse, 6);
  EXPECT_EQ(merged.shape().shape(), (Sizes{1, 14, 16, 16}));
  Node added = UpConvMerge(fine, coarse, 8, {.merge_mode = "add"});
  EXPECT_EQ(added.shape().shape(), (Sizes{1, 8, 16, 16}));
  EXPECT_EQ(AutoMerge(fine, coarse, 6, {.upconv_n_f = 6}).shape().shape(),
            (Sizes{1, 14, 16, 16}));
  EXPECT_THROW(UpConvMerge(fine, coarse, 6, {.upconv_n_f = 7}), ValueError);
}

TEST_F(ModelTest, LossNodes) {
  Node pred = Input({2, 3, 4, 4}, "b,f,x,y");
  Node target = Input({2, 3, 4, 4}, "b,f,x,y", {.name = "t"});
  EXPECT_EQ(SquaredLoss(pred, target).shape()['f'], 1);
  EXPECT_EQ(AbsLoss(pred, target).name(), "absloss");
  EXPECT_EQ(BinaryNLL(pred, target).shape()['f'], 3);
  Node g = GaussianNLL(pred, pred, target);
  EXPECT_EQ(g.computational_cost(), 96);
  Node agg =
      AggregateLoss({SquaredLoss(pred, target), g}, {.mixing_weights = {2, 3}});
  EXPECT_EQ(agg.computational_cost(), 32 + 96);
  EXPECT_EQ(agg.param_count(), 0) << "mixing weights are not trainable";
  EXPECT_THROW(AggregateLoss({g}, {.mixing_weights = {1, 2}}), ValueError);
  Node oh = OneHot(Input({2, 1, 4, 4}, "b,f,x,y"), 5);
  EXPECT_EQ(oh.shape()['f'], 5);
}

TEST_F(ModelTest, SoftmaxOnNonLinearParentIsRejected) {
  Node inp = Input({1, 1, 8, 8}, "b,f,x,y");
  Node relu = Conv(inp, 3, {3, 3});
  try {
    Softmax(relu);
    FAIL() << "expected ValueError";
  } catch (const ValueError &e) {
    EXPECT_NE(std::string(e.what()).find("activation_func='lin'"),
              std::string::npos);
    EXPECT_NE(std::string(e.what()).find("'relu'"), std::string::npos);
  }
  EXPECT_EQ(model().size(), 2u) << "a rejected node is not registered";
}

TEST_F(ModelTest, BadInputGivesClearErrors) {
  Node inp = Input({1, 1, 8, 8}, "b,f,x,y");
  EXPECT_THROW(Input({1, 2}, "b,q"), ValueError);
  EXPECT_THROW(Input({1, 2, 3}, "b,f"), ValueError);
  EXPECT_THROW(Input({1, 2}, "b,f", {.dtype = "float17"}), ValueError);
  try {
    Conv(inp, 3, {3, 3}, {}, {.activation_func = "swish"});
    FAIL();
  } catch (const ValueError &e) {
    EXPECT_NE(std::string(e.what()).find("Unknown activation_func 'swish'"),
              std::string::npos);
  }
  try {
    Conv(inp, 3, {3, 3}, {2, 2}); // 6 % 2 == 0 fine; use 7
    Conv(Input({1, 1, 9, 8}, "b,f,x,y"), 3, {3, 3}, {2, 2});
    FAIL();
  } catch (const ValueError &e) {
    EXPECT_STREQ(e.what(), "Cannot pool spatial axis 'x' of length 9 by "
                           "factor 2 after convolving with kernel of size 3.");
  }
  EXPECT_THROW(
      Conv(Input({2, 1, 9, 9}, "b,f,x,y"), 3, {2, 2}, {2, 2}, {.mfp = true}),
      ValueError);
  EXPECT_THROW(Conv(inp, 3, {3, 3, 3}), ValueError) << "filter rank";
  EXPECT_THROW(Conv(inp, 3, {3, 3}, {}, {.conv_mode = "half"}), ValueError);
  EXPECT_THROW(Conv(inp, 3, {3, 3}, {}, {.batch_normalisation = "on"}),
               ValueError);
  EXPECT_THROW(ApplyFunc(inp, "frobnicate"), ValueError);
  EXPECT_THROW(model().designate_nodes({.input_node = "nope"}), KeyError);
  EXPECT_THROW(Node().name(), ValueError);
}

TEST_F(ModelTest, TargetMustMatchPrediction) {
  Node inp = Input({1, 1, 8, 8}, "b,f,x,y");
  Node probs = Softmax(Conv(inp, 3, {3, 3}, {}, {.activation_func = "lin"}));
  Node wrong = Input({1, 1, 5, 5}, "b,f,x,y", {.name = "target"});
  EXPECT_THROW(MultinoulliNLL(probs, wrong, {.target_is_sparse = true}),
               ValueError);
  Node notSoftmax = Input({1, 3, 6, 6}, "b,f,x,y", {.name = "p"});
  Node t = Input_like(notSoftmax, {.override_f = 1});
  EXPECT_THROW(MultinoulliNLL(notSoftmax, t, {.target_is_sparse = true}),
               ValueError);
}

TEST_F(ModelTest, ParamValuesRoundTrip) {
  Node inp = Input({1, 2, 6, 6}, "b,f,x,y");
  Node c = Conv(inp, 3, {3, 3});
  ParamValues p = c.get_param_values();
  Array w = p.at("w");
  w.setFlat(0, 42.0);
  p.set("w", w);
  c.set_param_values(p);
  EXPECT_EQ(c.get_param_values().at("w").getFlat(0), 42.0);
  ParamValues unknown;
  unknown.set("q", Array({1}));
  EXPECT_THROW(c.set_param_values(unknown), KeyError);
  ParamValues wrongShape;
  wrongShape.set("b", Array({4}));
  EXPECT_THROW(c.set_param_values(wrongShape), ValueError);
  ParamValues bn; // BN keys of a model without BN are skipped
  bn.set("gamma", Array({3}));
  EXPECT_NO_THROW(c.set_param_values(bn));
  Node constant = ValueNode({3}, "f", {.value = Array::full({3}, 2.0)});
  ParamValues v;
  v.set("value", Array({3}));
  EXPECT_THROW(constant.set_param_values(v), ValueError);
  EXPECT_NO_THROW(constant.set_param_values(v, /*skip_const=*/true));
  EXPECT_EQ(constant.get_param_values().at("value").getFlat(0), 2.0);
  EXPECT_EQ(constant.get_param_values(true).size(), 0u);
}

TEST_F(ModelTest, ModelManager) {
  Model &first = model();
  Model &other = model_manager.newmodel("other");
  Node x = Input({1, 1, 4}, "b,f,x");
  EXPECT_EQ(&x.model(), &other);
  EXPECT_THROW(model_manager.newmodel("other"), ValueError);
  model_manager.togglemodel();
  EXPECT_EQ(&model_manager.getmodel(), &first);
  EXPECT_EQ(&model_manager.getmodel("other"), &other);
  EXPECT_THROW(model_manager.getmodel("missing"), KeyError);
}

// n_indep softmaxes: a sparse target holds one label per block and class
// weights count the classes of one block (as the nm dialect and ELEKTRONN2).
TEST_F(ModelTest, NllWithIndependentSoftmaxBlocks) {
  Node x = Input({2, 6, 3, 4}, "b,f,x,y", {.name = "x"});
  Node pred = Softmax(x, {.n_indep = 2});
  Node labels = Input({2, 2, 3, 4}, "b,f,x,y", {.name = "labels"});
  Node nll = MultinoulliNLL(
      pred, labels,
      {.target_is_sparse = true, .class_weights = {1.0, 2.0, 0.5}});
  EXPECT_EQ(nll.shape().shape(), (Sizes{2, 1, 3, 4}));
  Node one = Input({2, 1, 3, 4}, "b,f,x,y", {.name = "one"});
  try {
    MultinoulliNLL(pred, one, {.target_is_sparse = true, .name = "bad"});
    FAIL() << "f=1 cannot label 2 independent blocks";
  } catch (const ValueError &e) {
    EXPECT_NE(std::string(e.what()).find("a sparse target needs f=2"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(MultinoulliNLL(pred, labels,
                              {.target_is_sparse = true,
                               .class_weights = {1, 1, 1, 1, 1, 1},
                               .name = "bad2"}),
               ValueError);
}
