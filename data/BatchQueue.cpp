//===- BatchQueue.cpp - BatchCreatorImage's background workers ------------===//
#include "neuromancer/data/BatchQueue.h"

#include "neuromancer/core/Error.h"

namespace nm {

BatchCreatorImage::~BatchCreatorImage() { stopBackground(); }

void BatchCreatorImage::stopBackground() {
  for (int s = 0; s < 2; ++s)
    if (prefetch_[s]) {
      next_[s] = prefetch_[s]->next();
      prefetch_[s].reset();
    }
}

void BatchCreatorImage::set_background(int workers, int queue_size) {
  if (workers < 0 || queue_size < 0)
    throw ValueError("set_background: workers and queue_size must be >= 0");
  std::lock_guard<std::mutex> lock(mutex_);
  stopBackground();
  workers_ = workers;
  queueSize_ = queue_size ? queue_size : 2 * workers;
}

namespace {
int sourceIndex(const std::string &source) {
  if (source != "train" && source != "valid")
    throw ValueError("unknown batch source '" + source +
                     "' (expected 'train' or 'valid')");
  return source == "train" ? 0 : 1;
}
} // namespace

uint64_t BatchCreatorImage::batch_index(const std::string &source) {
  const int s = sourceIndex(source);
  std::lock_guard<std::mutex> lock(mutex_);
  return prefetch_[s] ? prefetch_[s]->next() : next_[s];
}

void BatchCreatorImage::set_batch_index(const std::string &source,
                                        uint64_t index) {
  const int s = sourceIndex(source);
  std::lock_guard<std::mutex> lock(mutex_);
  prefetch_[s].reset();
  next_[s] = index;
}

std::vector<Array> BatchCreatorImage::getbatch(const GetBatchOptions &o) {
  check(o);
  const int s = o.source == "train" ? 0 : 1;
  std::lock_guard<std::mutex> lock(mutex_);
  if (workers_ == 0)
    return produce(s, next_[s]++, o);
  auto &p = prefetch_[s];
  if (p && !(p->options() == o)) {
    next_[s] = p->next();
    p.reset();
  }
  if (!p)
    p = std::make_unique<Prefetcher>(*this, s, o, next_[s], workers_,
                                     queueSize_);
  try {
    return p->pop();
  } catch (...) {
    next_[s] = p->next();
    p.reset();
    throw;
  }
}
} // namespace nm
