//===- ThreadPool.cpp - nm_runtime_parallel_for
//----------------------------===//
//
// One process-wide pool of T - 1 workers. A parallel_for publishes a job
// (body, ctx, n, thread count, an atomic cursor), bumps a generation
// counter and wakes the workers; everyone, the caller included, takes
// chunks from the cursor until the range is exhausted. Chunks are guided:
// a 1/(2T) share of what is left, so they shrink towards the end and a
// core slowed by another process (common on shared hosts) holds up the
// others by one small chunk, not by 1/(4T) of the loop. Workers spin briefly
// before sleeping, because a forward pass issues one parallel_for per big
// op in quick succession.
//
//===----------------------------------------------------------------------===//
#include "neuromancer/runtime/ThreadPool.h"

#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

namespace nm {

namespace {

/// Most threads a pool may have: far above any core count this runs on,
/// far below what exhausts the process's threads.
constexpr long kMaxThreads = 1024;

/// $NEUROMANCER_NUM_THREADS as a thread count, or 0 (after one warning on
/// stderr naming the value) when it is not a number in [1, kMaxThreads].
int threadsFromEnvironment() {
  const char *env = std::getenv("NEUROMANCER_NUM_THREADS");
  if (!env || !*env)
    return 0;
  errno = 0;
  char *end = nullptr;
  long n = std::strtol(env, &end, 10);
  if (errno == 0 && *end == '\0' && n >= 1 && n <= kMaxThreads)
    return static_cast<int>(n);
  static std::once_flag warned;
  std::call_once(warned, [&] {
    std::fprintf(stderr,
                 "neuromancer: NEUROMANCER_NUM_THREADS='%s' is not a thread "
                 "count from 1 to %ld; using the number of CPUs\n",
                 env, kMaxThreads);
  });
  return 0;
}

} // namespace

int default_num_threads() {
  if (int n = threadsFromEnvironment())
    return n;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0)
      return n;
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

namespace {

/// Header in front of every block of nm_runtime_alloc (keeps the payload
/// 64-byte aligned). A block in use is linked into the list of the call
/// state it was allocated under, so that a call that fails half-way frees
/// what it had allocated (CallState::releaseBlocks).
struct CallState;
struct alignas(64) BlockHeader {
  int64_t size;
  uint64_t magic;
  BlockHeader *prev;
  BlockHeader *next;
  CallState *owner;
};
constexpr uint64_t kMagic = 0x6e6d616c6c6f6321ull; // "nmalloc!"

void releaseBlock(BlockHeader *h);

/// The state of one call of a compiled function: whether it failed (over
/// the temporary limit, or an allocation failed) and the blocks it holds.
/// Each thread has one; pool workers use the caller's while they run its
/// chunks, so a failure on a worker is the caller's failure.
struct CallState {
  CallState() { blocks.prev = blocks.next = &blocks; }
  ~CallState() { releaseBlocks(); }

  /// Records the first failure of the call.
  void fail(bool isRefusal, int64_t size, int64_t max) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!failed.load(std::memory_order_relaxed)) {
      refused = isRefusal;
      bytes = size;
      limit = max;
    }
    failed.store(true, std::memory_order_release);
  }
  void link(BlockHeader *h) {
    std::lock_guard<std::mutex> lock(mutex);
    h->owner = this;
    h->prev = &blocks;
    h->next = blocks.next;
    blocks.next->prev = h;
    blocks.next = h;
  }
  void unlink(BlockHeader *h) {
    std::lock_guard<std::mutex> lock(mutex);
    h->prev->next = h->next;
    h->next->prev = h->prev;
    h->prev = h->next = nullptr;
    h->owner = nullptr;
  }
  /// Frees every block still held (those of a call that returned early).
  void releaseBlocks() {
    for (;;) {
      BlockHeader *h;
      {
        std::lock_guard<std::mutex> lock(mutex);
        if (blocks.next == &blocks)
          return;
        h = blocks.next;
      }
      unlink(h);
      releaseBlock(h);
    }
  }
  /// Takes the failure (if any), frees what the call left, starts afresh.
  bool take(bool &isRefusal, int64_t &size, int64_t &max) {
    if (!failed.load(std::memory_order_acquire))
      return false;
    releaseBlocks();
    std::lock_guard<std::mutex> lock(mutex);
    isRefusal = refused;
    size = bytes;
    max = limit;
    failed.store(false, std::memory_order_relaxed);
    return true;
  }

