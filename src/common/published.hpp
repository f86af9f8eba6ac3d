// A value one thread publishes and others read, where a reader must never wait for the writer's work:
// the writer builds the new value first and only swaps a pointer under the lock, so the HTTP thread
// reading /stats never waits behind a batch, a disk sync or a dead letter on the consumer's thread.
#pragma once

#include <memory>
#include <mutex>
#include <utility>

namespace kd {

template <class T>
class Published {
 public:
  explicit Published(T initial = T{}) : value_(std::make_shared<const T>(std::move(initial))) {}

  void set(T value) {
    auto fresh = std::make_shared<const T>(std::move(value));
    std::lock_guard lock(mutex_);
    value_.swap(fresh);
  }  // the old value is freed here, outside the lock
  std::shared_ptr<const T> get() const {
    std::lock_guard lock(mutex_);
    return value_;
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const T> value_;
};

}  // namespace kd
