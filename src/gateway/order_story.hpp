// GET /orders/{order_id}: an order's story as JSON, from where it was found in Kafka and what its warehouse
// and statistics say about that offset. Plain functions: the glue that asks them is order_tracking.
//
//   {"order_id":"…","partition":0,
//    "placed":{"by":"order-0","partition":0,"offset":12,"written_ms":…,"time":…,"money":81,"user_id":"…"},
//    "shipped":{"by":"repository-0","done":true,"at_ms":…,"by_ms":null},
//    "counted":{"by":"statistics","done":false,"at_ms":null,"by_ms":null},
//    "lookup":{"reads":1,"records":12}}
//
// "done" is whether the consumer's durable position has passed the order's offset (shipped and announced;
// counted in saved figures); "at_ms" when, while the consumer still remembers; else "by_ms", a time by
// which it was done (it happened before the consumer's last restart, or longer ago than it remembers).
// A consumer that cannot be asked gives "done":null and an "error".
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/consumer/progress_log.hpp"
#include "common/result.hpp"
#include "gateway/order_locator.hpp"

namespace kd::gateway {

struct StageAnswer {
  std::string by;                              // "repository-0", "statistics"
  std::optional<consumer::Progress> progress;  // none: `error` says why it could not be asked
  std::string error;
};

// The answer of GET /progress/P/O (consumer_loop.hpp). Errors: upstream_failed.
Result<consumer::Progress> parse_progress(std::string_view body);

std::string story_json(const Placement& placement, const StageAnswer& shipped, const StageAnswer& counted,
                       const LookupCost& cost);

// The 404 of an id that names no order in Kafka.
Error order_not_found(std::int64_t order_id, int partitions);

}  // namespace kd::gateway
