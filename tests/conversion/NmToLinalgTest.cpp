//===- NmToLinalgTest.cpp - nm -> linalg lowering, end to end -------------===//
//
// Each test builds a small model with the frontend API, imports it
// (importModel), lowers it (lowerNmToLinalg), compiles it with the CPU back
// end, runs it on random inputs with the nodes' parameters and compares with
// plain-loop references written here (computed in double).
//
// Error metric: max_i |got_i - ref_i| / max_i |ref_i| (the error relative to
// the tensor's scale; a pointwise relative error is meaningless for conv
// outputs that cancel to ~0). Bound: 1e-5 unless stated.
//
//===----------------------------------------------------------------------===//
#include "LoweringTestUtil.h"

using namespace nm;
using namespace nm::lowering_test;

//===----------------------------------------------------------------------===//
// Conv + pool + every activation
//===----------------------------------------------------------------------===//

TEST_F(Lowering, ConvPoolAllActivations) {
  const std::vector<std::string> acts = {
      "tanh",     "relu",    "prelu",         "elu",    "selu",
      "abs",      "sig",     "soft+",         "lin",    "linear",
      "logistic", "sigmoid", "concentration", "radius", "maxout 2"};
  double worst = 0;
  for (size_t k = 0; k < acts.size(); ++k) {
    SCOPED_TRACE(acts[k]);
    model_manager.newmodel(name_ + "." + std::to_string(k));
    Node inp = Input({1, 3, 5, 9, 8}, "b,f,z,x,y", {.name = "image"});
    bool prelu = acts[k] == "prelu";
    Array w = randomArray({4, 3, 2, 2, 3}, 10 + k, -0.5f, 0.5f);
    Array b = prelu ? randomArray({4, 2}, 20 + k, 0.1f, 0.9f)
                    : randomArray({4}, 20 + k, -0.5f, 0.5f);
    Node c = Conv(inp, 4, {2, 2, 3}, {1, 2, 2},
                  {.activation_func = acts[k], .w = w, .b = b});
    Array x = randomArray({1, 3, 5, 9, 8}, 30 + k);
    auto outs = run({c}, {{"image", x}});
    // reference: conv -> pool -> bias -> activation
    Shape5 cs, ps, es;
    const int64_t zero[3] = {0, 0, 0}, p[3] = {1, 2, 2};
    auto conv = conv3d(toDouble(x), shape5(x.shape()), toDouble(w),
                       shape5(w.shape()), zero, cs);
    auto pooled = pool3d(conv, cs, p, p, "max", ps);
    auto ref = epilogue(pooled, ps, b, acts[k], es);
    ASSERT_EQ(outs[0].shape(), (std::vector<int64_t>{1, es.d[1], 4, 4, 3}));
    double e = maxRelErr(outs[0], ref);
    worst = std::max(worst, e);
    EXPECT_LE(e, kTol);
  }
  RecordProperty("max_rel_err", std::to_string(worst));
  std::printf("ConvPoolAllActivations: max rel err %.3g\n", worst);
}

TEST_F(Lowering, ConvModesValidSameFull) {
  for (std::string mode : {"valid", "same", "full"}) {
    SCOPED_TRACE(mode);
    model_manager.newmodel(name_ + "." + mode);
    Node inp = Input({2, 2, 5, 7, 6}, "b,f,z,x,y", {.name = "image"});
    Array w = randomArray({3, 2, 3, 3, 1}, 1, -0.5f, 0.5f);
    Array b = randomArray({3}, 2);
    Node c =
        Conv(inp, 3, {3, 3, 1}, {},
             {.conv_mode = mode, .activation_func = "tanh", .w = w, .b = b});
    Array x = randomArray({2, 2, 5, 7, 6}, 3);
    auto outs = run({c}, {{"image", x}});
    int64_t pad[3];
    int64_t k[3] = {3, 3, 1};
    for (int i = 0; i < 3; ++i)
      pad[i] = mode == "valid" ? 0 : mode == "same" ? (k[i] - 1) / 2 : k[i] - 1;
    Shape5 cs, es;
    auto conv = conv3d(toDouble(x), shape5(x.shape()), toDouble(w),
                       shape5(w.shape()), pad, cs);
    auto ref = epilogue(conv, cs, b, "tanh", es);
    ASSERT_EQ(outs[0].shape(),
              (std::vector<int64_t>{2, 3, cs.d[2], cs.d[3], cs.d[4]}));
    EXPECT_LE(maxRelErr(outs[0], ref), kTol);
  }
}

