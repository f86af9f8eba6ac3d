// What the gateway reads from a client's request and what it makes of it: the partition (form body,
// JSON body or query string) and a new order request with a random user and amount.
#pragma once

#include <random>
#include <string>
#include <string_view>

#include "common/http/server.hpp"
#include "common/ids.hpp"
#include "common/order.hpp"
#include "common/result.hpp"

namespace kd::gateway {

// The partition a client asked for, from (in this order) a form body (curl -d "partition=0", the seed's
// way), a JSON body ({"partition":0}), or the query string (?partition=0). It must be a whole number in
// [0, partitions), given once in the place it is read from. Bodies in other formats are refused with 415.
Result<int> requested_partition(const HttpRequest& request, int partitions);

// Percent-decoding of one application/x-www-form-urlencoded value ('+' is a space). Nothing on a broken
// escape.
std::optional<std::string> form_decode(std::string_view text);

// The value of `name` in a form-encoded string, if present.
std::optional<std::string> form_value(std::string_view form, std::string_view name);

class OrderRequestFactory {
 public:
  explicit OrderRequestFactory(std::uint16_t node);
  // A user id from the snowflake, a money amount from a seeded random source (the seed's unseeded
  // generator answered 81 every time), and the current Unix time.
  OrderRequest make();

 private:
  SnowflakeGenerator users_;
  std::mt19937_64 random_;
  std::uniform_int_distribution<std::int64_t> money_{1, 999};
};

}  // namespace kd::gateway
