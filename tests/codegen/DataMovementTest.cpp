//===- DataMovementTest.cpp - pad, transpose, insert_slice, copies --------===//
//
// Regression tests of codegen bugs that the nm lowering once had to work
// around with gathers:
//  - tensor.pad and offset/strided insert_slice bufferize to memref.copy
//    between non-contiguous buffers, which lowered to a call of MLIR's
//    `memrefCopy` (not linked into our objects);
//  - linalg.transpose sent the buffer-level vector lowering into an endless
//    rewrite (transpose <-> shape_cast) that ate all memory;
//  - upstream's vectorisation of tensor.insert_slice ignores strides and
//    non-leading dropped dims and wrote the source to the wrong place.
//
//===----------------------------------------------------------------------===//
#include "tests/codegen/TestModules.h"

#include "neuromancer/compiler/codegen/CodeGen.h"
#include "neuromancer/compiler/jit/JitLoader.h"
#include "neuromancer/runtime/Array.h"

#include "gtest/gtest.h"

using namespace nm;
using namespace nm::testing;

namespace {

std::vector<std::shared_ptr<const Executable>> load(const char *text) {
  auto object = codegen::compileToObject(llvm::StringRef(text), {});
  if (!object)
    throw std::runtime_error(llvm::toString(object.takeError()));
  auto exes = jit::loadObject(object->object, object->functions);
  if (!exes)
    throw std::runtime_error(llvm::toString(exes.takeError()));
  return std::move(*exes);
}

const Executable &entry(const std::vector<std::shared_ptr<const Executable>> &e,
                        const std::string &name) {
  for (const auto &x : e)
    if (x->signature().entry == name)
      return *x;
  throw std::runtime_error("no entry " + name);
}

constexpr const char *kPad = R"mlir(
func.func @pad(%x: tensor<1x3x5x9x8xf32>) -> tensor<1x5x9x13x8xf32> {
  %c = arith.constant 0.5 : f32
  %p = tensor.pad %x low[0, 1, 2, 3, 0] high[0, 1, 2, 1, 0] {
  ^bb0(%a: index, %b: index, %cc: index, %d: index, %e: index):
    tensor.yield %c : f32
  } : tensor<1x3x5x9x8xf32> to tensor<1x5x9x13x8xf32>
  return %p : tensor<1x5x9x13x8xf32>
}
)mlir";

TEST(DataMovement, PadMatchesReference) {
  auto exes = load(kPad);
  auto xv = randomVector(3 * 5 * 9 * 8, 21);
  Array x = Array::fromVector({1, 3, 5, 9, 8}, xv);
  Array out({1, 5, 9, 13, 8});
  entry(exes, "pad").call({&x}, {&out});
  const float *o = out.data<float>();
  int64_t bad = 0;
  for (int64_t d = 0; d < 5; ++d)
    for (int64_t h = 0; h < 9; ++h)
      for (int64_t w = 0; w < 13; ++w)
        for (int64_t c = 0; c < 8; ++c) {
          int64_t sd = d - 1, sh = h - 2, sw = w - 3;
          bool inside =
              sd >= 0 && sd < 3 && sh >= 0 && sh < 5 && sw >= 0 && sw < 9;
          float want = inside ? xv[((sd * 5 + sh) * 9 + sw) * 8 + c] : 0.5f;
          bad += o[((d * 9 + h) * 13 + w) * 8 + c] != want;
        }
  EXPECT_EQ(bad, 0);
}

constexpr const char *kTranspose = R"mlir(
func.func @transpose(%x: tensor<1x3x5x9x8xf32>) -> tensor<1x8x3x5x9xf32> {
  %e = tensor.empty() : tensor<1x8x3x5x9xf32>
  %t = linalg.transpose ins(%x : tensor<1x3x5x9x8xf32>)
       outs(%e : tensor<1x8x3x5x9xf32>) permutation = [0, 4, 1, 2, 3]
  return %t : tensor<1x8x3x5x9xf32>
}
func.func @transpose_big(%x: tensor<2x37x45x33xf32>) -> tensor<2x33x37x45xf32> {
  %e = tensor.empty() : tensor<2x33x37x45xf32>
  %t = linalg.transpose ins(%x : tensor<2x37x45x33xf32>)
       outs(%e : tensor<2x33x37x45xf32>) permutation = [0, 3, 1, 2]
  return %t : tensor<2x33x37x45xf32>
}
)mlir";

