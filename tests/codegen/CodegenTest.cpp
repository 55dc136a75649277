//===- CodegenTest.cpp - numerics and vectorisation of the CPU pipeline ---===//
#include "tests/codegen/TestModules.h"

#include "neuromancer/compiler/codegen/CodeGen.h"
#include "neuromancer/compiler/jit/JitLoader.h"
#include "neuromancer/runtime/Array.h"

#include "gtest/gtest.h"

#include <cstring>
#include <functional>
#include <numeric>
#include <regex>

using namespace nm;
using namespace nm::testing;

namespace {

struct Compiled {
  codegen::CompiledObject object;
  std::vector<std::shared_ptr<const Executable>> executables;

  const Executable &get(const std::string &entry) const {
    for (const auto &e : executables)
      if (e->signature().entry == entry)
        return *e;
    throw std::runtime_error("no entry " + entry);
  }
};

Compiled compile(const char *text, codegen::CompileOptions options = {}) {
  options.keepIntermediates = true;
  auto object = codegen::compileToObject(llvm::StringRef(text), options);
  if (!object)
    throw std::runtime_error(llvm::toString(object.takeError()));
  auto exes = jit::loadObject(object->object, object->functions);
  if (!exes)
    throw std::runtime_error(llvm::toString(exes.takeError()));
  return Compiled{std::move(*object), std::move(*exes)};
}

Array arrayOf(std::vector<int64_t> shape, const std::vector<float> &values) {
  return Array::fromVector(std::move(shape), values);
}

int count(const std::string &text, const std::string &needle) {
  int n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos;
       pos = text.find(needle, pos + 1))
    ++n;
  return n;
}

bool hasVectorFma(const std::string &llvmIR) {
  static const std::regex fma(R"(@llvm\.(fmuladd|fma)\.v[0-9]+f32)");
  return std::regex_search(llvmIR, fma);
}

/// Runs kConvWide's function on random inputs (seeds `xSeed`, `wSeed`) and
/// compares it with the plain-loop reference.
void expectConvWideMatchesReference(Compiled &c, int xSeed, int wSeed) {
  auto xv = randomVector(1 * 4 * 6 * 18 * 16, xSeed);
  auto wv = randomVector(3 * 3 * 3 * 16 * 32, wSeed);
  Array x = arrayOf({1, 4, 6, 18, 16}, xv), w = arrayOf({3, 3, 3, 16, 32}, wv);
  Array out({1, 2, 4, 16, 32});
  c.get("conv_wide").call({&x, &w}, {&out});
  EXPECT_LE(
      maxRelError(out.data<float>(),
                  referenceConv(xv, wv, {1, 4, 6, 18, 16}, {3, 3, 3, 16, 32})),
      1e-5);
}

/// Runs `entry` (conv + bias + relu, NDHWC input `xs`, DHWCF weights `ws`,
/// valid padding, stride 1) on random inputs and compares it with the
/// plain-loop reference.
void expectConvBiasReluMatchesReference(Compiled &c, const std::string &entry,
                                        std::vector<int64_t> xs,
                                        std::vector<int64_t> ws, unsigned seed,
                                        double bound) {
  auto product = [](const std::vector<int64_t> &v) {
    return std::accumulate(v.begin(), v.end(), int64_t(1),
                           std::multiplies<int64_t>());
  };
  int64_t f = ws[4];
  std::vector<int64_t> os{xs[0], xs[1] - ws[0] + 1, xs[2] - ws[1] + 1,
                          xs[3] - ws[2] + 1, f};
  auto xv = randomVector(product(xs), seed);
  auto wv = randomVector(product(ws), seed + 1, -0.1f, 0.1f);
  auto bv = randomVector(f, seed + 2, -0.5f, 0.5f);
  Array x = arrayOf(xs, xv), w = arrayOf(ws, wv), b = arrayOf({f}, bv);
  Array out = Array::full(os, 123.0);
  c.get(entry).call({&x, &w, &b}, {&out});
  std::vector<float> want = referenceConv(xv, wv, xs, ws);
  for (size_t i = 0; i < want.size(); ++i)
    want[i] = std::max(want[i] + bv[i % f], 0.f);
  EXPECT_LE(maxRelError(out.data<float>(), want), bound);
}

