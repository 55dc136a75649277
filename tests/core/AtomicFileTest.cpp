//===- AtomicFileTest.cpp - whole files written atomically ----------------===//
#include "neuromancer/core/AtomicFile.h"
#include "neuromancer/core/Error.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;

std::string readAll(const fs::path &p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// A fresh directory under the test's scratch space.
fs::path scratch(const std::string &name) {
  const char *base = std::getenv("TEST_TMPDIR");
  fs::path dir = fs::path(base ? base : "/tmp") / ("atomic_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

size_t entries(const fs::path &dir) {
  return std::distance(fs::directory_iterator(dir), fs::directory_iterator());
}

TEST(AtomicFile, ReplacesTheFileAndLeavesNoTemporary) {
  fs::path dir = scratch("replace");
  fs::path file = dir / "model.h";
  nm::writeFileAtomically(file.string(), "first");
  nm::writeFileAtomically(file.string(), "second, longer");
  EXPECT_EQ(readAll(file), "second, longer");
  EXPECT_EQ(entries(dir), 1u);
}

TEST(AtomicFile, ConcurrentWritersNeverMixTheirBytes) {
  fs::path dir = scratch("concurrent");
  fs::path file = dir / "out.o";
  std::string a(1 << 20, 'a'), b(1 << 20, 'b');
  std::vector<std::thread> writers;
  for (int i = 0; i < 8; ++i)
    writers.emplace_back(
        [&, i] { nm::writeFileAtomically(file.string(), i % 2 ? a : b); });
  for (std::thread &t : writers)
    t.join();
  std::string got = readAll(file);
  EXPECT_TRUE(got == a || got == b) << "a mix of two writers' bytes";
  EXPECT_EQ(entries(dir), 1u) << "a temporary file was left behind";
}

TEST(AtomicFile, ErrorsNameTheFileAndTheSystemReason) {
  fs::path dir = scratch("errors");
  std::string missing = (dir / "no" / "such" / "dir" / "f.h").string();
  try {
    nm::writeFileAtomically(missing, "x");
    FAIL() << "writing into a missing directory succeeded";
  } catch (const nm::IOError &e) {
    std::string what = e.what();
    EXPECT_NE(what.find(missing), std::string::npos) << what;
    EXPECT_NE(what.find("No such file or directory"), std::string::npos)
        << what;
  }
  EXPECT_EQ(entries(dir), 0u);
}

TEST(AtomicFile, WritesThroughASymbolicLink) {
  fs::path dir = scratch("symlink");
  fs::path target = dir / "real.mlir";
  fs::path link = dir / "link.mlir";
  nm::writeFileAtomically(target.string(), "old");
  fs::create_symlink("real.mlir", link);
  nm::writeFileAtomically(link.string(), "new");
  EXPECT_TRUE(fs::is_symlink(link)) << "the link was replaced by a file";
  EXPECT_EQ(readAll(target), "new");
  EXPECT_EQ(readAll(link), "new");
}

TEST(AtomicFile, AWriterFillsTheTemporaryAndCommitReplacesTheTarget) {
  fs::path dir = scratch("writer");
  fs::path file = dir / "model.h5";
  std::ofstream(file) << "old";
  {
    nm::AtomicFile out(file.string());
    EXPECT_EQ(fs::path(out.tempPath()).parent_path(), dir);
    std::ofstream(out.tempPath()) << "new";
    EXPECT_EQ(readAll(file), "old");
    out.commit();
  }
  EXPECT_EQ(readAll(file), "new");
  EXPECT_EQ(entries(dir), 1u);
}

TEST(AtomicFile, AnUncommittedFileLeavesTheTargetAndNoTemporary) {
  fs::path dir = scratch("uncommitted");
  fs::path file = dir / "model.h5";
  std::ofstream(file) << "old";
  {
    nm::AtomicFile out(file.string());
    std::ofstream(out.tempPath()) << "half";
  }
  EXPECT_EQ(readAll(file), "old");
  EXPECT_EQ(entries(dir), 1u);
}

} // namespace
