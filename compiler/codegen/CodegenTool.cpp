//===- CodegenTool.cpp - compile, check and time a linalg module ----------===//
//
// A developer tool (not installed, tagged manual):
//
//   nm-codegen FILE.mlir [--dump=vec|lowered|llvm] [--check] [--time=N]
//              [--threads=T] [--no-vectorize] [--no-parallel] [--obj=FILE]
//              [--rows=R] [--cols=C] [--red=K] [--opt=O]
//              [--weight-tile-bytes=B] [--channel-tail=T]
//              [--codegen-threads=N]
//
// compiles every public function of FILE (linalg on static tensors) with
// compiler/codegen, optionally prints an intermediate stage, runs each
// function on random inputs, compares it (--check) with the same module
// compiled without the tiling/vectorisation schedule (scalar loops), and
// prints the median of N timed calls.
//
//===----------------------------------------------------------------------===//
#include "neuromancer/compiler/codegen/CodeGen.h"
#include "neuromancer/compiler/jit/JitLoader.h"
#include "neuromancer/runtime/Array.h"
#include "neuromancer/runtime/ThreadPool.h"

#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>

using namespace nm;

namespace {

std::vector<Array> randomArrays(const std::vector<ArgSpec> &specs,
                                unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(-1, 1);
  std::vector<Array> arrays;
  for (const ArgSpec &s : specs) {
    Array a(s.shape, s.dtype);
    for (int64_t i = 0; i < a.size(); ++i)
      a.setFlat(i, isFloat(a.dtype()) ? dist(gen) : double(gen() % 2));
    arrays.push_back(std::move(a));
  }
  return arrays;
}

struct Run {
  std::vector<Array> outputs;
  std::vector<double> seconds;
};

Run run(const Executable &exe, const std::vector<Array> &inputs,
        const std::vector<Array> &params, int times) {
  Run r;
  for (const ArgSpec &s : exe.signature().outputs)
    r.outputs.emplace_back(s.shape, s.dtype);
  std::vector<const Array *> in, pa;
  std::vector<Array *> out;
  for (const Array &a : inputs)
    in.push_back(&a);
  for (const Array &a : params)
    pa.push_back(&a);
  for (Array &a : r.outputs)
    out.push_back(&a);
  for (int i = 0; i < std::max(times, 1); ++i) {
    auto t0 = std::chrono::steady_clock::now();
    exe.call(in, pa, out);
    r.seconds.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count());
  }
  return r;
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: nm-codegen FILE.mlir [--dump=vec|lowered|llvm] "
                 "[--check] [--time=N] [--threads=T] [--no-vectorize]\n");
    return 2;
  }
  std::string dump, objPath;
  bool check = false;
  int times = 0;
  codegen::CompileOptions options;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    try {
      if (a.rfind("--dump=", 0) == 0)
        dump = a.substr(7);
      else if (a == "--check")
        check = true;
      else if (a.rfind("--time=", 0) == 0)
        times = std::stoi(a.substr(7));
      else if (a.rfind("--threads=", 0) == 0)
        nm_runtime_set_num_threads(std::stoi(a.substr(10)));
      else if (a == "--no-vectorize")
        options.vectorize = false;
      else if (a.rfind("--rows=", 0) == 0)
        options.tileRows = std::stoi(a.substr(7));
      else if (a.rfind("--cols=", 0) == 0)
        options.tileCols = std::stoi(a.substr(7));
      else if (a.rfind("--opt=", 0) == 0)
        options.optLevel = std::stoi(a.substr(6));
      else if (a.rfind("--red=", 0) == 0)
        options.tileReduction = std::stoi(a.substr(6));
      else if (a.rfind("--weight-tile-bytes=", 0) == 0)
        options.weightTileBytes = std::stoll(a.substr(20));
      else if (a.rfind("--channel-tail=", 0) == 0)
        options.channelTailMax = std::stoll(a.substr(15));
      else if (a.rfind("--codegen-threads=", 0) == 0)
        options.codegenThreads = std::stoi(a.substr(18));
      else if (a.rfind("--obj=", 0) == 0)
        objPath = a.substr(6);
      else if (a == "--no-parallel")
        options.parallel = false;
      else {
        std::fprintf(stderr, "unknown option %s\n", a.c_str());
        return 2;
      }
    } catch (const std::exception &) { // std::stoi / std::stoll
      std::fprintf(stderr, "option %s: the value is not a number\n", a.c_str());
      return 2;
    }
  }
  auto file = llvm::MemoryBuffer::getFile(argv[1]);
  if (!file) {
    std::fprintf(stderr, "cannot read %s\n", argv[1]);
    return 1;
  }
  options.keepIntermediates = !dump.empty();
  auto compiled = codegen::compileToObject((*file)->getBuffer(), options);
  if (!compiled) {
    std::fprintf(stderr, "%s\n", llvm::toString(compiled.takeError()).c_str());
    return 1;
  }
  std::fprintf(stderr, "compiled in %.3f s\n", compiled->seconds);
  if (!objPath.empty()) {
    FILE *f = std::fopen(objPath.c_str(), "wb");
    if (f) {
      std::fwrite(compiled->object.data(), 1, compiled->object.size(), f);
      std::fclose(f);
    }
  }
  if (dump == "vec")
    std::printf("%s\n", compiled->vectorizedIR.c_str());
  else if (dump == "buf")
    std::printf("%s\n", compiled->bufferizedIR.c_str());
  else if (dump == "lowered")
    std::printf("%s\n", compiled->loweredIR.c_str());
  else if (dump == "llvm")
    std::printf("%s\n", compiled->llvmIR.c_str());
  if (!check && times == 0)
    return 0;
  auto exes = jit::loadObject(compiled->object, compiled->functions);
  if (!exes) {
    std::fprintf(stderr, "%s\n", llvm::toString(exes.takeError()).c_str());
    return 1;
  }
  std::vector<std::shared_ptr<const Executable>> refs;
  if (check) {
    codegen::CompileOptions ro = options;
    ro.vectorize = false;
    ro.parallel = false;
    ro.keepIntermediates = false;
    auto reference = codegen::compileToObject((*file)->getBuffer(), ro);
    if (!reference) {
      std::fprintf(stderr, "reference: %s\n",
                   llvm::toString(reference.takeError()).c_str());
      return 1;
    }
    auto r = jit::loadObject(reference->object, reference->functions);
    if (!r) {
      std::fprintf(stderr, "%s\n", llvm::toString(r.takeError()).c_str());
      return 1;
    }
    refs = std::move(*r);
  }
  if (std::getenv("NM_CODEGEN_PRINT_ENTRY"))
    for (const auto &e : *exes)
      std::fprintf(stderr, "entry %s at %p\n",
                   e->signature().packedSymbol().c_str(),
                   reinterpret_cast<void *>(e->function()));
  int status = 0;
  for (size_t f = 0; f < exes->size(); ++f) {
    const Executable &exe = *(*exes)[f];
    const FunctionSignature &sig = exe.signature();
    std::vector<Array> inputs = randomArrays(sig.inputs, 1);
    std::vector<Array> params = randomArrays(sig.parameters, 2);
    Run got = run(exe, inputs, params, times ? times + 1 : 1);
    if (check) {
      Run want = run(*refs[f], inputs, params, 1);
      double worst = 0;
      for (size_t o = 0; o < want.outputs.size(); ++o)
        for (int64_t i = 0; i < want.outputs[o].size(); ++i) {
          double w = want.outputs[o].getFlat(i), g = got.outputs[o].getFlat(i);
          double err = std::fabs(g - w) / std::max(1.0, std::fabs(w));
          if (!(err <= worst))
            worst = std::isnan(err) ? INFINITY : err;
        }
      std::printf("%s: max rel error vs scalar reference %.3g%s\n",
                  sig.entry.c_str(), worst, worst > 1e-4 ? "  MISMATCH" : "");
      if (worst > 1e-4)
        status = 1;
    }
    if (times) {
      std::vector<double> s(got.seconds.begin() + 1, got.seconds.end());
      std::sort(s.begin(), s.end());
      std::printf("%s: median %.3f ms (min %.3f, max %.3f) over %d, %d "
                  "threads\n",
                  sig.entry.c_str(), 1e3 * s[s.size() / 2], 1e3 * s.front(),
                  1e3 * s.back(), times, nm_runtime_get_num_threads());
    }
  }
  return status;
}