  std::atomic<bool> failed{false};
  std::mutex mutex;
  bool refused = false;
  int64_t bytes = 0, limit = 0;
  BlockHeader blocks{}; // sentinel of the list of blocks in use
};

thread_local CallState tOwnState;
/// The state of the call this thread works for (a worker: the caller's).
thread_local CallState *tState = nullptr;

CallState &currentState() { return tState ? *tState : tOwnState; }

/// "512", "64K", "3G", "1T" (powers of 1024) as bytes; -1 if malformed,
/// zero or too large.
int64_t parseBytes(const char *text) {
  if (!std::isdigit(static_cast<unsigned char>(*text)))
    return -1;
  errno = 0;
  char *end = nullptr;
  unsigned long long n = std::strtoull(text, &end, 10);
  if (errno != 0)
    return -1;
  int shift = 0;
  switch (std::toupper(static_cast<unsigned char>(*end))) {
  case 'K':
    shift = 10;
    break;
  case 'M':
    shift = 20;
    break;
  case 'G':
    shift = 30;
    break;
  case 'T':
    shift = 40;
    break;
  }
  if (shift)
    ++end;
  if (*end != '\0' || n == 0 || n > (unsigned long long)(INT64_MAX >> shift))
    return -1;
  return static_cast<int64_t>(n << shift);
}

/// $NEUROMANCER_MAX_TEMP_BYTES as bytes, or 0 (after one warning on stderr
/// naming the value) when unset or not a positive size.
int64_t tempLimitFromEnvironment() {
  const char *env = std::getenv("NEUROMANCER_MAX_TEMP_BYTES");
  if (!env || !*env)
    return 0;
  int64_t n = parseBytes(env);
  if (n > 0)
    return n;
  static std::once_flag warned;
  std::call_once(warned, [&] {
    std::fprintf(stderr,
                 "neuromancer: NEUROMANCER_MAX_TEMP_BYTES='%s' is not a "
                 "positive number of bytes (optionally with a K, M, G or T "
                 "suffix); using the physical memory\n",
                 env);
  });
  return 0;
}

int64_t physicalMemory() {
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0 || pages > INT64_MAX / page)
    return INT64_MAX;
  return static_cast<int64_t>(pages) * page;
}

inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

thread_local bool tInsideBody = false;

/// NEUROMANCER_PROFILE=1: wall and busy time of every parallel loop,
/// printed on stderr at exit (a developer aid: which layer's loop is slow,
/// and how well it keeps the threads busy). One row per loop body, in the
/// order of first use, i.e. program order within a compiled function.
class LoopProfile {
public:
  static LoopProfile *get() {
    static LoopProfile *profile = [] {
      const char *env = std::getenv("NEUROMANCER_PROFILE");
      if (!env || !*env || std::strcmp(env, "0") == 0)
        return static_cast<LoopProfile *>(nullptr);
      auto *p = new LoopProfile();
      std::atexit([] { get()->print(); });
      return p;
    }();
    return profile;
  }
  static double now() {
    return std::chrono::duration<double>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  void record(nm_parallel_body body, int64_t n, int threads, double wall,
              double busy) {
    std::lock_guard<std::mutex> lock(mutex_);
    Row *row = nullptr;
    for (Row &r : rows_)
      if (r.body == body)
        row = &r;
    if (!row) {
      rows_.push_back(Row{body, n});
      row = &rows_.back();
    }
    row->calls += 1;
    row->best = row->calls == 1 ? wall : std::min(row->best, wall);
    row->threads = threads;
    row->wall += wall;
    row->busy += busy;
  }

private:
  struct Row {
    nm_parallel_body body;
    int64_t n;
    int64_t calls = 0;
    int threads = 1;
    double wall = 0, busy = 0;
    double best = 0; // fastest single call
  };
  void print() {
    std::lock_guard<std::mutex> lock(mutex_);
    double wall = 0, busy = 0;
    std::fprintf(stderr, "neuromancer profile: parallel loops (total over "
                         "all calls; busy = time inside the body summed over "
                         "threads; use = busy / (wall x threads))\n");
    std::fprintf(stderr, "%4s %-18s %8s %8s %10s %10s %5s %10s\n", "loop",
                 "body", "calls", "n", "wall ms", "busy ms", "use",
                 "fastest ms");
    for (size_t i = 0; i < rows_.size(); ++i) {
      const Row &r = rows_[i];
      std::fprintf(
          stderr, "%4zu %-18p %8lld %8lld %10.2f %10.2f %5.2f %10.3f\n", i,
          reinterpret_cast<void *>(r.body), static_cast<long long>(r.calls),
          static_cast<long long>(r.n), r.wall * 1e3, r.busy * 1e3,
          r.wall > 0 ? r.busy / (r.wall * r.threads) : 0.0, r.best * 1e3);
      wall += r.wall;
      busy += r.busy;
    }
    std::fprintf(stderr, "total wall %.2f ms, busy %.2f ms\n", wall * 1e3,
                 busy * 1e3);
  }
  std::mutex mutex_;
  std::vector<Row> rows_;
};

class Pool {
public:
  static Pool &get() {
    static Pool *pool = new Pool(); // never destroyed: workers may outlive
                                    // static destruction order
    return *pool;
  }

