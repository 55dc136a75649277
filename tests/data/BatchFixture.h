//===- BatchFixture.h - cubes and a fixture for the batch tests -*- C++ -*-===//
//
// The cubes are written by the tests: images whose three channels hold their
// own (z, x, y) coordinates (trilinear interpolation is exact on them, so a
// patch tells where every voxel was read) and labels holding the code
// z*10000 + x*100 + y of their label-space coordinates.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_TESTS_DATA_BATCHFIXTURE_H
#define NEUROMANCER_TESTS_DATA_BATCHFIXTURE_H

#include "H5Cubes.h"

#include "neuromancer/data/BatchCreatorImage.h"
#include "neuromancer/frontend/Layers.h"
#include "neuromancer/frontend/Model.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

namespace nm::testing {

inline std::string tempDir() {
  std::string t = ::testing::TempDir() + "/bcXXXXXX";
  if (!mkdtemp(t.data()))
    throw std::runtime_error("mkdtemp failed");
  return t;
}

/// Images (3, z, x, y): channel a holds coordinate a.
inline void writeCoordImages(const std::string &path, const Sizes &sh) {
  std::vector<float> v(3 * sh[0] * sh[1] * sh[2]);
  size_t i = 0;
  for (int a = 0; a < 3; ++a)
    for (int64_t z = 0; z < sh[0]; ++z)
      for (int64_t x = 0; x < sh[1]; ++x)
        for (int64_t y = 0; y < sh[2]; ++y)
          v[i++] = static_cast<float>(a == 0 ? z : a == 1 ? x : y);
  writeH5<float>(path, "raw", {3, sh[0], sh[1], sh[2]}, v);
}

/// Labels (z, x, y) holding z*10000 + x*100 + y.
inline void writeCodeLabels(const std::string &path, const Sizes &sh) {
  std::vector<int32_t> v;
  for (int64_t z = 0; z < sh[0]; ++z)
    for (int64_t x = 0; x < sh[1]; ++x)
      for (int64_t y = 0; y < sh[2]; ++y)
        v.push_back(static_cast<int32_t>(z * 10000 + x * 100 + y));
  writeH5<int32_t>(path, "lab", sh, v);
}

class BatchCreator : public ::testing::Test {
protected:
  void SetUp() override {
    nm::model_manager.newmodel();
    dir = tempDir();
  }
  /// Input (1, f, *ps) and a target with the given fov/strides.
  void nodes(const Sizes &ps, const Sizes &fov, const Sizes &strides,
             int64_t f = 3, const std::string &tDtype = "int32") {
    Sizes in = {1, f}, out = {1, 1};
    std::string tags = ps.size() == 3 ? "b,f,z,x,y" : "b,f,x,y";
    in.insert(in.end(), ps.begin(), ps.end());
    for (size_t a = 0; a < ps.size(); ++a)
      out.push_back((ps[a] - 2 * (fov[a] / 2) + strides[a] - 1) / strides[a]);
    input = nm::Input(in, tags, {.name = "raw"});
    target = nm::Input(
        out, tags,
        {.name = "target", .dtype = tDtype, .strides = strides, .fov = fov});
  }
  nm::BatchCreatorOptions opts(int n = 1) {
    nm::BatchCreatorOptions o;
    o.d_path = dir;
    o.l_path = dir;
    for (int k = 0; k < n; ++k) {
      o.d_files.push_back({"raw_" + std::to_string(k) + ".h5", "raw"});
      o.l_files.push_back({"lab_" + std::to_string(k) + ".h5", "lab"});
    }
    o.seed = 42;
    return o;
  }
  std::string file(const std::string &name) const { return dir + "/" + name; }

  std::string dir;
  nm::Node input, target;
};

/// `f` throws E whose message holds every one of `parts`.
template <typename E, typename F>
void expectError(F &&f, const std::vector<std::string> &parts) {
  try {
    f();
    FAIL() << "no error";
  } catch (const E &e) {
    for (const auto &p : parts)
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos)
          << "'" << p << "' not in: " << e.what();
  } catch (const std::exception &e) {
    FAIL() << "wrong exception: " << e.what();
  }
}

} // namespace nm::testing

#endif // NEUROMANCER_TESTS_DATA_BATCHFIXTURE_H
