// The read path on the real cluster: the warehouse of a region reads only its partition, resumes where
// it stopped and never ships an order twice; statistics stays exact across restarts.
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "common/consumer/state_store.hpp"
#include "consumer_configs.hpp"

namespace kd::test {
namespace {

// The orders the warehouse's saved state says it shipped (its dedupe window: here, every one).
std::vector<std::string> shipped_ids(const std::filesystem::path& state, const std::string& topic,
                                     int partition) {
  std::vector<std::string> ids;
  auto store = consumer::StateStore::open(state, topic);
  if (!store) {
    ADD_FAILURE() << store.error().message;
    return ids;
  }
  auto saved = (*store)->load();
  if (!saved) {
    ADD_FAILURE() << saved.error().message;
    return ids;
  }
  for (const auto& entry : saved->windows[partition]) ids.push_back(std::to_string(entry.key));
  return ids;
}

std::string readiness(std::uint16_t port) { return call(http::verb::get, port, "/readyz").body; }

TEST(Repository, ShipsOnlyItsPartitionResumesAfterRestartAndNeverShipsTwice) {
  const auto topic = fresh_topic("repository-resume");
  const auto state = fresh_dir("repository-resume");
  const auto state_file = state / ("repository-" + topic + "-2.db");
  produce(topic, 2, {order_json("1001", 10), order_json("1002", 20), order_json("1003", 30)});
  produce(topic, 0, {order_json("9001", 10)});  // another region's order: not this warehouse's

  {
    Running<repository::Service> warehouse(repository_config(topic, 2, state));
    ASSERT_TRUE(warehouse.ok()) << warehouse.error();
    ASSERT_TRUE(eventually([&] { return shipments(warehouse)["next_offset"] == 3; }));
    EXPECT_EQ(shipments(warehouse)["shipped"], 3);
  }  // graceful stop: state saved, offset committed

  // While it is down: two new orders, and a copy of one already shipped (as a replay would write it).
  produce(topic, 2, {order_json("1004", 40), order_json("1002", 20), order_json("1005", 50)});
  {
    Running<repository::Service> warehouse(repository_config(topic, 2, state));
    ASSERT_TRUE(warehouse.ok()) << warehouse.error();
    ASSERT_TRUE(eventually([&] { return shipments(warehouse)["next_offset"] == 6; }));
    EXPECT_EQ(shipments(warehouse)["shipped"], 5);
  }
  const auto ids = shipped_ids(state_file, topic, 2);
  EXPECT_EQ(ids, (std::vector<std::string>{"1001", "1002", "1003", "1004", "1005"}));
}

TEST(Repository, WithoutItsStateResumesFromTheCommittedOffset) {
  const auto topic = fresh_topic("repository-commit");
  const auto state = fresh_dir("repository-commit");
  produce(topic, 1, {order_json("2001", 10), order_json("2002", 20)});
  {
    Running<repository::Service> warehouse(repository_config(topic, 1, state));
    ASSERT_TRUE(warehouse.ok()) << warehouse.error();
    ASSERT_TRUE(eventually([&] { return shipments(warehouse)["next_offset"] == 2; }));
  }
  std::filesystem::remove_all(state);  // a new volume: only the group's committed offset remains
  produce(topic, 1, {order_json("2003", 30)});
  Running<repository::Service> warehouse(repository_config(topic, 1, state));
  ASSERT_TRUE(warehouse.ok()) << warehouse.error();
  ASSERT_TRUE(eventually([&] { return shipments(warehouse)["next_offset"] == 3; }));
  EXPECT_EQ(shipments(warehouse)["shipped"], 1);  // only 2003: the first two were committed
}

// On a new volume with nothing new to read, the warehouse's position is the committed offset it resumed from,
// not 0: its lag (/positions, the lag gauge the alerts read) was the whole partition until the next order.
TEST(Repository, OnANewVolumeWithNothingNewToReadReportsNoLag) {
  const auto topic = fresh_topic("repository-new-volume-lag");
  const auto state = fresh_dir("repository-new-volume-lag");
  produce(topic, 1, {order_json("7001", 10), order_json("7002", 20)});
  {
    Running<repository::Service> warehouse(repository_config(topic, 1, state));
    ASSERT_TRUE(warehouse.ok()) << warehouse.error();
    ASSERT_TRUE(eventually([&] { return shipments(warehouse)["next_offset"] == 2; }));
  }
  std::filesystem::remove_all(state);
  Running<repository::Service> warehouse(repository_config(topic, 1, state));
  ASSERT_TRUE(warehouse.ok()) << warehouse.error();
  nlohmann::json partition;
  EXPECT_TRUE(eventually([&] {
    const auto answer = nlohmann::json::parse(call(http::verb::get, warehouse->port(), "/positions").body);
    partition = answer["partitions"].at(0);
    return partition["lag"].is_number();
  })) << partition.dump();
  EXPECT_EQ(partition["next"], 2) << partition.dump();
  EXPECT_EQ(partition["lag"], 0) << partition.dump();
  EXPECT_EQ(shipments(warehouse)["shipped"], 0);
}

// Commits are throttled (COMMIT_INTERVAL_MS), yet the last position is committed without waiting for more
// records or for a stop.
TEST(Repository, CommitsItsPositionWithinTheIntervalWhileIdle) {
  const auto topic = fresh_topic("repository-idle-commit");
  const auto state = fresh_dir("repository-idle-commit");
  produce(topic, 0, {order_json("6001", 10), order_json("6002", 20), order_json("6003", 30)});
  auto config = repository_config(topic, 0, state);
  config.consumer.commit_interval = std::chrono::milliseconds(300);
  Running<repository::Service> warehouse(config);
  ASSERT_TRUE(warehouse.ok()) << warehouse.error();
  ASSERT_TRUE(eventually([&] { return shipments(warehouse)["next_offset"] == 3; }));
  auto reader =
      kafka::Consumer::create({.brokers = brokers(), .group_id = config.consumer.group_id, .topic = topic});
  ASSERT_TRUE(reader.ok()) << reader.error().message;
  EXPECT_TRUE(eventually([&] {
    const auto committed = (*reader)->committed({0}, std::chrono::seconds(5));
    return committed.ok() && committed->count(0) == 1 && committed->at(0) == 3;
  }));
}

TEST(Repository, DeadLettersARecordThatIsNotAnOrderAndKeepsConsuming) {
  const auto topic = fresh_topic("repository-poison");
  const auto state = fresh_dir("repository-poison");
  produce(topic, 0,
          {order_json("3001", 10), "this is not an order", R"({"money":5})", order_json("3002", 20)});
  Running<repository::Service> warehouse(repository_config(topic, 0, state));
  ASSERT_TRUE(warehouse.ok()) << warehouse.error();
  ASSERT_TRUE(eventually([&] { return shipments(warehouse)["next_offset"] == 4; }));
  EXPECT_EQ(shipments(warehouse)["shipped"], 2);

  // Both bad records are in the dead-letter topic, byte for byte, saying where they came from and why.
  const auto letters = read_back(topic + ".dlq", {0, 1, 2}, 2);
  ASSERT_EQ(letters.size(), 2u);
  std::map<std::string, Stored> by_offset;
  for (const auto& letter : letters) by_offset[letter.headers.at("kd.source.offset")] = letter;
  ASSERT_EQ(by_offset.count("1"), 1u);
  ASSERT_EQ(by_offset.count("2"), 1u);
  EXPECT_EQ(by_offset["1"].value, "this is not an order");
  EXPECT_EQ(by_offset["2"].value, R"({"money":5})");
  for (auto& [offset, letter] : by_offset) {
    EXPECT_EQ(letter.key, topic + "/0/" + offset);
    EXPECT_EQ(letter.headers["kd.source.topic"], topic);
    EXPECT_EQ(letter.headers["kd.source.partition"], "0");
    EXPECT_EQ(letter.headers["kd.consumer"], "repository-0");
    EXPECT_FALSE(letter.headers["kd.error"].empty());
  }
}

TEST(Repository, WaitsForTheDeadLetterTopicRatherThanDropARecord) {
  const auto topic = fresh_topic("repository-no-dlq");
  const auto state = fresh_dir("repository-no-dlq");
  produce(topic, 1, {order_json("5001", 10), "poison", order_json("5002", 20)});
  auto config = repository_config(topic, 1, state);
  config.kafka.dead_letter_topic = topic + ".missing-dlq";  // does not exist (and is never auto-created)
  {
    Running<repository::Service> warehouse(config);
    ASSERT_TRUE(warehouse.ok()) << warehouse.error();
    ASSERT_TRUE(eventually([&] { return shipments(warehouse)["shipped"] == 1; }));
    std::this_thread::sleep_for(1500ms);
    // Stuck at the poison record: the order after it waits rather than the poison being dropped.
    EXPECT_EQ(shipments(warehouse)["shipped"], 1);
    EXPECT_EQ(shipments(warehouse)["next_offset"], 1);
  }  // stops while the letter cannot be written: the record stays unconsumed
  Running<repository::Service> warehouse(repository_config(topic, 1, state));  // now with a dead-letter topic
  ASSERT_TRUE(warehouse.ok()) << warehouse.error();
  ASSERT_TRUE(eventually([&] { return shipments(warehouse)["next_offset"] == 3; }));
  EXPECT_EQ(shipments(warehouse)["shipped"], 2);
  const auto letters = read_back(topic + ".dlq", {0, 1, 2}, 1);
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].value, "poison");
}

