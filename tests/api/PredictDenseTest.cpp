//===- PredictDenseTest.cpp - predict_dense against a brute-force reference
//===//
//
// Every dense output voxel v of a valid-convolution network is the network
// applied to the field of view starting at v. The reference computes exactly
// that, voxel by voxel, in double precision with its own naive conv, max-pool
// and softmax; predict_dense (every strategy, with and without mirror
// padding, 2-D and 3-D networks) must agree within 1e-5.
//
//===----------------------------------------------------------------------===//
#include "tests/frontend/ModelFixture.h"

#include <algorithm>
#include <cmath>
#include <random>

using namespace nm;

namespace {

/// One conv layer of the reference: w (n_f, n_in, kz, kx, ky), b, max-pool
/// (pz, px, py), relu or linear.
struct RefLayer {
  std::vector<double> w, b;
  int64_t nf = 0, nin = 0;
  Sizes k, pool;
  bool relu = true;
};

/// (c, z, x, y) double volume.
struct RefVolume {
  int64_t c = 0;
  Sizes s;
  std::vector<double> v;
  RefVolume(int64_t ch, Sizes shape)
      : c(ch), s(shape), v(ch * shape[0] * shape[1] * shape[2]) {}
  double &at(int64_t i, int64_t z, int64_t x, int64_t y) {
    return v[((i * s[0] + z) * s[1] + x) * s[2] + y];
  }
};

RefVolume convPoolAct(RefVolume in, const RefLayer &l) {
  Sizes conv(3);
  for (int a = 0; a < 3; ++a)
    conv[a] = in.s[a] - l.k[a] + 1;
  RefVolume c(l.nf, conv);
  for (int64_t f = 0; f < l.nf; ++f)
    for (int64_t z = 0; z < conv[0]; ++z)
      for (int64_t x = 0; x < conv[1]; ++x)
        for (int64_t y = 0; y < conv[2]; ++y) {
          double sum = l.b[f];
          for (int64_t i = 0; i < l.nin; ++i)
            for (int64_t dz = 0; dz < l.k[0]; ++dz)
              for (int64_t dx = 0; dx < l.k[1]; ++dx)
                for (int64_t dy = 0; dy < l.k[2]; ++dy)
                  sum += l.w[(((f * l.nin + i) * l.k[0] + dz) * l.k[1] + dx) *
                                 l.k[2] +
                             dy] *
                         in.at(i, z + dz, x + dx, y + dy);
          c.at(f, z, x, y) = sum;
        }
  Sizes pooled = {conv[0] / l.pool[0], conv[1] / l.pool[1],
                  conv[2] / l.pool[2]};
  RefVolume out(l.nf, pooled);
  for (int64_t f = 0; f < l.nf; ++f)
    for (int64_t z = 0; z < pooled[0]; ++z)
      for (int64_t x = 0; x < pooled[1]; ++x)
        for (int64_t y = 0; y < pooled[2]; ++y) {
          double m = -INFINITY;
          for (int64_t dz = 0; dz < l.pool[0]; ++dz)
            for (int64_t dx = 0; dx < l.pool[1]; ++dx)
              for (int64_t dy = 0; dy < l.pool[2]; ++dy)
                m = std::max(m, c.at(f, z * l.pool[0] + dz, x * l.pool[1] + dx,
                                     y * l.pool[2] + dy));
          out.at(f, z, x, y) = l.relu ? std::max(m, 0.0) : m;
        }
  return out;
}

/// The brute-force dense prediction (labels, pz, px, py) of `raw` (c, z, x,
/// y): the layers and a softmax over the field of view at every voxel.
RefVolume bruteForce(const std::vector<RefLayer> &layers, RefVolume &raw,
                     const Sizes &fov, const Sizes &predShape) {
  RefVolume pred(layers.back().nf, predShape);
  for (int64_t z = 0; z < predShape[0]; ++z)
    for (int64_t x = 0; x < predShape[1]; ++x)
      for (int64_t y = 0; y < predShape[2]; ++y) {
        RefVolume window(raw.c, fov);
        for (int64_t i = 0; i < raw.c; ++i)
          for (int64_t dz = 0; dz < fov[0]; ++dz)
            for (int64_t dx = 0; dx < fov[1]; ++dx)
              for (int64_t dy = 0; dy < fov[2]; ++dy)
                window.at(i, dz, dx, dy) = raw.at(i, z + dz, x + dx, y + dy);
        for (const RefLayer &l : layers)
          window = convPoolAct(window, l);
        double max = -INFINITY, sum = 0;
        for (double v : window.v)
          max = std::max(max, v);
        for (double v : window.v)
          sum += std::exp(v - max);
        for (int64_t f = 0; f < pred.c; ++f)
          pred.at(f, z, x, y) = std::exp(window.v[f] - max) / sum;
      }
  return pred;
}

RefLayer refLayer(const Node &conv, Sizes pool, bool twoD, bool relu) {
  ParamValues p = conv.get_param_values();
  const Array &w = p.at("w");
  RefLayer l;
  l.nf = w.shape()[0];
  l.nin = w.shape()[1];
  l.k = Sizes(w.shape().begin() + 2, w.shape().end());
  l.pool = pool;
  if (twoD) {
    l.k.insert(l.k.begin(), 1);
    l.pool.insert(l.pool.begin(), 1);
  }
  for (int64_t i = 0; i < w.size(); ++i)
    l.w.push_back(w.getFlat(i));
  for (int64_t i = 0; i < p.at("b").size(); ++i)
    l.b.push_back(p.at("b").getFlat(i));
  l.relu = relu;
  return l;
}

Array randomArray(Sizes shape, unsigned seed, DType dtype = DType::Float32) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> u(0, 1);
  Array a(shape, dtype);
  for (int64_t i = 0; i < a.size(); ++i)
    a.setFlat(i, dtype == DType::UInt8 ? std::floor(u(gen) * 256) : u(gen));
  return a;
}

