//===- CacheTest.cpp - first-call compilation and the compile cache -------===//
#include "tests/codegen/TestModules.h"

#include "neuromancer/compiler/codegen/CodeGen.h"
#include "neuromancer/compiler/jit/CompileCache.h"
#include "neuromancer/core/Error.h"
#include "neuromancer/core/Log.h"
#include "neuromancer/runtime/Array.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include "gtest/gtest.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace fs = std::filesystem;
using namespace nm;
using namespace nm::testing;

namespace {

/// A fresh, empty directory under the test's temp dir.
fs::path freshDir(const std::string &name) {
  const char *base = std::getenv("TEST_TMPDIR");
  fs::path dir = fs::path(base ? base : fs::temp_directory_path().string()) /
                 ("cache-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::vector<fs::path> filesWithExtension(const fs::path &dir,
                                         const std::string &ext) {
  std::vector<fs::path> out;
  for (const auto &e : fs::directory_iterator(dir))
    if (e.path().extension() == ext)
      out.push_back(e.path());
  return out;
}

int occurrences(const std::string &text, const std::string &needle) {
  int n = 0;
  for (size_t p = text.find(needle); p != std::string::npos;
       p = text.find(needle, p + 1))
    ++n;
  return n;
}

/// Runs the conv module through `exe`; true when it matches the reference.
bool convIsCorrect(const Executable &exe, unsigned seed = 1) {
  auto xv = randomVector(1 * 5 * 7 * 7 * 3, seed);
  auto wv = randomVector(2 * 3 * 3 * 3 * 5, seed + 1);
  auto bv = randomVector(5, seed + 2);
  Array x = Array::fromVector({1, 5, 7, 7, 3}, xv);
  Array w = Array::fromVector({2, 3, 3, 3, 5}, wv);
  Array b = Array::fromVector({5}, bv);
  Array out = Array::full({1, 4, 5, 5, 5}, 99.0);
  exe.call({&x}, {&w, &b}, {&out});
  auto want = referenceConv(xv, wv, {1, 5, 7, 7, 3}, {2, 3, 3, 3, 5});
  for (size_t i = 0; i < want.size(); ++i)
    want[i] = std::max(want[i] + bv[i % 5], 0.f);
  return maxRelError(out.data<float>(), want) <= 1e-5;
}

struct HelperRun {
  int status = -1;
  std::string output;
};

HelperRun runHelper(const fs::path &cacheDir) {
  const auto &argv = ::testing::internal::GetArgvs();
  EXPECT_GE(argv.size(), 2u) << "pass the helper's path as argument";
  std::string command = "NEUROMANCER_CACHE_DIR='" + cacheDir.string() + "' '" +
                        argv.at(1) + "' 2>&1";
  HelperRun run;
  FILE *pipe = ::popen(command.c_str(), "r");
  if (!pipe)
    return run;
  char buf[512];
  while (std::fgets(buf, sizeof buf, pipe))
    run.output += buf;
  run.status = ::pclose(pipe);
  return run;
}

} // namespace

TEST(CompileCache, SecondProcessCompilesNothing) {
  fs::path dir = freshDir("two-processes");
  HelperRun first = runHelper(dir);
  ASSERT_EQ(first.status, 0) << first.output;
  EXPECT_NE(first.output.find("compiles=1 disk_hits=0"), std::string::npos)
      << first.output;
  EXPECT_EQ(filesWithExtension(dir, ".json").size(), 1u);
  EXPECT_EQ(filesWithExtension(dir, ".o").size(), 1u);

  HelperRun second = runHelper(dir);
  ASSERT_EQ(second.status, 0) << second.output;
  EXPECT_NE(second.output.find("compiles=0 disk_hits=1"), std::string::npos)
      << second.output;
  std::printf("first:  %ssecond: %s", first.output.c_str(),
              second.output.c_str());
  // Temp files were all renamed into place.
  for (const auto &e : fs::directory_iterator(dir))
    EXPECT_EQ(e.path().filename().string().rfind(".tmp-", 0), std::string::npos)
        << e.path();
}

TEST(CompileCache, MemoryLevelHitsInProcess) {
  fs::path dir = freshDir("memory");
  jit::CompileCache cache(dir.string());
  auto a = cache.getOrCompile(llvm::StringRef(kConvBiasRelu));
  auto b = cache.getOrCompile(llvm::StringRef(kConvBiasRelu));
  EXPECT_EQ(a.source, jit::CacheSource::Compiled);
  EXPECT_EQ(b.source, jit::CacheSource::Memory);
  EXPECT_EQ(a.executable.get(), b.executable.get());
  EXPECT_EQ(a.key, b.key);
  auto s = cache.stats();
  EXPECT_EQ(s.compiles, 1u);
  EXPECT_EQ(s.memoryHits, 1u);
  EXPECT_EQ(s.diskHits, 0u);
  EXPECT_TRUE(convIsCorrect(*b.executable));

  cache.clearMemory();
  auto c = cache.getOrCompile(llvm::StringRef(kConvBiasRelu));
  EXPECT_EQ(c.source, jit::CacheSource::Disk);
  EXPECT_TRUE(convIsCorrect(*c.executable, 7));
  std::printf("compile+load %.1f ms, disk hit %.1f ms, memory hit %.3f ms\n",
              a.seconds * 1e3, c.seconds * 1e3, b.seconds * 1e3);
}

enum class Damage {
  Truncate,
  FlipByte,
  DeleteObject,
  BadJson,
  ForeignKey,
  ShapeInSignature,
  RenamedEntry,
  ObjectIsADirectory,
  MetadataIsADirectory
};

/// Replaces the first `from` in the file at `path` by `to`.
void editFile(const fs::path &path, const std::string &from,
              const std::string &to) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  in.close();
  size_t at = text.find(from);
  ASSERT_NE(at, std::string::npos) << from << " not in " << text;
  text.replace(at, from.size(), to);
  std::ofstream(path, std::ios::trunc) << text;
}

