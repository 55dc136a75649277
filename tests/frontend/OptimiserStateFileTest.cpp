//===- OptimiserStateFileTest.cpp - the /optimiser group of model files ---===//
//
// The optimiser state round-trips bit for bit; a file without it loads
// fresh; every bad group (missing, mis-shaped, mistyped or corrupt
// accumulator, unknown optimiser, state or parameter, a missing attribute)
// is an IOError naming file and dataset and leaves no half-loaded model;
// save refuses a state that would not load. The state is set by hand
// (set_optimiser_state), so no training step is compiled here;
// tests/api/TrainingResumeTest.cpp trains, saves and resumes.
//
//===----------------------------------------------------------------------===//
#include "ModelFixture.h"
#include "neuromancer/frontend/NodeImpl.h"

#include <hdf5.h>

#include <cstring>
#include <filesystem>
#include <fstream>

using namespace nm;

namespace {

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
  return to;
}

/// Edits an HDF5 file in place with libhdf5 (the way a foreign tool would).
template <typename F> void editHdf5(const std::string &path, F edit) {
  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(file, 0) << path;
  edit(file);
  H5Fclose(file);
}

/// A contiguous dataset of zeros (no checksum filter).
void writeZeros(hid_t loc, const char *name, std::vector<hsize_t> dims,
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

/// conv1 (batch normalisation) -> conv2, and an optimiser state with
/// distinctive values: Adam's m of conv1.w is 0.4375 (0x3EE00000), easy to
/// find in the file.
void modelWithState() {
  Node in = Input({1, 2, 5, 8, 8}, "b,f,z,x,y", {.name = "raw"});
  Node c = Conv(in, 4, {1, 3, 3}, {1, 2, 2},
                {.batch_normalisation = "train", .name = "conv1"});
  Conv(c, 2, {1, 1, 1}, {}, {.activation_func = "lin", .name = "conv2"});
  Model &m = model_manager.getmodel();
  OptimiserState s;
  s.lr = 0.003;
  s.mom = 0.85;
  s.wd = 1e-4;
  s.beta2 = 0.99;
  s.iterations = 7;
  s.stepTimes = {0.25, 0.125};
  s.losses = {1.5, 1.25, 1.0};
  for (const char *node : {"conv1", "conv2"})
    for (const char *param : {"w", "b"}) {
      const Array &p = m[node].impl().params.at(param).value;
      std::string arg = std::string(node) + "_" + param;
      s.optimisers["Adam"].arrays[arg + ":m"] = Array::full(p.shape(), 0.4375);
      s.optimisers["Adam"].arrays[arg + ":s"] = Array::full(p.shape(), 0.0625);
      s.optimisers["SGD"].arrays[arg + ":d"] = Array::full(p.shape(), -0.5);
    }
  s.optimisers["Adam"].steps = 4;
  s.optimisers["SGD"].steps = 3;
  for (auto &[name, acc] : s.optimisers)
    for (auto &[key, a] : acc.arrays)
      a = a.astype(DType::Float32);
  m.set_optimiser_state(s);
}

bool sameState(const OptimiserState &a, const OptimiserState &b) {
  if (a.lr != b.lr || a.mom != b.mom || a.wd != b.wd || a.beta2 != b.beta2 ||
      a.iterations != b.iterations || a.stepTimes != b.stepTimes ||
      a.losses != b.losses || a.optimisers.size() != b.optimisers.size())
    return false;
  for (const auto &[name, acc] : a.optimisers) {
    auto it = b.optimisers.find(name);
    if (it == b.optimisers.end() || it->second.steps != acc.steps ||
        it->second.arrays.size() != acc.arrays.size())
      return false;
    for (const auto &[key, v] : acc.arrays) {
      auto other = it->second.arrays.find(key);
      if (other == it->second.arrays.end() ||
          other->second.dtype() != v.dtype() ||
          other->second.shape() != v.shape() ||
          std::memcmp(other->second.raw(), v.raw(), v.nbytes()) != 0)
        return false;
    }
  }
  return true;
}

} // namespace