void expectConvWideWeightsMatchesReference(Compiled &c) {
  // Sums of 4800 products in float (in a different order than the
  // reference's): a few ulps of the largest output more than 1e-5.
  expectConvBiasReluMatchesReference(c, "conv_wide_weights",
                                     {1, 5, 11, 20, 100}, {3, 4, 4, 100, 112},
                                     51, 3e-5);
}

} // namespace

TEST(Codegen, ConvBiasReluMatchesReference) {
  Compiled c = compile(kConvBiasRelu);
  ASSERT_EQ(c.object.functions.size(), 1u);
  const FunctionSignature &sig = c.object.functions[0];
  EXPECT_EQ(sig.entry, "conv_bias_relu");
  ASSERT_EQ(sig.inputs.size(), 1u);
  EXPECT_EQ(sig.inputs[0].name, "image");
  EXPECT_EQ(sig.inputs[0].shape, (std::vector<int64_t>{1, 5, 7, 7, 3}));
  ASSERT_EQ(sig.parameters.size(), 2u);
  EXPECT_EQ(sig.parameters[0].name, "W");
  EXPECT_EQ(sig.parameters[1].shape, (std::vector<int64_t>{5}));
  ASSERT_EQ(sig.outputs.size(), 1u);
  EXPECT_EQ(sig.outputs[0].name, "out");
  EXPECT_EQ(sig.outputs[0].shape, (std::vector<int64_t>{1, 4, 5, 5, 5}));

  auto xv = randomVector(1 * 5 * 7 * 7 * 3, 1);
  auto wv = randomVector(2 * 3 * 3 * 3 * 5, 2);
  auto bv = randomVector(5, 3, -0.5f, 0.5f);
  Array x = arrayOf({1, 5, 7, 7, 3}, xv), w = arrayOf({2, 3, 3, 3, 5}, wv),
        b = arrayOf({5}, bv);
  Array out = Array::full({1, 4, 5, 5, 5}, 123.0); // every element written
  c.get("conv_bias_relu").call({&x}, {&w, &b}, {&out});

  std::vector<float> want =
      referenceConv(xv, wv, {1, 5, 7, 7, 3}, {2, 3, 3, 3, 5});
  int positives = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    want[i] = std::max(want[i] + bv[i % 5], 0.f);
    positives += want[i] > 0;
  }
  ASSERT_GT(positives, 50); // relu neither all-on nor all-off
  ASSERT_LT(positives, static_cast<int>(want.size()) - 50);
  EXPECT_LE(maxRelError(out.data<float>(), want), 1e-5);
}

TEST(Codegen, ConvIsVectorised) {
  Compiled c = compile(kConvBiasRelu);
  // Stage 1: no structured op is left for the scalar loop fallback; the
  // conv became contractions.
  EXPECT_EQ(count(c.object.vectorizedIR, "linalg."), 0)
      << c.object.vectorizedIR;
  EXPECT_GT(count(c.object.vectorizedIR, "vector.contract"), 0);
  // Stage 3: contractions became FMAs on vectors, accumulators are loop
  // carried (hoisted out of the window loops).
  EXPECT_EQ(count(c.object.loweredIR, "vector.contract"), 0);
  EXPECT_GT(count(c.object.loweredIR, "vector.fma"), 0);
  EXPECT_TRUE(hasVectorFma(c.object.llvmIR));
}

TEST(Codegen, WideConvUsesRegisterTile) {
  Compiled c = compile(kConvWide);
  // 8 x 32 register tile: 8 rows of 32-wide FMAs, iter_args accumulators.
  EXPECT_NE(c.object.loweredIR.find("vector<32xf32>"), std::string::npos);
  EXPECT_NE(c.object.loweredIR.find("iter_args"), std::string::npos);
  EXPECT_NE(c.object.llvmIR.find("@llvm.fmuladd.v32f32"), std::string::npos)
      << "expected 32-wide vector FMAs";
  expectConvWideMatchesReference(c, 4, 5);
}

