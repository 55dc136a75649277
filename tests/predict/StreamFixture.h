//===- StreamFixture.h - a saved model and a scratch directory --*- C++ -*-===//
#ifndef NEUROMANCER_TESTS_PREDICT_STREAMFIXTURE_H
#define NEUROMANCER_TESTS_PREDICT_STREAMFIXTURE_H

#include "neuromancer/predict/StreamPredict.h"
#include "tests/frontend/ModelFixture.h"
#include "tests/predict/H5TestFiles.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>

/// Each test gets an empty directory and, from saveNet(), a small strided
/// 3-D network (2 channels in, 2 classes out, strides (2, 4, 4), fov
/// (3, 8, 8)) saved as model.h5 there.
class StreamTest : public ModelTest {
protected:
  void SetUp() override {
    ModelTest::SetUp();
    const auto *info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = tempPath(std::string("stream_") + info->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }

  std::string path(const std::string &name) const { return dir_ + "/" + name; }

  nm::Node saveNet(int64_t channels = 2) {
    using namespace nm;
    Node input = Input({1, channels, 5, 12, 12}, "b,f,z,x,y", {.name = "raw"});
    Node conv1 = Conv(input, 3, {2, 3, 3}, {2, 2, 2}, {.name = "c1"});
    Node conv2 = Conv(conv1, 2, {1, 2, 2}, {1, 2, 2},
                      {.activation_func = "lin", .name = "c2"});
    Node prediction = Softmax(conv2);
    model().designate_nodes(
        {.input_node = input, .prediction_node = prediction});
    model().save(path("model.h5"));
    return prediction;
  }

  /// Options for model.h5 → raw.h5:raw → out.h5:pred, quiet.
  nm::predict::StreamOptions options() const {
    nm::predict::StreamOptions o;
    o.model = path("model.h5");
    o.raw = path("raw.h5");
    o.rawDataset = "raw";
    o.out = path("out.h5");
    o.outDataset = "pred";
    o.progress = nullptr;
    return o;
  }

  static nm::Array randomArray(nm::Sizes shape, unsigned seed,
                               nm::DType dtype = nm::DType::Float32) {
    std::mt19937 gen(seed);
    std::uniform_real_distribution<double> u(0, 1);
    nm::Array a(shape, dtype);
    for (int64_t i = 0; i < a.size(); ++i)
      a.setFlat(i, dtype == nm::DType::Float32 ? u(gen)
                                               : std::floor(u(gen) * 256));
    return a;
  }

  static double maxRelError(const nm::Array &got, const nm::Array &want) {
    EXPECT_EQ(got.shape(), want.shape());
    double worst = 0;
    for (int64_t i = 0; i < std::min(got.size(), want.size()); ++i)
      worst = std::max(worst, std::abs(got.getFlat(i) - want.getFlat(i)) /
                                  std::max(std::abs(want.getFlat(i)), 1e-3));
    return worst;
  }

  /// want[:, lo:lo+shape] of a (c, z, x, y) array.
  static nm::Array slice(const nm::Array &a, const nm::Sizes &lo,
                         const nm::Sizes &shape) {
    const nm::Sizes &s = a.shape();
    nm::Array out({s[0], shape[0], shape[1], shape[2]}, a.dtype());
    int64_t k = 0;
    for (int64_t c = 0; c < s[0]; ++c)
      for (int64_t z = 0; z < shape[0]; ++z)
        for (int64_t x = 0; x < shape[1]; ++x)
          for (int64_t y = 0; y < shape[2]; ++y)
            out.setFlat(
                k++,
                a.getFlat(((c * s[1] + lo[0] + z) * s[2] + lo[1] + x) * s[3] +
                          lo[2] + y));
    return out;
  }

  /// The message of the nm::Error predictStream throws ("" if none).
  static std::string errorOf(const nm::predict::StreamOptions &o) {
    try {
      nm::predict::predictStream(o);
    } catch (const nm::Error &e) {
      return e.what();
    }
    return "";
  }

private:
  std::string dir_;
};

#endif // NEUROMANCER_TESTS_PREDICT_STREAMFIXTURE_H