TEST(Statistics, FiguresStayExactAcrossRestarts) {
  const auto topic = fresh_topic("statistics-restart");
  const auto state = fresh_dir("statistics-restart");
  produce(topic, 0, {order_json("4001", 100), order_json("4002", 200)});
  produce(topic, 1, {order_json("4003", 300)});
  {
    Running<statistics::Service> service(statistics_config(topic, state));
    ASSERT_TRUE(service.ok()) << service.error();
    ASSERT_TRUE(eventually([&] { return stats(service)["total"]["orders"] == 3; }));
  }
  produce(topic, 2, {order_json("4004", 400), "poison"});
  produce(topic, 0, {order_json("4005", 500)});
  Running<statistics::Service> service(statistics_config(topic, state));
  ASSERT_TRUE(service.ok()) << service.error();
  // The poison record counts as rejected once its dead letter is acknowledged.
  ASSERT_TRUE(eventually([&] {
    const auto figures = stats(service);
    return figures["total"]["orders"] == 5 && figures["total"]["rejected"] == 1;
  }));
  std::this_thread::sleep_for(500ms);  // anything counted twice would show up by now
  const auto figures = stats(service);
  EXPECT_EQ(figures["total"]["orders"], 5);
  EXPECT_EQ(figures["total"]["revenue"], 1500);
  EXPECT_EQ(figures["total"]["rejected"], 1);
  const auto& regions = figures["regions"];
  ASSERT_EQ(regions.size(), 3u);
  EXPECT_EQ(regions[0]["region"], "陕北");
  EXPECT_EQ(regions[0]["orders"], 3);
  EXPECT_EQ(regions[0]["revenue"], 800);
  EXPECT_EQ(regions[1]["region"], "关中");
  EXPECT_EQ(regions[1]["revenue"], 300);
  EXPECT_EQ(regions[2]["region"], "陕南");
  EXPECT_EQ(regions[2]["orders"], 1);
  EXPECT_EQ(regions[2]["rejected"], 1);
  const auto letters = read_back(topic + ".dlq", {0, 1, 2}, 1);
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].value, "poison");
  EXPECT_EQ(letters[0].headers.at("kd.consumer"), "statistics");
  EXPECT_EQ(letters[0].headers.at("kd.source.partition"), "2");
}

