//===- SerializeTest.cpp - save/load, rebuild_model, bad files ------------===//
#include "ModelFixture.h"

#include <hdf5.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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

TEST_F(ModelTest, AttachmentsRoundTripAndAreChecked) {
  examples::cnn3d(1);
  std::string plain = tempPath("plain.h5"), with = tempPath("attached.h5");
  model().save(plain);
  EXPECT_TRUE(model_attachments(plain).empty());
  std::string state = R"({"iteration": 400, "name": "a/b"})";
  model().save(with, {.attachments = {{"trainer", state}, {"x/y", ""}}});
  auto read = model_attachments(with);
  ASSERT_EQ(read.size(), 2u);
  EXPECT_EQ(read.at("trainer"), state);
  EXPECT_EQ(read.at("x/y"), "");
  // The model itself loads as before.
  EXPECT_EQ(modelload(with).total_params_count(), 307109);

  // A flipped byte inside the attachment's text is a checksum error.
  std::string bytes;
  {
    std::ifstream in(with, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::size_t at = bytes.find("\"iteration\": 400");
  ASSERT_NE(at, std::string::npos);
  bytes[at + 14] = '9';
  {
    std::ofstream out(with, std::ios::binary | std::ios::trunc);
    out << bytes;
  }
  try {
    model_attachments(with);
    FAIL() << "corrupt attachment read";
  } catch (const IOError &e) {
    EXPECT_NE(std::string(e.what()).find("checksum mismatch in "
                                         "'/attachments/trainer'"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(model_attachments(tempPath("missing.h5")), IOError);
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
  std::string path = tempPath("foreign.h5");
  hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  H5Fclose(file);
  try {
    modelload(path);
    FAIL();
  } catch (const IOError &e) {
    EXPECT_NE(std::string(e.what()).find("is not a neuromancer model file"),
              std::string::npos)
        << e.what();
  }
  // One byte of the marker flipped: the object header's checksum says so.
  examples::cnn3d(1);
  model().save(path);
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)),
                    std::istreambuf_iterator<char>());
  // Every copy (libhdf5 may leave a stale one in freed space).
  std::size_t at = bytes.find("neuromancer-model-v2");
  ASSERT_NE(at, std::string::npos);
  for (; at != std::string::npos;
       at = bytes.find("neuromancer-model-v2", at + 1)) {
    f.seekp(at);
    f << "X";
  }
  f.close();
  try {
    modelload(path);
    FAIL();
  } catch (const IOError &e) {
    EXPECT_NE(std::string(e.what()).find("checksum"), std::string::npos)
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

//===----------------------------------------------------------------------===//
// Model files that cannot be silently wrong (issue 17)
//===----------------------------------------------------------------------===//

namespace {

constexpr const char *kV1Fixture = "tests/frontend/data/model_v1.h5";

/// The IOError message of `load()`, or "" when it did not throw IOError.
template <typename F> std::string ioError(F load) {
  try {
    load();
  } catch (const IOError &e) {
    return e.what();
  }
  return "";
}

std::string copyOf(const std::string &from, const std::string &to) {
  std::filesystem::copy_file(from, to,
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::permissions(to, std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add);
  return to;
}

/// Edits an HDF5 file in place with libhdf5 (the way a foreign tool would).
template <typename F> void editHdf5(const std::string &path, F edit) {
  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(file, 0) << path;
  edit(file);
  H5Fclose(file);
}

void writeFloats(hid_t loc, const char *name, std::vector<hsize_t> dims,
                 hid_t type = H5T_NATIVE_FLOAT) {
  hid_t space =
      H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  hid_t ds =
      H5Dcreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  hsize_t n = 1;
  for (hsize_t d : dims)
    n *= d;
  std::vector<double> zeros(n, 0.0);
  H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros.data());
  H5Dclose(ds);
  H5Sclose(space);
}

/// A hand-written v1 file holding `graph` and no parameters.
std::string writeV1Graph(const std::string &path, const std::string &graph) {
  hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  auto str = [](std::size_t n) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, n + 1);
    return t;
  };
  hid_t scalar = H5Screate(H5S_SCALAR);
  std::string format = "neuromancer-model-v1";
  hid_t t1 = str(format.size());
  hid_t attr = H5Acreate2(file, "neuromancer_format", t1, scalar, H5P_DEFAULT,
                          H5P_DEFAULT);
  H5Awrite(attr, t1, format.c_str());
  hid_t t2 = str(graph.size());
  hid_t ds = H5Dcreate2(file, "graph", t2, scalar, H5P_DEFAULT, H5P_DEFAULT,
                        H5P_DEFAULT);
  H5Dwrite(ds, t2, H5S_ALL, H5S_ALL, H5P_DEFAULT, graph.c_str());
  H5Dclose(ds);
  H5Aclose(attr);
  H5Tclose(t1);
  H5Tclose(t2);
  H5Sclose(scalar);
  H5Fclose(file);
  return path;
}

/// A model whose conv weights hold a value easy to find in the file.
void markedModel() {
  Node in = Input({1, 2, 5, 8, 8}, "b,f,z,x,y", {.name = "raw"});
  Node c = Conv(in, 4, {1, 3, 3}, {1, 2, 2},
                {.batch_normalisation = "train",
                 .name = "conv1",
                 .w = Array::full({4, 2, 1, 3, 3}, 0.3125)});
  Conv(c, 2, {1, 1, 1}, {}, {.activation_func = "lin", .name = "conv2"});
}

std::size_t count(const std::string &text, const std::string &what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + 1))
    ++n;
  return n;
}

/// Runs `body` in a child process; its exit status (or -signal).
template <typename F> int inChild(F body) {
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid == 0)
    std::exit(body()); // a normal exit: HDF5's atexit cleanup runs too
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

} // namespace

