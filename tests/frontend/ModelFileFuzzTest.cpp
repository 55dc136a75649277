//===- ModelFileFuzzTest.cpp - corrupt model files never crash or hang ----===//
//
// A deterministic mutation loop over a saved model: single bytes flipped,
// zeroed or set to 0xFF, four bytes set to a huge value (dimension and size
// fields), and truncations, at seeded random offsets. The mutated files are
// loaded in child processes (50 per child) with an address-space limit of
// the child's size + 2 x the file's size + 64 MiB and a 10 s alarm per
// load; each load must load the saved values or be refused with an
// nm::Error, with every HDF5 handle closed, and the child must exit
// normally. A signal (crash, alarm) or any other exit fails the test and
// names the mutation (the file is kept in the test's temporary directory).
// The saved model carries an optimiser state (the /optimiser group), and a
// second run aims its mutations at that group's object headers and
// accumulator chunks, which random offsets in the whole file rarely hit;
// a load that succeeds must restore the saved state bit for bit.
//
// Depends on //frontend only (no compiler), so it builds fast and runs in
// `bazel test //...`.
//
//===----------------------------------------------------------------------===//
#include "neuromancer/core/Error.h"
#include "neuromancer/core/Log.h"
#include "neuromancer/frontend/Layers.h"
#include "neuromancer/frontend/Model.h"
#include "neuromancer/frontend/NodeImpl.h"

#include <gtest/gtest.h>
#include <hdf5.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

constexpr int kMutations = 3000;
/// Loads per child process (a fork per load is most of the time).
constexpr std::size_t kBatch = 50;