/// `raw` (c, z, x, y) as a reference volume (integers / 255), mirrored by
/// `pad` (numpy 'symmetric') when given.
RefVolume refRaw(const Array &raw, Sizes pad = {0, 0, 0}) {
  Sizes s(raw.shape().begin() + 1, raw.shape().end());
  if (s.size() == 2)
    s.insert(s.begin(), 1);
  auto mirror = [](int64_t i, int64_t n) {
    return i < 0 ? -i - 1 : (i >= n ? 2 * n - 1 - i : i);
  };
  double scale = raw.dtype() == DType::UInt8 ? 1.0 / 255 : 1.0;
  int64_t c = raw.shape()[0];
  RefVolume out(c, {s[0] + 2 * pad[0], s[1] + 2 * pad[1], s[2] + 2 * pad[2]});
  for (int64_t i = 0; i < c; ++i)
    for (int64_t z = 0; z < out.s[0]; ++z)
      for (int64_t x = 0; x < out.s[1]; ++x)
        for (int64_t y = 0; y < out.s[2]; ++y) {
          int64_t sz = mirror(z - pad[0], s[0]), sx = mirror(x - pad[1], s[1]),
                  sy = mirror(y - pad[2], s[2]);
          out.at(i, z, x, y) =
              raw.getFlat(((i * s[0] + sz) * s[1] + sx) * s[2] + sy) * scale;
        }
  return out;
}

double maxRelError(const Array &got, const RefVolume &want) {
  EXPECT_EQ(got.size(), static_cast<int64_t>(want.v.size()));
  double worst = 0;
  for (int64_t i = 0; i < got.size(); ++i)
    worst = std::max(worst, std::abs(got.getFlat(i) - want.v[i]) /
                                std::max(std::abs(want.v[i]), 1e-3));
  return worst;
}