TEST_F(Lowering, ConvBatchNormPredict) {
  Node inp = Input({1, 2, 4, 5, 5}, "b,f,z,x,y", {.name = "image"});
  Array w = randomArray({3, 2, 1, 2, 2}, 1), b = randomArray({3}, 2);
  Array gamma = randomArray({3}, 3, 0.5f, 2.f), mean = randomArray({3}, 4),
        sd = randomArray({3}, 5, 0.5f, 2.f);
  Node c = Conv(inp, 3, {1, 2, 2}, {},
                {.activation_func = "abs",
                 .batch_normalisation = "predict",
                 .w = w,
                 .b = b,
                 .gamma = gamma,
                 .mean = mean,
                 .std = sd});
  Array x = randomArray({1, 2, 4, 5, 5}, 6);
  auto outs = run({c}, {{"image", x}});
  Shape5 cs;
  const int64_t zero[3] = {0, 0, 0};
  auto conv = conv3d(toDouble(x), shape5(x.shape()), toDouble(w),
                     shape5(w.shape()), zero, cs);
  int64_t S = cs.d[2] * cs.d[3] * cs.d[4];
  std::vector<double> ref(conv.size());
  for (int64_t f = 0; f < 3; ++f)
    for (int64_t s = 0; s < S; ++s) {
      double g = gamma.getFlat(f), m = mean.getFlat(f), d = sd.getFlat(f);
      double lin = conv[f * S + s];
      ref[f * S + s] = std::abs(g / d * lin + b.getFlat(f) - g * m / d);
    }
  EXPECT_LE(maxRelErr(outs[0], ref), kTol);
}

//===----------------------------------------------------------------------===//
// MFP and FragmentsToDense
//===----------------------------------------------------------------------===//

TEST_F(Lowering, MfpConvAndFragmentsToDense) {
  Node inp = Input({1, 2, 5, 9, 8}, "b,f,z,x,y", {.name = "image"});
  Array w = randomArray({3, 2, 2, 3, 2}, 1, -0.5f, 0.5f),
        b = randomArray({3}, 2);
  Node c = Conv(inp, 3, {2, 3, 2}, {1, 2, 2},
                {.activation_func = "relu", .mfp = true, .w = w, .b = b});
  Node d = FragmentsToDense(c);
  Array x = randomArray({1, 2, 5, 9, 8}, 3);
  auto outs = run({c, d}, {{"image", x}});
  Shape5 cs;
  const int64_t zero[3] = {0, 0, 0}, p[3] = {1, 2, 2};
  auto conv = conv3d(toDouble(x), shape5(x.shape()), toDouble(w),
                     shape5(w.shape()), zero, cs); // L = (4, 7, 7)
  // Fragments in itertools.product order, stacked fragment-major on b.
  std::vector<double> ref;
  Shape5 fs{};
  for (int64_t a = 0; a < 1; ++a)
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t j = 0; j < 2; ++j) {
        const int64_t off[3] = {a, i, j};
        const int64_t len[3] = {cs.d[2] - p[0] + 1, cs.d[3] - p[1] + 1,
                                cs.d[4] - p[2] + 1};
        Shape5 ps, es;
        auto pooled = pool3d(conv, cs, p, p, "max", ps, off, len);
        auto e = epilogue(pooled, ps, b, "relu", es);
        fs = es;
        ref.insert(ref.end(), e.begin(), e.end());
      }
  ASSERT_EQ(outs[0].shape(), (std::vector<int64_t>{4, 3, 4, 3, 3}));
  EXPECT_LE(maxRelErr(outs[0], ref), kTol);
  // Dense: fragment (i, j) -> out[..., i::2, j::2] (offsets of MFP).
  ASSERT_EQ(outs[1].shape(), (std::vector<int64_t>{1, 3, 4, 6, 6}));
  Shape5 ds{{1, 3, 4, 6, 6}};
  std::vector<double> dense(ds.size());
  for (int64_t fr = 0; fr < 4; ++fr)
    for (int64_t f = 0; f < 3; ++f)
      for (int64_t z = 0; z < 4; ++z)
        for (int64_t i = 0; i < 3; ++i)
          for (int64_t j = 0; j < 3; ++j)
            dense[ds.at(0, f, z, 2 * i + fr / 2, 2 * j + fr % 2)] =
                ref[fs.at(fr, f, z, i, j)];
  EXPECT_LE(maxRelErr(outs[1], dense), kTol);
}