class CorruptEntry : public ::testing::TestWithParam<Damage> {};

TEST_P(CorruptEntry, IsReportedOnceAndRebuilt) {
  fs::path dir = freshDir("corrupt-" + std::to_string(int(GetParam())));
  std::string key;
  {
    jit::CompileCache writer(dir.string());
    key = writer.getOrCompile(llvm::StringRef(kConvBiasRelu)).key;
  }
  auto objects = filesWithExtension(dir, ".o");
  ASSERT_EQ(objects.size(), 1u);
  fs::path object = objects[0];
  fs::path meta = dir / (key + ".json");
  ASSERT_TRUE(fs::exists(meta));
  switch (GetParam()) {
  case Damage::Truncate:
    fs::resize_file(object, fs::file_size(object) / 2);
    break;
  case Damage::FlipByte: {
    std::fstream f(object, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(100);
    char c = 0;
    f.get(c);
    f.seekp(100);
    f.put(static_cast<char>(c ^ 0x5a));
    break;
  }
  case Damage::DeleteObject:
    fs::remove(object);
    break;
  case Damage::BadJson:
    std::ofstream(meta, std::ios::trunc) << "{\"format\": 1, \"key\": ";
    break;
  case Damage::ForeignKey:
    editFile(meta, key, std::string(key.size(), 'f'));
    break;
  case Damage::ShapeInSignature: // a damaged signature would shape the call
    editFile(meta, "\"shape\": [\n", "\"shape\": [\n        2,\n");
    break;
  case Damage::RenamedEntry:
    editFile(meta, "\"entry\": \"", "\"entry\": \"x");
    break;
  case Damage::ObjectIsADirectory:
    fs::remove(object);
    fs::create_directory(object);
    break;
  case Damage::MetadataIsADirectory:
    fs::remove(meta);
    fs::create_directory(meta);
    break;
  }

  jit::CompileCache reader(dir.string());
  LogCapture log(LogLevel::Warning);
  auto r = reader.getOrCompile(llvm::StringRef(kConvBiasRelu));
  EXPECT_EQ(r.source, jit::CacheSource::Compiled);
  EXPECT_TRUE(convIsCorrect(*r.executable));
  reader.getOrCompile(llvm::StringRef(kConvBiasRelu));
  reader.getOrCompile(llvm::StringRef(kConvBiasRelu));
  auto s = reader.stats();
  EXPECT_EQ(s.compiles, 1u);
  EXPECT_EQ(s.corruptEntries, 1u);
  EXPECT_EQ(s.diskHits, 0u);
  EXPECT_EQ(occurrences(log.text(), "is corrupt"), 1) << log.text();
  EXPECT_NE(log.text().find(key.substr(0, 16)), std::string::npos);

  // The rebuilt entry is whole again: a third cache loads it silently.
  jit::CompileCache third(dir.string());
  auto t = third.getOrCompile(llvm::StringRef(kConvBiasRelu));
  EXPECT_EQ(t.source, jit::CacheSource::Disk);
  EXPECT_TRUE(convIsCorrect(*t.executable, 5));
  EXPECT_EQ(occurrences(log.text(), "is corrupt"), 1) << log.text();
}

INSTANTIATE_TEST_SUITE_P(Damages, CorruptEntry,
                         ::testing::Values(Damage::Truncate, Damage::FlipByte,
                                           Damage::DeleteObject,
                                           Damage::BadJson, Damage::ForeignKey,
                                           Damage::ShapeInSignature,
                                           Damage::RenamedEntry,
                                           Damage::ObjectIsADirectory,
                                           Damage::MetadataIsADirectory));

TEST(CompileCache, ConcurrentFirstCallsCompileOnce) {
  fs::path dir = freshDir("threads");
  jit::CompileCache cache(dir.string());
  constexpr int kThreads = 6;
  std::vector<std::shared_ptr<const Executable>> got(kThreads);
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&, i] {
      ++ready;
      while (ready < kThreads)
        std::this_thread::yield();
      got[i] = cache.getOrCompile(llvm::StringRef(kConvBiasRelu)).executable;
    });
  for (auto &t : threads)
    t.join();
  auto s = cache.stats();
  EXPECT_EQ(s.compiles, 1u);
  EXPECT_EQ(s.memoryHits + s.compiles + s.diskHits, uint64_t(kThreads));
  for (int i = 0; i < kThreads; ++i) {
    ASSERT_TRUE(got[i]);
    EXPECT_EQ(got[i].get(), got[0].get());
  }
  EXPECT_TRUE(convIsCorrect(*got[kThreads - 1]));
}

