// GET /orders/{order_id} on the real cluster: an order placed through the gateway is found with where it
// was written, and shipped and counted once its warehouse and statistics have passed it; ids that are not
// ids get 400, orders never written 404; and after everything restarts (no index anywhere to lose) the
// order is still found, shipped and counted, its shipping time now bounded by the restart.
#include <nlohmann/json.hpp>

#include "cluster_fixture.hpp"
#include "common/ids.hpp"
#include "gateway/gateway_service.hpp"
#include "order/order_service.hpp"
#include "repository/repository_service.hpp"
#include "statistics/statistics_service.hpp"

namespace kd::test {
namespace {

using nlohmann::json;

// Ports of their own (the gateway's URL templates name them), moved like every test port by the test
// cluster's offset (-DKD_TEST_KAFKA_PORT), so two build trees testing at once do not meet.
int port_offset() {
  const auto list = brokers();
  const auto colon = list.find(':');
  return std::stoi(list.substr(colon + 1, list.find(',') - colon - 1)) - 29092;
}
int order_base() { return 28150 + port_offset(); }
int repository_base() { return 28160 + port_offset(); }
int statistics_port() { return 28170 + port_offset(); }

struct Shop {
  Shop(const std::string& topic, const std::filesystem::path& state) {
    repository::Config warehouse;
    warehouse.common.pod_name = "repository-1";
    warehouse.kafka.brokers = brokers();
    warehouse.kafka.topic = topic;
    warehouse.http.listen = "127.0.0.1:" + std::to_string(repository_base() + 1);
    warehouse.consumer.state_dir = state;
    warehouse.consumer.group_id = "repository-" + topic;
    repository = std::make_unique<Running<repository::Service>>(warehouse);

    statistics::Config figures;
    figures.kafka.brokers = brokers();
    figures.kafka.topic = topic;
    figures.http.listen = "127.0.0.1:" + std::to_string(statistics_port());
    figures.consumer.state_dir = state;
    figures.consumer.group_id = "statistics-" + topic;
    figures.checkpoint_interval = 50ms;
    statistics = std::make_unique<Running<statistics::Service>>(figures);

    order::Config writer;
    writer.common.pod_name = "order-1";
    writer.kafka.brokers = brokers();
    writer.kafka.topic = topic;
    writer.http.listen = "127.0.0.1:" + std::to_string(order_base() + 1);
    order = std::make_unique<Running<order::Service>>(writer);

    gateway::Config front;
    front.http.listen = "127.0.0.1:0";
    front.kafka.brokers = brokers();
    front.kafka.topic = topic;
    front.peers.order = "http://127.0.0.1:" + std::to_string(order_base() / 10) + "{partition}/submit-order";
    front.peers.repository = "http://127.0.0.1:" + std::to_string(repository_base() / 10) + "{partition}";
    front.peers.statistics = "http://127.0.0.1:" + std::to_string(statistics_port());
    gateway = std::make_unique<Running<gateway::Service>>(front);
  }
  bool ok() const { return repository->ok() && statistics->ok() && order->ok() && gateway->ok(); }
  std::string errors() const {
    return repository->error() + statistics->error() + order->error() + gateway->error();
  }

