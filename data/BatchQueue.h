//===- BatchQueue.h - BatchCreatorImage's background workers ----*- C++ -*-===//
//
// Internal to //data: ELEKTRONN2's background_processes as threads. Batch i
// of a source is a pure function of (seed, source, i), so workers may
// produce batches in any order; the caller takes them in index order.
//
//===----------------------------------------------------------------------===//
#ifndef NEUROMANCER_DATA_BATCHQUEUE_H
#define NEUROMANCER_DATA_BATCHQUEUE_H

#include "neuromancer/data/BatchCreatorImage.h"

#include <condition_variable>
#include <exception>
#include <map>
#include <thread>
#include <variant>

namespace nm {

/// Workers claim batch indices in order, produce them concurrently and file
/// each result (or its exception) under its index; the caller takes them in
/// index order. At most `queue` batches are ahead of the caller.
class BatchCreatorImage::Prefetcher {
public:
  Prefetcher(const BatchCreatorImage &owner, int stream,
             GetBatchOptions options, uint64_t first, int workers, int queue)
      : owner_(owner), stream_(stream), options_(std::move(options)),
        claim_(first), consumed_(first),
        queue_(static_cast<uint64_t>(std::max(queue, 1))) {
    for (int i = 0; i < workers; ++i)
      threads_.emplace_back([this] { work(); });
  }
  ~Prefetcher() {
    {
      std::lock_guard<std::mutex> lock(m_);
      stop_ = true;
    }
    workCv_.notify_all();
    for (auto &t : threads_)
      t.join();
  }
  const GetBatchOptions &options() const { return options_; }
  /// The index of the next batch the caller gets.
  uint64_t next() {
    std::lock_guard<std::mutex> lock(m_);
    return consumed_;
  }
  std::vector<Array> pop() {
    std::unique_lock<std::mutex> lock(m_);
    readyCv_.wait(lock, [&] { return results_.count(consumed_) != 0; });
    Result r = std::move(results_[consumed_]);
    results_.erase(consumed_++);
    lock.unlock();
    workCv_.notify_all();
    if (auto *e = std::get_if<std::exception_ptr>(&r))
      std::rethrow_exception(*e);
    return std::move(std::get<std::vector<Array>>(r));
  }

private:
  using Result = std::variant<std::vector<Array>, std::exception_ptr>;
  void work() {
    std::unique_lock<std::mutex> lock(m_);
    for (;;) {
      workCv_.wait(lock, [&] {
        return stop_ || (!failed_ && claim_ < consumed_ + queue_);
      });
      if (stop_)
        return;
      uint64_t i = claim_++;
      lock.unlock();
      Result r;
      try {
        r = owner_.produce(stream_, i, options_);
      } catch (...) {
        r = std::current_exception();
      }
      lock.lock();
      // After a failure no new batches are started: the caller reaches the
      // failed index (all earlier ones are in progress) and gets the error.
      if (std::holds_alternative<std::exception_ptr>(r))
        failed_ = true;
      results_.emplace(i, std::move(r));
      readyCv_.notify_all();
    }
  }

  const BatchCreatorImage &owner_;
  const int stream_;
  const GetBatchOptions options_;
  std::mutex m_;
  std::condition_variable workCv_, readyCv_;
  uint64_t claim_, consumed_;
  const uint64_t queue_;
  bool stop_ = false, failed_ = false;
  std::map<uint64_t, Result> results_;
  std::vector<std::thread> threads_;
};

} // namespace nm

#endif // NEUROMANCER_DATA_BATCHQUEUE_H
