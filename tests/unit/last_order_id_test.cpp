// Order ids unique across restarts: the floor an order instance's clock takes from the ids it wrote before.
#include "order/last_order_id.hpp"

#include <gtest/gtest.h>

#include "common/ids.hpp"
#include "common/order.hpp"

namespace kd::order {
namespace {

std::string order_with_id(std::int64_t id) {
  return to_json(Order{1638865975, UserId{"1"}, 81, OrderId{std::to_string(id)}});
}

TEST(LastOrderId, TheLargestIdOfThisNodeWinsOthersArePassedOver) {
  SnowflakeGenerator node1(1, [] { return std::int64_t{1'700'000'000'000}; });
  SnowflakeGenerator node2(2, [] { return std::int64_t{1'800'000'000'000}; });
  const auto a = node1.next();
  const auto b = node1.next();
  const auto other = node2.next();  // later, but another instance's
  EXPECT_EQ(largest_order_id({order_with_id(b), "not an order", order_with_id(a), order_with_id(other)}, 1),
            b);
  EXPECT_EQ(largest_order_id({"not an order"}, 1), std::nullopt);
  EXPECT_EQ(largest_order_id({}, 1), std::nullopt);
}

// The hole this closes: an instance restarted with its clock 30 s behind handed out ids it had used before.
TEST(LastOrderId, AGeneratorAboveTheFloorNeverRepeatsAnIdWhenTheClockIsBehind) {
  std::int64_t now = 1'700'000'030'000;
  SnowflakeGenerator before_restart(1, [&] { return now; });
  const auto last = before_restart.next();
  now -= 30'000;  // the restart: the clock stepped back 30 s
  const std::int64_t floor = clock_floor_ms(last);
  EXPECT_EQ(floor, 1'700'000'030'001);
  SnowflakeGenerator unfloored(1, [&] { return now; });
  EXPECT_LT(unfloored.next(), last) << "without the floor the new instance goes back in time";
  SnowflakeGenerator after_restart(1, [&] { return std::max(now, floor); });
  EXPECT_GT(after_restart.next(), last);
}

}  // namespace
}  // namespace kd::order