TEST_F(ModelTest, OldFilesLoadWithOneWarning) {
  Model &m = modelload(kV1Fixture);
  EXPECT_EQ(count(logText(), "without checksums"), 1u) << logText();
  // The saved values, not fresh ones: w and mean were set by hand.
  EXPECT_EQ(m["conv1"].get_param_values().at("w"),
            Array::full({3, 2, 1, 3, 3}, 0.25));
  EXPECT_EQ(m["conv1"].get_param_values().at("mean"), Array::full({3}, 0.5));
  EXPECT_EQ(m["conv1"].get_param_values().at("dropout_rate").getFlat(0), 0.5);
  EXPECT_EQ(m.prediction_node().name(), "softmax");
  // Saved again it is a v2 file and loads without a warning.
  std::string again = tempPath("v1_again.h5");
  m.save(again);
  EXPECT_NE(readFile(again).find("neuromancer-model-v2"), std::string::npos);
  std::size_t warnings = count(logText(), "without checksums");
  Model &m2 = modelload(again);
  EXPECT_EQ(count(logText(), "without checksums"), warnings);
  EXPECT_EQ(m2["conv1"].get_param_values().at("w"),
            Array::full({3, 2, 1, 3, 3}, 0.25));
}

TEST_F(ModelTest, MissingParametersAreErrors) {
  markedModel();
  std::string path = tempPath("missing.h5");
  model().save(path);
  copyOf(path, tempPath("missing_w.h5"));
  editHdf5(tempPath("missing_w.h5"),
           [](hid_t f) { H5Ldelete(f, "/params/conv2/w", H5P_DEFAULT); });
  std::string what = ioError([&] { modelload(tempPath("missing_w.h5")); });
  EXPECT_NE(what.find("'" + tempPath("missing_w.h5") + "'"), std::string::npos)
      << what;
  EXPECT_NE(what.find("node 'conv2' (Conv), parameter 'w' is missing"),
            std::string::npos)
      << what;
  // Batch-normalisation statistics count too.
  copyOf(path, tempPath("missing_mean.h5"));
  editHdf5(tempPath("missing_mean.h5"),
           [](hid_t f) { H5Ldelete(f, "/params/conv1/mean", H5P_DEFAULT); });
  what = ioError([&] { modelload(tempPath("missing_mean.h5")); });
  EXPECT_NE(what.find("node 'conv1' (Conv), parameter 'mean' is missing"),
            std::string::npos)
      << what;
  // No /params at all, in a v1 file as well.
  copyOf(kV1Fixture, tempPath("v1_no_params.h5"));
  editHdf5(tempPath("v1_no_params.h5"),
           [](hid_t f) { H5Ldelete(f, "/params", H5P_DEFAULT); });
  what = ioError([&] { modelload(tempPath("v1_no_params.h5")); });
  EXPECT_NE(what.find("node 'conv1' (Conv), parameter 'w' is missing"),
            std::string::npos)
      << what;
}