TEST(DataMovement, TransposesMatchReference) {
  auto exes = load(kTranspose);
  {
    auto xv = randomVector(3 * 5 * 9 * 8, 22);
    Array x = Array::fromVector({1, 3, 5, 9, 8}, xv);
    Array out({1, 8, 3, 5, 9});
    entry(exes, "transpose").call({&x}, {&out});
    int64_t bad = 0;
    for (int64_t c = 0; c < 8; ++c)
      for (int64_t i = 0; i < 3 * 5 * 9; ++i)
        bad += out.data<float>()[c * 135 + i] != xv[i * 8 + c];
    EXPECT_EQ(bad, 0);
  }
  {
    auto xv = randomVector(2 * 37 * 45 * 33, 23);
    Array x = Array::fromVector({2, 37, 45, 33}, xv);
    Array out({2, 33, 37, 45});
    entry(exes, "transpose_big").call({&x}, {&out});
    int64_t bad = 0;
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t c = 0; c < 33; ++c)
        for (int64_t i = 0; i < 37 * 45; ++i)
          bad += out.data<float>()[(n * 33 + c) * 1665 + i] !=
                 xv[(n * 1665 + i) * 33 + c];
    EXPECT_EQ(bad, 0);
  }
}

// Strided, offset and rank-reducing (non-leading dropped dim) inserts, into
// a destination that is a function argument (must stay unmodified) and into
// a computed tensor.
constexpr const char *kInsertSlice = R"mlir(
func.func @strided(%a: tensor<2x3x4xf32>, %d: tensor<2x7x9xf32>) -> tensor<2x7x9xf32> {
  %r = tensor.insert_slice %a into %d[0, 1, 0] [2, 3, 4] [1, 2, 2]
       : tensor<2x3x4xf32> into tensor<2x7x9xf32>
  return %r : tensor<2x7x9xf32>
}
func.func @dropped(%a: tensor<8x4xf32>) -> tensor<8x5x4xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x5x4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<8x5x4xf32>) -> tensor<8x5x4xf32>
  %r = tensor.insert_slice %a into %f[0, 3, 0] [8, 1, 4] [1, 1, 1]
       : tensor<8x4xf32> into tensor<8x5x4xf32>
  return %r : tensor<8x5x4xf32>
}
func.func @strided_computed(%a: tensor<4x6xf32>) -> tensor<8x12xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x12xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<8x12xf32>) -> tensor<8x12xf32>
  %e2 = tensor.empty() : tensor<4x6xf32>
  %sq = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                        iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<4x6xf32>) outs(%e2 : tensor<4x6xf32>) {
    ^bb0(%x: f32, %o: f32):
      %m = arith.mulf %x, %x : f32
      linalg.yield %m : f32
  } -> tensor<4x6xf32>
  %r = tensor.insert_slice %sq into %f[1, 0] [4, 6] [2, 2]
       : tensor<4x6xf32> into tensor<8x12xf32>
  return %r : tensor<8x12xf32>
}
)mlir";

TEST(DataMovement, InsertSliceHonoursStridesAndDroppedDims) {
  auto exes = load(kInsertSlice);
  {
    auto av = randomVector(2 * 3 * 4, 24), dv = randomVector(2 * 7 * 9, 25);
    Array a = Array::fromVector({2, 3, 4}, av),
          d = Array::fromVector({2, 7, 9}, dv);
    Array out({2, 7, 9});
    entry(exes, "strided").call({&a, &d}, {&out});
    std::vector<float> want = dv;
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t i = 0; i < 3; ++i)
        for (int64_t j = 0; j < 4; ++j)
          want[(n * 7 + 1 + 2 * i) * 9 + 2 * j] = av[(n * 3 + i) * 4 + j];
    EXPECT_EQ(maxRelError(out.data<float>(), want), 0.0);
    EXPECT_EQ(maxRelError(d.data<float>(), dv), 0.0)
        << "the destination argument was modified";
  }
  {
    auto av = randomVector(8 * 4, 26);
    Array a = Array::fromVector({8, 4}, av);
    Array out = Array::full({8, 5, 4}, 9.0);
    entry(exes, "dropped").call({&a}, {&out});
    std::vector<float> want(8 * 5 * 4, 0.f);
    for (int64_t i = 0; i < 8; ++i)
      for (int64_t j = 0; j < 4; ++j)
        want[(i * 5 + 3) * 4 + j] = av[i * 4 + j];
    EXPECT_EQ(maxRelError(out.data<float>(), want), 0.0);
  }
  {
    auto av = randomVector(4 * 6, 27);
    Array a = Array::fromVector({4, 6}, av);
    Array out = Array::full({8, 12}, 9.0);
    entry(exes, "strided_computed").call({&a}, {&out});
    std::vector<float> want(8 * 12, 0.f);
    for (int64_t i = 0; i < 4; ++i)
      for (int64_t j = 0; j < 6; ++j)
        want[(1 + 2 * i) * 12 + 2 * j] = av[i * 6 + j] * av[i * 6 + j];
    EXPECT_EQ(maxRelError(out.data<float>(), want), 0.0);
  }
}

} // namespace
