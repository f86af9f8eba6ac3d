// Order tracking without Kafka: the search for an order by its id alone (a partition in memory stands in for
// Kafka), the id's parsing, and the story told from what the consumers answer.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/ids.hpp"
#include "gateway/order_locator.hpp"
#include "gateway/order_story.hpp"

namespace kd::gateway {
namespace {

// Partitions in memory, with Kafka's offsets-for-times: the first offset whose timestamp is at or after.
class MemoryTopic final : public kafka::RecordSource {
 public:
  explicit MemoryTopic(int partitions) : partitions_(partitions) {}

  void append(int partition, std::string value, std::int64_t timestamp_ms) {
    auto& records = partitions_[partition];
    const std::int64_t offset = low_[partition] + static_cast<std::int64_t>(records.size());
    records.push_back({partition, offset, timestamp_ms, std::move(value)});
  }
  // Retention: records before `offset` are gone.
  void delete_before(int partition, std::int64_t offset) {
    auto& records = partitions_[partition];
    while (!records.empty() && records.front().offset < offset) records.erase(records.begin());
    low_[partition] = offset;
  }

  Result<kafka::Watermarks> watermarks(int partition) override {
    const auto& records = partitions_[partition];
    return kafka::Watermarks{low_[partition], low_[partition] + static_cast<std::int64_t>(records.size())};
  }
  Result<std::int64_t> offset_for_time(int partition, std::int64_t unix_ms) override {
    for (const auto& record : partitions_[partition])
      if (record.timestamp_ms >= unix_ms) return record.offset;
    return watermarks(partition)->high;
  }
  Result<std::vector<kafka::StoredRecord>> read(int partition, std::int64_t offset, std::size_t max,
                                                std::int64_t end) override {
    ++reads;
    std::vector<kafka::StoredRecord> out;
    for (const auto& record : partitions_[partition]) {
      if (record.offset >= offset && record.offset < end && out.size() < max) out.push_back(record);
    }
    return out;
  }
  int reads = 0;

 private:
  std::vector<std::vector<kafka::StoredRecord>> partitions_{std::vector<std::vector<kafka::StoredRecord>>(3)};
  std::map<int, std::int64_t> low_;
};

class Unreachable final : public kafka::RecordSource {
 public:
  Result<kafka::Watermarks> watermarks(int) override { return make_error(Errc::unavailable, "brokers down"); }
  Result<std::int64_t> offset_for_time(int, std::int64_t) override {
    return make_error(Errc::unavailable, "x");
  }
  Result<std::vector<kafka::StoredRecord>> read(int, std::int64_t, std::size_t, std::int64_t) override {
    return make_error(Errc::unavailable, "x");
  }
};

std::string order_json(std::int64_t id, std::int64_t money = 81) {
  return to_json(Order{1638865975, UserId{"1468136425655373824"}, money, OrderId{std::to_string(id)}});
}

// An order instance writing `count` orders into its partition, a few per millisecond, each record stamped
// `skew_ms` after its id's millisecond (the producer takes it just after the id is made).
std::vector<std::int64_t> write_orders(MemoryTopic& topic, int partition, int count, std::int64_t start_ms,
                                       std::int64_t skew_ms = 1) {
  std::int64_t now = start_ms;
  SnowflakeGenerator ids(static_cast<std::uint16_t>(partition), [&] { return now; });
  std::vector<std::int64_t> written;
  for (int i = 0; i < count; ++i) {
    if (i % 3 == 0) ++now;
    const auto id = ids.next();
    topic.append(partition, order_json(id, 1 + i % 999), now + skew_ms);
    written.push_back(id);
  }
  return written;
}

TEST(OrderLocator, FindsEveryOrderNextToWhereItsTimeSaysInOneRead) {
  MemoryTopic topic(3);
  const auto ids = write_orders(topic, 1, 3000, 1'700'000'000'000);
  for (std::size_t i = 0; i < ids.size(); i += 97) {
    topic.reads = 0;
    auto found = locate_order(topic, ids[i], 3);
    ASSERT_TRUE(found) << found.error().message;
    ASSERT_TRUE(found->placement) << "order " << i;
    EXPECT_EQ(found->placement->partition, 1);
    EXPECT_EQ(found->placement->offset, static_cast<std::int64_t>(i));
    EXPECT_EQ(found->placement->order.order_id.value, std::to_string(ids[i]));
    EXPECT_EQ(found->cost.reads, 1) << "offsets-for-times should put the first read on it";
  }
}

TEST(OrderLocator, AnIdNoOneWroteIsNotFound) {
  MemoryTopic topic(3);
  const auto ids = write_orders(topic, 0, 500, 1'700'000'000'000);
  // Between two written ids, before the first, after the last, and of a partition with no records.
  for (const std::int64_t absent : {ids[101] + 1, ids[0] - 1, ids.back() + 4096}) {  // 3 ids a millisecond
    auto found = locate_order(topic, absent, 3);
    ASSERT_TRUE(found) << found.error().message;
    EXPECT_FALSE(found->placement) << absent;
  }
  SnowflakeGenerator node2(2, [] { return std::int64_t{1'700'000'000'100}; });
  auto found = locate_order(topic, node2.next(), 3);
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->placement);
}

TEST(OrderLocator, AnIdOfANodeThatIsNoPartitionIsNotFoundWithoutReading) {
  MemoryTopic topic(3);
  SnowflakeGenerator node7(7, [] { return std::int64_t{1'700'000'000'000}; });
  auto found = locate_order(topic, node7.next(), 3);
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->placement);
  EXPECT_EQ(topic.reads, 0);
}

