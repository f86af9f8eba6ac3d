#include "common/consumer/progress_log.hpp"

#include <algorithm>

namespace kd::consumer {

void ProgressLog::started(int partition, std::int64_t next, std::int64_t at_ms) {
  std::lock_guard lock(mutex_);
  partitions_[partition] = Partition{next, at_ms, {}};
}

void ProgressLog::advanced(int partition, std::int64_t next, std::int64_t at_ms) {
  std::lock_guard lock(mutex_);
  auto& p = partitions_[partition];
  const std::int64_t current = p.marks.empty() ? p.base : p.marks.back().next;
  if (next <= current) return;
  p.marks.push_back({next, at_ms});
  if (p.marks.size() > capacity_) {
    // The dropped mark's offsets were durable by its time, which is no later than the next mark's.
    p.base = p.marks.front().next;
    p.base_by_ms = p.marks.front().at_ms;
    p.marks.pop_front();
  }
}

Progress ProgressLog::when(int partition, std::int64_t offset) const {
  std::lock_guard lock(mutex_);
  const auto it = partitions_.find(partition);
  if (it == partitions_.end()) return {};
  const Partition& p = it->second;
  Progress progress;
  progress.next = p.marks.empty() ? p.base : p.marks.back().next;
  if (offset >= progress.next) return progress;
  progress.done = true;
  if (offset < p.base) {
    progress.by_ms = p.base_by_ms;
    return progress;
  }
  // The first mark whose position passed the offset is the save that made it durable.
  const auto mark = std::upper_bound(p.marks.begin(), p.marks.end(), offset,
                                     [](std::int64_t value, const Mark& m) { return value < m.next; });
  progress.at_ms = mark->at_ms;
  return progress;
}

std::map<int, std::int64_t> ProgressLog::positions() const {
  std::lock_guard lock(mutex_);
  std::map<int, std::int64_t> out;
  for (const auto& [partition, p] : partitions_)
    out[partition] = p.marks.empty() ? p.base : p.marks.back().next;
  return out;
}

}  // namespace kd::consumer
