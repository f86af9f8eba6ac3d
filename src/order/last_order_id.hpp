// Order ids that stay unique across restarts without trusting the clock. A snowflake id carries its
// millisecond, and an instance restarted with its clock behind (an NTP step, a pod moved to a skewed node)
// would hand out ids it used before: the consumers would then see two orders under one id. So before it
// takes orders, an instance reads the newest ids of its own partition back from Kafka, and its generator's
// clock never goes below the millisecond after the largest: new ids follow every id it wrote, whatever the
// clock says.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/kafka/settings.hpp"
#include "common/result.hpp"

namespace kd::order {

// The largest order id of `node` (an order instance's partition) among these record values; records that
// are not orders, and ids of other nodes, are passed over.
std::optional<std::int64_t> largest_order_id(const std::vector<std::string>& values, int node);

// The first millisecond (since the Unix epoch) after the one an order id was made in.
std::int64_t clock_floor_ms(std::int64_t order_id);

// The values of the partition's newest `count` records, read until the end within `timeout`.
// Errors: unavailable when the partition's end cannot be read in time.
Result<std::vector<std::string>> read_newest_records(const KafkaSettings& kafka, int partition, int count,
                                                     std::chrono::milliseconds timeout);

}  // namespace kd::order