// An instance restarted with its clock behind keeps its ids above the newest it wrote (last_order_id.hpp):
// its records are then stamped an hour before their ids' time, and offsets-for-times points past them.
TEST(OrderLocator, FindsOrdersWrittenWithAClockHeldAboveTheWallClockByBisecting) {
  MemoryTopic topic(3);
  const auto before = write_orders(topic, 2, 2000, 1'700'000'000'000);
  const auto held = write_orders(topic, 2, 2000, 1'700'003'600'000, -3'600'000);
  const auto after = write_orders(topic, 2, 2000, 1'700'003'700'000);
  for (const auto id : {before[5], held[0], held[1234], held.back(), after[3]}) {
    auto found = locate_order(topic, id, 3);
    ASSERT_TRUE(found) << found.error().message;
    ASSERT_TRUE(found->placement) << id;
    EXPECT_EQ(found->placement->order.order_id.value, std::to_string(id));
    EXPECT_LT(found->cost.reads, 30);
  }
}

TEST(OrderLocator, RecordsThatAreNotOrdersAreSteppedOver) {
  MemoryTopic topic(3);
  const auto first = write_orders(topic, 0, 10, 1'700'000'000'000);
  for (int i = 0; i < 200; ++i) topic.append(0, "not an order", 1'700'000'000'020);
  const auto second = write_orders(topic, 0, 10, 1'700'000'000'030);
  for (const auto id : {first[9], second[0], second[9]}) {
    auto found = locate_order(topic, id, 3);
    ASSERT_TRUE(found) << found.error().message;
    ASSERT_TRUE(found->placement) << id;
  }
  auto absent = locate_order(topic, first[9] + 1, 3);
  ASSERT_TRUE(absent);
  EXPECT_FALSE(absent->placement);
}

TEST(OrderLocator, AnOrderDeletedByRetentionIsNotFoundAndTheRestAre) {
  MemoryTopic topic(3);
  const auto ids = write_orders(topic, 1, 300, 1'700'000'000'000);
  topic.delete_before(1, 100);
  auto gone = locate_order(topic, ids[50], 3);
  ASSERT_TRUE(gone);
  EXPECT_FALSE(gone->placement);
  auto kept = locate_order(topic, ids[150], 3);
  ASSERT_TRUE(kept);
  ASSERT_TRUE(kept->placement);
  EXPECT_EQ(kept->placement->offset, 150);
}

TEST(OrderLocator, ACopyKafkaHoldsIsNoObstacle) {
  MemoryTopic topic(3);
  const auto ids = write_orders(topic, 0, 100, 1'700'000'000'000);
  topic.append(0, order_json(ids[40]), 1'700'000'000'040);  // a re-sent batch's copy, after larger ids
  auto found = locate_order(topic, ids[40], 3);
  ASSERT_TRUE(found);
  ASSERT_TRUE(found->placement);
  EXPECT_EQ(found->placement->offset, 40) << "the first copy";
}

TEST(OrderLocator, KafkaUnreachableIsUnavailable) {
  Unreachable topic;
  SnowflakeGenerator node0(0);
  auto found = locate_order(topic, node0.next(), 3);
  ASSERT_FALSE(found);
  EXPECT_EQ(found.error().code, Errc::unavailable);
}