TEST_F(ModelTest, MisShapedOrMistypedOrExtraParametersAreErrors) {
  markedModel();
  std::string path = tempPath("shapes.h5");
  model().save(path);
  copyOf(path, tempPath("bad_shape.h5"));
  editHdf5(tempPath("bad_shape.h5"), [](hid_t f) {
    H5Ldelete(f, "/params/conv2/b", H5P_DEFAULT);
    hid_t g = H5Gopen2(f, "/params/conv2", H5P_DEFAULT);
    writeFloats(g, "b", {3});
    H5Gclose(g);
  });
  std::string what = ioError([&] { modelload(tempPath("bad_shape.h5")); });
  EXPECT_NE(what.find("node 'conv2' (Conv), parameter 'b': stored with shape "
                      "(3,), the graph implies (2,)"),
            std::string::npos)
      << what;

  copyOf(path, tempPath("bad_type.h5"));
  editHdf5(tempPath("bad_type.h5"), [](hid_t f) {
    H5Ldelete(f, "/params/conv2/b", H5P_DEFAULT);
    hid_t g = H5Gopen2(f, "/params/conv2", H5P_DEFAULT);
    writeFloats(g, "b", {2}, H5T_NATIVE_INT32);
    H5Gclose(g);
  });
  what = ioError([&] { modelload(tempPath("bad_type.h5")); });
  EXPECT_NE(what.find("parameter 'b': stored as 4-byte integer, the graph "
                      "implies float32"),
            std::string::npos)
      << what;

  // A dataset without its checksum is refused in a v2 file.
  copyOf(path, tempPath("no_checksum.h5"));
  editHdf5(tempPath("no_checksum.h5"), [](hid_t f) {
    H5Ldelete(f, "/params/conv2/b", H5P_DEFAULT);
    hid_t g = H5Gopen2(f, "/params/conv2", H5P_DEFAULT);
    writeFloats(g, "b", {2});
    H5Gclose(g);
  });
  what = ioError([&] { modelload(tempPath("no_checksum.h5")); });
  EXPECT_NE(what.find("parameter 'b': not stored with its Fletcher32 checksum"),
            std::string::npos)
      << what;

  copyOf(path, tempPath("extra.h5"));
  editHdf5(tempPath("extra.h5"), [](hid_t f) {
    hid_t g = H5Gopen2(f, "/params/conv2", H5P_DEFAULT);
    writeFloats(g, "gamma", {2});
    H5Gclose(g);
  });
  what = ioError([&] { modelload(tempPath("extra.h5")); });
  EXPECT_NE(what.find("parameter 'gamma' of node 'conv2' is stored but the "
                      "graph has no such parameter"),
            std::string::npos)
      << what;
  EXPECT_EQ(model_manager.names().size(), 1u) << "no half-loaded model";
}

