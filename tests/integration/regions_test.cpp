// More regions on a running shop, on the real cluster: the admin tool grows the topic (idempotently) and
// refuses to shrink it; statistics counts a partition added while it runs from that partition's beginning
// and keeps it across a restart; a new region's order and repository instances may start before their
// partition exists; the gateway accepts the new partition numbers without a restart.
#include <nlohmann/json.hpp>

#include "consumer_configs.hpp"
#include "gateway/gateway_service.hpp"
#include "order/order_service.hpp"

namespace kd::test {
namespace {

constexpr const char* kFiveRegions = "陕北,关中,陕南,西安,宝鸡";

TEST(TopicAdmin, GrowsATopicIdempotentlyAndRefusesToShrinkIt) {
  const auto topic = fresh_topic("admin-grow");
  auto grown = kafka::grow_topic(brokers(), topic, 5, {}, 30s);
  ASSERT_TRUE(grown) << grown.error().message;
  EXPECT_EQ(grown->outcome, kafka::TopicOutcome::grown);
  EXPECT_EQ(grown->partitions_before, 3);
  // Brokers learn of new partitions a moment apart: one may still answer with three.
  const auto partitions = [&] { return kafka::partition_count(brokers(), topic, {}, 10s); };
  EXPECT_TRUE(eventually([&] { return partitions() && *partitions() == 5; }));

  auto again = kafka::grow_topic(brokers(), topic, 5, {}, 30s);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->outcome, kafka::TopicOutcome::already_existed);

  auto shrink = kafka::grow_topic(brokers(), topic, 4, {}, 30s);
  ASSERT_FALSE(shrink);
  EXPECT_EQ(shrink.error().code, Errc::config);
  EXPECT_NE(shrink.error().message.find("has 5 partitions; refusing to shrink it to 4"), std::string::npos)
      << shrink.error().message;

  // create-topic: fewer partitions than asked is refused unless told to grow; more is always refused.
  kafka::TopicSpec spec{.name = topic, .partitions = 6, .replication_factor = 2};
  auto refused = kafka::ensure_topic(brokers(), spec, {}, 30s);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("grow-topic --partitions 6"), std::string::npos)
      << refused.error().message;
  auto grown_by_create = kafka::ensure_topic(brokers(), spec, {}, 30s, kafka::IfFewer::grow);
  ASSERT_TRUE(grown_by_create) << grown_by_create.error().message;
  EXPECT_EQ(grown_by_create->outcome, kafka::TopicOutcome::grown);
  spec.partitions = 3;
  auto fewer = kafka::ensure_topic(brokers(), spec, {}, 30s, kafka::IfFewer::grow);
  ASSERT_FALSE(fewer);
  EXPECT_NE(fewer.error().message.find("refusing to shrink"), std::string::npos) << fewer.error().message;

  auto missing = kafka::grow_topic(brokers(), topic + "-missing", 5, {}, 10s);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("does not exist"), std::string::npos) << missing.error().message;
}

statistics::Config growing_statistics_config(const std::string& topic, const std::filesystem::path& state) {
  auto config = statistics_config(topic, state);
  config.regions = kFiveRegions;
  // Long enough that the records below are (almost always) in the new partitions before statistics looks:
  // it must then read them from the beginning, not from the end.
  config.partition_refresh = 2s;
  return config;
}

TEST(Statistics, CountsPartitionsAddedWhileRunningFromTheirBeginningAndKeepsThemAcrossARestart) {
  const auto topic = fresh_topic("statistics-grow");
  const auto state = fresh_dir("statistics-grow");
  {
    Running<statistics::Service> service(growing_statistics_config(topic, state));
    ASSERT_TRUE(service.ok()) << service.error();
    produce(topic, 2, {order_json("7001", 100)});
    ASSERT_TRUE(eventually([&] { return stats(service)["total"]["orders"] == 1; }));
    EXPECT_EQ(stats(service)["regions"].size(), 3u);

    ASSERT_TRUE(kafka::grow_topic(brokers(), topic, 5, {}, 30s));
    produce(topic, 3, {order_json("7002", 20), order_json("7003", 30)});
    produce(topic, 4, {order_json("7004", 40)});
    ASSERT_TRUE(eventually([&] { return stats(service)["total"]["orders"] == 4; }, 30s));
    std::this_thread::sleep_for(500ms);  // anything counted twice would show up by now
    const auto figures = stats(service);
    EXPECT_EQ(figures["total"]["revenue"], 190);
    const auto& regions = figures["regions"];
    ASSERT_EQ(regions.size(), 5u);
    EXPECT_EQ(regions[3]["region"], "西安");
    EXPECT_EQ(regions[3]["orders"], 2);
    EXPECT_EQ(regions[3]["revenue"], 50);
    EXPECT_EQ(regions[4]["region"], "宝鸡");
    EXPECT_EQ(regions[4]["orders"], 1);
  }
  // Restarted still configured for three partitions: the saved state brings 3 and 4 back where they were.
  produce(topic, 4, {order_json("7005", 500)});
  Running<statistics::Service> service(growing_statistics_config(topic, state));
  ASSERT_TRUE(service.ok()) << service.error();
  ASSERT_TRUE(eventually([&] { return stats(service)["total"]["orders"] == 5; }, 30s));
  std::this_thread::sleep_for(500ms);
  const auto figures = stats(service);
  EXPECT_EQ(figures["total"]["orders"], 5);
  EXPECT_EQ(figures["total"]["revenue"], 690);
  EXPECT_EQ(figures["regions"][4]["orders"], 2);
}

