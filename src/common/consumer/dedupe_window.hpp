// The order ids of a partition's newest records, to act on an order once even when Kafka holds it twice.
// Kafka can: librdkafka 2.0.2's idempotent producer re-sends a batch under a bumped epoch after a request
// timed out, which the broker cannot recognise as a retry if it had stored the first copy (the
// brokers_down fault test caught 93 acknowledged orders stored twice that way). Such copies sit close
// together in a partition, so the newest records of each partition suffice.
//
// Memory is what bounds the window, so it is compact: entries in offset order (a deque, 24 bytes each)
// and an open-addressing index of 4-byte slots into it, about 32 bytes an entry. std::unordered_map
// would take about 60 (a node per entry), and Debian's Boost 1.74 predates boost::unordered_flat_map.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string_view>
#include <vector>

namespace kd::consumer {

// An order id as the window keys it. Snowflake ids are decimal numbers below 2^63 and become that number;
// anything else the order model accepts ("007") is hashed into the upper half, so it never meets a
// canonical id (two such ids colliding, 1 in 2^63, would be taken for copies: then their digests differ
// and the consumer reports a conflict instead of acting in silence).
std::uint64_t order_key(std::string_view order_id);

// A stable 64-bit digest of a record's value (XXH3): copies are byte for byte the same.
std::uint64_t value_digest(std::string_view value);

class DedupeWindow {
 public:
  struct Entry {
    std::int64_t offset = 0;
    std::uint64_t key = 0;     // order_key() of the order id
    std::uint64_t digest = 0;  // value_digest() of the record
    friend bool operator==(const Entry&, const Entry&) = default;
  };

  // The entry of that order key, or null.
  const Entry* find(std::uint64_t key) const;
  // Adds an order not in the window, at an offset after every entry's.
  void push(const Entry& entry);
  // Forgets the entries at offsets below `offset`.
  void evict_before(std::int64_t offset);

  const Entry* oldest() const { return entries_.empty() ? nullptr : &entries_.front(); }
  std::size_t size() const { return entries_.size(); }
  const std::deque<Entry>& entries() const { return entries_; }

 private:
  static constexpr std::uint32_t kEmpty = 0xFFFFFFFF;
  // A slot holds an entry's sequence number (entries ever pushed before it) modulo kEmpty, so an index
  // into entries_ is (slot - popped_) modulo kEmpty: 4 bytes instead of 8, for windows below 2^32 - 1.
  std::size_t index_of(std::uint32_t slot) const;
  std::size_t home(std::uint64_t key) const;
  std::size_t find_slot(std::uint64_t key) const;  // the slot holding key, or slots_.size()
  void grow();
  void erase_slot(std::size_t slot);

  std::deque<Entry> entries_;
  std::uint64_t popped_ = 0;  // entries ever evicted from the front
  std::vector<std::uint32_t> slots_;
};

}  // namespace kd::consumer