//===----------------------------------------------------------------------===//
// Softmax, NLL, AggregateLoss, Classification, Errors
//===----------------------------------------------------------------------===//

TEST_F(Lowering, SoftmaxSparseNllAggregateErrors) {
  Node inp = Input({2, 3, 3, 5, 4}, "b,f,z,x,y", {.name = "image"});
  Node logits = Conv(inp, 4, {1, 2, 1}, {},
                     {.activation_func = "lin",
                      .w = randomArray({4, 3, 1, 2, 1}, 1, -1.f, 1.f),
                      .b = randomArray({4}, 2)});
  Node pred = Softmax(logits);
  Node target =
      Input_like(pred, {.override_f = 1, .name = "target", .dtype = "int16"});
  Node nll = MultinoulliNLL(pred, target, {.target_is_sparse = true});
  Node loss = AggregateLoss(nll, {.name = "loss"});
  Node errors = Errors(pred, target, {.target_is_sparse = true});
  Array x = randomArray({2, 3, 3, 5, 4}, 3, -2.f, 2.f);
  Array t(std::vector<int64_t>{2, 1, 3, 4, 4}, DType::Int16);
  std::mt19937 gen(7);
  for (int64_t i = 0; i < t.size(); ++i)
    t.setFlat(i, static_cast<int>(gen() % 6) - 1); // -1..4: -1 and 4 unlabelled
  auto outs = run({pred, nll, loss, errors}, {{"image", x}, {"target", t}});
  // Reference.
  auto params = model_manager.getmodel().get_param_values();
  const Array &w = params.at(logits.name()).at("w");
  const Array &b = params.at(logits.name()).at("b");
  Shape5 cs, es;
  const int64_t zero[3] = {0, 0, 0};
  auto conv = conv3d(toDouble(x), shape5(x.shape()), toDouble(w),
                     shape5(w.shape()), zero, cs);
  auto lin = epilogue(conv, cs, b, "lin", es);
  int64_t C = 4, S = 3 * 4 * 4;
  std::vector<double> p(lin.size());
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t s = 0; s < S; ++s) {
      double m = -INFINITY, sum = 0;
      for (int64_t c = 0; c < C; ++c)
        m = std::max(m, lin[(n * C + c) * S + s]);
      for (int64_t c = 0; c < C; ++c)
        sum += std::exp(lin[(n * C + c) * S + s] - m);
      for (int64_t c = 0; c < C; ++c)
        p[(n * C + c) * S + s] = std::exp(lin[(n * C + c) * S + s] - m) / sum;
    }
  EXPECT_LE(maxRelErr(outs[0], p), kTol);
  // NLL per voxel and the aggregate: sum -log p_label / (n_labelled + eps).
  double nUp = 0, total = 0, wrong = 0;
  std::vector<double> nllRef(2 * S);
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t s = 0; s < S; ++s) {
      int lbl = static_cast<int>(t.getFlat(n * S + s));
      double v = 0;
      if (lbl >= 0 && lbl < C) {
        nUp += 1;
        v = -std::log(
            static_cast<double>(static_cast<float>(p[(n * C + lbl) * S + s])) +
            1e-5);
      }
      nllRef[n * S + s] = v;
      total += v;
      int64_t best = 0;
      for (int64_t c = 1; c < C; ++c)
        if (p[(n * C + c) * S + s] > p[(n * C + best) * S + s])
          best = c;
      wrong += best != lbl;
    }
  double size = 2.0 * C * S;
  for (double &v : nllRef)
    v = v * size / (nUp + 1e-5) / C;
  EXPECT_LE(maxRelErr(outs[1], nllRef), kTol);
  ASSERT_EQ(outs[2].shape(), (std::vector<int64_t>{1}));
  EXPECT_NEAR(outs[2].getFlat(0), total / (nUp + 1e-5),
              kTol * std::abs(total / nUp));
  ASSERT_EQ(outs[3].shape(), (std::vector<int64_t>{1}));
  EXPECT_NEAR(outs[3].getFlat(0), wrong / (2.0 * S), 1e-7);
  EXPECT_GT(wrong, 0);
}

