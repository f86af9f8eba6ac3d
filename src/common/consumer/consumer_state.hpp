// What a consumer knows of its partitions, apart from Kafka and disk: where each partition stands, the
// dedupe window of its newest records, and what each new record is to it (the first copy of an order, a
// copy, a conflict, a gap before it). Plain logic on the consumer's thread; ConsumerLoop feeds it records
// and StateStore keeps it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "common/consumer/dedupe_window.hpp"

namespace kd::consumer {

// Where a partition stands, saved with the handler's state in one transaction.
struct PartitionPosition {
  std::int64_t next = 0;          // the first offset not yet handled
  std::uint64_t last_digest = 0;  // value_digest() of the record at next - 1: the topic's fingerprint
  std::int64_t covered_from = 0;  // the window has seen every record from here to next
  friend bool operator==(const PartitionPosition&, const PartitionPosition&) = default;
};

// What changed since the last save.
struct StateChanges {
  std::map<int, PartitionPosition> positions;             // partitions that moved
  std::map<int, std::vector<DedupeWindow::Entry>> added;  // new window entries, in offset order
  std::map<int, std::int64_t> window_start;               // entries below these are forgotten
  bool empty() const { return positions.empty(); }
};

// How a record's offset fits the partition's position.
enum class OffsetFit {
  expected,     // the next record, or the first of a partition without a position
  fingerprint,  // the record at next - 1, re-read at start to prove the topic is the one the state is of
  gap,          // later than expected: records were deleted (retention) before they were handled
  foreign,      // before the position, or a different record at next - 1: the topic was deleted and
                // recreated (or truncated) under the same name, and the state belongs to the old one
};

// What an order record is to the window.
enum class Sighting {
  first,     // not in the window: act on it
  copy,      // the same bytes under the same id, seen before: acted on already
  conflict,  // another order under the same id: a loud error, never a dedupe
};

struct Examined {
  OffsetFit fit = OffsetFit::expected;
  std::int64_t expected = 0;  // the offset the position expected (for gap and foreign)
  Sighting sighting = Sighting::first;
  std::int64_t first_offset = -1;  // for copy and conflict: where the id was first seen
  bool older_than_window = false;  // a first copy whose id is older than the window's oldest (see .cpp)
  std::int64_t window_oldest_offset = -1;  // then: the offset of the window's oldest entry
  std::uint64_t digest = 0;                // value_digest() of the record
  std::optional<std::uint64_t> key;        // order_key() of its order id, for a record that holds an order
};

class ConsumerState {
 public:
  // `window_records`: how many of each partition's newest records the window covers (0: none).
  explicit ConsumerState(std::int64_t window_records) : window_records_(window_records) {}

  // From the store, before any record: positions, and window entries in offset order.
  void restore(int partition, const PartitionPosition& position, std::vector<DedupeWindow::Entry> entries);

  std::optional<PartitionPosition> position(int partition) const;
  // Where a restarted partition must be read from: the record at next - 1, to check the fingerprint.
  std::optional<std::int64_t> resume_offset(int partition) const;

  // What the record is; changes nothing. `order_id` is null for a record that holds no order.
  Examined examine(int partition, std::int64_t offset, std::string_view value,
                   const std::string_view* order_id) const;
  // The record examine() looked at is handled (acted on, counted as a copy, or dead-lettered): the
  // position moves past it, and the first copy of an order enters the window.
  void handled(int partition, std::int64_t offset, const Examined& seen);
  // The same for a record not examined first (its digest and key are computed here).
  void handled(int partition, std::int64_t offset, std::string_view value, const std::string_view* order_id,
               Sighting sighting);
  // The fingerprint record matched: nothing to handle, the partition is verified.
  void verified(int partition);

  bool has_changes() const { return !changes_.empty(); }
  StateChanges take_changes();
  std::int64_t window_records() const { return window_records_; }
  std::size_t window_size(int partition) const;

 private:
  struct Partition {
    PartitionPosition position;
    bool has_position = false;
    bool unverified = false;  // restored with a position; the record at next - 1 not yet re-read
    DedupeWindow window;
  };

  std::int64_t window_records_;
  std::map<int, Partition> partitions_;
  StateChanges changes_;
};

}  // namespace kd::consumer
