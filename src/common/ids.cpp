#include "common/ids.hpp"

#include <chrono>
#include <stdexcept>

namespace kd {

SnowflakeGenerator::SnowflakeGenerator(std::uint16_t node, ClockMs clock)
    : node_(node), clock_(std::move(clock)) {
  if (node_ > kMaxNode) throw std::invalid_argument("snowflake node must be 0.." + std::to_string(kMaxNode));
}

std::int64_t SnowflakeGenerator::system_clock_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::int64_t SnowflakeGenerator::next() {
  constexpr std::uint64_t kSequenceMask = (1u << kSequenceBits) - 1;
  const std::uint64_t now = static_cast<std::uint64_t>(clock_() - kEpochMs) << kSequenceBits;
  std::uint64_t last = last_.load(std::memory_order_relaxed);
  std::uint64_t next;
  do {
    // A new millisecond starts a new sequence; within the same (or an earlier, if the clock stepped
    // back) millisecond, take the next sequence number. When 4096 ids are used up, this borrows the next
    // millisecond, so ids stay unique and increasing.
    next = now > last ? now : last + 1;
  } while (!last_.compare_exchange_weak(last, next, std::memory_order_relaxed));
  const std::uint64_t millis = next >> kSequenceBits;
  const std::uint64_t sequence = next & kSequenceMask;
  return static_cast<std::int64_t>((millis << (kNodeBits + kSequenceBits)) |
                                   (std::uint64_t{node_} << kSequenceBits) | sequence);
}

std::uint16_t node_from_hostname(const std::string& hostname) {
  std::uint32_t hash = 2166136261u;  // FNV-1a: stable across runs and builds, unlike std::hash
  for (unsigned char c : hostname) hash = (hash ^ c) * 16777619u;
  return static_cast<std::uint16_t>(hash % (SnowflakeGenerator::kMaxNode + 1));
}

}  // namespace kd