/// A 3-D net pooling in z and xy: strides (2, 4, 4), fov (3, 8, 8).
struct Net3d {
  Node input, conv1, conv2, prediction;
  Net3d() {
    input = Input({1, 2, 5, 12, 12}, "b,f,z,x,y", {.name = "raw"});
    conv1 = Conv(input, 3, {2, 3, 3}, {2, 2, 2}, {.name = "c1"});
    conv2 = Conv(conv1, 2, {1, 2, 2}, {1, 2, 2},
                 {.activation_func = "lin", .name = "c2"});
    prediction = Softmax(conv2);
    model_manager.getmodel().designate_nodes(
        {.input_node = input, .prediction_node = prediction});
  }
  std::vector<RefLayer> reference() const {
    return {refLayer(conv1, {2, 2, 2}, false, true),
            refLayer(conv2, {1, 2, 2}, false, false)};
  }
};

} // namespace

TEST_F(ModelTest, PredictDenseGeometryOfTheTestNet) {
  Net3d net;
  EXPECT_EQ(net.prediction.shape().strides(), (Sizes{2, 4, 4}));
  EXPECT_EQ(net.prediction.shape().fov(), (Sizes{3, 8, 8}));
  EXPECT_EQ(net.prediction.shape().offsets(), (Sizes{1, 4, 4}));
}

TEST_F(ModelTest, PredictDenseStitchMatchesBruteForce) {
  Net3d net;
  Array raw = randomArray({2, 9, 21, 23}, 3);
  Array pred = net.prediction.predict_dense(raw, {.strategy = "stitch"});
  ASSERT_EQ(pred.shape(), (Sizes{2, 7, 13, 15}));
  RefVolume r = refRaw(raw);
  RefVolume want = bruteForce(net.reference(), r, {3, 8, 8}, {7, 13, 15});
  EXPECT_LE(maxRelError(pred, want), 1e-5);
  // 7/4 -> 2, 13/8 -> 2, 15/8 -> 2 tiles; 32 calls each.
  EXPECT_NE(logText().find("Predicting img (2, 9, 21, 23) in 8 Blocks: "
                           "(2, 2, 2)"),
            std::string::npos)
      << logText();
  EXPECT_NE(logText().find(" Inference speed: "), std::string::npos);
  EXPECT_NE(logText().find(" MB or MPix /s, time t="), std::string::npos);
}

TEST_F(ModelTest, PredictDenseDensifyMatchesBruteForce) {
  Net3d net;
  Array raw = randomArray({2, 9, 21, 23}, 3);
  Array pred = net.prediction.predict_dense(raw); // densify, the default
  ASSERT_EQ(pred.shape(), (Sizes{2, 7, 13, 15}));
  RefVolume r = refRaw(raw);
  RefVolume want = bruteForce(net.reference(), r, {3, 8, 8}, {7, 13, 15});
  EXPECT_LE(maxRelError(pred, want), 1e-5);
  EXPECT_NE(logText().find("Compiling softmax (densified), inputs=[raw], "
                           "shapes=[(1, 2, 6, 15, 15)]"),
            std::string::npos)
      << logText();
  // The same numbers padded, as uint8, and on a 2-D net.
  Array padded = net.prediction.predict_dense(raw, {.pad_raw = true});
  Array stitched = net.prediction.predict_dense(
      raw, {.pad_raw = true, .strategy = "stitch"});
  ASSERT_EQ(padded.shape(), stitched.shape());
  double worst = 0;
  for (int64_t i = 0; i < padded.size(); ++i)
    worst = std::max(worst, std::abs(padded.getFlat(i) - stitched.getFlat(i)));
  EXPECT_LE(worst, 1e-5);
}