TEST_F(Lowering, SoftmaxIndependentBlocksAndClassification) {
  Node inp = Input({1, 6, 2, 3, 3}, "b,f,z,x,y", {.name = "image"});
  Node pred = Softmax(inp, {.n_indep = 2});
  Node cls = Classification(pred);
  Array x = randomArray({1, 6, 2, 3, 3}, 1, -3.f, 3.f);
  auto outs = run({pred, cls}, {{"image", x}});
  int64_t S = 18;
  std::vector<double> ref(6 * S), cref(2 * S);
  for (int64_t blk = 0; blk < 2; ++blk)
    for (int64_t s = 0; s < S; ++s) {
      double m = -INFINITY, sum = 0;
      int64_t best = 0;
      for (int64_t c = 0; c < 3; ++c) {
        double v = x.getFlat((blk * 3 + c) * S + s);
        if (v > m) {
          m = v;
          best = c;
        }
      }
      for (int64_t c = 0; c < 3; ++c)
        sum += std::exp(x.getFlat((blk * 3 + c) * S + s) - m);
      for (int64_t c = 0; c < 3; ++c)
        ref[(blk * 3 + c) * S + s] =
            std::exp(x.getFlat((blk * 3 + c) * S + s) - m) / sum;
      cref[blk * S + s] = best;
    }
  EXPECT_LE(maxRelErr(outs[0], ref), kTol);
  ASSERT_EQ(outs[1].dtype(), DType::Int64);
  EXPECT_EQ(toDouble(outs[1]), cref);
}

//===----------------------------------------------------------------------===//
// Pool modes, crop/pad/concat/add/mult/apply, perceptron
//===----------------------------------------------------------------------===//

TEST_F(Lowering, PoolModes) {
  for (std::string mode : {"max", "average", "sum"}) {
    SCOPED_TRACE(mode);
    model_manager.newmodel(name_ + "." + mode);
    Node inp = Input({1, 3, 5, 9, 8}, "b,f,z,x,y", {.name = "image"});
    Node p = Pool(inp, {1, 3, 2}, {.stride = {1, 2, 2}, .mode = mode});
    Array x = randomArray({1, 3, 5, 9, 8}, 4);
    auto outs = run({p}, {{"image", x}});
    Shape5 os;
    const int64_t w[3] = {1, 3, 2}, s[3] = {1, 2, 2};
    auto ref = pool3d(toDouble(x), shape5(x.shape()), w, s, mode, os);
    ASSERT_EQ(outs[0].shape(), (std::vector<int64_t>{1, 3, 5, 4, 4}));
    EXPECT_LE(maxRelErr(outs[0], ref), kTol);
  }
}