TEST_F(ModelTest, FlippedBytesAreChecksumErrors) {
  markedModel();
  std::string path = tempPath("flip.h5");
  model().save(path);
  std::string bytes = readFile(path);
  // conv1's weights: 72 floats 0.3125 (0x3EA00000, little endian).
  std::string pattern;
  for (int i = 0; i < 8; ++i)
    pattern += std::string("\x00\x00\xA0\x3E", 4);
  std::size_t at = bytes.find(pattern);
  ASSERT_NE(at, std::string::npos);
  std::string flipped = bytes;
  flipped[at + 13] ^= 0x01;
  std::ofstream(tempPath("flip_w.h5"), std::ios::binary) << flipped;
  std::string what = ioError([&] { modelload(tempPath("flip_w.h5")); });
  EXPECT_NE(what.find("'" + tempPath("flip_w.h5") + "'"), std::string::npos);
  EXPECT_NE(what.find("node 'conv1' (Conv), parameter 'w': checksum mismatch"),
            std::string::npos)
      << what;

  // The graph: a digit of conv2's n_f.
  std::size_t nf = bytes.find("\"n_f\": 2");
  ASSERT_NE(nf, std::string::npos);
  flipped = bytes;
  flipped[nf + 7] = '3';
  std::ofstream(tempPath("flip_graph.h5"), std::ios::binary) << flipped;
  what = ioError([&] { modelload(tempPath("flip_graph.h5")); });
  EXPECT_NE(what.find("checksum mismatch in '/graph'"), std::string::npos)
      << what;

  // The same edit in a v1 file (no checksum): caught by the shape check.
  std::string v1 = readFile(kV1Fixture);
  nf = v1.find("\"n_f\": 2");
  ASSERT_NE(nf, std::string::npos);
  v1[nf + 7] = '3';
  std::ofstream(tempPath("v1_nf.h5"), std::ios::binary) << v1;
  what = ioError([&] { modelload(tempPath("v1_nf.h5")); });
  EXPECT_NE(what.find("node 'conv2' (Conv), parameter 'w': stored with shape "
                      "(2, 3, 1, 1, 1), the graph implies (3, 3, 1, 1, 1)"),
            std::string::npos)
      << what;
}

TEST_F(ModelTest, GraphErrorsNameNodeAndWhatIsMissing) {
  auto graph = [](const std::string &convAttrs, const std::string &parent,
                  const std::string &tail) {
    return std::string(R"({"model_name": "g", "designation": {}, "nodes": [
      {"cls": "Input", "name": "raw", "parents": [], "attrs": {"name": "raw",
       "shape": [1, 1, 5, 8, 8], "tags": "b,f,z,x,y", "dtype": "float32"}},
      {"cls": "Conv", "name": "conv2", "parents": [")") +
           parent + R"("], "attrs": {"name": "conv2", )" + convAttrs + "}}" +
           tail + "]}";
  };
  const std::string full = R"("n_f": 2, "filter_shape": [1, 3, 3],
      "pool_shape": [1, 1, 1], "conv_mode": "valid", "mfp": false,
      "activation_func": "relu", "batch_normalisation": "",
      "dropout_rate": 0.0)";
  std::string noFilter = full;
  noFilter.replace(noFilter.find("\"filter_shape\""), 29, "");
  std::string path =
      writeV1Graph(tempPath("no_attr.h5"), graph(noFilter, "raw", ""));
  std::string what = ioError([&] { modelload(path); });
  EXPECT_NE(what.find("'" + path +
                      "': node 'conv2' (Conv) has no attribute "
                      "'filter_shape'"),
            std::string::npos)
      << what;

  const std::string conv3 = R"(, {"cls": "Conv", "name": "conv3",
      "parents": ["raw"], "attrs": {"name": "conv3", )" +
                            full + "}}";
  path = writeV1Graph(tempPath("forward.h5"), graph(full, "conv3", conv3));
  what = ioError([&] { modelload(path); });
  EXPECT_NE(what.find("'" + path +
                      "': node 'conv2' (Conv) names parent 'conv3', which "
                      "is defined after it"),
            std::string::npos)
      << what;

  // A v1 graph has no checksum: an absurd size is an error, not a crash.
  std::string huge = full;
  huge.replace(huge.find("\"n_f\": 2"), 8, "\"n_f\": 1000000000000");
  path = writeV1Graph(tempPath("huge.h5"), graph(huge, "raw", ""));
  what = ioError([&] { modelload(path); });
  EXPECT_NE(what.find("'" + path + "'"), std::string::npos) << what;
  EXPECT_NE(what.find("node 'conv2' (Conv): out of memory allocating"),
            std::string::npos)
      << what;

  path = writeV1Graph(tempPath("no_parent.h5"), graph(full, "conv9", ""));
  what = ioError([&] { modelload(path); });
  EXPECT_NE(what.find("'" + path +
                      "': node 'conv2' (Conv) names parent 'conv9', which "
                      "does not exist"),
            std::string::npos)
      << what;
  EXPECT_EQ(model_manager.names().size(), 1u) << "no half-loaded model";
}