TEST(Codegen, Conv2DStridedAndConv1D) {
  Compiled c = compile(kConv2D1D);
  EXPECT_EQ(count(c.object.vectorizedIR, "linalg."), 0)
      << c.object.vectorizedIR;
  EXPECT_TRUE(hasVectorFma(c.object.llvmIR));
  auto xv = randomVector(2 * 9 * 11 * 4, 6),
       wv = randomVector(3 * 2 * 4 * 6, 7);
  Array x = arrayOf({2, 9, 11, 4}, xv), w = arrayOf({3, 2, 4, 6}, wv);
  Array out({2, 4, 5, 6});
  c.get("conv2d").call({&x, &w}, {&out});
  EXPECT_LE(maxRelError(out.data<float>(),
                        referenceConv(xv, wv, {2, 9, 11, 4}, {3, 2, 4, 6},
                                      /*stride=*/2)),
            1e-5);

  auto x1 = randomVector(13 * 3, 8), w1 = randomVector(4 * 3 * 7, 9);
  Array a = arrayOf({1, 13, 3}, x1), k = arrayOf({4, 3, 7}, w1);
  Array y({1, 10, 7});
  c.get("conv1d").call({&a, &k}, {&y});
  EXPECT_LE(maxRelError(y.data<float>(),
                        referenceConv(x1, w1, {1, 13, 3}, {4, 3, 7})),
            1e-5);
}

TEST(Codegen, MatmulMatchesReference) {
  Compiled c = compile(kMatmul);
  EXPECT_TRUE(hasVectorFma(c.object.llvmIR));
  auto av = randomVector(13 * 24, 10), bv = randomVector(24 * 40, 11);
  Array a = arrayOf({13, 24}, av), b = arrayOf({24, 40}, bv);
  Array out = Array::full({13, 40}, -7.0);
  c.get("matmul").call({&a, &b}, {&out});
  EXPECT_LE(maxRelError(out.data<float>(), referenceMatmul(av, bv, 13, 24, 40)),
            1e-5);
}

TEST(Codegen, SoftmaxMatchesReference) {
  Compiled c = compile(kSoftmax);
  EXPECT_EQ(count(c.object.vectorizedIR, "linalg."), 0)
      << c.object.vectorizedIR;
  auto xv = randomVector(6 * 37, 12, -4.f, 4.f);
  Array x = arrayOf({6, 37}, xv);
  Array out({6, 37});
  c.get("softmax").call({&x}, {&out});
  // Relative to each value (floor 1e-4, far below the typical 1/37).
  EXPECT_LE(maxRelError(out.data<float>(), referenceSoftmax(xv, 6, 37), 1e-4),
            1e-5);
}

TEST(Codegen, ObjectIsPositionIndependentElf) {
  Compiled c = compile(kMatmul);
  ASSERT_GT(c.object.object.size(), 64u);
  EXPECT_EQ(std::memcmp(c.object.object.data(),
                        "\x7f"
                        "ELF",
                        4),
            0);
  EXPECT_EQ(c.object.object[4], 2); // ELFCLASS64
  EXPECT_FALSE(c.object.target.cpu.empty());
  EXPECT_NE(c.object.target.features.find("+"), std::string::npos);
}

TEST(Codegen, RejectsDynamicShapes) {
  const char *text = R"mlir(
func.func @f(%x: tensor<?xf32>) -> tensor<?xf32> { return %x : tensor<?xf32> }
)mlir";
  auto object = codegen::compileToObject(llvm::StringRef(text), {});
  ASSERT_FALSE(object);
  std::string message = llvm::toString(object.takeError());
  EXPECT_NE(message.find("statically shaped"), std::string::npos) << message;
}

TEST(Codegen, ReportsParseErrors) {
  auto object = codegen::compileToObject(llvm::StringRef("func.func @f("), {});
  ASSERT_FALSE(object);
  std::string message = llvm::toString(object.takeError());
  EXPECT_NE(message.find("cannot parse"), std::string::npos) << message;
}