// The same without a race: the records are in partitions 3 and 4 before statistics starts, configured for
// three. It must take them up from the topic and read them from their beginning (from the end, it would
// count nothing).
TEST(Statistics, TakesUpPartitionsBeyondItsConfiguredCountFromTheirBeginning) {
  const auto topic = fresh_topic("statistics-beyond");
  const auto state = fresh_dir("statistics-beyond");
  ASSERT_TRUE(kafka::grow_topic(brokers(), topic, 5, {}, 30s));
  produce(topic, 3, {order_json("8001", 10)});
  produce(topic, 4, {order_json("8002", 20), order_json("8003", 30)});
  Running<statistics::Service> service(growing_statistics_config(topic, state));
  ASSERT_TRUE(service.ok()) << service.error();
  ASSERT_TRUE(eventually([&] { return stats(service)["total"]["orders"] == 3; }, 30s));
  const auto figures = stats(service);
  ASSERT_EQ(figures["regions"].size(), 5u);
  EXPECT_EQ(figures["regions"][4]["revenue"], 50);
}

// A new region's instances may start before its partition exists (in Kubernetes, before the Job has grown the
// topic): order-4 waits, not ready, and repository-4 waits for records; once the partition is added, both
// work, and the running gateway accepts partition 4 without a restart.
TEST(Gateway, AcceptsPartitionsAddedToTheTopicWithoutARestart) {
  const auto topic = fresh_topic("gateway-grow");
  const auto state = fresh_dir("gateway-grow");
  gateway::Config config;
  config.http.listen = "127.0.0.1:0";
  config.kafka.brokers = brokers();
  config.kafka.topic = topic;
  config.partition_refresh = 200ms;
  config.peers.order = "http://127.0.0.1:2820{partition}/submit-order";
  config.client.request_timeout = 8000ms;
  Running<gateway::Service> gateway(config);
  ASSERT_TRUE(gateway.ok()) << gateway.error();

  order::Config order;
  order.common.pod_name = "order-4";
  order.kafka.brokers = brokers();
  order.kafka.topic = topic;
  order.kafka.partitions = 5;
  order.http.listen = "127.0.0.1:28204";
  Running<order::Service> order_4(order);
  ASSERT_TRUE(order_4.ok()) << order_4.error();
  auto warehouse = repository_config(topic, 4, state);
  warehouse.kafka.partitions = 5;
  Running<repository::Service> repository_4(warehouse);
  ASSERT_TRUE(repository_4.ok()) << repository_4.error();

  Reply waiting;  // "no Kafka broker reachable" until the producer's first statistics say otherwise
  EXPECT_TRUE(eventually([&] {
    waiting = call(http::verb::get, order_4->port(), "/readyz");
    return waiting.body.find("must have partition 4") != std::string::npos;
  })) << waiting.body;
  EXPECT_EQ(waiting.status, 503u);
  const auto before = call(http::verb::post, gateway->port(), "/submit-order", "partition=4",
                           "application/x-www-form-urlencoded");
  EXPECT_EQ(before.status, 400u);
  EXPECT_NE(before.body.find("from 0 to 2"), std::string::npos) << before.body;

  ASSERT_TRUE(kafka::grow_topic(brokers(), topic, 5, {}, 30s));
  ASSERT_TRUE(
      eventually([&] { return call(http::verb::get, order_4->port(), "/readyz").status == 200; }, 30s));
  Reply reply;
  ASSERT_TRUE(eventually(
      [&] {
        reply = call(http::verb::post, gateway->port(), "/submit-order", "partition=4",
                     "application/x-www-form-urlencoded");
        return reply.status != 400;
      },
      10s))
      << reply.body;
  ASSERT_EQ(reply.status, 200u) << reply.body;
  const auto stored = read_back(topic, {0, 1, 2, 3, 4}, 1);
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].partition, 4);
  EXPECT_EQ(stored[0].value, reply.body);
  // The order lookup covers the new partition too.
  const auto order_id = nlohmann::json::parse(reply.body)["order_id"].get<std::string>();
  const auto story = call(http::verb::get, gateway->port(), "/orders/" + order_id);
  EXPECT_EQ(story.status, 200u) << story.body;
  EXPECT_EQ(nlohmann::json::parse(story.body)["placed"]["by"], "order-4") << story.body;
  ASSERT_TRUE(eventually(
      [&] {
        return nlohmann::json::parse(
                   call(http::verb::get, repository_4->port(), "/shipments").body)["shipped"] == 1;
      },
      60s));
}

}  // namespace
}  // namespace kd::test