TEST(Statistics, CountsAnOrderKafkaHoldsTwiceOnceEvenAcrossARestart) {
  // Kafka can hold an acknowledged order twice (a producer retry under a new epoch); it is one order.
  const auto topic = fresh_topic("statistics-dedupe");
  const auto state = fresh_dir("statistics-dedupe");
  produce(topic, 1, {order_json("6001", 100), order_json("6002", 200), order_json("6001", 100)});
  {
    Running<statistics::Service> service(statistics_config(topic, state));
    ASSERT_TRUE(service.ok()) << service.error();
    ASSERT_TRUE(eventually([&] { return stats(service)["total"]["orders"] == 2; }));
    std::this_thread::sleep_for(300ms);  // a checkpoint after the copy
  }
  // After the restart, a copy of an order counted before it is still recognised, from the saved window.
  produce(topic, 1, {order_json("6002", 200), order_json("6003", 300)});
  Running<statistics::Service> service(statistics_config(topic, state));
  ASSERT_TRUE(service.ok()) << service.error();
  ASSERT_TRUE(eventually([&] { return stats(service)["total"]["orders"] == 3; }));
  std::this_thread::sleep_for(500ms);
  const auto figures = stats(service);
  EXPECT_EQ(figures["total"]["orders"], 3);
  EXPECT_EQ(figures["total"]["revenue"], 600);
  EXPECT_EQ(figures["total"]["rejected"], 0);
}

