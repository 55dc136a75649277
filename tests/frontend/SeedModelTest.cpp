//===- SeedModelTest.cpp - the examples page's model, as printed ----------===//
#include "ModelFixture.h"

using namespace nm;

TEST_F(ModelTest, SeedModelPrintsTheDocumentedText) { // vectors 1-5
  examples::cnn3d();
  EXPECT_EQ(logText(), readFile("tests/golden/cnn3d_construction.txt"));
}

TEST_F(ModelTest, SeedModelNumbers) { // vectors 1-5
  examples::Classifier m = examples::cnn3d();
  Node conv0 = model()["conv"], conv1 = model()["conv1"],
       conv2 = model()["conv2"], nll = model()["nll"];
  EXPECT_EQ(conv0.shape().shape(), (Sizes{10, 32, 23, 89, 89}));
  EXPECT_EQ(conv0.param_count(), 3488);
  EXPECT_EQ(conv0.computational_cost(), 25184977920);
  EXPECT_EQ(conv1.shape().shape(), (Sizes{10, 64, 10, 42, 42}));
  EXPECT_EQ(conv1.param_count(), 294976);
  EXPECT_EQ(conv1.computational_cost(), 416179814400);
  EXPECT_EQ(conv2.shape().shape(), (Sizes{10, 5, 8, 40, 40}));
  EXPECT_EQ(conv2.param_count(), 8645);
  EXPECT_EQ(conv2.computational_cost(), 1105920000);
  EXPECT_EQ(conv2.shape().fov(), (Sizes{9, 27, 27}));
  EXPECT_EQ(conv2.shape().offsets(), (Sizes{4, 13, 13}));
  EXPECT_EQ(conv2.shape().strides(), (Sizes{2, 4, 4}));
  EXPECT_EQ(m.prediction.computational_cost(), 640000);
  EXPECT_EQ(nll.computational_cost(), 640000);
  EXPECT_EQ(m.loss.computational_cost(), 128000);
  EXPECT_EQ(m.errors.computational_cost(), 128000);
  EXPECT_EQ(m.loss.shape().repr(), "[(1,f)]");
  EXPECT_EQ(m.errors.shape().repr(), "[(1,f)]");
  EXPECT_EQ(m.loss.all_computational_cost(), 442472120320);
  EXPECT_EQ(m.loss.all_params_count(), 307109);
  EXPECT_EQ(model().total_computational_cost(), 442472120320);
  EXPECT_EQ(model().total_params_count(), 307109);
  EXPECT_EQ(model().batch_size(), 10);
  EXPECT_EQ(model().ndim(), 3);
}

TEST_F(ModelTest, SeedModelGraphInterface) { // vector 6
  examples::Classifier m = examples::cnn3d();
  Node conv0 = model()["conv"], conv1 = model()["conv1"],
       conv2 = model()["conv2"], nll = model()["nll"];
  EXPECT_EQ(model().repr(), "['image', 'conv', 'conv1', 'conv2', 'softmax', "
                            "'target', 'nll', 'loss', 'cls for errors', "
                            "'errors']");
  EXPECT_EQ(model()["nll"], nll);
  EXPECT_EQ(model().at(4), m.prediction);
  EXPECT_EQ(conv2.shape().ext_repr(),
            "[(10,b), (5,f), (8,z), (40,x), (40,y)]\nfov=[9, 27, 27], "
            "offsets=[4, 13, 13], strides=[2 4 4], spatial shape=[8, 40, 40]");
  std::vector<std::string> sources;
  for (const Node &n : m.loss.input_nodes())
    sources.push_back(n.name());
  EXPECT_EQ(sources, (std::vector<std::string>{"image", "target"}));
  ASSERT_EQ(m.prediction.input_nodes().size(), 1u);
  EXPECT_EQ(m.prediction.input_nodes()[0], m.input);
  EXPECT_EQ(m.target.dtype(), DType::Int16);
  EXPECT_EQ(m.errors.parents()[0].name(), "cls for errors");
}

TEST_F(ModelTest, UnknownNodeNameIsAKeyError) {
  examples::cnn3d();
  try {
    model()["nlll"];
    FAIL() << "expected KeyError";
  } catch (const KeyError &e) {
    EXPECT_NE(std::string(e.what()).find("has no node 'nlll'"),
              std::string::npos);
    EXPECT_NE(std::string(e.what()).find("'nll'"), std::string::npos);
  }
}

TEST_F(ModelTest, LoggerCanBeSilencedAndRedirected) {
  std::string seen;
  LogSink previous =
      set_log_sink([&](LogLevel, const std::string &m) { seen += m + "\n"; });
  set_log_level(LogLevel::Warning);
  Input({1, 1, 5}, "b,f,x", {.name = "quiet"});
  EXPECT_EQ(seen, "");
  set_log_level(LogLevel::Info);
  Input({1, 1, 5}, "b,f,x", {.name = "loud"});
  EXPECT_NE(seen.find("<Input-Node> 'loud'"), std::string::npos);
  set_log_sink(previous);
}

TEST_F(ModelTest, ReprHiddenNodesLogAtDebugOnly) {
  examples::cnn3d();
  EXPECT_EQ(logText().find("cls for errors"), std::string::npos);
}

TEST_F(ModelTest, Neuro3d) { // vectors 10, 11
  Node probs = examples::neuro3d().prediction;
  EXPECT_EQ(probs.shape().fov(), (Sizes{15, 105, 105}));
  EXPECT_EQ(probs.shape().spatialShape(), (Sizes{5, 21, 21}));
  EXPECT_EQ(probs.shape().strides(), (Sizes{2, 4, 4}));
  EXPECT_EQ(probs.shape().offsets(), (Sizes{7, 52, 52}));
  EXPECT_EQ(model().total_params_count(), 2756042);
  EXPECT_EQ(model().total_computational_cost(), 20015771025);
  EXPECT_NE(logText().find("Total Computational Cost of Model: 20.0 Giga Ops\n"
                           "Total number of trainable parameters: 2,756,042.\n"
                           "Computational Cost per pixel: 9.1 Mega Ops"),
            std::string::npos);
  // Per-layer numbers of the reference table.
  const std::vector<int64_t> params = {740,    15030,  30040,  204880,
                                       384100, 480100, 480150, 480200,
                                       640200, 40200,  402};
  const std::vector<int64_t> costs = {
      536544000,  2551620000, 1049490000, 5308416000, 3345408000, 2592000000,
      1749600000, 1382400000, 1411200000, 88200000,   882000};
  std::vector<Node> convs;
  for (const Node &n : model().nodes())
    if (n.cls() == "Conv")
      convs.push_back(n);
  ASSERT_EQ(convs.size(), 11u);
  for (std::size_t i = 0; i < convs.size(); ++i) {
    EXPECT_EQ(convs[i].param_count(), params[i]) << convs[i].name();
    EXPECT_EQ(convs[i].computational_cost(), costs[i]) << convs[i].name();
  }
  EXPECT_EQ(model().batch_size(), None);
}
