//===- CompileCache.h - first-call compilation with a disk cache -*- C++
//-*-===//
//
// getOrCompile(module) returns a callable nm::Executable, compiling at most
// once per key and process, and at most once per key and machine:
//
//   key = SHA-256 of (format tag, compiler build id, LLVM version,
//                     target triple + CPU name + CPU features,
//                     codegen pipeline text + options,
//                     the module in generic form without locations)
//
// Level 1: an in-process map key -> shared future (two threads asking for
//          the same key compile once; the others wait for the result).
// Level 2: a directory ($NEUROMANCER_CACHE_DIR, default ~/.cache/neuromancer)
//          holding `<key>.<sha16>.o` (PIC object, content-addressed) and
//          `<key>.json` (metadata: entries, signatures, object name, size and
//          SHA-256), each written to a temp file in the same directory and
//          renamed into place, metadata last. A reader validates everything;
//          a corrupt, truncated or mismatching entry is reported once
//          (nm::log_warning) and rebuilt. A directory that cannot be written
//          is reported once; the code is then kept in memory only.
//
// The build id is a hash of the code generator's and this cache's sources,
// computed at build time (see BUILD: //compiler/jit:build_id); together with
// the LLVM version it changes exactly when the code generation could.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_COMPILER_JIT_COMPILECACHE_H
#define NEUROMANCER_COMPILER_JIT_COMPILECACHE_H

#include "neuromancer/compiler/codegen/CodeGen.h"
#include "neuromancer/runtime/Executable.h"

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"

#include <atomic>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace nm::jit {

enum class CacheSource { Memory, Disk, Compiled };

struct CacheResult {
  std::shared_ptr<const Executable> executable;
  CacheSource source = CacheSource::Compiled;
  /// Wall time of this call: compile + load, disk read + load, or lookup.
  double seconds = 0;
  std::string key;
};

/// A cache entry as bytes: what `neuromancer compile` writes (see
/// CompileCache::getOrCompileObject).
struct ObjectResult {
  std::vector<char> object; // the ELF object, exactly as the cache holds it
  std::vector<FunctionSignature> functions;
  CacheSource source = CacheSource::Compiled; // Disk or Compiled
  double seconds = 0;
  std::string key;
};

class CompileCache {
public:
  struct Stats {
    uint64_t memoryHits = 0;
    uint64_t diskHits = 0;
    uint64_t compiles = 0;
    uint64_t corruptEntries = 0; // entries found invalid and rebuilt
    uint64_t diskWriteFailures = 0;
  };

  /// `directory` empty: defaultDirectory().
  explicit CompileCache(std::string directory = "");
  ~CompileCache();
  CompileCache(const CompileCache &) = delete;
  CompileCache &operator=(const CompileCache &) = delete;

  /// The process-wide cache (default directory, resolved on first use).
  static CompileCache &global();
  /// $NEUROMANCER_CACHE_DIR, else $HOME/.cache/neuromancer.
  static std::string defaultDirectory();
  /// Build id of the code generator (compile-time constant).
  static llvm::StringRef buildId();

  const std::string &directory() const { return directory_; }

  /// Hex SHA-256 key of a module given as printForKey() text.
  static std::string computeKey(llvm::StringRef moduleKeyText,
                                const codegen::CompileOptions &options);

  /// The Executable of function `entry` (empty: the module's first public
  /// function). Throws nm::RuntimeError if compilation fails, nm::KeyError
  /// if `entry` is not in the module.
  CacheResult getOrCompile(mlir::ModuleOp module,
                           const codegen::CompileOptions &options = {},
                           llvm::StringRef entry = "");
  /// Same, from MLIR text; the text itself is the key material, so pass a
  /// canonical form (printForKey()) to share entries with the overload above.
  CacheResult getOrCompile(llvm::StringRef moduleText,
                           const codegen::CompileOptions &options = {},
                           llvm::StringRef entry = "");

  /// The key material and the module to compile given separately: the key
  /// hashes `keyText` (e.g. the nm IR of the function in generic form, as
  /// docs/design.md asks), and `lower` (returning the linalg module's text)
  /// runs only when neither level has the entry.
  CacheResult getOrCompile(llvm::StringRef keyText,
                           llvm::function_ref<std::string()> lower,
                           const codegen::CompileOptions &options = {},
                           llvm::StringRef entry = "");

  /// The object bytes and signatures of the entry for `keyText` (same key
  /// as getOrCompile with the same arguments): read from the disk level, or
  /// compiled through the same code generator and stored there, never
  /// loaded into this process. Ahead-of-time compilation goes through here,
  /// so an AOT object is the very object a JIT call of the same function
  /// runs. Throws nm::RuntimeError if compilation fails.
  ObjectResult getOrCompileObject(llvm::StringRef keyText,
                                  llvm::function_ref<std::string()> lower,
                                  const codegen::CompileOptions &options = {});

  Stats stats() const;
  /// Forgets the in-process level (the disk level stays).
  void clearMemory();

  /// Paths of an entry (for tests and tools).
  std::string metadataPath(llvm::StringRef key) const;

private:
  struct Loaded;
  using LoadedPtr = std::shared_ptr<const Loaded>;

  CacheResult lookup(llvm::StringRef keyText,
                     llvm::function_ref<std::string()> lower,
                     const codegen::CompileOptions &options,
                     llvm::StringRef entry);
  LoadedPtr produce(const std::string &key,
                    llvm::function_ref<std::string()> lower,
                    const codegen::CompileOptions &options,
                    CacheSource &source);
  LoadedPtr readFromDisk(const std::string &key);
  /// Reads and validates the entry `key`; false (after warnCorrupt for a
  /// corrupt one) when it is absent or invalid.
  bool readEntry(const std::string &key, std::vector<char> &object,
                 std::vector<FunctionSignature> &signatures,
                 std::string &objectPath);
  void writeToDisk(const std::string &key,
                   const codegen::CompiledObject &compiled);
  void warnCorrupt(const std::string &key, const std::string &reason);
  void warnUnwritable(const std::string &reason);

  std::string directory_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_future<LoadedPtr>> memory_;
  std::set<std::string> warnedKeys_;
  bool warnedUnwritable_ = false;
  std::atomic<uint64_t> memoryHits_{0}, diskHits_{0}, compiles_{0},
      corruptEntries_{0}, diskWriteFailures_{0};
};

} // namespace nm::jit

#endif // NEUROMANCER_COMPILER_JIT_COMPILECACHE_H
