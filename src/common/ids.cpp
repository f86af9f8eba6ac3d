#include "common/ids.hpp"

#include <charconv>
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

SnowflakeParts decode_snowflake(std::int64_t id) {
  using G = SnowflakeGenerator;
  const auto bits = static_cast<std::uint64_t>(id);
  return {.unix_ms = static_cast<std::int64_t>(bits >> (G::kNodeBits + G::kSequenceBits)) + G::kEpochMs,
          .node = static_cast<std::uint16_t>((bits >> G::kSequenceBits) & G::kMaxNode),
          .sequence = static_cast<std::uint16_t>(bits & ((1u << G::kSequenceBits) - 1))};
}

Result<std::int64_t> parse_snowflake(std::string_view text) {
  const auto shown = "'" + std::string(text.substr(0, 40)) + (text.size() > 40 ? "…'" : "'");
  if (text.empty() || text.size() > 19 || text.find_first_not_of("0123456789") != std::string_view::npos) {
    return make_error(Errc::bad_request, "an id is 1 to 19 decimal digits, got " + shown);
  }
  std::int64_t id = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    return make_error(Errc::bad_request, "an id is at most 2^63-1, got " + shown);
  }
  // "0123" would name the same order as "123": one spelling per id keeps ids comparable as text too.
  if (id == 0 || text.front() == '0') {
    return make_error(Errc::bad_request, "an id is a positive number without leading zeros, got " + shown);
  }
  return id;
}

std::uint16_t node_from_hostname(const std::string& hostname) {
  std::uint32_t hash = 2166136261u;  // FNV-1a: stable across runs and builds, unlike std::hash
  for (unsigned char c : hostname) hash = (hash ^ c) * 16777619u;
  return static_cast<std::uint16_t>(hash % (SnowflakeGenerator::kMaxNode + 1));
}

}  // namespace kd
