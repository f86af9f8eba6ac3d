// The answers that tell a client what happened to an order that did not get a 200: stored for certain
// not (503/502, try again), or perhaps (504, look it up first), always naming the order.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "gateway/gateway_service.hpp"
#include "order/order_service.hpp"

namespace kd {
namespace {

Order sample_order() {
  return Order{1638865975, UserId{"1468136425655373824"}, 81, OrderId{"1468136425655373999"}};
}

TEST(OrderNotWritten, CertainFailureIs503NotWrittenAndNamesTheOrder) {
  const auto answer =
      order::order_not_written(sample_order(), Error{Errc::unavailable, "Local: Message timed out"});
  EXPECT_EQ(answer.status, 503u);
  const auto body = nlohmann::json::parse(answer.body);
  EXPECT_EQ(body.at("error"), "unavailable");
  EXPECT_EQ(body.at("outcome"), "not_written");
  EXPECT_EQ(body.at("order_id"), "1468136425655373999");
  EXPECT_EQ(body.at("user_id"), "1468136425655373824");
  EXPECT_NE(body.at("message").get<std::string>().find("retry later"), std::string::npos);
}

TEST(OrderNotWritten, PossiblyPersistedIs504UnknownAndSaysNotToRetryBlindly) {
  const auto answer = order::order_not_written(
      sample_order(), Error{Errc::outcome_unknown, "timed out (it may have been stored)"});
  EXPECT_EQ(answer.status, 504u);
  const auto body = nlohmann::json::parse(answer.body);
  EXPECT_EQ(body.at("outcome"), "unknown");
  EXPECT_EQ(body.at("order_id"), "1468136425655373999");
  EXPECT_NE(body.at("message").get<std::string>().find("look it up by order_id"), std::string::npos);
  EXPECT_FALSE(retryable(Errc::outcome_unknown));
}

TEST(OrderInstanceFailed, UnreachableInstanceIs502NotWrittenWithTheUserId) {
  const auto answer =
      gateway::order_instance_failed(2, UserId{"42"}, Error{Errc::upstream_failed, "refused"});
  EXPECT_EQ(answer.status, 502u);
  const auto body = nlohmann::json::parse(answer.body);
  EXPECT_EQ(body.at("outcome"), "not_written");
  EXPECT_EQ(body.at("user_id"), "42");
  EXPECT_NE(body.at("message").get<std::string>().find("partition 2"), std::string::npos);
}

TEST(OrderInstanceFailed, InstanceThatTookTheOrderAndWentSilentIs504Unknown) {
  const auto answer = gateway::order_instance_failed(0, UserId{"43"}, Error{Errc::outcome_unknown, "reset"});
  EXPECT_EQ(answer.status, 504u);
  const auto body = nlohmann::json::parse(answer.body);
  EXPECT_EQ(body.at("outcome"), "unknown");
  EXPECT_EQ(body.at("user_id"), "43");
}

}  // namespace
}  // namespace kd