// Tile sizes chosen per op travel as `nm.lowering_config` (IREE's
// lowering_config): an op that carries one keeps it.
TEST(Codegen, LoweringConfigAttributeIsHonoured) {
  std::string text = kConvWide;
  const std::string conv = "linalg.conv_3d_ndhwc_dhwcf {";
  size_t at = text.find(conv);
  ASSERT_NE(at, std::string::npos);
  // Loops n, od, oh, ow, f, kd, kh, kw, c: a 4 x 16 register tile, 8 input
  // channels per step.
  text.insert(at + conv.size(),
              "nm.lowering_config = {tile_sizes = array<i64: 1, 1, 1, 4, 16, "
              "1, 1, 1, 8>, peel = array<i1: false, false, false, false, "
              "false, false, false, false, false>, generalize = true}, ");
  Compiled c = compile(text.c_str());
  EXPECT_NE(c.object.loweredIR.find("vector<4x16xf32>"), std::string::npos)
      << c.object.loweredIR;
  EXPECT_EQ(c.object.loweredIR.find("vector<8x32xf32>"), std::string::npos);
  EXPECT_EQ(c.object.loweredIR.find("nm.lowering_config"), std::string::npos);
  expectConvWideMatchesReference(c, 41, 42);
}

// 112 output channels are serial tiles of 64 + 48; the 64-channel tile's
// weights (1.2 MB) exceed weightTileBytes, so the group is cut into 64
// channels (tiles of 32) + 48, each a conv -> epilogue group of its own.
TEST(Codegen, WideWeightChannelTilesAreSplit) {
  Compiled split = compile(kConvWideWeights);
  // Thread tasks of one 32-channel tile and of the 48-channel part.
  EXPECT_GT(count(split.object.bufferizedIR, "memref<1x1x1x17x32xf32>"), 0)
      << split.object.bufferizedIR;
  EXPECT_GT(count(split.object.bufferizedIR, "memref<1x1x1x17x48xf32>"), 0);
  EXPECT_EQ(count(split.object.bufferizedIR, "memref<1x1x1x17x64xf32>"), 0);
  // Both parts write into the one result: no copy of a part.
  EXPECT_EQ(count(split.object.bufferizedIR, "copy"), 0);
  expectConvWideWeightsMatchesReference(split);

  codegen::CompileOptions whole;
  whole.weightTileBytes = 0;
  Compiled c = compile(kConvWideWeights, whole);
  EXPECT_GT(count(c.object.bufferizedIR, "memref<1x1x1x17x64xf32>"), 0)
      << c.object.bufferizedIR;
  EXPECT_EQ(count(c.object.bufferizedIR, "memref<1x1x1x17x32xf32>"), 0);
  expectConvWideWeightsMatchesReference(c);
}