TEST_F(Lowering, CropPadConcatAddMultApply) {
  Node a = Input({1, 2, 5, 7, 6}, "b,f,z,x,y", {.name = "a"});
  Node bb = Input({1, 3, 3, 5, 4}, "b,f,z,x,y", {.name = "bb"});
  Node cropped = Crop(a, {1, 1, 1});                  // (1,2,3,5,4)
  Node cat = Concat({cropped, bb});                   // (1,5,3,5,4)
  Node padded = Pad(cat, {0, 1, 2}, {.value = 0.25}); // (1,5,3,7,8)
  Node sq = ApplyFunc(bb, "square");
  Node sum = Add(bb, sq);
  Node prodn = MultMerge(sum, bb);
  Node ex = ApplyFunc(prodn, "exp");
  Array xa = randomArray({1, 2, 5, 7, 6}, 1),
        xb = randomArray({1, 3, 3, 5, 4}, 2);
  auto outs = run({padded, ex}, {{"a", xa}, {"bb", xb}});
  Shape5 as = shape5(xa.shape()), bs = shape5(xb.shape());
  Shape5 ps{{1, 5, 3, 7, 8}};
  std::vector<double> ref(ps.size(), 0.25);
  for (int64_t f = 0; f < 5; ++f)
    for (int64_t z = 0; z < 3; ++z)
      for (int64_t i = 0; i < 5; ++i)
        for (int64_t j = 0; j < 4; ++j) {
          double v = f < 2 ? xa.getFlat(as.at(0, f, z + 1, i + 1, j + 1))
                           : xb.getFlat(bs.at(0, f - 2, z, i, j));
          ref[ps.at(0, f, z, i + 1, j + 2)] = v;
        }
  ASSERT_EQ(outs[0].shape(), (std::vector<int64_t>{1, 5, 3, 7, 8}));
  EXPECT_LE(maxRelErr(outs[0], ref), kTol);
  std::vector<double> r2(xb.size());
  for (int64_t i = 0; i < xb.size(); ++i) {
    double v = xb.getFlat(i);
    r2[i] = std::exp((v + v * v) * v);
  }
  EXPECT_LE(maxRelErr(outs[1], r2), kTol);
}

TEST_F(Lowering, ApplyFunctions) {
  double worst = 0;
  for (std::string fn : {"log", "sqrt", "neg", "tanh", "elu", "soft+", "radius",
                         "selu", "sig"}) {
    SCOPED_TRACE(fn);
    model_manager.newmodel(name_ + "." + fn);
    Node a = Input({2, 3, 4}, "b,f,x", {.name = "a"});
    Node y = ApplyFunc(a, fn);
    bool positive = fn == "log" || fn == "sqrt";
    Array x = randomArray({2, 3, 4}, 5, positive ? 0.1f : -3.f, 3.f);
    auto outs = run({y}, {{"a", x}});
    std::vector<double> ref(x.size());
    for (int64_t i = 0; i < x.size(); ++i)
      ref[i] = activate(fn, x.getFlat(i));
    double e = maxRelErr(outs[0], ref);
    worst = std::max(worst, e);
    EXPECT_LE(e, kTol);
  }
  std::printf("ApplyFunctions: max rel err %.3g\n", worst);
}

TEST_F(Lowering, PerceptronOverFAndFlattened) {
  Node inp = Input({2, 3, 2, 3, 2}, "b,f,z,x,y", {.name = "image"});
  Array w1 = randomArray({3, 5}, 1), b1 = randomArray({5}, 2);
  Node d1 = Perceptron(inp, 5, {.activation_func = "tanh", .w = w1, .b = b1});
  Array w2 = randomArray({36, 4}, 3), b2 = randomArray({4}, 4);
  Node d2 = Perceptron(inp, 4,
                       {.activation_func = "relu",
                        .flatten = true,
                        .name = "flat",
                        .w = w2,
                        .b = b2});
  Array x = randomArray({2, 3, 2, 3, 2}, 5);
  auto outs = run({d1, d2}, {{"image", x}});
  int64_t S = 12;
  std::vector<double> r1(2 * 5 * S), r2(2 * 4);
  for (int64_t n = 0; n < 2; ++n) {
    for (int64_t j = 0; j < 5; ++j)
      for (int64_t s = 0; s < S; ++s) {
        double acc = b1.getFlat(j);
        for (int64_t i = 0; i < 3; ++i)
          acc += x.getFlat((n * 3 + i) * S + s) * w1.getFlat(i * 5 + j);
        r1[(n * 5 + j) * S + s] = std::tanh(acc);
      }
    for (int64_t j = 0; j < 4; ++j) {
      double acc = b2.getFlat(j);
      for (int64_t k = 0; k < 36; ++k)
        acc += x.getFlat(n * 36 + k) * w2.getFlat(k * 4 + j);
      r2[n * 4 + j] = std::max(acc, 0.0);
    }
  }
  ASSERT_EQ(outs[0].shape(), (std::vector<int64_t>{2, 5, 2, 3, 2}));
  EXPECT_LE(maxRelErr(outs[0], r1), kTol);
  ASSERT_EQ(outs[1].shape(), (std::vector<int64_t>{2, 4}));
  EXPECT_LE(maxRelErr(outs[1], r2), kTol);
}

