// The newest order ids a consumer has handled, to act on an order once even when Kafka holds it twice.
// Kafka can: librdkafka 2.0.2's idempotent producer re-sends a batch under a bumped epoch after a
// request timed out, which the broker cannot recognise as a retry if it had stored the first copy (the
// brokers_down fault test caught 93 acknowledged orders stored twice that way). The copies sit close
// together in a partition, so a bounded window of the newest ids is enough.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string_view>
#include <unordered_set>

namespace kd {

class RecentIds {
 public:
  explicit RecentIds(std::size_t capacity) : capacity_(capacity) {}

  // True if the id is not among the newest `capacity` ids (and remembers it); false for a repeat.
  bool insert(std::string_view id);
  bool contains(std::string_view id) const { return ids_.contains(key(id)); }
  std::size_t size() const { return ids_.size(); }

 private:
  // Snowflake ids are decimal numbers below 2^63: kept as 8 bytes instead of a string. Anything else is
  // hashed into the upper half, so it never meets a numeric id (a hash collision between two non-numeric
  // ids, 1 in 2^63, would miss one order: acceptable for ids that are never non-numeric in practice).
  static std::uint64_t key(std::string_view id);

  std::size_t capacity_;
  std::unordered_set<std::uint64_t> ids_;
  std::deque<std::uint64_t> arrival_;  // ids_ in arrival order, to forget the oldest
};

}  // namespace kd