std::string readAll(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void writeAll(const std::string &path, const std::string &bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

/// The process's current virtual size in bytes (VmSize).
long long vmSize() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmSize:", 0) == 0)
      return std::atoll(line.c_str() + 7) * 1024;
  return 0;
}

/// A small model like the ones users save: conv, batch normalisation,
/// dropout (a scalar parameter), a designation, and an optimiser state
/// (Adam and SGD accumulators of every trainable parameter, counters).
void smallModel() {
  nm::model_manager.newmodel("fuzzed");
  nm::Node raw = nm::Input({1, 2, 5, 8, 8}, "b,f,z,x,y", {.name = "raw"});
  nm::Node c1 = nm::Conv(
      raw, 3, {1, 3, 3}, {1, 2, 2},
      {.batch_normalisation = "train", .dropout_rate = 0.5, .name = "conv1"});
  nm::Node c2 = nm::Conv(c1, 2, {1, 1, 1}, {},
                         {.activation_func = "lin", .name = "conv2"});
  nm::Node pred = nm::Softmax(c2);
  nm::Model &m = nm::model_manager.getmodel();
  m.designate_nodes({.input_node = raw, .prediction_node = pred});
  nm::OptimiserState s;
  s.lr = 0.001;
  s.iterations = 5;
  s.stepTimes = {0.5, 0.25};
  s.losses = {0.75, 0.5};
  double v = 0.125;
  for (const nm::Node &n : m.nodes())
    for (const auto &[key, param] : n.impl().params) {
      if (!param.trainable)
        continue;
      std::string arg = n.name() + "_" + key;
      for (const char *state : {":m", ":s"})
        s.optimisers["Adam"].arrays[arg + state] =
            nm::Array::full(param.value.shape(), v += 0.125)
                .astype(param.value.dtype());
      s.optimisers["SGD"].arrays[arg + ":d"] =
          nm::Array::full(param.value.shape(), -v).astype(param.value.dtype());
    }
  s.optimisers["Adam"].steps = 3;
  s.optimisers["SGD"].steps = 2;
  m.set_optimiser_state(s);
}

/// Whether two optimiser states are equal bit for bit.
bool sameState(const nm::OptimiserState &a, const nm::OptimiserState &b) {
  if (a.lr != b.lr || a.mom != b.mom || a.wd != b.wd || a.beta2 != b.beta2 ||
      a.iterations != b.iterations || a.stepTimes != b.stepTimes ||
      a.losses != b.losses || a.optimisers.size() != b.optimisers.size())
    return false;
  for (const auto &[name, acc] : a.optimisers) {
    auto it = b.optimisers.find(name);
    if (it == b.optimisers.end() || it->second.steps != acc.steps ||
        it->second.arrays.size() != acc.arrays.size())
      return false;
    for (const auto &[key, value] : acc.arrays) {
      auto other = it->second.arrays.find(key);
      if (other == it->second.arrays.end() ||
          other->second.dtype() != value.dtype() ||
          other->second.shape() != value.shape() ||
          std::memcmp(other->second.raw(), value.raw(), value.nbytes()) != 0)
        return false;
    }
  }
  return true;
}

enum ChildExit {
  Loaded = 0,
  Refused = 0,
  OtherException = 3,
  Leak = 4,
  SilentlyWrong = 5
};

/// Whether the loaded model has the saved model's nodes and values.
bool sameAsSaved(nm::Model &loaded) {
  nm::Model &saved = nm::model_manager.getmodel("fuzzed");
  if (loaded.names() != saved.names() ||
      !sameState(loaded.optimiser_state(), saved.optimiser_state()))
    return false;
  for (const std::string &name : saved.names()) {
    nm::ParamValues a = saved[name].get_param_values();
    nm::ParamValues b = loaded[name].get_param_values();
    if (a.keys() != b.keys())
      return false;
    for (const auto &[key, value] : a)
      if (!(value == b.at(key)))
        return false;
  }
  return true;
}

/// Outcomes, counted in memory shared with the children (volatile: the
/// parent reads what a crashed child wrote; `x = x + 1`, as ++ on a
/// volatile is deprecated).
struct Shared {
  std::size_t current; // the file being loaded
  std::size_t loaded, refused;
  std::size_t changed; // loaded with other values (v1: no checksums)
  bool allowChanged;
};

/// Loads `path`; the exit code for it (0: loaded the saved values, or
/// refused with an nm::Error, and no HDF5 handle left open).
int loadOnce(const std::string &path, volatile Shared *shared) {
  int code = Loaded;
  try {
    nm::Model &loaded = nm::modelload(path, {.name = "loaded"});
    if (!sameAsSaved(loaded)) {
      code = shared->allowChanged ? Loaded : SilentlyWrong;
      shared->changed = shared->changed + 1;
    }
    nm::model_manager.remove("loaded");
    shared->loaded = shared->loaded + 1;
  } catch (const nm::Error &) {
    code = Refused;
    shared->refused = shared->refused + 1;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "not an nm::Error: %s\n", e.what());
    code = OtherException;
  }
  if (H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL) != 0)
    code = Leak;
  return code;
}

struct Mutation {
  std::string bytes;
  std::string what;
};

/// A byte range of the file: [first, first + size).
struct Region {
  std::size_t first, size;
};

/// `good` mutated at a seeded offset: anywhere, or (when `regions` is not
/// empty) inside one of them.
Mutation mutate(const std::string &good, std::mt19937_64 &rng,
                const std::vector<Region> &regions = {}) {
  Mutation m{good, ""};
  std::uniform_int_distribution<std::size_t> offset(0, good.size() - 1);
  std::size_t at = offset(rng);
  if (!regions.empty()) {
    const Region &r = regions[rng() % regions.size()];
    at = std::min(good.size() - 1, r.first + rng() % r.size);
  }
  switch (rng() % 6) {
  case 0:
  case 1:
    m.bytes[at] ^= static_cast<char>(1 + rng() % 255);
    m.what = "flip at ";
    break;
  case 2:
    m.bytes[at] = 0;
    m.what = "0x00 at ";
    break;
  case 3:
    m.bytes[at] = static_cast<char>(0xFF);
    m.what = "0xFF at ";
    break;
  case 4: // a size or dimension field made huge
    for (std::size_t i = at; i < at + 4 && i < m.bytes.size(); ++i)
      m.bytes[i] = i == at + 3 ? 0x7F : static_cast<char>(0xFF);
    m.what = "0x7FFFFFFF at ";
    break;
  default:
    m.bytes.resize(at);
    m.what = "truncated to ";
    break;
  }
  m.what += std::to_string(at);
  return m;
}