TEST_F(ModelTest, OptimiserStateRoundTripsBitForBit) {
  modelWithState();
  std::string path = tempPath("state.h5");
  model().save(path);
  Model &loaded = modelload(path, {.name = "loaded"});
  EXPECT_TRUE(sameState(model().optimiser_state(), loaded.optimiser_state()));
  EXPECT_EQ(loaded.iterations(), 7);
  EXPECT_EQ(loaded.lr(), 0.003);
  EXPECT_EQ(loaded.loss_smooth(), 1.25);
  // rebuild_model carries it too (ELEKTRONN2's rebuild is save + load).
  Model &rebuilt = rebuild_model(model(), {.name = "rebuilt"});
  EXPECT_TRUE(sameState(model().optimiser_state(), rebuilt.optimiser_state()));
}

TEST_F(ModelTest, FilesWithoutOptimiserStateLoadFresh) {
  modelWithState();
  std::string path = tempPath("no_state.h5");
  model().save(path);
  editHdf5(path, [](hid_t f) { H5Ldelete(f, "/optimiser", H5P_DEFAULT); });
  Model &loaded = modelload(path, {.name = "loaded"});
  EXPECT_TRUE(sameState(loaded.optimiser_state(), OptimiserState{}));
  // The v1 fixture (written before the group existed) too.
  Model &v1 = modelload("tests/frontend/data/model_v1.h5", {.name = "v1"});
  EXPECT_TRUE(sameState(v1.optimiser_state(), OptimiserState{}));
}

TEST_F(ModelTest, BadOptimiserGroupsAreErrorsNamingFileAndDataset) {
  modelWithState();
  std::string good = tempPath("state_good.h5");
  model().save(good);
  std::size_t models = model_manager.names().size();
  struct Case {
    const char *name;
    void (*edit)(hid_t);
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"missing_m",
       [](hid_t f) { H5Ldelete(f, "/optimiser/Adam/conv1/w:m", H5P_DEFAULT); },
       "'/optimiser/Adam/conv1/w:m' is missing (Adam keeps m for every "
       "parameter it updates)"},
      {"missing_d",
       [](hid_t f) { H5Ldelete(f, "/optimiser/SGD/conv2/b:d", H5P_DEFAULT); },
       "'/optimiser/SGD' holds 3 accumulators, its attribute 'accumulators' "
       "says 4"},
      {"misshaped",
       [](hid_t f) {
         H5Ldelete(f, "/optimiser/Adam/conv2/w:s", H5P_DEFAULT);
         hid_t g = H5Gopen2(f, "/optimiser/Adam/conv2", H5P_DEFAULT);
         writeZeros(g, "w:s", {3, 4, 1, 1, 1});
         H5Gclose(g);
       },
       "'/optimiser/Adam/conv2/w:s': stored with shape (3, 4, 1, 1, 1), the "
       "graph implies (2, 4, 1, 1, 1)"},
      {"mistyped",
       [](hid_t f) {
         H5Ldelete(f, "/optimiser/Adam/conv2/b:s", H5P_DEFAULT);
         hid_t g = H5Gopen2(f, "/optimiser/Adam/conv2", H5P_DEFAULT);
         writeZeros(g, "b:s", {2}, H5T_NATIVE_DOUBLE);
         H5Gclose(g);
       },
       "'/optimiser/Adam/conv2/b:s': stored as 8-byte float, the graph "
       "implies float32"},
      {"unchecksummed",
       [](hid_t f) {
         H5Ldelete(f, "/optimiser/Adam/conv2/b:s", H5P_DEFAULT);
         hid_t g = H5Gopen2(f, "/optimiser/Adam/conv2", H5P_DEFAULT);
         writeZeros(g, "b:s", {2});
         H5Gclose(g);
       },
       "'/optimiser/Adam/conv2/b:s': not stored with its Fletcher32 checksum"},
      {"unknown_optimiser",
       [](hid_t f) {
         H5Lmove(f, "/optimiser/Adam", f, "/optimiser/Nesterov", H5P_DEFAULT,
                 H5P_DEFAULT);
       },
       "'/optimiser/Nesterov': unknown optimiser 'Nesterov' (SGD, AdaGrad, "
       "AdaDelta or Adam)"},
      {"unknown_parameter",
       [](hid_t f) {
         H5Lcopy(f, "/optimiser/Adam/conv2/b:m", f,
                 "/optimiser/Adam/conv2/gamma:m", H5P_DEFAULT, H5P_DEFAULT);
       },
       "'/optimiser/Adam/conv2/gamma:m': Adam accumulator for parameter "
       "'gamma' of node 'conv2', which the graph does not have"},
      {"unknown_node",
       [](hid_t f) {
         H5Lmove(f, "/optimiser/SGD/conv2", f, "/optimiser/SGD/conv9",
                 H5P_DEFAULT, H5P_DEFAULT);
       },
       "'/optimiser/SGD/conv9': SGD accumulators for node 'conv9', which the "
       "graph does not have"},
      {"unknown_state",
       [](hid_t f) {
         H5Lmove(f, "/optimiser/SGD/conv2/b:d", f, "/optimiser/SGD/conv2/b:v",
                 H5P_DEFAULT, H5P_DEFAULT);
       },
       "'/optimiser/SGD/conv2/b:v': SGD keeps no accumulator 'v'"},
      {"missing_lr",
       [](hid_t f) { H5Adelete_by_name(f, "/optimiser", "lr", H5P_DEFAULT); },
       "'/optimiser' has no attribute 'lr'"},
      {"missing_steps",
       [](hid_t f) {
         H5Adelete_by_name(f, "/optimiser/Adam", "steps", H5P_DEFAULT);
       },
       "'/optimiser/Adam' has no attribute 'steps'"},
      {"missing_losses",
       [](hid_t f) { H5Ldelete(f, "/optimiser/losses", H5P_DEFAULT); },
       "'/optimiser/losses' is missing"},
      {"not_a_group",
       [](hid_t f) {
         H5Ldelete(f, "/optimiser", H5P_DEFAULT);
         writeZeros(f, "optimiser", {2});
       },
       "'/optimiser' is not a readable group"},
  };
  for (const Case &c : cases) {
    std::string path = copyOf(good, tempPath(std::string(c.name) + ".h5"));
    editHdf5(path, c.edit);
    std::string what = ioError([&] { modelload(path); });
    EXPECT_NE(what.find("'" + path + "'"), std::string::npos)
        << c.name << ": " << what;
    EXPECT_NE(what.find(c.expected), std::string::npos)
        << c.name << ": " << what;
    EXPECT_EQ(model_manager.names().size(), models)
        << c.name << ": no half-loaded model";
  }
}

