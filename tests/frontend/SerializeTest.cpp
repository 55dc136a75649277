//===- SerializeTest.cpp - save/load, rebuild_model, bad files ------------===//
#include "ModelFixture.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

using namespace nm;

namespace {
std::vector<std::string> reprs(const Model &m) {
  std::vector<std::string> out;
  for (const Node &n : m.nodes())
    out.push_back(n.repr());
  return out;
}
} // namespace

TEST_F(ModelTest, SaveLoadRoundTrip) {
  examples::cnn3d();
  Model &original = model();
  std::string path = tempPath("seed.h5");
  original.save(path);

  Model &loaded = modelload(path);
  EXPECT_NE(&loaded, &original);
  EXPECT_EQ(&model_manager.getmodel(), &loaded) << "loaded model is current";
  EXPECT_EQ(loaded.names(), original.names());
  EXPECT_EQ(reprs(loaded), reprs(original));
  for (const std::string &name : original.names()) {
    ParamValues a = original[name].get_param_values();
    ParamValues b = loaded[name].get_param_values();
    ASSERT_EQ(a.keys(), b.keys()) << name;
    for (const auto &[key, value] : a)
      EXPECT_EQ(value, b.at(key)) << name << "." << key;
  }
  EXPECT_EQ(loaded.prediction_node().name(), "softmax");
  EXPECT_EQ(loaded.loss_node().name(), "loss");
  EXPECT_EQ(loaded.target_node().name(), "target");
  ASSERT_EQ(loaded.prediction_ext().size(), 3u);
  EXPECT_EQ(loaded.prediction_ext()[1].name(), "errors");
  EXPECT_EQ(loaded.total_params_count(), 307109);
  EXPECT_EQ(loaded["target"].dtype(), DType::Int16);
  // Loading printed the same statistics again.
  std::string log = logText();
  std::size_t first =
      log.find("Total number of trainable parameters: 307,109.");
  ASSERT_NE(first, std::string::npos);
  EXPECT_NE(
      log.find("Total number of trainable parameters: 307,109.", first + 1),
      std::string::npos);
}

TEST_F(ModelTest, SaveIsAtomicAndOverwrites) {
  examples::cnn3d(1);
  std::string path = tempPath("atomic.h5");
  model().save(path);
  auto size1 = std::filesystem::file_size(path);
  model().save(path); // replaces in place
  EXPECT_EQ(std::filesystem::file_size(path), size1);
  for (const auto &entry :
       std::filesystem::directory_iterator(::testing::TempDir()))
    EXPECT_EQ(entry.path().string().find(".tmp."), std::string::npos)
        << "temporary left behind: " << entry.path();
  // A directory that does not exist: clear error, nothing created.
  EXPECT_THROW(model().save(tempPath("no/such/dir/m.h5")), IOError);
}

TEST_F(ModelTest, SpecialNamesAndParamsSurvive) {
  Node inp = Input({1, 2, 8}, "b,f,x", {.name = "in/put"});
  Node c = Conv(inp, 3, {3}, {},
                {.name = "a/b%c", .w = Array::full({3, 2, 3}, 0.5)});
  Node v = ValueNode({2}, "f",
                     {.apply_train = true, .value = Array::full({2}, 3.0)});
  std::string path = tempPath("names.h5");
  model().save(path);
  Model &loaded = modelload(path);
  EXPECT_EQ(loaded.names(), model_manager.getmodel(model().name()).names());
  EXPECT_EQ(loaded["a/b%c"].get_param_values().at("w"),
            Array::full({3, 2, 3}, 0.5));
  EXPECT_EQ(loaded[v.name()].get_param_values().at("value").getFlat(1), 3.0);
  EXPECT_EQ(loaded[v.name()].param_count(), 2);
}

TEST_F(ModelTest, LoadMissingFile) {
  try {
    modelload(tempPath("does_not_exist.h5"));
    FAIL();
  } catch (const IOError &e) {
    EXPECT_NE(std::string(e.what()).find("does_not_exist.h5' does not exist"),
              std::string::npos);
  }
}

