// How far a consumer has got, and since when: for each partition, the position through which everything is
// durable (the warehouse: shipped and announced; statistics: counted in saved figures), and a bounded list
// of marks (that position, the time it was reached), one per save. "Was offset X handled, and when?" is
// answered from the marks without remembering any record: the order tracking asks it.
//
// Thread-safe: the consumer thread records, HTTP threads ask.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace kd::consumer {

struct Progress {
  bool done = false;                  // the position has passed the offset
  std::optional<std::int64_t> at_ms;  // when it did, where a mark still says so
  std::optional<std::int64_t> by_ms;  // else a time it had passed it by: the oldest mark, or the start
  std::int64_t next = 0;              // the durable position: the next offset to handle
};

class ProgressLog {
 public:
  // 4,096 marks: the warehouse saves once per batch, so minutes of shipping times at full load.
  explicit ProgressLog(std::size_t marks_per_partition = 4096) : capacity_(marks_per_partition) {}

  // Where the partition's durable position stood when this process started (`at_ms`): what lies before was
  // handled by an earlier run, at a time no longer known.
  void started(int partition, std::int64_t next, std::int64_t at_ms);
  // Everything before `next` is durable as of `at_ms`.
  void advanced(int partition, std::int64_t next, std::int64_t at_ms);

  Progress when(int partition, std::int64_t offset) const;
  // The durable position of every partition known.
  std::map<int, std::int64_t> positions() const;

 private:
  struct Mark {
    std::int64_t next;
    std::int64_t at_ms;
  };
  struct Partition {
    std::int64_t base = 0;        // offsets before it were durable before the oldest mark
    std::int64_t base_by_ms = 0;  // ...by this time
    std::deque<Mark> marks;       // increasing `next`
  };
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::map<int, Partition> partitions_;
};

}  // namespace kd::consumer
