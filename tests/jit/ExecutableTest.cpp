//===- ExecutableTest.cpp - the runtime ABI without any compiler ----------===//
//
// Links only //runtime:executable (no MLIR/LLVM): a hand-written packed
// function stands in for compiled code.
//
//===----------------------------------------------------------------------===//
#include "neuromancer/runtime/Executable.h"
#include "neuromancer/core/Error.h"
#include "neuromancer/runtime/Array.h"

#include "gtest/gtest.h"

using namespace nm;

namespace {

/// out[i] = x[i] * scale[0] + 1, packed ABI: args[i] -> bare pointer.
void scalePlusOne(void **args) {
  const float *x = *static_cast<const float **>(args[0]);
  const float *scale = *static_cast<const float **>(args[1]);
  float *out = *static_cast<float **>(args[2]);
  for (int i = 0; i < 6; ++i)
    out[i] = x[i] * scale[0] + 1;
}

Executable makeExecutable() {
  FunctionSignature sig;
  sig.entry = "scale_plus_one";
  sig.inputs = {{"image", {2, 3}, DType::Float32}};
  sig.parameters = {{"scale", {1}, DType::Float32}};
  sig.outputs = {{"out", {2, 3}, DType::Float32}};
  return Executable(sig, &scalePlusOne);
}

std::string typeErrorOf(const std::function<void()> &f) {
  try {
    f();
  } catch (const TypeError &e) {
    return e.what();
  }
  return "<no TypeError>";
}

} // namespace

TEST(Executable, CallsThePackedFunction) {
  Executable exe = makeExecutable();
  EXPECT_EQ(exe.signature().packedSymbol(), "_mlir_scale_plus_one");
  Array x = Array::fromVector({2, 3}, {0, 1, 2, 3, 4, 5});
  Array scale = Array::fromVector({1}, {2});
  Array out({2, 3});
  exe.call({&x}, {&scale}, {&out});
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(out.data<float>()[i], 2.f * i + 1);
}

TEST(Executable, WrongNumberOfInputs) {
  Executable exe = makeExecutable();
  Array x({2, 3}), scale({1}), out({2, 3});
  EXPECT_EQ(typeErrorOf([&] {
              exe.call({&x, &x}, {&scale}, {&out});
            }),
            "\n 1 inputs required, 2 were given.");
  EXPECT_EQ(typeErrorOf([&] { exe.call({}, {&scale}, {&out}); }),
            "\n 1 inputs required, 0 were given.");
  EXPECT_EQ(typeErrorOf([&] { exe.call({&x}, {&out}); }),
            "\n 1 parameters required, 0 were given.");
  EXPECT_EQ(typeErrorOf([&] { exe.call({&x}, {&scale}, {}); }),
            "\n 1 outputs required, 0 were given.");
}

TEST(Executable, WrongShape) {
  Executable exe = makeExecutable();
  Array x({3, 2}), scale({1}), out({2, 3});
  EXPECT_EQ(typeErrorOf([&] { exe.call({&x}, {&scale}, {&out}); }),
            "\nShapes (required - given):\n (2, 3) float32\t(3, 2) float32\n");
  Array badOut({6});
  EXPECT_EQ(typeErrorOf([&] {
              Array good({2, 3});
              exe.call({&good}, {&scale}, {&badOut});
            }),
            "\nShapes (required - given):\n (2, 3) float32\t(6,) float32\n");
}

TEST(Executable, WrongDtype) {
  Executable exe = makeExecutable();
  Array x({2, 3}, DType::Int16), scale({1}), out({2, 3});
  EXPECT_EQ(typeErrorOf([&] { exe.call({&x}, {&scale}, {&out}); }),
            "\nShapes (required - given):\n (2, 3) float32\t(2, 3) int16\n");
}

TEST(Executable, NullArrayIsReported) {
  Executable exe = makeExecutable();
  Array scale({1}), out({2, 3});
  EXPECT_EQ(typeErrorOf([&] { exe.call({nullptr}, {&scale}, {&out}); }),
            "\nShapes (required - given):\n (2, 3) float32\tNone None\n");
}

TEST(Executable, KeepsItsOwnerAlive) {
  auto owner = std::make_shared<int>(7);
  std::weak_ptr<int> watch = owner;
  {
    FunctionSignature sig;
    sig.entry = "f";
    Executable exe(sig, &scalePlusOne, owner);
    owner.reset();
    EXPECT_FALSE(watch.expired());
  }
  EXPECT_TRUE(watch.expired());
}