/// Loads files[first, last) in one child under an address-space limit of
/// its size now + 2 x the largest file + 64 MiB (a leak across loads would
/// hit it too) and a 10 s alarm per load; `*current` tells the parent
/// which file a crashed child was loading. Never returns.
[[noreturn]] void loadBatch(const std::vector<std::string> &files,
                            std::size_t first, std::size_t last,
                            const std::string &path, volatile Shared *shared) {
  std::size_t largest = 0;
  for (std::size_t i = first; i < last; ++i)
    largest = std::max(largest, files[i].size());
  struct rlimit as;
  as.rlim_cur = as.rlim_max =
      vmSize() + 2 * static_cast<long long>(largest) + (64LL << 20);
  ::setrlimit(RLIMIT_AS, &as);
  for (std::size_t i = first; i < last; ++i) {
    shared->current = i;
    writeAll(path, files[i]);
    ::alarm(10);
    if (int code = loadOnce(path, shared))
      std::_Exit(code);
  }
  ::alarm(0);
  std::exit(0); // normal exit: HDF5's cleanup runs
}

/// Runs the batch in a child; "" or what went wrong.
std::string runBatch(const std::vector<std::string> &files,
                     const std::vector<std::string> &names, std::size_t first,
                     std::size_t last, const std::string &path,
                     volatile Shared *shared) {
  shared->current = last;
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0)
    return "fork failed";
  if (pid == 0)
    loadBatch(files, first, last, path, shared);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return "";
  std::size_t at = shared->current;
  std::string what = at < names.size() ? names[at] : "after the last load";
  if (at < files.size())
    writeAll(::testing::TempDir() + "/fuzz_failure_" + std::to_string(at) +
                 ".h5",
             files[at]);
  if (WIFSIGNALED(status))
    return what + ": killed by signal " + std::to_string(WTERMSIG(status)) +
           (WTERMSIG(status) == SIGALRM ? " (hang)" : "");
  return what + ": exit " + std::to_string(WEXITSTATUS(status));
}

/// Loads the unmutated file and `count` seeded mutations of it; every
/// load must give the saved model's values or an nm::Error, no crash, hang,
/// leak or bloat. Returns how many mutations were refused.
std::size_t fuzz(const std::string &bytes, int count, uint64_t seed,
                 bool checksummed = true,
                 const std::vector<Region> &regions = {}) {
  std::vector<std::string> files = {bytes}, names = {"the unmutated file"};
  std::mt19937_64 rng(seed);
  for (int i = 0; i < count; ++i) {
    Mutation m = mutate(bytes, rng, regions);
    files.push_back(std::move(m.bytes));
    names.push_back("mutation " + std::to_string(i) + " (" + m.what + ")");
  }
  // Shared with the children: the index of the file being loaded.
  void *memory = ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) {
    ADD_FAILURE() << "mmap failed";
    return 0;
  }
  auto *shared = new (memory) Shared{0, 0, 0, 0, !checksummed};
  std::string path = ::testing::TempDir() + "/fuzz_mutated.h5";
  int failures = 0;
  for (std::size_t first = 0; first < files.size() && failures < 5;) {
    std::size_t last = std::min(files.size(), first + kBatch);
    std::string failure = runBatch(files, names, first, last, path, shared);
    if (failure.empty()) {
      first = last;
      continue;
    }
    ++failures;
    ADD_FAILURE() << failure;
    first = std::min(last, shared->current + 1); // go on after the failing one
  }
  std::printf("%zu files: %zu loaded (%zu with other values), %zu refused\n",
              files.size(), shared->loaded, shared->changed, shared->refused);
  EXPECT_EQ(shared->loaded + shared->refused, files.size());
  std::size_t refused = shared->refused;
  ::munmap(memory, sizeof(Shared));
  return refused;
}