namespace {

/// `%r = relu(conv + %b)` over the conv's result `conv` of type `o` (%e:
/// an empty tensor of that type, %zero: 0.0, #id and #ch: the identity and
/// the channel maps).
std::string biasReluEpilogue(const std::string &conv, const std::string &o,
                             const std::string &b) {
  return "  %r = linalg.generic {indexing_maps = [#id, #ch, #id], "
         "iterator_types = [\"parallel\", \"parallel\", \"parallel\", "
         "\"parallel\", \"parallel\"]}\n"
         "     ins(" +
         conv + ", %b : " + o + ", " + b + ") outs(%e : " + o +
         ") {\n"
         "  ^bb0(%v: f32, %bias: f32, %o: f32):\n"
         "    %s = arith.addf %v, %bias : f32\n"
         "    %m = arith.maximumf %s, %zero : f32\n"
         "    linalg.yield %m : f32\n"
         "  } -> " +
         o + "\n";
}

/// A conv -> bias + relu module, entry `entry`: NDHWC input of shape `xs`,
/// DHWCF weights `ws`, valid padding, stride 1 (what
/// expectConvBiasReluMatchesReference checks).
std::string convBiasReluModule(const std::string &entry,
                               const std::vector<int64_t> &xs,
                               const std::vector<int64_t> &ws) {
  auto shape = [](const std::vector<int64_t> &dims) {
    std::string t = "tensor<";
    for (int64_t d : dims)
      t += std::to_string(d) + "x";
    return t + "f32>";
  };
  std::string x = shape(xs), w = shape(ws), b = shape({ws[4]});
  std::string o = shape(
      {xs[0], xs[1] - ws[0] + 1, xs[2] - ws[1] + 1, xs[3] - ws[2] + 1, ws[4]});
  return "#id = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>\n"
         "#ch = affine_map<(d0, d1, d2, d3, d4) -> (d4)>\n"
         "func.func @" +
         entry + "(%x: " + x + ", %w: " + w + ", %b: " + b + ") -> " + o +
         " {\n"
         "  %zero = arith.constant 0.0 : f32\n"
         "  %e = tensor.empty() : " +
         o +
         "\n"
         "  %f = linalg.fill ins(%zero : f32) outs(%e : " +
         o + ") -> " + o +
         "\n"
         "  %c = linalg.conv_3d_ndhwc_dhwcf {dilations = dense<1> : "
         "tensor<3xi64>, strides = dense<1> : tensor<3xi64>}\n"
         "     ins(%x, %w : " +
         x + ", " + w + ") outs(%f : " + o + ") -> " + o + "\n" +
         biasReluEpilogue("%c", o, b) + "  return %r : " + o +
         "\n"
         "}\n";
}

// A 1x1x1 conv (neuro3d's layer 10 at a small size): 13 vectors of output
// channels, 166 KB of weights.
const std::string kPointwiseConv =
    convBiasReluModule("pointwise", {1, 3, 4, 20, 200}, {1, 1, 1, 200, 208});

void expectPointwiseConvMatchesReference(Compiled &c) {
  expectConvBiasReluMatchesReference(c, "pointwise", {1, 3, 4, 20, 200},
                                     {1, 1, 1, 200, 208}, 61, 1e-5);
}

} // namespace

// A 1x1x1 conv whose weights are small has no serial channel loop: each
// thread task (an output row) runs the column tiles of all 208 channels on
// its input row while it is in L1, instead of streaming the row from L3
// once per channel tile. Measured on neuro3d at prediction size, layer 10:
// 26.9 -> 22.2 ms at 1 thread, 12.9 -> 11.6 ms at 2.
TEST(Codegen, PointwiseConvTasksRunEveryChannelOnTheirRow) {
  Compiled c = compile(kPointwiseConv.c_str());
  const std::string &ir = c.object.bufferizedIR;
  EXPECT_GT(count(ir, "memref<1x1x1x20x208xf32"), 0) << ir;
  EXPECT_EQ(count(ir, "memref<1x1x1x20x80xf32"), 0);
  expectPointwiseConvMatchesReference(c);

  // Weights over a quarter of the budget: channel tiles outside the rows.
  codegen::CompileOptions tight;
  tight.weightTileBytes = 4 * 200 * 208 * 4 - 4;
  Compiled tiled = compile(kPointwiseConv.c_str(), tight);
  EXPECT_GT(count(tiled.object.bufferizedIR, "memref<1x1x1x20x80xf32"), 0)
      << tiled.object.bufferizedIR;
  expectPointwiseConvMatchesReference(tiled);
}

namespace {

// The seed's 64-channel conv at a small size: two serial tiles of 32
// channels, whose weight rows (256 bytes apart, 128 used) alias in cache.
const std::string kConv64Channels =
    convBiasReluModule("conv64", {1, 3, 6, 20, 16}, {2, 2, 2, 16, 64});

} // namespace