  std::unique_ptr<Running<repository::Service>> repository;
  std::unique_ptr<Running<statistics::Service>> statistics;
  std::unique_ptr<Running<order::Service>> order;
  std::unique_ptr<Running<gateway::Service>> gateway;
};

json story(Shop& shop, const std::string& id, unsigned* status = nullptr) {
  const auto reply = call(http::verb::get, (*shop.gateway)->port(), "/orders/" + id);
  if (status) *status = reply.status;
  return json::parse(reply.body, nullptr, false);
}

bool shipped_and_counted(const json& answer) {
  return answer.is_object() && answer.contains("shipped") && answer["shipped"]["done"] == true &&
         answer["counted"]["done"] == true;
}

TEST(OrderTracking, FindsAnOrderWithWhereItWasWrittenAndWhenItWasShippedAndCounted) {
  const auto topic = fresh_topic("tracking");
  const auto state = fresh_dir("tracking");
  std::string id;
  std::int64_t money = 0;
  {
    Shop shop(topic, state);
    ASSERT_TRUE(shop.ok()) << shop.errors();
    // Orders of another region first: offsets of partition 1 are its own.
    produce(topic, 0, {order_json("5", 5)});
    const auto placed = call(http::verb::post, (*shop.gateway)->port(), "/submit-order", "partition=1",
                             "application/x-www-form-urlencoded");
    ASSERT_EQ(placed.status, 200u) << placed.body;
    const auto answer = json::parse(placed.body);
    id = answer["order_id"].get<std::string>();
    money = answer["money"].get<std::int64_t>();

    json found;
    ASSERT_TRUE(eventually([&] { return shipped_and_counted(found = story(shop, id)); }, 30s))
        << found.dump();
    EXPECT_EQ(found["order_id"], id);
    EXPECT_EQ(found["placed"]["by"], "order-1");
    EXPECT_EQ(found["placed"]["partition"], 1);
    EXPECT_EQ(found["placed"]["offset"], 0);
    EXPECT_EQ(found["placed"]["money"], money);
    EXPECT_EQ(found["placed"]["user_id"], answer["user_id"]);
    EXPECT_EQ(found["shipped"]["by"], "repository-1");
    EXPECT_TRUE(found["shipped"]["at_ms"].is_number()) << found.dump();
    EXPECT_GE(found["shipped"]["at_ms"].get<std::int64_t>(),
              found["placed"]["written_ms"].get<std::int64_t>());
    EXPECT_TRUE(found["counted"]["at_ms"].is_number()) << found.dump();
    EXPECT_EQ(found["lookup"]["reads"], 1);

    unsigned status = 0;
    for (const std::string malformed : {"abc", "0123", "-1", "99999999999999999999", "1%202"}) {
      const auto error = story(shop, malformed, &status);
      EXPECT_EQ(status, 400u) << malformed;
      EXPECT_EQ(error["error"], "bad_request") << malformed;
    }
    const auto next_unwritten = std::to_string(std::stoll(id) + 1);  // same instance, never handed out
    story(shop, next_unwritten, &status);
    EXPECT_EQ(status, 404u);
    SnowflakeGenerator node7(7);
    const auto other = story(shop, std::to_string(node7.next()), &status);
    EXPECT_EQ(status, 404u);
    EXPECT_NE(other["message"].get<std::string>().find("no order instance"), std::string::npos);
  }  // everything stops gracefully: states saved

  // Nothing the answer needs was kept in memory: after a restart of every service the order is found again,
  // and its warehouse says it was shipped before this run began.
  Shop shop(topic, state);
  ASSERT_TRUE(shop.ok()) << shop.errors();
  json found;
  ASSERT_TRUE(eventually([&] { return shipped_and_counted(found = story(shop, id)); }, 30s)) << found.dump();
  EXPECT_EQ(found["placed"]["money"], money);
  EXPECT_TRUE(found["shipped"]["at_ms"].is_null()) << found.dump();
  EXPECT_TRUE(found["shipped"]["by_ms"].is_number()) << found.dump();
  EXPECT_TRUE(found["counted"]["by_ms"].is_number()) << found.dump();
}

TEST(OrderTracking, AnswersServiceUnavailableWhenKafkaCannotBeRead) {
  gateway::Config config;
  config.http.listen = "127.0.0.1:0";
  config.kafka.brokers = "127.0.0.1:1";  // nothing listens there
  Running<gateway::Service> gateway(config);
  ASSERT_TRUE(gateway.ok()) << gateway.error();
  SnowflakeGenerator node0(0);
  const auto reply = call(http::verb::get, gateway->port(), "/orders/" + std::to_string(node0.next()));
  EXPECT_EQ(reply.status, 503u) << reply.body;
}

}  // namespace
}  // namespace kd::test