TEST(CompileCache, UnwritableDirectoryWarnsAndWorks) {
  fs::path base = freshDir("unwritable");
  // A directory below a regular file cannot be created, even by root.
  std::ofstream(base / "plain-file") << "x";
  fs::path dir = base / "plain-file" / "cache";
  jit::CompileCache cache(dir.string());
  LogCapture log(LogLevel::Warning);
  auto r = cache.getOrCompile(llvm::StringRef(kConvBiasRelu));
  EXPECT_EQ(r.source, jit::CacheSource::Compiled);
  EXPECT_TRUE(convIsCorrect(*r.executable));
  auto m = cache.getOrCompile(llvm::StringRef(kMatmul));
  EXPECT_EQ(m.source, jit::CacheSource::Compiled);
  auto s = cache.stats();
  EXPECT_EQ(s.compiles, 2u);
  EXPECT_EQ(s.diskWriteFailures, 2u);
  EXPECT_EQ(occurrences(log.text(), "is not writable"), 1) << log.text();
}

TEST(CompileCache, KeyCoversModuleAndOptions) {
  codegen::CompileOptions options;
  std::string k1 = jit::CompileCache::computeKey(kConvBiasRelu, options);
  EXPECT_EQ(k1.size(), 64u);
  EXPECT_EQ(k1, jit::CompileCache::computeKey(kConvBiasRelu, options));
  EXPECT_NE(k1, jit::CompileCache::computeKey(kMatmul, options));
  codegen::CompileOptions other = options;
  other.tileRows = 4;
  EXPECT_NE(k1, jit::CompileCache::computeKey(kConvBiasRelu, other));
  other = options;
  other.optLevel = 2;
  EXPECT_NE(k1, jit::CompileCache::computeKey(kConvBiasRelu, other));
  other = options;
  other.target.cpu = "x86-64";
  other.target.features = "+sse2";
  EXPECT_NE(k1, jit::CompileCache::computeKey(kConvBiasRelu, other));
  EXPECT_FALSE(jit::CompileCache::buildId().empty());
}

