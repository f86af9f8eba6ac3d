// The write path on the real cluster: gateway -> order -> Kafka, partition affinity, and bounded failure
// when a peer is down. Bad input, which must write nothing, has a table of its own: bad_input_test.cpp.
#include <nlohmann/json.hpp>

#include "cluster_fixture.hpp"
#include "common/ids.hpp"
#include "common/order.hpp"
#include "common/runtime.hpp"
#include "gateway/gateway_service.hpp"
#include "order/order_service.hpp"

namespace kd::test {
namespace {

order::Config order_config(const std::string& topic, int partition) {
  order::Config config;
  config.common.pod_name = "order-" + std::to_string(partition);
  config.kafka.brokers = brokers();
  config.kafka.topic = topic;
  config.http.listen = "127.0.0.1:0";
  return config;
}

const std::string kRequest = R"({"money":81,"time":1638865975,"user_id":"1468136425655373824"})";

TEST(OrderService, WritesToItsOwnPartitionAndAnswersTheStoredOrder) {
  const auto topic = fresh_topic("order-affinity");
  Running<order::Service> order(order_config(topic, 1));
  ASSERT_TRUE(order.ok()) << order.error();

  const auto reply = call(http::verb::post, order->port(), "/submit-order", kRequest, "application/json");
  ASSERT_EQ(reply.status, 200u) << reply.body;
  const auto answer = nlohmann::json::parse(reply.body);
  EXPECT_EQ(answer["money"], 81);
  EXPECT_EQ(answer["user_id"], "1468136425655373824");
  EXPECT_FALSE(answer["order_id"].get<std::string>().empty());
  // The seed's key order, exactly.
  EXPECT_EQ(reply.body.rfind(R"({"money":81,"order_id":")", 0), 0u) << reply.body;

  const auto stored = read_back(topic, {0, 1, 2}, 1);
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].partition, 1);
  EXPECT_EQ(stored[0].value, reply.body);  // what the client got is what Kafka holds
}

// An order instance restarted with its clock behind (here: the instance before it wrote an id an hour ahead
// of this clock) must not hand out ids it used before: it reads the newest ids of its partition at start
// and continues after them. Failed before: the new id came from the clock, an hour below.
TEST(OrderService, NewIdsFollowTheNewestIdOfItsPartitionWhateverTheClock) {
  const auto topic = fresh_topic("order-id-floor");
  SnowflakeGenerator ahead(1, [] { return SnowflakeGenerator::system_clock_ms() + 3'600'000; });
  const auto written_before = ahead.next();
  produce(
      topic, 1,
      {to_json(Order{1638865975, UserId{"1"}, 81, OrderId{std::to_string(written_before)}}), "not an order"});
  Running<order::Service> order(order_config(topic, 1));
  ASSERT_TRUE(order.ok()) << order.error();
  const auto reply = call(http::verb::post, order->port(), "/submit-order", kRequest, "application/json");
  ASSERT_EQ(reply.status, 200u) << reply.body;
  const auto id = std::stoll(nlohmann::json::parse(reply.body)["order_id"].get<std::string>());
  EXPECT_GT(id, written_before);
}

TEST(OrderService, RefusesToStartOnAPartitionTheTopicDoesNotHave) {
  auto config = order_config("order", 3);  // order-3 with 3 partitions
  asio::io_context io;
  auto created = order::Service::create(io, config);
  ASSERT_FALSE(created);
  EXPECT_NE(created.error().message.find("only 3 partitions"), std::string::npos) << created.error().message;
}

TEST(OrderService, AnswersServiceUnavailableWithinTheDeliveryTimeoutWhenKafkaIsDown) {
  auto config = order_config("order", 0);
  config.kafka.brokers = "127.0.0.1:1";  // nothing listens there
  config.producer.delivery_timeout = 1500ms;
  Running<order::Service> order(config);
  ASSERT_TRUE(order.ok()) << order.error();
  const auto begin = std::chrono::steady_clock::now();
  const auto reply = call(http::verb::post, order->port(), "/submit-order", kRequest, "application/json");
  const auto took = std::chrono::steady_clock::now() - begin;
  EXPECT_EQ(reply.status, 503u) << reply.body;
  EXPECT_LT(took, 5s);
  EXPECT_NE(reply.body.find("retry later"), std::string::npos) << reply.body;
  EXPECT_EQ(call(http::verb::get, order->port(), "/readyz").status, 503u);
}

// With Kafka unreachable at start, the instance still answers its probes at once (Kubernetes' liveness probe,
// a readiness that says why), instead of after its first warm-up and id read have each waited out the
// delivery timeout (10 s with the default 5 s).
TEST(OrderService, ServesItsProbesSoonAfterStartWhenKafkaIsDown) {
  auto config = order_config("order", 0);
  config.kafka.brokers = "127.0.0.1:1";  // nothing listens there
  config.producer.delivery_timeout = 5000ms;
  const auto begin = std::chrono::steady_clock::now();
  Running<order::Service> order(config);
  const auto took = std::chrono::steady_clock::now() - begin;
  ASSERT_TRUE(order.ok()) << order.error();
  EXPECT_LT(took, 4s);
  EXPECT_EQ(call(http::verb::get, order->port(), "/healthz").status, 200u);
  const auto ready = call(http::verb::get, order->port(), "/readyz");
  EXPECT_EQ(ready.status, 503u);
  EXPECT_NE(ready.body.find("no Kafka broker reachable"), std::string::npos) << ready.body;
}

// Issue 11: an idempotent producer that fails fatally fails every later write. The instance must say so
// (not ready, with the reason), answer 503 at once, and stop with a failure so that it is started again.
TEST(OrderService, AFatalProducerErrorMakesItNotReadyAnswer503AndStopWithAFailure) {
  const auto topic = fresh_topic("order-fatal");
  Running<order::Service> order(order_config(topic, 0));
  ASSERT_TRUE(order.ok()) << order.error();
  ASSERT_EQ(call(http::verb::post, order->port(), "/submit-order", kRequest, "application/json").status,
            200u);
  order->producer_for_test().raise_fatal_error_for_test("injected by the test");
  // Not ready for that reason (it may be not ready a moment for another: librdkafka's first statistics).
  Reply ready;
  EXPECT_TRUE(eventually([&] {
    ready = call(http::verb::get, order->port(), "/readyz");
    return ready.body.find("the Kafka producer failed fatally") != std::string::npos;
  })) << ready.body;
  EXPECT_EQ(ready.status, 503u);
  EXPECT_NE(ready.body.find("injected by the test"), std::string::npos) << ready.body;
  const auto reply = call(http::verb::post, order->port(), "/submit-order", kRequest, "application/json");
  EXPECT_EQ(reply.status, 503u) << reply.body;
  EXPECT_NE(reply.body.find("restarting"), std::string::npos) << reply.body;
  EXPECT_TRUE(stopped_with_failure());  // in run_service, the process drains and exits 1
  // Only the first order is in Kafka.
  EXPECT_EQ(read_back(topic, {0}, 2).size(), 1u);
}

// Fixed ports: the gateway's URL template maps partition N to port 2810N.
gateway::Config gateway_config() {
  gateway::Config config;
  config.http.listen = "127.0.0.1:0";
  config.kafka.brokers = brokers();  // the topic's partition count: a test never reads another cluster
  config.peers.order = "http://127.0.0.1:2810{partition}/submit-order";
  config.client.request_timeout = 8000ms;
  return config;
}

TEST(Gateway, RoutesEachPartitionToItsOrderInstanceAndReturnsTheAnswerUnchanged) {
  const auto topic = fresh_topic("gateway-route");
  std::vector<std::unique_ptr<Running<order::Service>>> orders;
  for (int partition = 0; partition < 3; ++partition) {
    auto config = order_config(topic, partition);
    config.http.listen = "127.0.0.1:" + std::to_string(28100 + partition);
    orders.push_back(std::make_unique<Running<order::Service>>(config));
    ASSERT_TRUE(orders.back()->ok()) << orders.back()->error();
  }
  Running<gateway::Service> gateway(gateway_config());
  ASSERT_TRUE(gateway.ok()) << gateway.error();

  std::map<std::string, int> asked;  // order body -> partition asked for
  const std::vector<std::pair<std::string, std::string>> requests = {
      {"partition=2", "application/x-www-form-urlencoded"},
      {R"({"partition":0})", "application/json"},
      {"partition=1", ""},
      {"partition=2", "application/x-www-form-urlencoded"}};
  const std::vector<int> partitions = {2, 0, 1, 2};
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const auto reply =
        call(http::verb::post, gateway->port(), "/submit-order", requests[i].first, requests[i].second);
    ASSERT_EQ(reply.status, 200u) << reply.body;
    asked[reply.body] = partitions[i];
  }
  const auto by_query = call(http::verb::post, gateway->port(), "/submit-order?partition=1");
  ASSERT_EQ(by_query.status, 200u) << by_query.body;
  asked[by_query.body] = 1;

  const auto stored = read_back(topic, {0, 1, 2}, asked.size());
  ASSERT_EQ(stored.size(), asked.size());
  for (const auto& record : stored) {
    ASSERT_TRUE(asked.contains(record.value)) << record.value;
    EXPECT_EQ(record.partition, asked[record.value]) << record.value;
  }
}

TEST(Gateway, AnswersBadGatewayQuicklyWhenTheOrderInstanceIsDown) {
  Running<gateway::Service> gateway(gateway_config());  // nothing listens on 28100..28102
  ASSERT_TRUE(gateway.ok()) << gateway.error();
  const auto begin = std::chrono::steady_clock::now();
  const auto reply = call(http::verb::post, gateway->port(), "/submit-order", "partition=0",
                          "application/x-www-form-urlencoded");
  EXPECT_EQ(reply.status, 502u) << reply.body;
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 3s);
  EXPECT_NE(reply.body.find("partition 0"), std::string::npos) << reply.body;
}

}  // namespace
}  // namespace kd::test