// Weights of a channel tile whose rows fall on a fraction of the cache's
// sets get a contiguous buffer, copied once per tile before its thread
// loop. (kConvWideWeights' rows, 448 bytes apart, do not alias: no copy
// there, see WideWeightChannelTilesAreSplit.) Measured on the seed CNN:
// about 3 % faster by the fastest forward at 1 thread, 1.6 % at 2.
TEST(Codegen, ChannelTileWeightsThatAliasInCacheArePacked) {
  Compiled c = compile(kConv64Channels.c_str());
  const std::string &ir = c.object.bufferizedIR;
  EXPECT_EQ(count(ir, "memref.alloc() {alignment = 64 : i64} : "
                      "memref<2x2x2x16x32xf32>"),
            1)
      << ir;
  // Copied once per tile, before the thread-level loop that reads it.
  size_t alloc = ir.find("memref<2x2x2x16x32xf32>\n");
  size_t copy = ir.find("memref.copy", alloc);
  size_t threads = ir.find("scf.forall", copy);
  ASSERT_NE(alloc, std::string::npos) << ir;
  ASSERT_NE(copy, std::string::npos) << ir;
  ASSERT_NE(threads, std::string::npos) << ir;
  EXPECT_EQ(count(ir.substr(copy, threads - copy), "memref.copy"), 1) << ir;
  EXPECT_NE(ir.find("vector.transfer_read %alloc[", threads), std::string::npos)
      << ir;
  expectConvBiasReluMatchesReference(c, "conv64", {1, 3, 6, 20, 16},
                                     {2, 2, 2, 16, 64}, 71, 1e-5);
}

namespace {

/// NmToLinalg's layout of a conv with 20 output channels after one with 20
/// (both rounded up to 32): relu of a 32-channel input (the previous
/// layer's epilogue), its first 20 channels into a conv whose weights
/// [2, 2, 3, 20, 20] are padded with zeros to 32 output channels, then
/// bias + relu. `fromArgument`: the conv reads the first 20 channels of the
/// argument instead, whose other channels are unknown.
std::string channelTailModule(bool fromArgument) {
  std::string x = "tensor<1x4x5x15x32xf32>", c = "tensor<1x4x5x15x20xf32>",
              o = "tensor<1x3x4x13x32xf32>";
  std::string producer =
      fromArgument ? "  %xr = tensor.extract_slice %x[0, 0, 0, 0, 0] "
                     "[1, 4, 5, 15, 32] [1, 1, 1, 1, 1] : " +
                         x + " to " + x + "\n"
                   : "  %ex = tensor.empty() : " + x +
                         "\n"
                         "  %xr = linalg.generic {indexing_maps = [#id, #id], "
                         "iterator_types = [\"parallel\", \"parallel\", "
                         "\"parallel\", \"parallel\", \"parallel\"]}\n"
                         "     ins(%x : " +
                         x + ") outs(%ex : " + x +
                         ") {\n"
                         "  ^bb0(%v: f32, %o: f32):\n"
                         "    %m = arith.maximumf %v, %zero : f32\n"
                         "    linalg.yield %m : f32\n"
                         "  } -> " +
                         x + "\n";
  return "#id = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>\n"
         "#ch = affine_map<(d0, d1, d2, d3, d4) -> (d4)>\n"
         "func.func @tail(%x: " +
         x + ", %w: tensor<2x2x3x20x20xf32>, %b: tensor<32xf32>) -> " + o +
         " {\n"
         "  %zero = arith.constant 0.0 : f32\n" +
         producer + "  %xs = tensor.extract_slice %xr[0, 0, 0, 0, 0] " +
         "[1, 4, 5, 15, 20] [1, 1, 1, 1, 1] : " + x + " to " + c +
         "\n"
         "  %wp = tensor.pad %w low[0, 0, 0, 0, 0] high[0, 0, 0, 0, 12] {\n"
         "  ^bb0(%i0: index, %i1: index, %i2: index, %i3: index, %i4: "
         "index):\n"
         "    tensor.yield %zero : f32\n"
         "  } : tensor<2x2x3x20x20xf32> to tensor<2x2x3x20x32xf32>\n"
         "  %e = tensor.empty() : " +
         o + "\n  %f = linalg.fill ins(%zero : f32) outs(%e : " + o + ") -> " +
         o +
         "\n"
         "  %conv = linalg.conv_3d_ndhwc_dhwcf {dilations = dense<1> : "
         "tensor<3xi64>, strides = dense<1> : tensor<3xi64>}\n"
         "     ins(%xs, %wp : " +
         c + ", tensor<2x2x3x20x32xf32>) outs(%f : " + o + ") -> " + o + "\n" +
         biasReluEpilogue("%conv", o, "tensor<32xf32>") + "  return %r : " + o +
         "\n}\n";
}

/// Runs channelTailModule's function with random inputs and compares all
/// 32 channels with the reference (channels 20-31: relu of the bias).
void expectChannelTailMatchesReference(Compiled &c, bool fromArgument) {
  std::vector<int64_t> xs{1, 4, 5, 15, 32}, ws{2, 2, 3, 20, 20};
  auto xv = randomVector(1 * 4 * 5 * 15 * 32, 91);
  auto wv = randomVector(2 * 2 * 3 * 20 * 20, 92, -0.2f, 0.2f);
  auto bv = randomVector(32, 93, -0.5f, 0.5f);
  Array x = arrayOf(xs, xv), w = arrayOf(ws, wv), b = arrayOf({32}, bv);
  Array out = Array::full({1, 3, 4, 13, 32}, 123.0);
  c.get("tail").call({&x, &w, &b}, {&out});
  std::vector<float> conv20;
  for (size_t i = 0; i < xv.size(); ++i)
    if (i % 32 < 20)
      conv20.push_back(fromArgument ? xv[i] : std::max(xv[i], 0.f));
  std::vector<float> y = referenceConv(conv20, wv, {1, 4, 5, 15, 20}, ws);
  std::vector<float> want;
  for (size_t p = 0; p < y.size() / 20; ++p)
    for (int f = 0; f < 32; ++f)
      want.push_back(std::max((f < 20 ? y[p * 20 + f] : 0.f) + bv[f], 0.f));
  EXPECT_LE(maxRelError(out.data<float>(), want), 1e-5);
}

} // namespace