TEST(OrderId, ParsesOurSpellingOnly) {
  EXPECT_EQ(parse_snowflake("2124016654655422464").value(), 2124016654655422464);
  EXPECT_EQ(parse_snowflake("1").value(), 1);
  EXPECT_EQ(parse_snowflake("9223372036854775807").value(), 9223372036854775807);
  for (const std::string_view bad : {"", "0", "007", "-1", "+1", "1.0", "12a", " 1", "9223372036854775808",
                                     "99999999999999999999", "１２"}) {
    const auto parsed = parse_snowflake(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().code, Errc::bad_request);
  }
}

TEST(OrderId, DecodesItsTimeNodeAndSequence) {
  SnowflakeGenerator ids(2, [] { return std::int64_t{1'638'865'975'123}; });
  const auto first = decode_snowflake(ids.next());
  EXPECT_EQ(first, (SnowflakeParts{1'638'865'975'123, 2, 0}));
  EXPECT_EQ(decode_snowflake(ids.next()).sequence, 1);
  // The seed's id decodes to 2021-12-07 (its article's day).
  EXPECT_EQ(decode_snowflake(1468136426238382080).unix_ms / 86'400'000, 18968);
}

TEST(OrderStory, TellsWhereAndWhenFromTheConsumersAnswers) {
  const Placement placed{1, 42, 1'700'000'000'005, Order{1700000000, UserId{"7"}, 81, OrderId{"123"}}};
  consumer::Progress shipped{.done = true, .at_ms = 1'700'000'000'050, .by_ms = std::nullopt, .next = 43};
  consumer::Progress counted{.done = false, .next = 40};
  const auto story = nlohmann::json::parse(
      story_json(placed, {"repository-1", shipped, {}}, {"statistics", counted, {}}, LookupCost{1, 17}));
  EXPECT_EQ(story["order_id"], "123");
  EXPECT_EQ(story["placed"]["by"], "order-1");
  EXPECT_EQ(story["placed"]["offset"], 42);
  EXPECT_EQ(story["placed"]["money"], 81);
  EXPECT_EQ(story["placed"]["written_ms"], 1'700'000'000'005);
  EXPECT_EQ(story["shipped"]["by"], "repository-1");
  EXPECT_EQ(story["shipped"]["done"], true);
  EXPECT_EQ(story["shipped"]["at_ms"], 1'700'000'000'050);
  EXPECT_EQ(story["counted"]["done"], false);
  EXPECT_TRUE(story["counted"]["at_ms"].is_null());
  EXPECT_EQ(story["lookup"]["records"], 17);
}

TEST(OrderStory, AConsumerThatCannotBeAskedIsUnknownNotNo) {
  const Placement placed{0, 1, 1, Order{1, UserId{"7"}, 81, OrderId{"123"}}};
  const auto story =
      nlohmann::json::parse(story_json(placed, {"repository-0", std::nullopt, "cannot connect"},
                                       {"statistics", consumer::Progress{}, {}}, {}));
  EXPECT_TRUE(story["shipped"]["done"].is_null());
  EXPECT_EQ(story["shipped"]["error"], "cannot connect");
}

TEST(OrderStory, ReadsTheProgressAnswer) {
  auto progress =
      parse_progress(R"({"partition":0,"offset":5,"done":true,"at_ms":null,"by_ms":1700,"durable":9})");
  ASSERT_TRUE(progress) << progress.error().message;
  EXPECT_TRUE(progress->done);
  EXPECT_FALSE(progress->at_ms);
  EXPECT_EQ(progress->by_ms, 1700);
  EXPECT_EQ(progress->next, 9);
  for (const char* bad : {"", "[]", R"({"done":"yes"})", R"({"done":true,"at_ms":"x"})"}) {
    EXPECT_FALSE(parse_progress(bad)) << bad;
  }
}

TEST(OrderStory, NotFoundSaysWhy) {
  SnowflakeGenerator node9(9);
  EXPECT_NE(order_not_found(node9.next(), 3).message.find("no order instance"), std::string::npos);
  SnowflakeGenerator node1(1);
  const auto error = order_not_found(node1.next(), 3);
  EXPECT_EQ(error.code, Errc::not_found);
  EXPECT_NE(error.message.find("partition 1"), std::string::npos);
}

}  // namespace
}  // namespace kd::gateway
