// Snowflake ids and the strong types built on them.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace kd {

// Strong types: an order id and a user id are both decimal snowflakes, and must never be mixed up.
struct OrderId {
  std::string value;
  friend bool operator==(const OrderId&, const OrderId&) = default;
};
struct UserId {
  std::string value;
  friend bool operator==(const UserId&, const UserId&) = default;
};

// Twitter-layout snowflake (41 bits of milliseconds since the Twitter epoch, 10 bits of node, 12 bits of
// sequence), the layout of the Go seed's ids: 1468136426238382080 decodes to 2021-12-07.
// Lock-free and safe to call from any thread; ids from one generator strictly increase, even if the wall
// clock steps back (the generator keeps its own notion of "now" and never goes behind it).
class SnowflakeGenerator {
 public:
  static constexpr std::int64_t kEpochMs = 1288834974657;
  static constexpr int kNodeBits = 10;
  static constexpr int kSequenceBits = 12;
  static constexpr std::uint16_t kMaxNode = (1u << kNodeBits) - 1;

  using ClockMs = std::function<std::int64_t()>;  // milliseconds since the Unix epoch

  explicit SnowflakeGenerator(std::uint16_t node, ClockMs clock = system_clock_ms);

  std::int64_t next();
  std::string next_string() { return std::to_string(next()); }
  std::uint16_t node() const { return node_; }

  static std::int64_t system_clock_ms();

 private:
  std::uint16_t node_;
  ClockMs clock_;
  // (milliseconds since kEpochMs) << kSequenceBits | sequence, of the last id handed out.
  std::atomic<std::uint64_t> last_{0};
};

// What a snowflake id says: when it was made, by which node (for an order id: its partition), and its
// sequence within that millisecond. The one place that knows the layout besides the generator.
struct SnowflakeParts {
  std::int64_t unix_ms = 0;  // milliseconds since the Unix epoch
  std::uint16_t node = 0;
  std::uint16_t sequence = 0;
  friend bool operator==(const SnowflakeParts&, const SnowflakeParts&) = default;
};
SnowflakeParts decode_snowflake(std::int64_t id);

// An id as our services write it: decimal digits, no sign, no leading zero, from 1 to 2^63-1. Errors are
// bad_request, with a message that says what is wrong.
Result<std::int64_t> parse_snowflake(std::string_view text);

// A node number for a process that has no ordinal of its own (the gateway's replicas): a hash of the
// host name, so ten gateway pods most likely draw ten different nodes. Uniqueness across pods is not
// needed for user ids, which are random by nature in the seed.
std::uint16_t node_from_hostname(const std::string& hostname);

}  // namespace kd
