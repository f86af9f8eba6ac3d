// Issue 11, the topic's durability on the real cluster: a topic whose settings cannot keep the promise of a
// 200 (replication 1, or min.insync.replicas 1) is refused by the admin tool, with the real figures and the
// fix, and an order instance on it is not ready and answers 503, until the topic is fixed while it runs.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cluster_fixture.hpp"
#include "order/order_service.hpp"

namespace kd::test {
namespace {

struct Ran {
  int status = -1;
  std::string output;  // stdout and stderr
};

// kafka-demo-admin (the built binary: KD_TEST_BIN, else the build's bin/) on `topic`, as the Job and the
// scripts run it.
Ran admin(const std::string& topic, const std::string& extra = "") {
  const char* bin = std::getenv("KD_TEST_BIN");
  const std::string command = std::string(bin ? bin : KD_TEST_BIN_DIR) + "/kafka-demo-admin --brokers " +
                              brokers() + " --topic " + topic +
                              " --partitions 3 --timeout-ms 20000 create-topic " + extra + " 2>&1";
  Ran ran;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return ran;
  std::array<char, 4096> buffer{};
  while (std::fgets(buffer.data(), buffer.size(), pipe)) ran.output += buffer.data();
  const int status = ::pclose(pipe);
  ran.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return ran;
}

std::string topic_with(const std::string& stem, int replication, std::map<std::string, std::string> config) {
  const auto name = fresh_topic(stem) + "-weak";  // fresh_topic's own is 2/2; this one is made by hand
  auto created = kafka::ensure_topic(
      brokers(), {.name = name, .partitions = 3, .replication_factor = replication, .config = config}, {},
      30s);
  EXPECT_TRUE(created) << created.error().message;
  return name;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(TopicDurability, TheAdminToolRefusesATopicWithOneReplicaAndPrintsItsRealSettings) {
  const auto topic = topic_with("durability-rf1", 1, {{"min.insync.replicas", "1"}});
  const auto ran = admin(topic);
  EXPECT_EQ(ran.status, 2) << ran.output;
  EXPECT_TRUE(
      contains(ran.output, "found existing topic " + topic +
                               " (3 partitions, replication 1, min.insync.replicas 1 (set on the topic))"))
      << ran.output;
  EXPECT_TRUE(contains(ran.output, "replication is 1 (partitions 0, 1, 2), at least 2 is required"))
      << ran.output;
  EXPECT_TRUE(contains(ran.output, "min.insync.replicas is 1 (set on the topic), at least 2 is required"))
      << ran.output;
  // A single-broker development cluster accepts it knowingly, warned.
  const auto single = admin(topic, "--replication-factor 1 --min-insync-replicas 1");
  EXPECT_EQ(single.status, 0) << single.output;
  EXPECT_TRUE(contains(single.output, "a 200 may mean a single copy")) << single.output;
}

order::Config order_config(const std::string& topic) {
  order::Config config;
  config.common.pod_name = "order-0";
  config.kafka.brokers = brokers();
  config.kafka.topic = topic;
  config.http.listen = "127.0.0.1:0";
  config.durability_check = 500ms;
  return config;
}

const std::string kRequest = R"({"money":81,"time":1638865975,"user_id":"1468136425655373824"})";

// Replication 2 but min.insync.replicas left to the brokers' default (1 on the test cluster, as on most):
// acks=all is met by one broker. Refused; order not ready with the reason, 503, nothing written; fixed with
// AlterConfigs (kafka-configs.sh --alter) while it runs, it becomes ready and takes orders.
TEST(TopicDurability, OrderIsNotReadyOnATopicThatAcknowledgesOneCopyUntilItIsFixed) {
  const auto topic = topic_with("durability-isr1", 2, {});
  const auto ran = admin(topic);
  EXPECT_EQ(ran.status, 2) << ran.output;
  EXPECT_TRUE(contains(ran.output, "replication 2, min.insync.replicas 1 (the brokers' default)"))
      << ran.output;
  EXPECT_TRUE(contains(ran.output, "--alter --entity-type topics --entity-name " + topic +
                                       " --add-config min.insync.replicas=2"))
      << ran.output;

  Running<order::Service> order(order_config(topic));
  ASSERT_TRUE(order.ok()) << order.error();
  Reply ready;
  EXPECT_TRUE(eventually([&] {
    ready = call(http::verb::get, order->port(), "/readyz");
    return contains(ready.body, "cannot keep the promise of a 200");
  })) << ready.body;
  EXPECT_EQ(ready.status, 503u);
  EXPECT_TRUE(contains(ready.body, "min.insync.replicas is 1")) << ready.body;
  const auto refused = call(http::verb::post, order->port(), "/submit-order", kRequest, "application/json");
  EXPECT_EQ(refused.status, 503u) << refused.body;
  EXPECT_TRUE(contains(refused.body, "nothing was written")) << refused.body;

  const auto fixed = kafka::set_topic_config(brokers(), topic, "min.insync.replicas", "2", {}, 30s);
  ASSERT_TRUE(fixed) << fixed.error().message;
  EXPECT_TRUE(eventually([&] {
    ready = call(http::verb::get, order->port(), "/readyz");
    return ready.status == 200u;
  })) << ready.body;
  const auto taken = call(http::verb::post, order->port(), "/submit-order", kRequest, "application/json");
  EXPECT_EQ(taken.status, 200u) << taken.body;
  EXPECT_EQ(read_back(topic, {0}, 2).size(), 1u);  // the refused order was never written

  const auto accepted = admin(topic);
  EXPECT_EQ(accepted.status, 0) << accepted.output;
  EXPECT_TRUE(contains(accepted.output, "replication 2, min.insync.replicas 2 (set on the topic)"))
      << accepted.output;
}

}  // namespace
}  // namespace kd::test
