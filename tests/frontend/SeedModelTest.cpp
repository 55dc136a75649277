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

namespace {
/// The model's nodes of class `cls`, in model order.
std::vector<Node> nodesOf(Model &model, const std::string &cls) {
  std::vector<Node> found;
  for (const Node &n : model.nodes())
    if (n.cls() == cls)
      found.push_back(n);
  return found;
}

/// Per-layer parameters and costs of the nodes of class `cls`.
void expectLayers(Model &model, const std::string &cls,
                  const std::vector<int64_t> &params,
                  const std::vector<int64_t> &costs) {
  std::vector<Node> layers = nodesOf(model, cls);
  ASSERT_EQ(layers.size(), params.size()) << cls;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    EXPECT_EQ(layers[i].param_count(), params[i]) << layers[i].name();
    EXPECT_EQ(layers[i].computational_cost(), costs[i]) << layers[i].name();
  }
}
} // namespace

// examples/neuro3d_lite.py. Reference §7: out (4,30,30), fov [5,39,39],
// strides [2,4,4], 885,132 params, 5.5 G cost. Per layer (§1.4, §2.1, b=1):
//   conv  (1,4,4)/(1,2,2): x 155-3=152/2=76, z 11;  20*1*16+20 = 340,
//         320*(11*152*152) = 81,326,080
//   conv1 (3,3,3)/(1,2,2): z 9, x 74/2=37; 40*20*27+40 = 21,640,
//         21,600*(9*74*74) = 1,064,534,400
//   conv2 (2,4,4)/(2,1,1): z 8/2=4, x 34; 150*40*32+150 = 192,150,
//         192,000*(8*34*34) = 1,775,616,000
//   conv3, conv4 (1,3,3): x 32, 30; 200*150*9+200 = 270,200 and
//         360,200; 270,000*(4*32*32), 360,000*(4*30*30)
//   conv5 (1,1,1): 40,200, 40,000*3,600; conv6 lin: 402, 400*3,600
// Total 5,468,854,480 = 5.5 Giga Ops; per pixel / 3,600 = 1.5 Mega Ops.
TEST_F(ModelTest, Neuro3dLite) {
  examples::Classifier m = examples::neuro3d_lite();
  EXPECT_EQ(m.input.shape().repr(),
            "[(None,b), (1,f), (11,z), (155,x), (155,y)]");
  EXPECT_EQ(m.prediction.shape().spatialShape(), (Sizes{4, 30, 30}));
  EXPECT_EQ(m.prediction.shape().fov(), (Sizes{5, 39, 39}));
  EXPECT_EQ(m.prediction.shape().offsets(), (Sizes{2, 19, 19}));
  EXPECT_EQ(m.prediction.shape().strides(), (Sizes{2, 4, 4}));
  EXPECT_EQ(model().total_params_count(), 885132);
  EXPECT_EQ(model().total_computational_cost(), 5468854480);
  EXPECT_NE(logText().find("Total Computational Cost of Model: 5.5 Giga Ops\n"
                           "Total number of trainable parameters: 885,132.\n"
                           "Computational Cost per pixel: 1.5 Mega Ops"),
            std::string::npos);
  expectLayers(model(), "Conv",
               {340, 21640, 192150, 270200, 360200, 40200, 402},
               {81326080, 1064534400, 1775616000, 1105920000, 1296000000,
                144000000, 1440000});
  EXPECT_EQ(m.target.shape().repr(),
            "[(None,b), (1,f), (4,z), (30,x), (30,y)]");
  EXPECT_EQ(m.target.dtype(), DType::Float32);
  EXPECT_EQ(model().batch_size(), None);
}

// examples/unet3d.py. Reference §7: in (116,132,132) -> out (28,44,44).
// The rest by hand with the rules of §1.4 and §2.1 (b=1): three (2,2,2)
// pools give strides 8; each UpConvMerge upconvolves the coarser input by
// 2, crops the finer one by half the difference and concatenates (upconv
// first): merge (14,18,18) 512+256 f, merge1 (20,28,28) 256+128, merge2
// (32,48,48) 128+64. The UpConvs leave fov -1, so designate_nodes sets the
// prediction's "fov" to in - out = 88 on every axis (offsets 44; ELEKTRONN2
// stores the true fov - 1 there, §1.4 "FOV fix").
TEST_F(ModelTest, Unet3d) {
  examples::Classifier m = examples::unet3d();
  EXPECT_EQ(m.input.shape().repr(),
            "[(None,b), (1,f), (116,z), (132,x), (132,y)]");
  EXPECT_EQ(m.prediction.shape().spatialShape(), (Sizes{28, 44, 44}));
  EXPECT_EQ(m.prediction.shape().fov(), (Sizes{88, 88, 88}));
  EXPECT_EQ(m.prediction.shape().offsets(), (Sizes{44, 44, 44}));
  EXPECT_EQ(m.prediction.shape().strides(), (Sizes{1, 1, 1}));
  EXPECT_EQ(m.target.shape().repr(),
            "[(None,b), (1,f), (28,z), (44,x), (44,y)]");
  EXPECT_EQ(m.target.shape().fov(), (Sizes{88, 88, 88}));
  // conv 32*1*27+32 = 896, cost 864*(114*130*130); ... ; barr 2*64+2.
  expectLayers(model(), "Conv",
               {896, 55360, 110656, 221312, 442496, 884992, 1769728, 3539456,
                5308672, 1769728, 1327232, 442496, 331840, 110656, 130},
               {1664582400, 101468602368, 22956244992, 41405644800, 8323596288,
                13157793792, 1926955008, 2006581248, 16307453952, 3468165120,
                16148201472, 4076863488, 21061140480, 5994971136, 6938624});
  // UpConv(conv7, 512, (2,2,2)): 512*512*8+512; cost 2,097,152*(13*17*17).
  expectLayers(model(), "UpConv", {2097664, 524544, 131200},
               {7879000064, 7261913088, 8975679488});
  // Pools cost their input's size: 64*112*128*128, ...
  expectLayers(model(), "Pool", {0, 0, 0}, {117440512, 23961600, 3807232});
  std::vector<Node> merges = nodesOf(model(), "Concat");
  ASSERT_EQ(merges.size(), 3u);
  EXPECT_EQ(merges[0].shape().repr(),
            "[(None,b), (768,f), (14,z), (18,x), (18,y)]");
  EXPECT_EQ(merges[2].shape().repr(),
            "[(None,b), (192,f), (32,z), (48,x), (48,y)]");
  EXPECT_EQ(model().total_params_count(), 19069058);
  EXPECT_EQ(model().total_computational_cost(), 284235808192);
  EXPECT_NE(logText().find("Total Computational Cost of Model: 284.2 Giga Ops\n"
                           "Total number of trainable parameters: 19,069,058.\n"
                           "Computational Cost per pixel: 5.2 Mega Ops"),
            std::string::npos);
}