// 20 output channels are computed as one vector of 16 and a tail of 4
// (splitChannelTails): the tail's register tile holds rows x 4 channels x
// 16 lanes of partial sums over input channels, instead of a 16-lane
// column with 12 lanes of zero weights; the partial sums stay in the
// thread's tile, whose lane sums lead the group. Measured on neuro3d at
// prediction size (tails of 4, 6 and 8 channels in layers 3 and 5-9):
// 2189 -> 2126 ms per forward at 1 thread, 1141 -> 1071 ms at 2 (sums of
// per-loop minima).
TEST(Codegen, ChannelTailIsComputedAcrossInputChannels) {
  Compiled c = compile(channelTailModule(false).c_str());
  const std::string &ir = c.object.vectorizedIR;
  // Rows of 6 x 4 tail channels x 16 lanes (13 rows: a peeled remainder
  // row, which the numerics below check).
  EXPECT_GT(count(ir, "vector<6x4x16xf32>"), 0) << ir;
  // The conv itself keeps 16 channels.
  EXPECT_GT(count(ir, "tensor<1x3x4x13x16xf32>"), 0) << ir;
  // The partial sums of a thread's row, not of the whole output.
  EXPECT_GT(count(ir, "tensor.empty() : tensor<1x1x1x13x4x16xf32>"), 0) << ir;
  EXPECT_EQ(count(ir, "tensor<1x3x4x13x4x16xf32>"), 0) << ir;
  expectChannelTailMatchesReference(c, false);

  codegen::CompileOptions none;
  none.channelTailMax = 0;
  Compiled whole = compile(channelTailModule(false).c_str(), none);
  EXPECT_EQ(count(whole.object.vectorizedIR, "x4x16xf32>"), 0);
  expectChannelTailMatchesReference(whole, false);

  // A tail of 4 is above a limit of 3.
  codegen::CompileOptions three;
  three.channelTailMax = 3;
  EXPECT_EQ(
      count(
          compile(channelTailModule(false).c_str(), three).object.vectorizedIR,
          "x4x16xf32>"),
      0);
}

// The tail reads the input in whole vectors, the channels past the 20 it
// uses too (times zero weights). Those of an argument may hold anything
// (NaN times 0 is NaN), so a conv on an argument's first channels keeps
// its 16-lane column.
TEST(Codegen, ChannelTailNeedsAnInputComputedInFull) {
  Compiled c = compile(channelTailModule(true).c_str());
  EXPECT_EQ(count(c.object.vectorizedIR, "x4x16xf32>"), 0)
      << c.object.vectorizedIR;
  expectChannelTailMatchesReference(c, true);
}