// Two processes for one partition's state (a stale pod, a force-deleted one still running) must not both
// ship: the second refuses to start and says why.
TEST(Repository, ASecondInstanceOfTheSameStateRefusesToStart) {
  const auto topic = fresh_topic("repository-two-writers");
  const auto state = fresh_dir("repository-two-writers");
  Running<repository::Service> first(repository_config(topic, 0, state));
  ASSERT_TRUE(first.ok()) << first.error();
  Running<repository::Service> second(repository_config(topic, 0, state));
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().find("in use by another process"), std::string::npos) << second.error();
}

// Records deleted before the warehouse handled them (retention while it was down) are a loud gap: an
// error line and a metric naming the range, and the orders after it are still shipped.
TEST(Repository, RecordsDeletedBeforeTheyWereHandledAreAReportedGap) {
  const auto topic = fresh_topic("repository-gap");
  const auto state = fresh_dir("repository-gap");
  produce(topic, 1, {order_json("7001", 10), order_json("7002", 20)});
  {
    Running<repository::Service> warehouse(repository_config(topic, 1, state));
    ASSERT_TRUE(warehouse.ok()) << warehouse.error();
    ASSERT_TRUE(eventually([&] { return shipments(warehouse)["next_offset"] == 2; }));
  }
  produce(topic, 1, {order_json("7003", 30), order_json("7004", 40), order_json("7005", 50)});
  ASSERT_TRUE(
      kafka::delete_records_before(brokers(), topic, 1, 4, {}, 10s).ok());  // 7003 and 7004 never seen
  const auto gap_records = [](std::uint16_t port) {
    const auto metrics = call(http::verb::get, port, "/metrics").body;
    const std::string series = "kafka_offset_gap_records_total{partition=\"1\"} ";
    const auto at = metrics.find(series);
    return at == std::string::npos ? -1 : std::stoll(metrics.substr(at + series.size()));
  };
  Running<repository::Service> warehouse(repository_config(topic, 1, state));
  ASSERT_TRUE(warehouse.ok()) << warehouse.error();
  const auto before = gap_records(warehouse->port());
  ASSERT_TRUE(eventually([&] { return shipments(warehouse)["next_offset"] == 5; }));
  EXPECT_EQ(shipments(warehouse)["shipped"], 3);
  EXPECT_EQ(gap_records(warehouse->port()) - before, 2) << "offsets 2 and 3 were never handled";
}

// A topic deleted and recreated under the same name is not the topic the state was saved from: the
// warehouse stops consuming and says so (as a process it exits with status 1), never resuming in it.
TEST(Repository, ARecreatedTopicIsRefusedNotResumed) {
  const auto topic = fresh_topic("repository-recreated");
  const auto state = fresh_dir("repository-recreated");
  produce(topic, 0, {order_json("8001", 10), order_json("8002", 20), order_json("8003", 30)});
  {
    Running<repository::Service> warehouse(repository_config(topic, 0, state));
    ASSERT_TRUE(warehouse.ok()) << warehouse.error();
    ASSERT_TRUE(eventually([&] { return shipments(warehouse)["next_offset"] == 3; }));
  }
  ASSERT_TRUE(kafka::delete_topic(brokers(), topic, {}, 30s).ok());
  ASSERT_TRUE(eventually([&] { return !kafka::partition_count(brokers(), topic, {}, 2s).ok(); }, 60s))
      << "still there";
  ASSERT_TRUE(
      kafka::ensure_topic(brokers(), {.name = topic, .partitions = 3, .replication_factor = 2}, {}, 30s)
          .ok());
  produce(topic, 0, {order_json("8101", 10)});
  Running<repository::Service> warehouse(repository_config(topic, 0, state));
  ASSERT_TRUE(warehouse.ok()) << warehouse.error();
  ASSERT_TRUE(eventually([&] {
    return readiness(warehouse->port()).find("deleted and recreated") != std::string::npos;
  })) << readiness(warehouse->port());
  EXPECT_EQ(shipments(warehouse)["shipped"], 3) << "nothing of the new topic shipped";
}

}  // namespace
}  // namespace kd::test