TEST_F(ModelTest, PredictDenseDensifyRefusesWhatItCannotRewrite) {
  Node input = Input({1, 1, 12, 12}, "b,f,x,y", {.name = "raw"});
  Node c1 = Conv(input, 2, {3, 3}, {2, 2}, {.name = "c1"});
  Node cropped = Crop(c1, {1, 1});
  Node p = Softmax(cropped);
  try {
    p.predict_dense(randomArray({1, 20, 20}, 9));
    FAIL() << "no error";
  } catch (const ValueError &e) {
    EXPECT_NE(std::string(e.what()).find("Cannot densify softmax"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("'mfp' or 'stitch' strategy"),
              std::string::npos)
        << e.what();
  }
  EXPECT_NO_THROW(
      p.predict_dense(randomArray({1, 20, 20}, 9), {.strategy = "stitch"}));
}

TEST_F(ModelTest, PredictDenseMfpEqualsStitchAndTheReference) {
  Net3d net;
  Array raw = randomArray({2, 9, 21, 23}, 4);
  Array stitched = net.prediction.predict_dense(raw, {.strategy = "stitch"});
  std::vector<std::string> before = model_manager.names();
  Array mfp = model().predict_dense(raw, {.strategy = "mfp"});
  // The rebuilt MFP model is gone again and the current model is the same.
  EXPECT_EQ(model_manager.names(), before);
  EXPECT_EQ(model_manager.getmodel().name(), model().name());
  ASSERT_EQ(mfp.shape(), stitched.shape());
  RefVolume r = refRaw(raw);
  RefVolume want = bruteForce(net.reference(), r, {3, 8, 8}, {7, 13, 15});
  EXPECT_LE(maxRelError(mfp, want), 1e-5);
  EXPECT_NE(logText().find("FragmentsToDense"), std::string::npos);
}

TEST_F(ModelTest, PredictDensePadRawCoversTheImageAndUint8Truncates) {
  Net3d net;
  Array raw = randomArray({2, 6, 17, 18}, 5, DType::UInt8);
  Array pred = net.prediction.predict_dense(raw, {.pad_raw = true});
  ASSERT_EQ(pred.shape(), (Sizes{2, 6, 17, 18}));
  RefVolume r = refRaw(raw, {1, 4, 4});
  RefVolume want = bruteForce(net.reference(), r, {3, 8, 8}, {6, 17, 18});
  EXPECT_LE(maxRelError(pred, want), 1e-5);
  Array bytes =
      net.prediction.predict_dense(raw, {.as_uint8 = true, .pad_raw = true});
  ASSERT_EQ(bytes.dtype(), DType::UInt8);
  for (int64_t i = 0; i < bytes.size(); ++i)
    ASSERT_EQ(bytes.getFlat(i),
              static_cast<double>(static_cast<uint8_t>(
                  static_cast<float>(pred.getFlat(i)) * 255.0f)))
        << i;
}

TEST_F(ModelTest, PredictDenseTwoDimensionalNet) {
  Node input = Input({1, 1, 10, 10}, "b,f,x,y", {.name = "raw"});
  Node c1 = Conv(input, 3, {3, 3}, {2, 2}, {.name = "c1"});
  Node c2 = Conv(c1, 2, {2, 2}, {}, {.activation_func = "lin", .name = "c2"});
  Node p = Softmax(c2);
  std::vector<RefLayer> layers = {refLayer(c1, {2, 2}, true, true),
                                  refLayer(c2, {1, 1}, true, false)};
  Sizes fov = p.shape().fov();
  ASSERT_EQ(fov, (Sizes{6, 6}));
  Array raw = randomArray({1, 15, 16}, 6);
  Array pred = p.predict_dense(raw);
  ASSERT_EQ(pred.shape(), (Sizes{2, 9, 10}));
  RefVolume r = refRaw(raw);
  EXPECT_LE(maxRelError(pred, bruteForce(layers, r, {1, 6, 6}, {1, 9, 10})),
            1e-5);
  // (ch, z, x, y) for a 2-D net: every z slice predicted on its own.
  Array stack = randomArray({1, 3, 15, 16}, 7);
  Array preds = p.predict_dense(stack);
  ASSERT_EQ(preds.shape(), (Sizes{2, 3, 9, 10}));
  RefVolume rs = refRaw(stack);
  EXPECT_LE(maxRelError(preds, bruteForce(layers, rs, {1, 6, 6}, {3, 9, 10})),
            1e-5);
}

TEST_F(ModelTest, PredictDenseBadInput) {
  Net3d net;
  auto message = [&](const Array &raw, const PredictDenseOptions &o = {}) {
    try {
      net.prediction.predict_dense(raw, o);
    } catch (const ValueError &e) {
      return std::string(e.what());
    }
    return std::string("no ValueError");
  };
  EXPECT_NE(message(Array({3, 9, 21, 23}))
                .find("has 3 channels on its first "
                      "axis, the network reads 2"),
            std::string::npos);
  EXPECT_NE(message(Array({2, 21, 23})).find("the network has 3 spatial axes"),
            std::string::npos);
  EXPECT_NE(message(Array({2, 2, 21, 23}))
                .find("smaller than the network's "
                      "field of view"),
            std::string::npos);
  EXPECT_NE(message(Array({2, 9, 21, 23}), {.strategy = "dense"})
                .find("unknown strategy 'dense'"),
            std::string::npos);
  Node flat = Input({1, 4}, "b,f", {.name = "flat"});
  Node lin = Perceptron(flat, 2);
  EXPECT_THROW(lin.predict_dense(Array({4, 3})), ValueError);
}

// nm::dense_geometry is the one check behind predict_dense, `neuromancer
// predict` (who "predict") and `compile --dense` (who "--dense").
TEST_F(ModelTest, DenseGeometryRefusesWhatCannotBePredictedDensely) {
  auto message = [](const Node &n, const std::string &who) {
    try {
      dense_geometry(n, who);
    } catch (const ValueError &e) {
      return std::string(e.what());
    }
    return std::string("no ValueError");
  };
  auto has = [](const std::string &m, const std::string &part) {
    return m.find(part) != std::string::npos;
  };
  Node flat = Input({1, 4}, "b,f", {.name = "flat"});
  std::string m = message(Perceptron(flat, 2), "predict");
  EXPECT_TRUE(has(m, "predict: node 'dot'") && has(m, "0 spatial axes")) << m;

  Node a = Input({1, 2, 9, 21, 23}, "b,f,z,x,y", {.name = "a"});
  Node b = Input({1, 2, 9, 21, 23}, "b,f,z,x,y", {.name = "b"});
  m = message(Add(a, b), "--dense");
  EXPECT_TRUE(has(m, "--dense: node") && has(m, "reads 2 inputs")) << m;

  Node batch = Input({2, 2, 9, 21, 23}, "b,f,z,x,y", {.name = "batch"});
  m = message(Conv(batch, 2, {1, 3, 3}), "predict_dense");
  EXPECT_TRUE(has(m, "input 'batch' with batch size 2") &&
              has(m, "imposed_batch_size=1"))
      << m;

  Node up = UpConv(Conv(a, 2, {1, 2, 2}, {1, 2, 2}), 2, {1, 2, 2});
  m = message(up, "predict_dense");
  EXPECT_TRUE(has(m, "predict_dense: Cannot predict dense because the CNN "
                     "contains UpConvs"))
      << m;

  Net3d net;
  DenseGeometry g = dense_geometry(net.prediction);
  EXPECT_EQ(g.input.name(), "raw");
  EXPECT_EQ(g.fov, (Sizes{3, 8, 8}));
  EXPECT_EQ(g.offsets, (Sizes{1, 4, 4}));
  EXPECT_EQ(g.strides, (Sizes{2, 4, 4}));
  EXPECT_EQ(g.channels, 2);
  EXPECT_EQ(g.labels, 2);
  EXPECT_FALSE(g.twoD);
}