// The fill that initialises a fused conv is fused into each register tile:
// the accumulators start as zero vectors in registers, no tile of zeros is
// written to memory (and read back) first.
TEST(Codegen, ConvAccumulatorsStartFromZeroVectors) {
  Compiled c = compile(kConvWideWeights);
  const std::string &ir = c.object.bufferizedIR;
  EXPECT_EQ(count(ir, "linalg.fill") + count(ir, "linalg.map"), 0) << ir;
  static const std::regex zeroStore(
      R"(vector\.transfer_write %cst[_0-9]*, %alloc)");
  EXPECT_FALSE(std::regex_search(ir, zeroStore)) << ir;
  static const std::regex zeroAccumulators(R"(iter_args\(%arg[0-9]+ = %cst)");
  EXPECT_TRUE(std::regex_search(ir, zeroAccumulators)) << ir;
}

// LLVM code generation split over threads: the object is an ar archive of
// one ELF object per part, which the JIT loads member by member; with one
// thread it is one ELF object (what `neuromancer compile` writes).
TEST(Codegen, SplitCodegenIsAnArchiveOfObjects) {
  auto startsWith = [](const std::vector<char> &bytes, const char *magic) {
    return bytes.size() >= std::strlen(magic) &&
           std::memcmp(bytes.data(), magic, std::strlen(magic)) == 0;
  };
  codegen::CompileOptions split;
  split.codegenThreads = 2;
  Compiled parts = compile(kConvWideWeights, split);
  EXPECT_TRUE(startsWith(parts.object.object, "!<arch>\n"));
  expectConvWideWeightsMatchesReference(parts);

  codegen::CompileOptions one;
  one.codegenThreads = 1;
  Compiled whole = compile(kConvWideWeights, one);
  EXPECT_TRUE(startsWith(whole.object.object, "\x7f"
                                              "ELF"));
  expectConvWideWeightsMatchesReference(whole);
}

// Weights padded to whole vectors and given their unit dims back: the pad
// is a fill plus row copies (inline memcpy) straight into the result, not a
// buffer of its own copied whole, nor scalar copy loops.
TEST(Codegen, PaddedWeightsAreCopiedByRowsInPlace) {
  const char *text = R"mlir(
func.func @pad_rows(%w: tensor<5x5x20x30xf32>) -> tensor<1x5x5x20x32xf32> {
  %zero = arith.constant 0.0 : f32
  %p = tensor.pad %w low[0, 0, 0, 0] high[0, 0, 0, 2] {
  ^bb0(%a: index, %b: index, %c: index, %d: index):
    tensor.yield %zero : f32
  } : tensor<5x5x20x30xf32> to tensor<5x5x20x32xf32>
  %e = tensor.empty() : tensor<1x5x5x20x32xf32>
  %r = tensor.insert_slice %p into %e[0, 0, 0, 0, 0] [1, 5, 5, 20, 32] [1, 1, 1, 1, 1]
     : tensor<5x5x20x32xf32> into tensor<1x5x5x20x32xf32>
  return %r : tensor<1x5x5x20x32xf32>
}
)mlir";
  Compiled c = compile(text);
  const std::string &ir = c.object.bufferizedIR;
  EXPECT_EQ(count(ir, "linalg.copy"), 0) << ir;
  EXPECT_EQ(count(ir, "memref.alloc"), 0) << ir;
  EXPECT_EQ(count(ir, "memref.copy"), count(ir, "memref.copy %subview")) << ir;
  EXPECT_GT(count(ir, "to memref<30xf32, strided<[1], offset: ?>>"), 0) << ir;

  auto wv = randomVector(5 * 5 * 20 * 30, 61);
  Array w = arrayOf({5, 5, 20, 30}, wv);
  Array out = Array::full({1, 5, 5, 20, 32}, 123.0);
  c.get("pad_rows").call({&w}, {&out});
  const float *o = out.data<float>();
  int wrong = 0;
  for (int64_t row = 0; row < 5 * 5 * 20; ++row)
    for (int64_t ch = 0; ch < 32; ++ch)
      wrong += o[row * 32 + ch] != (ch < 30 ? wv[row * 30 + ch] : 0.f);
  EXPECT_EQ(wrong, 0);
}
