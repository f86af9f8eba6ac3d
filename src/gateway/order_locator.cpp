#include "gateway/order_locator.hpp"

#include <algorithm>
#include <charconv>

namespace kd::gateway {
namespace {

// The order id of a record that holds an order, as a number; none for a record that is not one.
std::optional<std::int64_t> record_order_id(const kafka::StoredRecord& record, Order* order) {
  auto parsed = parse_order(record.value);
  if (!parsed) return std::nullopt;
  std::int64_t id = 0;
  const auto& text = parsed->order_id.value;
  if (std::from_chars(text.data(), text.data() + text.size(), id).ec != std::errc{}) return std::nullopt;
  if (order) *order = std::move(*parsed);
  return id;
}

}  // namespace

Result<Located> locate_order(kafka::RecordSource& source, std::int64_t order_id, int partitions) {
  Located located;
  const auto parts = decode_snowflake(order_id);
  if (parts.node >= partitions) return located;  // no order instance has that node: never written
  const int partition = parts.node;
  auto marks = source.watermarks(partition);
  if (!marks) return marks.error();
  // The order, if held, is in [low, high); each read narrows the range or finds it.
  std::int64_t low = marks->low;
  std::int64_t high = marks->high;
  auto guess = source.offset_for_time(partition, parts.unix_ms);
  if (!guess) return guess.error();
  std::int64_t at = *guess;
  int forward_reads = 0;  // reads straight ahead of the guess before bisecting
  while (low < high) {
    if (located.cost.reads >= kMaxLookupReads) {
      return make_error(Errc::internal, "the search for order " + std::to_string(order_id) +
                                            " did not converge in " + std::to_string(kMaxLookupReads) +
                                            " reads");
    }
    at = std::clamp(at, low, high - 1);
    auto records = source.read(partition, at, kLookupBatch, high);
    if (!records) return records.error();
    ++located.cost.reads;
    located.cost.records += static_cast<std::int64_t>(records->size());
    if (records->empty()) {  // nothing left from `at` on (deleted since the watermarks were read)
      high = at;
      at = low;
      continue;
    }
    // Equal ids first: a copy Kafka holds of an earlier batch can sit among larger ids.
    for (const auto& record : *records) {
      Order order;
      if (record_order_id(record, &order) == order_id) {
        located.placement = Placement{partition, record.offset, record.timestamp_ms, std::move(order)};
        return located;
      }
    }
    bool saw_order = false;
    bool beyond = false;
    for (const auto& record : *records) {
      const auto id = record_order_id(record, nullptr);
      if (!id) continue;
      saw_order = true;
      if (*id < order_id) {
        low = std::max(low, record.offset + 1);  // ids increase: everything up to here is older
      } else {
        high = std::min(high, record.offset);  // and everything from here on is newer
        beyond = true;
        break;
      }
    }
    const std::int64_t after = records->back().offset + 1;
    if (!saw_order) {
      // Records that are not orders say nothing about direction, only that the order is not among them.
      if (at == low) {
        low = after;
      } else if (after >= high) {
        high = at;
      } else {
        at = after;
        continue;
      }
    }
    // Near the guess, read on; far from it, halve the range.
    const bool near = high - low <= static_cast<std::int64_t>(kLookupBatch);
    if (!beyond && saw_order && forward_reads < 2) {
      ++forward_reads;
      at = low;
    } else {
      at = near ? low : low + (high - low) / 2;
    }
  }
  return located;
}

}  // namespace kd::gateway