TEST(ModelFileFuzz, CorruptFilesAreRefusedWithoutCrashHangOrBloat) {
  nm::set_log_level(nm::LogLevel::Error); // no reprs per load
  smallModel();
  std::string good = ::testing::TempDir() + "/fuzz_good.h5";
  nm::model_manager.getmodel().save(good);
  std::string bytes = readAll(good);
  ASSERT_GT(bytes.size(), 1000u);
  ASSERT_TRUE(sameAsSaved(nm::modelload(good, {.name = "loaded"})));
  nm::model_manager.remove("loaded");
  // The checksums refuse most mutations.
  EXPECT_GE(fuzz(bytes, kMutations, 20261202), kMutations / 2);
}

/// Where the /optimiser group lives in the file at `path`: the object
/// headers of the group and everything below it (links, attributes,
/// dataset layouts) and each accumulator's chunk.
std::vector<Region> optimiserRegions(const std::string &path) {
  std::vector<Region> regions;
  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t group = H5Gopen2(file, "optimiser", H5P_DEFAULT);
  struct Visit {
    hid_t group;
    std::vector<Region> *regions;
  } visit{group, &regions};
  H5Ovisit2(
      group, H5_INDEX_NAME, H5_ITER_INC,
      [](hid_t, const char *name, const H5O_info_t *info, void *data) {
        auto &v = *static_cast<Visit *>(data);
        v.regions->push_back({static_cast<std::size_t>(info->addr),
                              static_cast<std::size_t>(info->hdr.space.total)});
        if (info->type != H5O_TYPE_DATASET)
          return herr_t(0);
        hid_t ds = H5Dopen2(v.group, name, H5P_DEFAULT);
        hid_t space = H5Dget_space(ds); // libhdf5 1.10 refuses H5S_ALL here
        hsize_t chunks = 0;
        H5Dget_num_chunks(ds, space, &chunks);
        for (hsize_t i = 0; i < chunks; ++i) {
          haddr_t addr = 0;
          hsize_t size = 0;
          unsigned mask = 0;
          if (H5Dget_chunk_info(ds, space, i, nullptr, &mask, &addr, &size) >=
                  0 &&
              size > 0)
            v.regions->push_back({static_cast<std::size_t>(addr),
                                  static_cast<std::size_t>(size)});
        }
        H5Sclose(space);
        H5Dclose(ds);
        return herr_t(0);
      },
      &visit, H5O_INFO_BASIC | H5O_INFO_HDR);
  H5Gclose(group);
  H5Fclose(file);
  return regions;
}

TEST(ModelFileFuzz, CorruptOptimiserStateIsRefusedOrRestoredExactly) {
  nm::set_log_level(nm::LogLevel::Error);
  if (!nm::model_manager.names().empty())
    for (const std::string &name : nm::model_manager.names())
      nm::model_manager.remove(name);
  smallModel();
  std::string good = ::testing::TempDir() + "/fuzz_good_state.h5";
  nm::model_manager.getmodel().save(good);
  std::vector<Region> regions = optimiserRegions(good);
  // The group, its two series, two optimisers, their node groups and 15
  // accumulators (5 trainable parameters): headers and chunks.
  ASSERT_GE(regions.size(), 40u);
  std::size_t bytes = 0;
  for (const Region &r : regions)
    bytes += r.size;
  std::printf("%zu regions of /optimiser, %zu bytes\n", regions.size(), bytes);
  EXPECT_GE(fuzz(readAll(good), kMutations / 2, 20261204, true, regions),
            kMutations / 4);
}

TEST(ModelFileFuzz, OldFormatFiles) {
  nm::set_log_level(nm::LogLevel::Error);
  std::string v1 = readAll("tests/frontend/data/model_v1.h5");
  ASSERT_GT(v1.size(), 1000u);
  if (nm::model_manager.names().size() > 0)
    for (const std::string &name : nm::model_manager.names())
      nm::model_manager.remove(name);
  nm::modelload("tests/frontend/data/model_v1.h5", {.name = "fuzzed"});
  // No checksums: changed values can load (the warning says so), but
  // nothing may crash, hang or bloat.
  fuzz(v1, kMutations / 2, 20261203, /*checksummed=*/false);
}

} // namespace
