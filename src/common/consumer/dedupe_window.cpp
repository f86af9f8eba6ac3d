#include "common/consumer/dedupe_window.hpp"

#include <xxhash.h>

#include <cassert>
#include <charconv>
#include <functional>

namespace kd::consumer {

std::uint64_t order_key(std::string_view id) {
  constexpr std::uint64_t kHashed = std::uint64_t{1} << 63;
  std::uint64_t number = 0;
  const auto [end, error] = std::from_chars(id.data(), id.data() + id.size(), number);
  const bool canonical = !id.empty() && (id.size() == 1 || id.front() != '0');  // "07" is not "7"
  if (canonical && error == std::errc{} && end == id.data() + id.size() && number < kHashed) return number;
  return XXH3_64bits(id.data(), id.size()) | kHashed;
}

std::uint64_t value_digest(std::string_view value) { return XXH3_64bits(value.data(), value.size()); }

std::size_t DedupeWindow::index_of(std::uint32_t slot) const {
  // In 64 bits: slot + kEmpty would wrap in 32.
  const std::uint64_t popped = popped_ % kEmpty;
  return static_cast<std::size_t>((std::uint64_t{slot} + kEmpty - popped) % kEmpty);
}

std::size_t DedupeWindow::home(std::uint64_t key) const {
  // Snowflake ids differ mostly in their low bits (sequence, node) and middle bits (milliseconds): a
  // multiplicative hash spreads them over the table.
  return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ull) >> 32) & (slots_.size() - 1);
}

std::size_t DedupeWindow::find_slot(std::uint64_t key) const {
  if (slots_.empty()) return 0;
  for (std::size_t slot = home(key);; slot = (slot + 1) & (slots_.size() - 1)) {
    if (slots_[slot] == kEmpty) return slots_.size();
    if (entries_[index_of(slots_[slot])].key == key) return slot;
  }
}

const DedupeWindow::Entry* DedupeWindow::find(std::uint64_t key) const {
  const std::size_t slot = find_slot(key);
  return slot < slots_.size() ? &entries_[index_of(slots_[slot])] : nullptr;
}

void DedupeWindow::grow() {
  std::vector<std::uint32_t> old = std::move(slots_);
  slots_.assign(old.empty() ? 1024 : old.size() * 2, kEmpty);
  for (const std::uint32_t value : old) {
    if (value == kEmpty) continue;
    std::size_t slot = home(entries_[index_of(value)].key);
    while (slots_[slot] != kEmpty) slot = (slot + 1) & (slots_.size() - 1);
    slots_[slot] = value;
  }
}

void DedupeWindow::push(const Entry& entry) {
  assert(find(entry.key) == nullptr);
  assert(entries_.empty() || entries_.back().offset < entry.offset);
  // At most half full: linear probing stays short.
  if ((entries_.size() + 1) * 2 > slots_.size()) grow();
  const auto sequence = static_cast<std::uint32_t>((popped_ + entries_.size()) % kEmpty);
  entries_.push_back(entry);
  std::size_t slot = home(entry.key);
  while (slots_[slot] != kEmpty) slot = (slot + 1) & (slots_.size() - 1);
  slots_[slot] = sequence;
}

// Backward-shift deletion: later slots of the same probe run move up, so no tombstones accumulate.
void DedupeWindow::erase_slot(std::size_t hole) {
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t next = (hole + 1) & mask; slots_[next] != kEmpty; next = (next + 1) & mask) {
    const std::size_t wanted = home(entries_[index_of(slots_[next])].key);
    // The entry at `next` may move into the hole unless its home lies cyclically in (hole, next].
    const bool stays = hole <= next ? (hole < wanted && wanted <= next) : (hole < wanted || wanted <= next);
    if (!stays) {
      slots_[hole] = slots_[next];
      hole = next;
    }
  }
  slots_[hole] = kEmpty;
}

void DedupeWindow::evict_before(std::int64_t offset) {
  while (!entries_.empty() && entries_.front().offset < offset) {
    const std::size_t slot = find_slot(entries_.front().key);
    assert(slot < slots_.size());
    erase_slot(slot);
    entries_.pop_front();
    ++popped_;
  }
}

}  // namespace kd::consumer