TEST(CompileCache, ModuleOpOverloadAndEntrySelection) {
  mlir::DialectRegistry registry;
  codegen::registerCodegenDialects(registry);
  mlir::MLIRContext ctx(registry);
  auto module = mlir::parseSourceString<mlir::ModuleOp>(kConv2D1D, &ctx);
  ASSERT_TRUE(module);
  std::string before = codegen::printForKey(*module);

  jit::CompileCache cache(freshDir("moduleop").string());
  auto r = cache.getOrCompile(*module, {}, "conv1d");
  EXPECT_EQ(codegen::printForKey(*module), before); // not modified
  EXPECT_EQ(r.executable->signature().entry, "conv1d");
  EXPECT_EQ(r.key, jit::CompileCache::computeKey(before, {}));
  auto x1 = randomVector(13 * 3, 8), w1 = randomVector(4 * 3 * 7, 9);
  Array a = Array::fromVector({1, 13, 3}, x1),
        k = Array::fromVector({4, 3, 7}, w1);
  Array y({1, 10, 7});
  r.executable->call({&a, &k}, {&y});
  EXPECT_LE(maxRelError(y.data<float>(),
                        referenceConv(x1, w1, {1, 13, 3}, {4, 3, 7})),
            1e-5);
  // Same module, other entry: served from memory.
  auto other = cache.getOrCompile(*module, {}, "conv2d");
  EXPECT_EQ(other.source, jit::CacheSource::Memory);
  EXPECT_EQ(other.executable->signature().entry, "conv2d");
  EXPECT_THROW(cache.getOrCompile(*module, {}, "nope"), KeyError);
  // Bad input through the cache: the runtime's message.
  try {
    r.executable->call({&a}, {&y});
    FAIL() << "expected a TypeError";
  } catch (const TypeError &e) {
    EXPECT_STREQ(e.what(), "\n 2 inputs required, 1 were given.");
  }
}

TEST(CompileCache, CompileFailureIsAnErrorAndNotCached) {
  jit::CompileCache cache(freshDir("failure").string());
  const char *bad = "func.func @f(%x: tensor<?xf32>) -> tensor<?xf32> {\n"
                    "  return %x : tensor<?xf32>\n}\n";
  EXPECT_THROW(cache.getOrCompile(llvm::StringRef(bad)), RuntimeError);
  EXPECT_THROW(cache.getOrCompile(llvm::StringRef(bad)), RuntimeError);
  EXPECT_EQ(cache.stats().compiles, 0u);
}

TEST(CompileCache, SeparateKeyTextLowersOnlyOnMiss) {
  fs::path dir = freshDir("keytext");
  // Stands in for the nm IR of a function: hashed, never compiled.
  const std::string nmIR = "\"nm.fake\"() : () -> ()";
  int lowered = 0;
  auto lower = [&] {
    ++lowered;
    return std::string(kConvBiasRelu);
  };
  jit::CompileCache first(dir.string());
  auto a = first.getOrCompile(nmIR, lower);
  EXPECT_EQ(a.key, jit::CompileCache::computeKey(nmIR, {}));
  EXPECT_EQ(a.source, jit::CacheSource::Compiled);
  EXPECT_EQ(lowered, 1);
  EXPECT_TRUE(convIsCorrect(*a.executable));
  jit::CompileCache second(dir.string());
  auto b = second.getOrCompile(nmIR, lower);
  EXPECT_EQ(b.source, jit::CacheSource::Disk);
  EXPECT_EQ(lowered, 1);
  EXPECT_TRUE(convIsCorrect(*b.executable, 3));
}
