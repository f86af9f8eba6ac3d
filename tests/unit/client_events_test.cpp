// Readiness of every Kafka client rests on reading librdkafka's statistics: a broker counts only when it
// is a real node of the cluster (nodeid >= 0) and in state UP.
#include "common/kafka/client_events.hpp"

#include <gtest/gtest.h>

namespace kd::kafka {
namespace {

TEST(AnyBrokerUp, TrueWhenOneNodeIsUp) {
  EXPECT_TRUE(any_broker_up(R"({"brokers":{"127.0.0.1:9092/0":{"nodeid":0,"state":"UP"},
                                           "127.0.0.1:9093/1":{"nodeid":1,"state":"DOWN"}}})"));
}

TEST(AnyBrokerUp, FalseWhenNoNodeIsUp) {
  EXPECT_FALSE(any_broker_up(R"({"brokers":{"127.0.0.1:9092/0":{"nodeid":0,"state":"CONNECT"},
                                            "127.0.0.1:9093/1":{"nodeid":1,"state":"DOWN"}}})"));
  EXPECT_FALSE(any_broker_up(R"({"brokers":{}})"));
}

TEST(AnyBrokerUp, TheBootstrapPlaceholderDoesNotCount) {
  // Before the first metadata answer, librdkafka lists the bootstrap address with nodeid -1.
  EXPECT_FALSE(any_broker_up(R"({"brokers":{"127.0.0.1:9092/bootstrap":{"nodeid":-1,"state":"UP"}}})"));
}

TEST(AnyBrokerUp, MalformedStatisticsAreNotUp) {
  EXPECT_FALSE(any_broker_up("not json"));
  EXPECT_FALSE(any_broker_up(R"({"name":"rdkafka#producer-1"})"));
  EXPECT_FALSE(any_broker_up(R"({"brokers":[1,2]})"));
}

}  // namespace
}  // namespace kd::kafka