TEST_F(ModelTest, CorruptAccumulatorIsAChecksumError) {
  modelWithState();
  std::string path = tempPath("state_flip.h5");
  model().save(path);
  std::string bytes = readFile(path);
  // Adam's m of conv1.w (72 values; conv2.w's m has 8): 0.4375f repeated.
  std::string pattern;
  for (int i = 0; i < 16; ++i)
    pattern += std::string("\x00\x00\xE0\x3E", 4);
  std::size_t at = bytes.find(pattern);
  ASSERT_NE(at, std::string::npos);
  bytes[at + 9] ^= 0x04;
  std::ofstream(tempPath("state_flipped.h5"), std::ios::binary) << bytes;
  std::string what = ioError([&] { modelload(tempPath("state_flipped.h5")); });
  EXPECT_NE(what.find("'/optimiser/Adam/conv1/w:m': checksum mismatch"),
            std::string::npos)
      << what;
}

TEST_F(ModelTest, SaveRefusesAStateThatWouldNotLoad) {
  modelWithState();
  const OptimiserState good = model().optimiser_state();
  auto saveError = [&](OptimiserState s) {
    model().set_optimiser_state(std::move(s));
    return ioError([&] { model().save(tempPath("refused.h5")); });
  };
  OptimiserState s = good;
  s.optimisers["Adam"].arrays["conv7_w:m"] = Array({2}, DType::Float32);
  EXPECT_NE(saveError(s).find("Adam accumulator 'conv7_w:m' belongs to no "
                              "parameter of the model"),
            std::string::npos);
  s = good;
  s.optimisers["Adam"].arrays["conv2_b:m"] = Array({3}, DType::Float32);
  EXPECT_NE(saveError(s).find("Adam accumulator 'conv2_b:m' is float32 (3,), "
                              "its parameter float32 (2,)"),
            std::string::npos);
  s = good;
  s.optimisers["Nesterov"] = {};
  EXPECT_NE(saveError(s).find("unknown optimiser 'Nesterov'"),
            std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(tempPath("refused.h5")));
}
