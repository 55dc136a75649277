//===- CallableTest.cpp - calling nodes and models like functions ---------===//
#include "tests/frontend/ModelFixture.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace nm;

namespace {
std::string readText(const std::string &path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// A small model with the seed's structure: Conv+pool, Conv, lin Conv,
/// Softmax, sparse NLL, AggregateLoss, Errors.
examples::Classifier smallSeed() {
  Node image = Input({1, 3, 5, 13, 13}, "b,f,z,x,y", {.name = "image"});
  Node c = Conv(image, 4, {1, 2, 2}, {1, 2, 2});
  c = Conv(c, 6, {2, 2, 2});
  c = Conv(c, 3, {1, 2, 2}, {}, {.activation_func = "lin"});
  examples::Classifier m;
  m.input = image;
  m.prediction = Softmax(c);
  m.target = Input_like(m.prediction,
                        {.override_f = 1, .name = "target", .dtype = "int16"});
  m.loss = AggregateLoss(
      MultinoulliNLL(m.prediction, m.target, {.target_is_sparse = true}),
      {.name = "loss"});
  m.errors = Errors(m.prediction, m.target, {.target_is_sparse = true});
  model_manager.getmodel().designate_nodes(
      {.input_node = image,
       .target_node = m.target,
       .loss_node = m.loss,
       .prediction_node = m.prediction,
       .prediction_ext = {m.loss, m.errors, m.prediction}});
  return m;
}
} // namespace

TEST_F(ModelTest, CallingANodeCompilesOnceAndGivesProbabilities) {
  examples::Classifier m = smallSeed();
  Array ones = Array::full(m.input.shape().shape(), 1.0);
  Array probs = m.prediction(ones);
  EXPECT_EQ(probs.shape(), m.prediction.shape().shape());
  std::string log = logText();
  EXPECT_NE(log.find("Compiling softmax, inputs=[image]\n Compiling done  - "
                     "in "),
            std::string::npos)
      << log;
  // All-ones input: a valid probability map, summing to 1 over f.
  const Sizes &s = probs.shape(); // b, f, z, x, y
  int64_t voxels = s[2] * s[3] * s[4];
  for (int64_t v = 0; v < voxels; ++v) {
    double sum = 0;
    for (int64_t f = 0; f < s[1]; ++f) {
      double p = probs.getFlat(f * voxels + v);
      ASSERT_GT(p, 0.0);
      ASSERT_LT(p, 1.0);
      sum += p;
    }
    ASSERT_NEAR(sum, 1.0, 1e-5);
  }
  m.prediction(ones);
  EXPECT_EQ(logText(), log) << "the second call must not compile or log";
  EXPECT_GT(m.prediction.last_exec_time(), 0.0);
}

TEST_F(ModelTest, WrongInputsGiveElektronn2Messages) {
  examples::Classifier m = smallSeed();
  Array ones = Array::full(m.input.shape().shape(), 1.0);
  try {
    m.loss({ones});
    FAIL() << "loss needs image and target";
  } catch (const TypeError &e) {
    EXPECT_NE(std::string(e.what()).find("2 inputs required, 1 were given."),
              std::string::npos)
        << e.what();
  }
  try {
    m.prediction(Array({1, 3, 5, 13, 12}));
    FAIL() << "wrong shape";
  } catch (const TypeError &e) {
    EXPECT_NE(std::string(e.what()).find("Shapes (required - given):"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(ModelTest, CallingAnEmptyHandleIsAValueError) {
  Node empty;
  Array x({1, 1, 4}, DType::Float32);
  EXPECT_THROW(empty(x), ValueError);
  EXPECT_THROW(empty(), ValueError);
  EXPECT_THROW(empty.to_mlir(), ValueError);
}

TEST_F(ModelTest, ModelFunctions) {
  examples::Classifier m = smallSeed();
  Array image = Array::full(m.input.shape().shape(), 0.5);
  Array target(m.target.shape().shape(), DType::Int16); // all class 0
  Array probs = model().predict({image});
  std::vector<Array> ext = model().predict_ext({image, target});
  ASSERT_EQ(ext.size(), 3u);
  EXPECT_EQ(ext[2], probs);
  // Loss = mean over voxels of -log(p_0 + 1e-5) (all labelled).
  double expected = 0;
  const Sizes &s = probs.shape();
  int64_t voxels = s[2] * s[3] * s[4];
  for (int64_t v = 0; v < voxels; ++v)
    expected += -std::log(probs.getFlat(v) + 1e-5);
  expected /= voxels + 1e-5;
  Array loss = model().loss({image, target});
  EXPECT_NEAR(loss.getFlat(0), expected, 1e-5 * std::abs(expected));
  EXPECT_NEAR(ext[0].getFlat(0), expected, 1e-5 * std::abs(expected));
  // Errors: fraction of voxels whose argmax is not class 0.
  int64_t wrong = 0;
  for (int64_t v = 0; v < voxels; ++v) {
    int64_t best = 0;
    for (int64_t f = 1; f < s[1]; ++f)
      if (probs.getFlat(f * voxels + v) > probs.getFlat(best * voxels + v))
        best = f;
    wrong += best != 0;
  }
  EXPECT_NEAR(ext[1].getFlat(0), static_cast<double>(wrong) / voxels, 1e-6);
}

TEST_F(ModelTest, MeasureExectimeAndTestRunPrintTheirReports) {
  examples::Classifier m = smallSeed();
  double ms = m.prediction.measure_exectime(5, 2);
  EXPECT_GE(ms, 0.0);
  std::string log = logText();
  EXPECT_NE(log.find("softmax samples in ms:\n["), std::string::npos) << log;
  EXPECT_NE(log.find("softmax: median execution time: "), std::string::npos);
  Array out = m.prediction.test_run();
  EXPECT_EQ(out.shape(), m.prediction.shape().shape());
  EXPECT_NE(logText().find("Node 'softmax' compiled and computation tested\n"
                           "Outshape: (1, 3, 4, 4, 4)\nRuntime: "),
            std::string::npos)
      << logText();
  EXPECT_NE(logText().find("Shapes agree"), std::string::npos);
  EXPECT_EQ(m.input.measure_exectime(), 0.0) << "sources take no time";
}

TEST(CompileCacheAcrossProcesses, SecondProcessCompilesNothing) {
  std::string dir = ::testing::TempDir() + "/node_cache";
  std::filesystem::remove_all(dir);
  std::string cmd = "NEUROMANCER_CACHE_DIR=" + dir +
                    " tests/api/call_softmax > " + dir + ".log%d 2>&1";
  char first[512], second[512];
  std::snprintf(first, sizeof(first), cmd.c_str(), 1);
  std::snprintf(second, sizeof(second), cmd.c_str(), 2);
  ASSERT_EQ(std::system(first), 0);
  ASSERT_EQ(std::system(second), 0);
  std::string log1 = readText(dir + ".log1");
  std::string log2 = readText(dir + ".log2");
  EXPECT_EQ(log1.find("loaded from the compile cache"), std::string::npos)
      << log1;
  EXPECT_NE(log2.find("loaded from the compile cache"), std::string::npos)
      << log2;
  EXPECT_NE(log2.find("compiles=0"), std::string::npos) << log2;
}

TEST_F(ModelTest, ANodeThatCannotBeImportedIsNamed) {
  Node x = Input({1, 3, 2, 5, 5}, "b,f,z,x,y", {.name = "image"});
  Node pred = Softmax(Conv(x, 2, {1, 2, 2}, {}, {.activation_func = "lin"}));
  Node target = Input_like(pred, {.override_f = 1, .name = "target"});
  // One mask entry per class (2), not 5: the dialect rejects it.
  Node mask = Input({1, 5}, "b,f", {.name = "mask"});
  Node nll = MultinoulliNLL(
      pred, target, {.target_is_sparse = true, .mask_class_labeled = mask});
  try {
    nll({Array(x.shape().shape()), Array(target.shape().shape()),
         Array({1, 5})});
    FAIL() << "a mask of 5 classes for 2 was accepted";
  } catch (const ValueError &e) {
    EXPECT_NE(std::string(e.what()).find("nll"), std::string::npos) << e.what();
  }
}

// ELEKTRONN2's functions take any size on a None axis; compiled code is
// specialised per call shape.
TEST_F(ModelTest, NoneBatchIsSpecialisedPerCallShape) {
  Node x = Input({None, 2, 4}, "b,f,x", {.name = "nobatch"});
  Node act = ApplyFunc(x, "tanh");
  for (int64_t batch : {1, 3, 3}) {
    Array in({batch, 2, 4});
    for (int64_t i = 0; i < in.size(); ++i)
      in.setFlat(i, 0.1 * static_cast<double>(i) - 1.0);
    Array out = act(in);
    ASSERT_EQ(out.shape(), (Sizes{batch, 2, 4}));
    for (int64_t i = 0; i < in.size(); ++i)
      ASSERT_NEAR(out.getFlat(i), std::tanh(in.getFlat(i)), 1e-6);
  }
  std::string log = logText();
  EXPECT_NE(log.find("shapes=[(1, 2, 4)]"), std::string::npos) << log;
  EXPECT_NE(log.find("shapes=[(3, 2, 4)]"), std::string::npos) << log;
  size_t compiles = 0;
  for (size_t at = log.find("Compiling done"); at != std::string::npos;
       at = log.find("Compiling done", at + 1))
    ++compiles;
  EXPECT_EQ(compiles, 2u) << "batch 3 twice must compile once\n" << log;
}

TEST_F(ModelTest, NoneBatchModelPredictEqualsPerExampleCalls) {
  Node image = Input({None, 2, 3, 9, 9}, "b,f,z,x,y", {.name = "image"});
  Node c = Conv(image, 3, {1, 2, 2}, {1, 2, 2});
  Node pred = Softmax(Conv(c, 2, {2, 2, 2}, {}, {.activation_func = "lin"}));
  model_manager.getmodel().designate_nodes(
      {.input_node = image, .prediction_node = pred});
  Model &model = model_manager.getmodel();
  Array batch({2, 2, 3, 9, 9});
  for (int64_t i = 0; i < batch.size(); ++i)
    batch.setFlat(i, std::sin(0.37 * static_cast<double>(i)));
  Array both = model.predict({batch});
  ASSERT_EQ(both.shape(), (Sizes{2, 2, 2, 3, 3}));
  int64_t per = batch.size() / 2, outPer = both.size() / 2;
  for (int64_t e = 0; e < 2; ++e) {
    Array one({1, 2, 3, 9, 9});
    for (int64_t i = 0; i < per; ++i)
      one.setFlat(i, batch.getFlat(e * per + i));
    Array single = model.predict({one});
    for (int64_t i = 0; i < outPer; ++i)
      ASSERT_NEAR(single.getFlat(i), both.getFlat(e * outPer + i), 1e-6);
  }
}

TEST_F(ModelTest, ImpossibleCallShapesNameTheAxisOrRule) {
  Node x = Input({None, 2, None}, "b,f,x", {.name = "free"});
  Node conv = Conv(x, 3, {4}, {2});
  auto message = [&](const Array &in) {
    try {
      conv(in);
    } catch (const Error &e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  // Rank: names the input and its axes.
  std::string rank = message(Array({1, 2}));
  EXPECT_NE(rank.find("input 'free' has 3 axes (b,f,x)"), std::string::npos)
      << rank;
  // A static axis that differs: names the axis and both sizes.
  std::string fixed = message(Array({1, 5, 9}));
  EXPECT_NE(fixed.find("axis 'f' has size 2"), std::string::npos) << fixed;
  // x = 8: conv (4) gives 5, which pool 2 cannot take.
  std::string rule = message(Array({1, 2, 8}));
  EXPECT_NE(rule.find("Cannot compile conv for input shapes (1, 2, 8)"),
            std::string::npos)
      << rule;
  // The count message of ELEKTRONN2.
  try {
    conv(std::vector<Array>{});
    FAIL();
  } catch (const TypeError &e) {
    EXPECT_NE(std::string(e.what()).find("1 inputs required, 0 were given"),
              std::string::npos);
  }
  // A valid size still works after the failures.
  EXPECT_EQ(conv(Array({2, 2, 9})).shape(), (Sizes{2, 3, 3}));
}

// Frontend -> importer -> lowering for n_indep softmax blocks with sparse
// labels: per voxel, -log p(label) summed over the blocks, scaled by
// size(p) / (n_labelled + 1e-5) / n_indep / n_class (reference §6.9).
TEST_F(ModelTest, NllOfIndependentBlocksFromTheFrontend) {
  Node x = Input({1, 4, 3}, "b,f,x", {.name = "x"});
  Node pred = Softmax(x, {.n_indep = 2});
  Node labels = Input({1, 2, 3}, "b,f,x", {.name = "labels", .dtype = "int16"});
  Node nll = MultinoulliNLL(pred, labels, {.target_is_sparse = true});
  Array xs({1, 4, 3}), ls({1, 2, 3}, DType::Int16);
  for (int64_t i = 0; i < xs.size(); ++i)
    xs.setFlat(i, std::cos(1.3 * static_cast<double>(i)));
  const int lab[2][3] = {{0, 1, -1}, {1, 1, 0}}; // -1: unlabelled
  for (int k = 0; k < 2; ++k)
    for (int v = 0; v < 3; ++v)
      ls.setFlat(k * 3 + v, lab[k][v]);
  Array got = nll({xs, ls});
  ASSERT_EQ(got.shape(), (Sizes{1, 1, 3}));
  double labelled = 5, scale = 12.0 / (labelled + 1e-5) / 2 / 2;
  for (int v = 0; v < 3; ++v) {
    double want = 0;
    for (int k = 0; k < 2; ++k) {
      double a = xs.getFlat((2 * k) * 3 + v),
             b = xs.getFlat((2 * k + 1) * 3 + v);
      double m = std::max(a, b), z = std::exp(a - m) + std::exp(b - m);
      double p = std::exp((lab[k][v] == 0 ? a : b) - m) / z;
      if (lab[k][v] >= 0)
        want += -std::log(p + 1e-5);
    }
    EXPECT_NEAR(got.getFlat(v), want * scale, 1e-5 * std::abs(want * scale))
        << "voxel " << v;
  }
}

/// Every voxel of a b,f,z,x,y probability map is in (0, 1) and sums to 1
/// over f.
void expectProbabilityMap(const Array &probs) {
  const Sizes &s = probs.shape();
  int64_t voxels = s[2] * s[3] * s[4];
  for (int64_t b = 0; b < s[0]; ++b)
    for (int64_t v = 0; v < voxels; ++v) {
      double sum = 0;
      for (int64_t f = 0; f < s[1]; ++f) {
        double p = probs.getFlat((b * s[1] + f) * voxels + v);
        ASSERT_GT(p, 0.0);
        ASSERT_LT(p, 1.0);
        sum += p;
      }
      ASSERT_NEAR(sum, 1.0, 1e-5);
    }
}

// Issue 4's acceptance check on the docs' seed model itself (batch 1 to keep
// the test short: 88 GFLOP) and on neuro3d, whose batch is None.
TEST_F(ModelTest, ExampleModelsGiveProbabilityMapsForAllOnes) {
  examples::Classifier seed = examples::cnn3d(1);
  Array probs = model_manager.getmodel().predict(
      {Array::full(seed.input.shape().shape(), 1.0)});
  ASSERT_EQ(probs.shape(), (Sizes{1, 5, 8, 40, 40}));
  expectProbabilityMap(probs);

  model_manager.newmodel("neuro3d");
  examples::Classifier n3 = examples::neuro3d(23, 185);
  Array p3 = model_manager.getmodel().predict(
      {Array::full({1, 1, 23, 185, 185}, 1.0)});
  ASSERT_EQ(p3.shape(), (Sizes{1, 2, 5, 21, 21}));
  expectProbabilityMap(p3);
}

// Softmax over independent blocks where the class axis is the innermost one
// ('b,f'): every block of every row is its own softmax.
TEST_F(ModelTest, FlatSoftmaxOfIndependentBlocks) {
  Node x = Input({3, 6}, "b,f", {.name = "x"});
  Node p = Softmax(x, {.n_indep = 2});
  Array xs({3, 6});
  for (int64_t i = 0; i < xs.size(); ++i)
    xs.setFlat(i, std::sin(0.7 * static_cast<double>(i)) * 3);
  Array got = p(xs);
  ASSERT_EQ(got.shape(), (Sizes{3, 6}));
  for (int64_t row = 0; row < 3; ++row)
    for (int64_t block = 0; block < 2; ++block) {
      int64_t first = row * 6 + block * 3;
      double z = 0;
      for (int64_t c = 0; c < 3; ++c)
        z += std::exp(xs.getFlat(first + c));
      for (int64_t c = 0; c < 3; ++c)
        EXPECT_NEAR(got.getFlat(first + c), std::exp(xs.getFlat(first + c)) / z,
                    1e-6)
            << "row " << row << " block " << block << " class " << c;
    }
}
