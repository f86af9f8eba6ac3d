#include "common/consumer/consumer_state.hpp"

#include <utility>

namespace kd::consumer {
namespace {
constexpr std::uint64_t kHashedKeys = std::uint64_t{1} << 63;  // order_key() of a non-canonical id
}

void ConsumerState::restore(int partition, const PartitionPosition& position,
                            std::vector<DedupeWindow::Entry> entries) {
  Partition& state = partitions_[partition];
  state.position = position;
  state.has_position = true;
  state.unverified = position.next > 0;
  const std::int64_t start = position.next - window_records_;
  for (const auto& entry : entries) {
    if (window_records_ > 0 && entry.offset >= start && entry.offset < position.next &&
        state.window.find(entry.key) == nullptr &&
        (state.window.size() == 0 || state.window.entries().back().offset < entry.offset)) {
      state.window.push(entry);
    }
  }
}

std::optional<PartitionPosition> ConsumerState::position(int partition) const {
  const auto it = partitions_.find(partition);
  if (it == partitions_.end() || !it->second.has_position) return std::nullopt;
  return it->second.position;
}

std::optional<std::int64_t> ConsumerState::resume_offset(int partition) const {
  const auto it = partitions_.find(partition);
  if (it == partitions_.end() || !it->second.has_position) return std::nullopt;
  return it->second.unverified ? it->second.position.next - 1 : it->second.position.next;
}

std::size_t ConsumerState::window_size(int partition) const {
  const auto it = partitions_.find(partition);
  return it == partitions_.end() ? 0 : it->second.window.size();
}

Examined ConsumerState::examine(int partition, std::int64_t offset, std::string_view value,
                                const std::string_view* order_id) const {
  Examined out;
  const auto it = partitions_.find(partition);
  const Partition* state = it == partitions_.end() ? nullptr : &it->second;
  const std::uint64_t digest = value_digest(value);
  out.digest = digest;
  if (order_id != nullptr) out.key = order_key(*order_id);
  if (state != nullptr && state->has_position) {
    const std::int64_t next = state->position.next;
    out.expected = next;
    if (state->unverified && offset == next - 1) {
      out.fit = digest == state->position.last_digest ? OffsetFit::fingerprint : OffsetFit::foreign;
      return out;
    }
    if (offset < next) {
      out.fit = OffsetFit::foreign;
      return out;
    }
    if (offset > next) out.fit = OffsetFit::gap;
  }
  if (!out.key || state == nullptr) return out;
  const std::uint64_t key = *out.key;
  if (const auto* seen = state->window.find(key)) {
    out.sighting = seen->digest == digest ? Sighting::copy : Sighting::conflict;
    out.first_offset = seen->offset;
    return out;
  }
  // Ids of one partition come from one order instance and grow with time, so an unseen id older than
  // every id the window holds, once the window spans its whole size, is most likely a copy whose first
  // copy has left the window (or an id from a clock stepped back): acted on, but never in silence.
  const auto* oldest = state->window.oldest();
  const bool spans =
      state->has_position && state->position.next - state->position.covered_from >= window_records_;
  out.older_than_window = window_records_ > 0 && spans && oldest != nullptr && key < kHashedKeys &&
                          oldest->key < kHashedKeys && key < oldest->key;
  if (out.older_than_window) out.window_oldest_offset = oldest->offset;
  return out;
}

void ConsumerState::handled(int partition, std::int64_t offset, std::string_view value,
                            const std::string_view* order_id, Sighting sighting) {
  Examined seen;
  seen.digest = value_digest(value);
  if (order_id != nullptr) seen.key = order_key(*order_id);
  seen.sighting = sighting;
  handled(partition, offset, seen);
}

void ConsumerState::handled(int partition, std::int64_t offset, const Examined& seen) {
  Partition& state = partitions_[partition];
  state.unverified = false;
  if (!state.has_position) {
    state.has_position = true;
    state.position.covered_from = offset;
  }
  if (seen.key && seen.sighting == Sighting::first && window_records_ > 0) {
    const DedupeWindow::Entry entry{offset, *seen.key, seen.digest};
    state.window.push(entry);
    changes_.added[partition].push_back(entry);
  }
  state.position.next = offset + 1;
  state.position.last_digest = seen.digest;
  if (window_records_ > 0) {
    const std::int64_t start = state.position.next - window_records_;
    state.window.evict_before(start);
    changes_.window_start[partition] = start;
  }
  changes_.positions[partition] = state.position;
}

void ConsumerState::verified(int partition) { partitions_[partition].unverified = false; }

StateChanges ConsumerState::take_changes() { return std::exchange(changes_, StateChanges{}); }

}  // namespace kd::consumer
