// Where an order is in Kafka, found from its id alone: no index of orders is kept anywhere. An order id is
// a snowflake whose node is the order instance that made it, which is its partition, and whose millisecond
// is when it was made; its record was written right after, so Kafka's offsets-for-times (the brokers' own
// time index) names an offset at or just before it. Within a partition there is one writer whose ids
// increase, so the records around that offset tell by their ids whether the order lies before or after:
// the search reads forward from the guess, and bisects when the guess was far off (an instance whose
// clock was held above the wall clock after a restart writes records timestamped before their ids).
#pragma once

#include <cstdint>
#include <optional>

#include "common/kafka/reader.hpp"
#include "common/order.hpp"
#include "common/result.hpp"

namespace kd::gateway {

struct Placement {
  int partition = 0;
  std::int64_t offset = 0;
  std::int64_t written_ms = 0;  // the record's timestamp
  Order order;
};

struct LookupCost {
  int reads = 0;             // read() calls, each one fetch
  std::int64_t records = 0;  // records read
};

struct Located {
  std::optional<Placement> placement;  // none: not in Kafka (never written, or deleted by retention)
  LookupCost cost;
};

// Records read per step: what one small fetch brings anyway, and more than the orders a partition takes
// within a few milliseconds at the pipeline's rate.
inline constexpr std::size_t kLookupBatch = 64;
// A search gives up after this many reads (bisection needs about 30 for a billion records).
inline constexpr int kMaxLookupReads = 64;

// Errors: unavailable when Kafka cannot be read, internal if the search did not converge.
Result<Located> locate_order(kafka::RecordSource& source, std::int64_t order_id, int partitions);

}  // namespace kd::gateway
