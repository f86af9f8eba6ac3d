// The order: its JSON shapes on the wire and on the topic, and their validation.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/ids.hpp"
#include "common/result.hpp"

namespace kd {

// Money is a whole number of yuan, as in the seed. The gateway draws 1..999; the order service accepts up
// to kMaxMoney so that revenue sums stay far from overflow.
inline constexpr std::int64_t kMinMoney = 1;
inline constexpr std::int64_t kMaxMoney = 1'000'000;

// What the gateway sends to an order instance: {"money":81,"time":1638865975,"user_id":"1468…"}.
struct OrderRequest {
  std::int64_t time = 0;  // Unix seconds
  UserId user_id;
  std::int64_t money = 0;
  friend bool operator==(const OrderRequest&, const OrderRequest&) = default;
};

// What the order service writes to Kafka and answers:
// {"money":81,"order_id":"1468…","time":1638865975,"user_id":"1468…"} (the seed's keys, sorted).
struct Order {
  std::int64_t time = 0;
  UserId user_id;
  std::int64_t money = 0;
  OrderId order_id;
  friend bool operator==(const Order&, const Order&) = default;
};

std::string to_json(const OrderRequest& request);
std::string to_json(const Order& order);

// A body that must be one JSON object, read more strictly than the grammar alone: no NUL byte anywhere
// (nlohmann::json takes one as the end of the input and ignores whatever follows it) and no key twice in
// an object (parsers disagree on which copy wins, so two readers could see two different requests).
// Errors are bad_request, with a message for the client that says what is wrong and where.
Result<nlohmann::json> parse_json_object(std::string_view body);

// Strict parsers: the body must be one JSON object with every field present and of the right type.
// The error message names the field and what was wrong, for the client to read.
Result<OrderRequest> parse_order_request(std::string_view body);
Result<Order> parse_order(std::string_view payload);

// The line a consumer logs for each record, as the seed does:
// {"key":null,"offset":0,"partition":0,"value":"<the record's value as a string>"}.
std::string consumed_record_json(const std::optional<std::string_view>& key, std::int64_t offset,
                                 int partition, std::string_view value);

}  // namespace kd
