//===- CompileCache.cpp - in-process and on-disk cache of objects ---------===//
#include "neuromancer/compiler/jit/CompileCache.h"

#include "compiler/jit/BuildId.h"
#include "neuromancer/compiler/jit/JitLoader.h"
#include "neuromancer/core/AtomicFile.h"
#include "neuromancer/core/Error.h"
#include "neuromancer/core/Log.h"

#include "mlir/IR/BuiltinOps.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/raw_ostream.h"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

namespace fs = std::filesystem;

namespace nm::jit {

/// One loaded object: its executables, in signature order.
struct CompileCache::Loaded {
  std::vector<std::shared_ptr<const Executable>> executables;
};

namespace {

constexpr int kFormat = 2;

std::string sha256Hex(llvm::ArrayRef<uint8_t> data) {
  auto digest = llvm::SHA256::hash(data);
  return llvm::toHex(digest, /*LowerCase=*/true);
}

std::string sha256Hex(llvm::ArrayRef<char> data) {
  return sha256Hex(llvm::ArrayRef<uint8_t>(
      reinterpret_cast<const uint8_t *>(data.data()), data.size()));
}

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

//===--- metadata <-> JSON ------------------------------------------------===//

llvm::json::Array specsToJson(const std::vector<ArgSpec> &specs) {
  llvm::json::Array array;
  for (const ArgSpec &s : specs) {
    llvm::json::Array shape;
    for (int64_t d : s.shape)
      shape.push_back(d);
    array.push_back(llvm::json::Object{{"name", s.name},
                                       {"shape", std::move(shape)},
                                       {"dtype", dtypeName(s.dtype)}});
  }
  return array;
}

bool specsFromJson(const llvm::json::Array *array, std::vector<ArgSpec> &out) {
  if (!array)
    return false;
  for (const llvm::json::Value &v : *array) {
    const llvm::json::Object *o = v.getAsObject();
    if (!o)
      return false;
    auto name = o->getString("name");
    auto dtype = o->getString("dtype");
    const llvm::json::Array *shape = o->getArray("shape");
    if (!name || !dtype || !shape)
      return false;
    ArgSpec spec;
    spec.name = name->str();
    try {
      spec.dtype = parseDType(*dtype);
    } catch (const std::exception &) {
      return false;
    }
    for (const llvm::json::Value &d : *shape) {
      auto n = d.getAsInteger();
      if (!n)
        return false;
      spec.shape.push_back(*n);
    }
    out.push_back(std::move(spec));
  }
  return true;
}

/// Reads a whole regular file; false (with the reason) when it is missing,
/// not a regular file or unreadable.
bool readFile(const fs::path &path, std::vector<char> &out, std::string &why) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    why = path.string() +
          (fs::exists(path, ec) ? " is not a regular file" : " is missing");
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = "cannot open " + path.string() + ": " + std::strerror(errno);
    return false;
  }
  try {
    out.assign(std::istreambuf_iterator<char>(in),
               std::istreambuf_iterator<char>());
  } catch (const std::exception &e) {
    why = "cannot read " + path.string() + ": " + e.what();
    return false;
  }
  if (in.bad()) {
    why = "cannot read " + path.string();
    return false;
  }
  return true;
}

/// Removes what stands where an entry's file goes when it is not a regular
/// file (an empty directory, a dangling link), so the cache heals; anything
/// that cannot go is left for writeFileAtomically to report.
void clearWayFor(const fs::path &path) {
  std::error_code ec;
  fs::file_status status = fs::symlink_status(path, ec);
  if (!ec && fs::exists(status) && !fs::is_regular_file(status))
    fs::remove(path, ec);
}

/// The checksum of a metadata object: SHA-256 of its canonical text (keys
/// sorted by llvm::json) without the checksum field itself, so a damaged
/// signature is noticed before it shapes a call or a C header.
std::string metadataChecksum(llvm::json::Object meta) {
  meta.erase("metadata_sha256");
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::json::Value(std::move(meta));
  os.flush();
  return sha256Hex(llvm::ArrayRef<char>(text.data(), text.size()));
}

} // namespace

//===----------------------------------------------------------------------===//

CompileCache::CompileCache(std::string directory)
    : directory_(directory.empty() ? defaultDirectory()
                                   : std::move(directory)) {}

CompileCache::~CompileCache() = default;