//===----------------------------------------------------------------------===//
// The seed model's structure, reduced
//===----------------------------------------------------------------------===//

TEST_F(Lowering, ReducedSeedModelSoftmaxIsAProbabilityMap) {
  // examples::cnn3d's layers (same filters, pools and activations) with
  // fewer features and a smaller input.
  Node image = Input({1, 3, 9, 31, 31}, "b,f,z,x,y", {.name = "image"});
  Node conv0 = Conv(image, 4, {1, 6, 6}, {1, 2, 2});
  Node conv1 = Conv(conv0, 6, {4, 6, 6}, {2, 2, 2});
  Node conv2 = Conv(conv1, 5, {3, 3, 3}, {1, 1, 1}, {.activation_func = "lin"});
  Node pred = Softmax(conv2);
  Array x = Array::full({1, 3, 9, 31, 31}, 1.0);
  std::string ir;
  auto outs = run({pred}, {{"image", x}}, &ir);
  EXPECT_NE(ir.find("linalg.conv_3d_ndhwc_dhwcf"), std::string::npos);
  EXPECT_NE(ir.find("linalg.pooling_ndhwc_max"), std::string::npos);
  EXPECT_EQ(ir.find("nm."), ir.find("nm.name")) << "no nm op left";
  const Array &p = outs[0];
  ASSERT_EQ(p.shape(), (std::vector<int64_t>{1, 5, 1, 2, 2}));
  for (int64_t s = 0; s < 4; ++s) {
    double sum = 0;
    for (int64_t f = 0; f < 5; ++f) {
      double v = p.getFlat(f * 4 + s);
      EXPECT_GT(v, 0.0);
      EXPECT_LT(v, 1.0);
      sum += v;
    }
    EXPECT_NEAR(sum, 1.0, 1e-5);
  }
}

//===----------------------------------------------------------------------===//
// Diagnostics
//===----------------------------------------------------------------------===//

TEST_F(Lowering, UnsupportedOpsGetADiagnostic) {
  // 'fadeout' scales the batch statistics by the gradnet rate, a training
  // schedule that is not part of the graph.
  Node inp = Input({1, 2, 3, 5, 5}, "b,f,z,x,y", {.name = "image"});
  Node c = Conv(inp, 2, {1, 2, 2}, {}, {.batch_normalisation = "fadeout"});
  EXPECT_NE(lowerError({c}).find(
                "lowering of 'nm.conv' to linalg is not implemented yet "
                "(batch_normalisation = 'fadeout')"),
            std::string::npos)
      << lowerError({c});
}

TEST_F(Lowering, DynamicSizesAreRejected) {
  Node inp = Input({None, 2, 3, 5, 5}, "b,f,z,x,y", {.name = "image"});
  Node c = Conv(inp, 2, {1, 2, 2});
  EXPECT_NE(lowerError({c}).find(
                "dynamic sizes (None) must be fixed before compiling"),
            std::string::npos)
      << lowerError({c});
}

TEST_F(Lowering, SignatureNamesInputsParamsAndResults) {
  Node inp = Input({1, 2, 3, 5, 5}, "b,f,z,x,y", {.name = "image"});
  Node c = Conv(inp, 2, {1, 2, 2}, {}, {.name = "c0"});
  mlir::MLIRContext ctx;
  compiler::loadImporterDialects(ctx);
  auto module = compiler::importModel(ctx, {c}, "f");
  ASSERT_TRUE(module);
  ASSERT_TRUE(mlir::succeeded(compiler::lowerNmToLinalg(*module)));
  std::string ir;
  llvm::raw_string_ostream os(ir);
  module->print(os);
  EXPECT_NE(ir.find("{nm.name = \"image\"}"), std::string::npos) << ir;
  EXPECT_NE(ir.find("{nm.name = \"c0_w\", nm.parameter}"), std::string::npos)
      << ir;
  EXPECT_NE(ir.find("{nm.name = \"c0\"}"), std::string::npos) << ir;
  EXPECT_EQ(ir.find("#nm.tagged"), std::string::npos) << ir;
}