  int threads() const { return threads_.load(std::memory_order_relaxed); }

  void resize(int n) {
    if (n <= 0)
      n = default_num_threads();
    n = static_cast<int>(std::min<long>(n, kMaxThreads));
    std::lock_guard<std::mutex> use(useMutex_);
    if (n == threads())
      return;
    stopWorkers();
    startWorkers(n);
  }

  void run(nm_parallel_body body, void *ctx, int64_t n) {
    // A call that has failed runs nothing more (it is returning early).
    if (n <= 0 || currentState().failed.load(std::memory_order_acquire))
      return;
    if (LoopProfile *profile = LoopProfile::get(); profile && !tInsideBody) {
      runProfiled(*profile, body, ctx, n);
      return;
    }
    runUnprofiled(body, ctx, n);
  }

private:
  /// The body wrapped to sum the time spent in it on every thread.
  struct Profiled {
    nm_parallel_body body;
    void *ctx;
    std::atomic<double> busy{0};
    static void call(void *self, int64_t begin, int64_t end) {
      auto *p = static_cast<Profiled *>(self);
      double start = LoopProfile::now();
      p->body(p->ctx, begin, end);
      p->busy.fetch_add(LoopProfile::now() - start);
    }
  };

  void runProfiled(LoopProfile &profile, nm_parallel_body body, void *ctx,
                   int64_t n) {
    Profiled p{body, ctx};
    double start = LoopProfile::now();
    runUnprofiled(&Profiled::call, &p, n);
    profile.record(body, n, threads(), LoopProfile::now() - start,
                   p.busy.load());
  }

  void runUnprofiled(nm_parallel_body body, void *ctx, int64_t n) {
    int t = threads();
    if (n == 1 || t <= 1 || tInsideBody) {
      runSerial(body, ctx, n);
      return;
    }
    std::unique_lock<std::mutex> use(useMutex_, std::try_to_lock);
    if (!use.owns_lock() || workers_.empty()) {
      runSerial(body, ctx, n); // another thread uses the pool
      return;
    }
    job_.body = body;
    job_.ctx = ctx;
    job_.state = &currentState();
    job_.n = n;
    job_.shares = 2 * int64_t(workers_.size() + 1);
    job_.next.store(0, std::memory_order_relaxed);
    busy_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    work();
    // Wait for every worker to leave the job (they may still be running a
    // chunk); spin first, then yield.
    for (int spins = 0; busy_.load(std::memory_order_acquire) != 0; ++spins) {
      if (spins < 4096)
        cpuRelax();
      else
        std::this_thread::yield();
    }
  }

  struct Job {
    nm_parallel_body body = nullptr;
    void *ctx = nullptr;
    CallState *state = nullptr; // the caller's, for the workers
    int64_t n = 0;
    int64_t shares = 2; // chunk = remaining / shares
    std::atomic<int64_t> next{0};
  };

  Pool() { startWorkers(default_num_threads()); }

  static void runSerial(nm_parallel_body body, void *ctx, int64_t n) {
    bool outer = tInsideBody;
    tInsideBody = true;
    body(ctx, 0, n);
    tInsideBody = outer;
  }