TEST_F(ModelTest, OnlyRegularFilesAreOpened) {
  std::string fifo = tempPath("model.fifo");
  std::filesystem::remove(fifo);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // Used to block forever in open().
  std::string what = ioError([&] { modelload(fifo); });
  EXPECT_NE(what.find("model.fifo' is not a regular file"), std::string::npos)
      << what;
  what = ioError([&] { modelload(::testing::TempDir()); });
  EXPECT_NE(what.find("is not a regular file"), std::string::npos) << what;
}

TEST_F(ModelTest, PermissionDeniedSaysSo) {
  markedModel();
  // Under /tmp, which the unprivileged user can traverse.
  char dirName[] = "/tmp/nm_permission_XXXXXX";
  ASSERT_NE(::mkdtemp(dirName), nullptr);
  std::string dir = dirName;
  ::chmod(dir.c_str(), 0755);
  std::string path = dir + "/m.h5";
  model().save(path);
  ::chmod(path.c_str(), 0600);
  // As an unprivileged user (root ignores permissions).
  int rc = inChild([&] {
    if (::geteuid() == 0 && ::setuid(65534) != 0)
      return 10;
    std::string load = ioError([&] { modelload(path); });
    if (load.find("Permission denied") == std::string::npos ||
        load.find("does not exist") != std::string::npos ||
        load.find("not an HDF5 file") != std::string::npos) {
      std::fprintf(stderr, "load: %s\n", load.c_str());
      return 1;
    }
    std::string save = ioError([&] { model().save(dir + "/new.h5"); });
    if (save.find("Permission denied") == std::string::npos) {
      std::fprintf(stderr, "save: %s\n", save.c_str());
      return 2;
    }
    return 0;
  });
  EXPECT_EQ(rc, 0);
  std::filesystem::remove_all(dir);
}

TEST_F(ModelTest, FailedSaveSaysWhyAndLeavesNothing) {
  examples::cnn3d(1); // about 1.2 MB of parameters
  std::string dir = tempPath("full");
  std::filesystem::create_directories(dir);
  // A file size limit stands in for a full disk; the child exits normally
  // afterwards, which used to crash in HDF5's cleanup of the open handle.
  int rc = inChild([&] {
    struct rlimit limit = {64 << 10, 64 << 10};
    ::signal(SIGXFSZ, SIG_IGN);
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0)
      return 10;
    std::string what = ioError([&] { model().save(dir + "/m.h5"); });
    if (what.find("Cannot save model to '" + dir + "/m.h5'") ==
            std::string::npos ||
        what.find("File too large") == std::string::npos) {
      std::fprintf(stderr, "save: %s\n", what.c_str());
      return 1;
    }
    if (!std::filesystem::is_empty(dir)) {
      std::fprintf(stderr, "left behind in %s\n", dir.c_str());
      return 2;
    }
    return 0;
  });
  EXPECT_EQ(rc, 0);
}

TEST_F(ModelTest, SaveOntoASymlinkWritesTheTarget) {
  markedModel();
  std::string target = tempPath("real_model.h5");
  std::string link = tempPath("link_model.h5");
  std::filesystem::remove(target);
  std::filesystem::remove(link);
  std::ofstream(target) << "old";
  std::filesystem::create_symlink(target, link);
  model().save(link);
  EXPECT_TRUE(std::filesystem::is_symlink(link));
  EXPECT_EQ(modelload(target)["conv1"].get_param_values().at("w"),
            Array::full({4, 2, 1, 3, 3}, 0.3125));
}