CompileCache &CompileCache::global() {
  static CompileCache *cache = new CompileCache(); // never destroyed: the
  return *cache; // executables may outlive static destruction order
}

std::string CompileCache::defaultDirectory() {
  if (const char *dir = std::getenv("NEUROMANCER_CACHE_DIR"); dir && *dir)
    return dir;
  if (const char *home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.cache/neuromancer";
  return (fs::temp_directory_path() / "neuromancer-cache").string();
}

llvm::StringRef CompileCache::buildId() { return NM_COMPILER_BUILD_ID; }

std::string CompileCache::computeKey(llvm::StringRef moduleKeyText,
                                     const codegen::CompileOptions &options) {
  codegen::TargetInfo target = codegen::hostTarget();
  if (!options.target.triple.empty())
    target.triple = options.target.triple;
  if (!options.target.cpu.empty()) {
    target.cpu = options.target.cpu;
    target.features = options.target.features;
  }
  llvm::SHA256 hasher;
  auto field = [&](llvm::StringRef text) {
    std::string length = std::to_string(text.size()) + ":";
    hasher.update(length);
    hasher.update(text);
  };
  field("neuromancer-cpu-object-v" + std::to_string(kFormat));
  field(buildId());
  field(LLVM_VERSION_STRING);
  field(target.triple);
  field(target.cpu);
  field(target.features);
  field(codegen::pipelineDescription(options));
  field(moduleKeyText);
  return llvm::toHex(hasher.final(), /*LowerCase=*/true);
}

std::string CompileCache::metadataPath(llvm::StringRef key) const {
  return (fs::path(directory_) / (key.str() + ".json")).string();
}

CompileCache::Stats CompileCache::stats() const {
  Stats s;
  s.memoryHits = memoryHits_;
  s.diskHits = diskHits_;
  s.compiles = compiles_;
  s.corruptEntries = corruptEntries_;
  s.diskWriteFailures = diskWriteFailures_;
  return s;
}

void CompileCache::clearMemory() {
  std::lock_guard<std::mutex> lock(mutex_);
  memory_.clear();
}

CacheResult CompileCache::getOrCompile(mlir::ModuleOp module,
                                       const codegen::CompileOptions &options,
                                       llvm::StringRef entry) {
  std::string text = codegen::printForKey(module);
  return lookup(
      text, [&] { return text; }, options, entry);
}

CacheResult CompileCache::getOrCompile(llvm::StringRef moduleText,
                                       const codegen::CompileOptions &options,
                                       llvm::StringRef entry) {
  return lookup(
      moduleText, [&] { return moduleText.str(); }, options, entry);
}

CacheResult CompileCache::getOrCompile(llvm::StringRef keyText,
                                       llvm::function_ref<std::string()> lower,
                                       const codegen::CompileOptions &options,
                                       llvm::StringRef entry) {
  return lookup(keyText, lower, options, entry);
}

CacheResult CompileCache::lookup(llvm::StringRef keyText,
                                 llvm::function_ref<std::string()> lower,
                                 const codegen::CompileOptions &options,
                                 llvm::StringRef entry) {
  auto start = std::chrono::steady_clock::now();
  CacheResult result;
  result.key = computeKey(keyText, options);

  std::shared_future<LoadedPtr> future;
  std::promise<LoadedPtr> promise;
  bool owner = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = memory_.find(result.key);
    if (it != memory_.end()) {
      future = it->second;
    } else {
      future = promise.get_future().share();
      memory_.emplace(result.key, future);
      owner = true;
    }
  }
  LoadedPtr loaded;
  if (owner) {
    try {
      loaded = produce(result.key, lower, options, result.source);
      promise.set_value(loaded);
    } catch (...) {
      promise.set_exception(std::current_exception());
      std::lock_guard<std::mutex> lock(mutex_);
      memory_.erase(result.key);
      throw;
    }
  } else {
    loaded = future.get(); // waits for the owner; rethrows its failure
    result.source = CacheSource::Memory;
    ++memoryHits_;
  }

  for (const auto &exe : loaded->executables)
    if (entry.empty() || exe->signature().entry == entry) {
      result.executable = exe;
      break;
    }
  if (!result.executable)
    throw KeyError("no compiled function '" + entry.str() + "'");
  result.seconds = secondsSince(start);
  return result;
}