  void work() {
    bool outer = tInsideBody;
    CallState *outerState = tState;
    tInsideBody = true;
    tState = job_.state;
    for (;;) {
      // After a failure (here or on another thread) no further chunks.
      if (job_.state->failed.load(std::memory_order_relaxed))
        break;
      int64_t begin = job_.next.load(std::memory_order_relaxed), end;
      do {
        if (begin >= job_.n)
          break;
        end = begin + std::max<int64_t>(1, (job_.n - begin) / job_.shares);
      } while (!job_.next.compare_exchange_weak(begin, end,
                                                std::memory_order_relaxed));
      if (begin >= job_.n)
        break;
      job_.body(job_.ctx, begin, end);
    }
    tInsideBody = outer;
    tState = outerState;
  }

  /// `seen`: the generation when the worker was created (a job published
  /// before the thread first runs must not be skipped).
  void workerLoop(uint64_t seen) {
    for (;;) {
      // Spin a little (about 50-100 us), then sleep until the next job.
      uint64_t g = seen;
      for (int spins = 0; spins < 20000; ++spins) {
        g = generation_.load(std::memory_order_acquire);
        if (g != seen)
          break;
        cpuRelax();
      }
      if (g == seen) {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [&] {
          return generation_.load(std::memory_order_acquire) != seen;
        });
        g = generation_.load(std::memory_order_acquire);
      }
      seen = g;
      if (stop_.load(std::memory_order_acquire))
        return;
      work();
      busy_.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  void startWorkers(int n) {
    stop_.store(false, std::memory_order_relaxed);
    uint64_t now = generation_.load(std::memory_order_acquire);
    for (int i = 1; i < n; ++i)
      workers_.emplace_back([this, now] { workerLoop(now); });
    threads_.store(n, std::memory_order_relaxed);
  }

  void stopWorkers() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_.store(true, std::memory_order_release);
      generation_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    for (std::thread &w : workers_)
      w.join();
    workers_.clear();
  }

  std::mutex useMutex_; // one parallel_for (or resize) at a time
  std::mutex mutex_;    // guards sleeping on cv_
  std::condition_variable cv_;
  std::vector<std::thread> workers_;
  std::atomic<int> threads_{1};
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> busy_{0};
  std::atomic<bool> stop_{false};
  Job job_;
};

/// Blocks at least this large are cached on free.
constexpr int64_t kCachedBlock = int64_t(1) << 20;
/// At most this many bytes stay cached.
constexpr int64_t kCacheLimit = int64_t(4) << 30;
/// Blocks at least this large start on a huge-page boundary and ask for
/// transparent huge pages (MADV_HUGEPAGE; Debian's default THP mode is
/// "madvise"). A conv's window walks kd x kh input rows that lie a whole
/// plane apart, each in its own 4 KiB page; on 2 MiB pages those walks stop
/// missing the TLB. Measured on neuro3d at prediction size (per-loop
/// minima): 0-9 % faster per conv loop at 2 threads, 5 % over the forward
/// at 1 thread.
constexpr int64_t kHugePage = int64_t(2) << 20;
constexpr int64_t kHugeBlock = 2 * kHugePage;

/// A fresh block of `total` bytes (header included), 64-byte aligned; huge
/// pages for large ones where the kernel offers them.
void *allocateBlock(int64_t total) {
  if (total < kHugeBlock)
    return std::aligned_alloc(64, total);
  int64_t rounded = (total + kHugePage - 1) / kHugePage * kHugePage;
  void *p = std::aligned_alloc(kHugePage, rounded);
#ifdef MADV_HUGEPAGE
  if (p)
    madvise(p, rounded, MADV_HUGEPAGE); // advice only: failure is harmless
#endif
  return p;
}

class BlockCache {
public:
  static BlockCache &get() {
    static BlockCache *cache = new BlockCache();
    return *cache;
  }
  /// A cached block of at least `size` (and at most twice that), or null.
  BlockHeader *take(int64_t size) {
    std::lock_guard<std::mutex> lock(mutex_);
    size_t best = blocks_.size();
    for (size_t i = 0; i < blocks_.size(); ++i)
      if (blocks_[i]->size >= size && blocks_[i]->size <= 2 * size &&
          (best == blocks_.size() || blocks_[i]->size < blocks_[best]->size))
        best = i;
    if (best == blocks_.size())
      return nullptr;
    BlockHeader *h = blocks_[best];
    blocks_.erase(blocks_.begin() + best);
    cached_ -= h->size;
    return h;
  }
  /// Keeps `h` for reuse; false if the cache is full.
  bool put(BlockHeader *h) {
    std::lock_guard<std::mutex> lock(mutex_);
    while (cached_ + h->size > kCacheLimit && !blocks_.empty()) {
      cached_ -= blocks_.front()->size;
      std::free(blocks_.front());
      blocks_.erase(blocks_.begin());
    }
    if (cached_ + h->size > kCacheLimit)
      return false;
    blocks_.push_back(h);
    cached_ += h->size;
    return true;
  }
  void clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (BlockHeader *h : blocks_)
      std::free(h);
    blocks_.clear();
    cached_ = 0;
  }

private:
  std::mutex mutex_;
  std::vector<BlockHeader *> blocks_;
  int64_t cached_ = 0;
};