TEST_F(ModelTest, LoadForeignAndTruncatedFiles) {
  std::string text = tempPath("not_hdf5.h5");
  std::ofstream(text) << "hello";
  try {
    modelload(text);
    FAIL();
  } catch (const IOError &e) {
    EXPECT_NE(std::string(e.what()).find("not_hdf5.h5' is not an HDF5 file"),
              std::string::npos)
        << e.what();
  }

  examples::cnn3d(1);
  std::string good = tempPath("good.h5");
  model().save(good);
  std::string truncated = tempPath("truncated.h5");
  std::filesystem::copy_file(good, truncated,
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::resize_file(truncated, std::filesystem::file_size(good) / 2);
  std::size_t models = model_manager.names().size();
  try {
    modelload(truncated);
    FAIL();
  } catch (const IOError &e) {
    EXPECT_NE(std::string(e.what()).find("truncated.h5"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(model_manager.names().size(), models) << "no half-loaded model";
}

TEST_F(ModelTest, LoadHdf5WithoutModel) {
  // A valid HDF5 file whose format marker is not ours.
  examples::cnn3d(1);
  std::string path = tempPath("foreign.h5");
  model().save(path);
  // Flip one byte of the format marker inside the file.
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)),
                    std::istreambuf_iterator<char>());
  std::size_t at = bytes.find("neuromancer-model-v1");
  ASSERT_NE(at, std::string::npos);
  f.seekp(at);
  f << "X";
  f.close();
  try {
    modelload(path);
    FAIL();
  } catch (const IOError &e) {
    EXPECT_NE(std::string(e.what()).find("is not a neuromancer model file"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(ModelTest, RebuildWithMfp) { // vector 7
  examples::cnn3d();
  Model &mfp = rebuild_model(
      model(), {.override_mfp_to_active = true, .imposed_batch_size = 1});
  std::string log = logText();
  EXPECT_NE(log.find("patch_size (23) changed to (22) (size not possible)\n"),
            std::string::npos);
  EXPECT_NE(log.find("patch_size (183) changed to (182) (size not possible)"),
            std::string::npos);
  EXPECT_EQ(mfp["image"].shape().shape(), (Sizes{1, 3, 22, 182, 182}));
  EXPECT_EQ(mfp["conv"].shape().shape(), (Sizes{4, 32, 22, 88, 88}));
  EXPECT_EQ(mfp["conv1"].shape().shape(), (Sizes{32, 64, 9, 41, 41}));
  EXPECT_EQ(mfp["conv2"].shape().shape(), (Sizes{32, 5, 7, 39, 39}));
  Node dense = mfp["to_dense"];
  EXPECT_EQ(dense.shape().shape(), (Sizes{1, 5, 14, 156, 156}));
  EXPECT_EQ(dense.shape().fov(), (Sizes{9, 27, 27}));
  EXPECT_EQ(dense.shape().strides(), (Sizes{1, 1, 1}));
  EXPECT_EQ(mfp.prediction_node().parents()[0], dense);
  EXPECT_EQ(mfp["softmax"].shape().shape(), (Sizes{1, 5, 14, 156, 156}));
  const MfpOffsets &off = mfp["conv2"].shape().mfpOffsets();
  ASSERT_EQ(off.size(), 32u);
  EXPECT_EQ(MfpOffsets(off.begin(), off.begin() + 8), (MfpOffsets{{0, 0, 0},
                                                                  {0, 0, 1},
                                                                  {0, 1, 0},
                                                                  {0, 1, 1},
                                                                  {0, 0, 2},
                                                                  {0, 0, 3},
                                                                  {0, 1, 2},
                                                                  {0, 1, 3}}));
  EXPECT_NE(mfp["conv"].repr().find("MFP active, "), std::string::npos);
  // The target follows the prediction (Input_like), unlike ELEKTRONN2.
  EXPECT_EQ(mfp["target"].shape().shape(), (Sizes{1, 1, 14, 156, 156}));
  // Weights are shared values, not re-initialised.
  EXPECT_EQ(mfp["conv1"].get_param_values().at("w"),
            model()["conv1"].get_param_values().at("w"));
}

TEST_F(ModelTest, RebuildWithPatchSize) {
  examples::neuro3d();
  Model &big = rebuild_model(
      model(), {.imposed_patch_size = {47, 281, 281}, .imposed_batch_size = 1});
  EXPECT_EQ(big["raw"].shape().shape(), (Sizes{1, 1, 47, 281, 281}));
  EXPECT_EQ(big.prediction_node().shape().spatialShape(), (Sizes{17, 45, 45}));
  Model &rounded =
      rebuild_model(model(), {.imposed_patch_size = {24, 186, 186}});
  EXPECT_EQ(rounded["raw"].shape().spatialShape(), (Sizes{23, 185, 185}));
}