CompileCache::LoadedPtr CompileCache::produce(
    const std::string &key, llvm::function_ref<std::string()> lower,
    const codegen::CompileOptions &options, CacheSource &source) {
  auto start = std::chrono::steady_clock::now();
  if (LoadedPtr loaded = readFromDisk(key)) {
    source = CacheSource::Disk;
    ++diskHits_;
    log_debug("neuromancer: loaded " + key.substr(0, 16) + " from " +
              directory_ + " in " + std::to_string(secondsSince(start)) + " s");
    return loaded;
  }
  std::string moduleText = lower();
  auto compiled =
      codegen::compileToObject(llvm::StringRef(moduleText), options);
  if (!compiled)
    throw RuntimeError(llvm::toString(compiled.takeError()));
  ++compiles_;
  source = CacheSource::Compiled;
  auto executables = loadObject(compiled->object, compiled->functions);
  if (!executables)
    throw RuntimeError("neuromancer: cannot load the compiled object: " +
                       llvm::toString(executables.takeError()));
  writeToDisk(key, *compiled);
  std::string names;
  for (const auto &f : compiled->functions)
    names += (names.empty() ? "" : ",") + f.entry;
  char line[256];
  std::snprintf(line, sizeof line,
                "neuromancer: compiled %s in %.3f s (codegen %.3f s, %zu "
                "bytes, key %s)",
                names.c_str(), secondsSince(start), compiled->seconds,
                compiled->object.size(), key.substr(0, 16).c_str());
  log_debug(line);
  auto loaded = std::make_shared<Loaded>();
  loaded->executables = std::move(*executables);
  return loaded;
}

CompileCache::LoadedPtr CompileCache::readFromDisk(const std::string &key) {
  std::vector<char> object;
  std::vector<FunctionSignature> signatures;
  std::string objectPath;
  if (!readEntry(key, object, signatures, objectPath))
    return nullptr;
  auto executables = loadObject(object, signatures, objectPath);
  if (!executables) {
    warnCorrupt(key, "object does not load (" +
                         llvm::toString(executables.takeError()) + ")");
    return nullptr;
  }
  auto loaded = std::make_shared<Loaded>();
  loaded->executables = std::move(*executables);
  return loaded;
}

bool CompileCache::readEntry(const std::string &key, std::vector<char> &object,
                             std::vector<FunctionSignature> &signatures,
                             std::string &objectPathOut) {
  fs::path dir(directory_);
  fs::path metaPath = dir / (key + ".json");
  std::error_code ec;
  if (!fs::exists(metaPath, ec))
    return false; // a plain miss (or an entry whose metadata is not yet in)

  std::vector<char> metaBytes;
  std::string why;
  if (!readFile(metaPath, metaBytes, why)) {
    warnCorrupt(key, why);
    return false;
  }
  auto json =
      llvm::json::parse(llvm::StringRef(metaBytes.data(), metaBytes.size()));
  if (!json) {
    warnCorrupt(key, "metadata is not JSON (" +
                         llvm::toString(json.takeError()) + ")");
    return false;
  }
  const llvm::json::Object *meta = json->getAsObject();
  auto fail = [&](const std::string &why) {
    warnCorrupt(key, why);
    return false;
  };
  if (!meta)
    return fail("metadata is not a JSON object");
  if (meta->getInteger("format") != kFormat)
    return fail("unknown metadata format");
  if (meta->getString("key") != llvm::StringRef(key))
    return fail("metadata belongs to another key");
  if (meta->getString("metadata_sha256") != metadataChecksum(*meta))
    return fail("metadata checksum mismatch");
  auto objectName = meta->getString("object");
  auto objectSize = meta->getInteger("object_size");
  auto objectSha = meta->getString("object_sha256");
  const llvm::json::Array *functions = meta->getArray("functions");
  if (!objectName || !objectSize || !objectSha || !functions)
    return fail("metadata is incomplete");
  if (objectName->contains('/'))
    return fail("metadata names an object outside the cache");

  signatures.clear();
  for (const llvm::json::Value &v : *functions) {
    const llvm::json::Object *f = v.getAsObject();
    FunctionSignature sig;
    if (!f || !f->getString("entry") ||
        !specsFromJson(f->getArray("inputs"), sig.inputs) ||
        !specsFromJson(f->getArray("parameters"), sig.parameters) ||
        !specsFromJson(f->getArray("outputs"), sig.outputs))
      return fail("metadata has a malformed signature");
    sig.entry = f->getString("entry")->str();
    signatures.push_back(std::move(sig));
  }
  if (signatures.empty())
    return fail("metadata lists no function");

  fs::path objectPath = dir / objectName->str();
  if (!readFile(objectPath, object, why))
    return fail("object " + why);
  if (static_cast<int64_t>(object.size()) != *objectSize)
    return fail("object is truncated or extended (" +
                std::to_string(object.size()) + " bytes, expected " +
                std::to_string(*objectSize) + ")");
  if (sha256Hex(object) != *objectSha)
    return fail("object checksum mismatch");
  objectPathOut = objectPath.string();
  return true;
}