/// Returns a block that is no longer in use: to the cache, or freed.
void releaseBlock(BlockHeader *h) {
  h->magic = 0;
  if (h->size >= kCachedBlock && BlockCache::get().put(h))
    return;
  std::free(h);
}

} // namespace

bool takeCallFailure(CallFailure &failure) {
  return currentState().take(failure.refused, failure.bytes, failure.limit);
}

} // namespace nm

extern "C" {

void *nm_runtime_alloc(int64_t size) {
  using nm::BlockHeader;
  nm::CallState &state = nm::currentState();
  // After a failure every allocation fails, so the call returns early.
  if (size < 0 || state.failed.load(std::memory_order_acquire)) {
    state.fail(false, size, 0);
    return nullptr;
  }
  BlockHeader *h = nullptr;
  if (size >= nm::kCachedBlock)
    h = nm::BlockCache::get().take(size);
  if (!h) {
    int64_t total = size > INT64_MAX - 127
                        ? -1
                        : (int64_t(sizeof(BlockHeader)) + size + 63) / 64 * 64;
    h = total < 0 ? nullptr
                  : static_cast<BlockHeader *>(nm::allocateBlock(total));
    if (!h) {
      state.fail(false, size, 0);
      return nullptr;
    }
    h->size = size;
  }
  h->magic = nm::kMagic;
  state.link(h);
  return h + 1;
}

void nm_runtime_free(void *ptr) {
  using nm::BlockHeader;
  if (!ptr)
    return;
  BlockHeader *h = static_cast<BlockHeader *>(ptr) - 1;
  if (h->magic != nm::kMagic || !h->owner)
    std::abort(); // not ours: a bug in the compiled code or the caller
  h->owner->unlink(h);
  nm::releaseBlock(h);
}

void nm_runtime_release_memory(void) { nm::BlockCache::get().clear(); }

void nm_runtime_parallel_for(nm_parallel_body body, void *ctx, int64_t n) {
  nm::Pool::get().run(body, ctx, n);
}

void nm_runtime_set_num_threads(int n) { nm::Pool::get().resize(n); }

int nm_runtime_get_num_threads(void) { return nm::Pool::get().threads(); }

int64_t nm_runtime_max_temp_bytes(void) {
  if (int64_t n = nm::tempLimitFromEnvironment())
    return n;
  return nm::physicalMemory();
}

int nm_runtime_check_temp_bytes(int64_t bytes, int64_t per_thread_bytes) {
  nm::CallState &state = nm::currentState();
  nm::CallFailure stale; // of an earlier call nobody asked about
  state.take(stale.refused, stale.bytes, stale.limit);
  int64_t extra = std::max(0, nm_runtime_get_num_threads() - 1);
  int64_t need = bytes;
  if (per_thread_bytes > 0 && extra > 0)
    need = per_thread_bytes > (INT64_MAX - bytes) / extra
               ? INT64_MAX
               : bytes + per_thread_bytes * extra;
  int64_t limit = nm_runtime_max_temp_bytes();
  if (need <= limit)
    return NM_OK;
  state.fail(true, need, limit);
  return NM_ERROR_OUT_OF_MEMORY;
}

int nm_runtime_call_failed(void) {
  return nm::currentState().failed.load(std::memory_order_acquire) ? 1 : 0;
}

int nm_runtime_call_status(void) {
  nm::CallFailure failure;
  return nm::takeCallFailure(failure) ? NM_ERROR_OUT_OF_MEMORY : NM_OK;
}

} // extern "C"