// examples/unet3d_lite.py: (1,3,3) convs and (1,2,2) pools at high
// resolution, (3,3,3) convs at the lowest and on the way up. By hand as for
// unet3d: z loses 2 per (3,3,3) conv (22 -> 20 -> 18 at the bottom, 16, 14
// after merge1's convs, 12, 10 at the end), x 140 -> 52; in - out = (12,88,88).
TEST_F(ModelTest, Unet3dLite) {
  examples::Classifier m = examples::unet3d_lite();
  EXPECT_EQ(m.prediction.shape().spatialShape(), (Sizes{10, 52, 52}));
  EXPECT_EQ(m.prediction.shape().fov(), (Sizes{12, 88, 88}));
  EXPECT_EQ(m.prediction.shape().offsets(), (Sizes{6, 44, 44}));
  EXPECT_EQ(m.prediction.shape().strides(), (Sizes{1, 1, 1}));
  expectLayers(model(), "UpConv", {524800, 262400, 65664},
               {3406823424, 4534566912, 2775449600});
  EXPECT_EQ(nodesOf(model(), "Conv").size(), 15u);
  EXPECT_EQ(model().total_params_count(), 7794786);
  EXPECT_EQ(model().total_computational_cost(), 74199903008);
}

// examples/unet3d_litelite.py: 20-45 features and a fourth (1,2,2) pool
// before conv7 (strides 16, so the first UpConv unpools (1,4,4)).
// UpConv(conv7, 45, (1,4,4)): 45*42*16+45 = 30,285, cost
// 30,240*(18*(4*4-3)^2) = 91,990,080. Out (10,36,36), in - out (12,104,104).
TEST_F(ModelTest, Unet3dLitelite) {
  examples::Classifier m = examples::unet3d_litelite();
  EXPECT_EQ(m.prediction.shape().spatialShape(), (Sizes{10, 36, 36}));
  EXPECT_EQ(m.prediction.shape().fov(), (Sizes{12, 104, 104}));
  EXPECT_EQ(m.prediction.shape().strides(), (Sizes{1, 1, 1}));
  expectLayers(model(), "UpConv", {30285, 7098, 4230},
               {91990080, 67187232, 89434800});
  EXPECT_EQ(nodesOf(model(), "Pool").size(), 4u);
  EXPECT_EQ(model().total_params_count(), 352207);
  EXPECT_EQ(model().total_computational_cost(), 5021535328);
}

TEST_F(ModelTest, ExamplesTakeAPatchAndBatch) {
  examples::Classifier m = examples::buildExample(
      "neuro3d_lite", {.patch = {13, 159, 163}, .batch = 2});
  EXPECT_EQ(m.input.shape().repr(), "[(2,b), (1,f), (13,z), (159,x), (163,y)]");
  // z: 13 -> 13 -> 11 -> 10/2 = 5; x: +4 and +8 input voxels give +1, +2.
  EXPECT_EQ(m.prediction.shape().spatialShape(), (Sizes{5, 31, 32}));
  EXPECT_EQ(m.prediction.shape().fov(), (Sizes{5, 39, 39}));
}

TEST_F(ModelTest, ExampleWithAnImpossiblePatchIsTheFrontendsError) {
  // x: 156 - 3 = 153 cannot be pooled by 2 (ELEKTRONN2's message names the
  // length before the conv).
  try {
    examples::neuro3d_lite({.patch = {11, 156, 155}});
    FAIL() << "expected ValueError";
  } catch (const ValueError &e) {
    EXPECT_NE(
        std::string(e.what()).find(
            "Cannot pool spatial axis 'x' of length 156 by factor 2 after "
            "convolving with kernel of size 4."),
        std::string::npos)
        << e.what();
  }
  EXPECT_THROW(examples::unet3d({.patch = {116, 132}}), ValueError);
  EXPECT_THROW(examples::unet3d_lite({.patch = {0, 140, 140}}), ValueError);
}

TEST_F(ModelTest, UnknownExampleNameListsTheValidOnes) {
  try {
    examples::buildExample("unet2d");
    FAIL() << "expected KeyError";
  } catch (const KeyError &e) {
    EXPECT_NE(
        std::string(e.what()).find(
            "'unet2d'; valid names: ['cnn3d', 'neuro3d', "
            "'neuro3d_lite', 'unet3d', 'unet3d_lite', 'unet3d_litelite']"),
        std::string::npos)
        << e.what();
  }
}