ObjectResult
CompileCache::getOrCompileObject(llvm::StringRef keyText,
                                 llvm::function_ref<std::string()> lower,
                                 const codegen::CompileOptions &options) {
  auto start = std::chrono::steady_clock::now();
  ObjectResult result;
  result.key = computeKey(keyText, options);
  std::string objectPath;
  if (readEntry(result.key, result.object, result.functions, objectPath)) {
    result.source = CacheSource::Disk;
    ++diskHits_;
  } else {
    std::string moduleText = lower();
    auto compiled =
        codegen::compileToObject(llvm::StringRef(moduleText), options);
    if (!compiled)
      throw RuntimeError(llvm::toString(compiled.takeError()));
    ++compiles_;
    writeToDisk(result.key, *compiled);
    result.source = CacheSource::Compiled;
    result.object = std::move(compiled->object);
    result.functions = std::move(compiled->functions);
  }
  result.seconds = secondsSince(start);
  return result;
}

void CompileCache::writeToDisk(const std::string &key,
                               const codegen::CompiledObject &compiled) {
  fs::path dir(directory_);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    warnUnwritable("cannot create it: " + ec.message());
    return;
  }
  std::string objectSha = sha256Hex(compiled.object);
  std::string objectName = key + "." + objectSha.substr(0, 16) + ".o";

  llvm::json::Array functions;
  for (const FunctionSignature &sig : compiled.functions)
    functions.push_back(
        llvm::json::Object{{"entry", sig.entry},
                           {"symbol", sig.packedSymbol()},
                           {"inputs", specsToJson(sig.inputs)},
                           {"parameters", specsToJson(sig.parameters)},
                           {"outputs", specsToJson(sig.outputs)}});
  llvm::json::Object meta{
      {"format", kFormat},
      {"key", key},
      {"object", objectName},
      {"object_size", static_cast<int64_t>(compiled.object.size())},
      {"object_sha256", objectSha},
      {"functions", std::move(functions)},
      {"triple", compiled.target.triple},
      {"cpu", compiled.target.cpu},
      {"build_id", buildId()},
      {"llvm_version", LLVM_VERSION_STRING},
      {"compile_seconds", compiled.seconds}};
  meta["metadata_sha256"] = metadataChecksum(meta);
  std::string metaText;
  llvm::raw_string_ostream os(metaText);
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(meta))) << "\n";

  // Object first, metadata last: a reader that sees the metadata sees a
  // complete object (both are renamed into place).
  try {
    clearWayFor(dir / objectName);
    clearWayFor(dir / (key + ".json"));
    writeFileAtomically(
        (dir / objectName).string(),
        std::string_view(compiled.object.data(), compiled.object.size()));
    writeFileAtomically((dir / (key + ".json")).string(), metaText);
  } catch (const IOError &e) {
    warnUnwritable(e.what());
  }
}

void CompileCache::warnCorrupt(const std::string &key,
                               const std::string &reason) {
  ++corruptEntries_;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!warnedKeys_.insert(key).second)
      return;
  }
  log_warning("neuromancer: compile cache entry " + key.substr(0, 16) + " in " +
              directory_ + " is corrupt: " + reason + "; recompiling");
}

void CompileCache::warnUnwritable(const std::string &reason) {
  ++diskWriteFailures_;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (warnedUnwritable_)
      return;
    warnedUnwritable_ = true;
  }
  log_warning("neuromancer: compile cache directory " + directory_ +
              " is not writable (" + reason +
              "); compiled code is kept in memory only");
}

} // namespace nm::jit
