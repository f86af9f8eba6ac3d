// The console's logic without sockets or Kafka: what the view makes of the tail reader's records and the
// polls, and the fan-out that keeps a slow viewer from holding anyone up.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "gateway/fanout.hpp"
#include "gateway/shop_view.hpp"

namespace kd::gateway {
namespace {

using nlohmann::json;

PlacedRecord placed(int partition, std::int64_t offset, std::int64_t money, std::string id) {
  return {partition, offset, 1'700'000'000'000 + offset,
          Order{1700000000, UserId{"1"}, money, OrderId{std::move(id)}}};
}

TEST(ShopView, RowsMoveFromPlacedToShippedToCountedAsThePositionsPassThem) {
  ShopView view(3);
  view.placed({placed(1, 7, 81, "a"), placed(2, 3, 5, "b")});
  auto first = json::parse(*view.update(1000));
  ASSERT_EQ(first["rows"].size(), 2u);
  EXPECT_EQ(first["rows"][0]["order_id"], "a");
  EXPECT_EQ(first["rows"][0]["partition"], 1);
  EXPECT_EQ(first["rows"][0]["offset"], 7);
  EXPECT_TRUE(first["rows"][0]["shipped_ms"].is_null());

  view.positions(1, {{{1, 8}}, {{1, 0}}}, 2000);  // repository-1 durable through offset 7
  auto shipped = json::parse(*view.update(2000));
  ASSERT_EQ(shipped["rows"].size(), 1u) << "only the row that changed";
  EXPECT_EQ(shipped["rows"][0]["order_id"], "a");
  EXPECT_EQ(shipped["rows"][0]["shipped_ms"], 2000);
  EXPECT_TRUE(shipped["rows"][0]["counted_ms"].is_null());

  view.positions(std::nullopt, {{{0, 0}, {1, 8}, {2, 3}}, {}}, 3000);  // statistics: 1 passed, 2 not yet
  auto counted = json::parse(*view.update(3000));
  ASSERT_EQ(counted["rows"].size(), 1u);
  EXPECT_EQ(counted["rows"][0]["counted_ms"], 3000);
  EXPECT_EQ(counted["status"]["regions"][1]["counted_through"], 8);
}

TEST(ShopView, AWarehouseSpeaksOnlyForItsOwnPartition) {
  ShopView view(3);
  view.placed({placed(0, 1, 1, "x")});
  view.positions(2, {{{0, 100}, {2, 5}}, {}}, 1000);  // a wrong answer naming partition 0 is not believed
  EXPECT_TRUE(json::parse(*view.update(1000))["rows"][0]["shipped_ms"].is_null());
}

TEST(ShopView, FiguresAndNamesComeFromStatistics) {
  ShopView view(3);
  ASSERT_TRUE(view.figures(
      R"({"regions":[{"partition":0,"region":"陕北","orders":3,"revenue":1780,"rejected":0},{"partition":1,"region":"关中","orders":1,"revenue":9,"rejected":0}],"total":{"orders":4,"revenue":1789,"rejected":0}})"));
  EXPECT_FALSE(view.figures("not json"));
  const auto status = json::parse(view.snapshot(5000))["status"];
  EXPECT_EQ(status["regions"][0]["name"], "陕北");
  EXPECT_EQ(status["regions"][0]["revenue"], 1780);
  EXPECT_EQ(status["regions"][2]["name"], "partition-2") << "until statistics names it";
  EXPECT_EQ(status["total"]["revenue"], 1789);
}

TEST(ShopView, OrdersPerSecondFillTheLastMinuteAndOlderSecondsAreForgotten) {
  ShopView view(2);
  view.counted_per_second({{99, {4, 1}}, {100, {2, 0}}, {10, {9, 9}}});
  const auto status = json::parse(*view.update(101'500))["status"];
  const auto& series = status["chart"]["series"];
  EXPECT_EQ(status["chart"]["start"], 101 - ShopView::kChartSeconds);
  ASSERT_EQ(series[0].size(), static_cast<std::size_t>(ShopView::kChartSeconds));
  EXPECT_EQ(series[0].back(), 2);
  EXPECT_EQ(series[0][ShopView::kChartSeconds - 2], 4);
  EXPECT_EQ(status["regions"][0]["rate"], 2);
  EXPECT_EQ(status["regions"][1]["rate"], 0);
}

TEST(ShopView, HealthShowsReadyNotReadyAndDown) {
  ShopView view(1);
  view.health("order-0", {true, true, ""});
  view.health("repository-0", {true, false, "not consuming yet"});
  view.health("statistics", {false, false, "cannot connect"});
  const auto status = json::parse(view.snapshot(0))["status"];
  EXPECT_EQ(status["regions"][0]["order"]["ready"], true);
  EXPECT_EQ(status["regions"][0]["repository"]["reason"], "not consuming yet");
  EXPECT_EQ(status["statistics"]["reachable"], false);
}

TEST(ShopView, TheFeedKeepsTheNewestRowsOnlyAndNothingChangedSendsNothing) {
  ShopView view(1, 5);
  std::vector<PlacedRecord> many;
  for (int i = 0; i < 12; ++i) many.push_back(placed(0, i, 1, std::to_string(i)));
  view.placed(many);
  const auto update = json::parse(*view.update(1000));
  ASSERT_EQ(update["rows"].size(), 5u);
  EXPECT_EQ(update["rows"][0]["order_id"], "7");
  EXPECT_FALSE(view.update(1000)) << "nothing changed";
}

TEST(ConsolePositions, ReadsAConsumersPositions) {
  const auto positions = parse_positions(
      R"({"partitions":[{"partition":0,"next":9,"durable":8,"lag":2},{"partition":1,"next":0,"durable":null,"lag":null}]})");
  ASSERT_TRUE(positions);
  EXPECT_EQ(positions->durable.at(0), 8);
  EXPECT_EQ(positions->lag.at(0), 2);
  EXPECT_FALSE(positions->durable.contains(1));
  EXPECT_FALSE(parse_positions("{}"));
  EXPECT_FALSE(parse_positions(R"({"partitions":[1]})"));
}

TEST(Fanout, EveryViewerGetsEveryEventInOrder) {
  asio::io_context io;
  Fanout fanout(8);
  auto a = fanout.join(io.get_executor(), make_event("snapshot", "{}"));
  auto b = fanout.join(io.get_executor(), make_event("snapshot", "{}"));
  fanout.publish(make_event("update", R"({"n":1})"));
  fanout.publish(make_event("update", R"({"n":2})"));
  ASSERT_EQ(a->queue.size(), 3u);
  ASSERT_EQ(b->queue.size(), 3u);
  EXPECT_EQ(*a->queue[2], "event: update\ndata: {\"n\":2}\n\n");
  fanout.leave(a);
  fanout.publish(make_event("update", "{}"));
  EXPECT_EQ(a->queue.size(), 3u);
  EXPECT_EQ(b->queue.size(), 4u);
}

TEST(Fanout, ASlowViewerIsDroppedAndNobodyElseWaits) {
  asio::io_context io;
  Fanout fanout(4);
  auto slow = fanout.join(io.get_executor(), make_event("snapshot", "{}"));
  auto fast = fanout.join(io.get_executor(), make_event("snapshot", "{}"));
  bool closed = false;
  slow->on_drop = [&] { closed = true; };
  for (int i = 0; i < 10; ++i) {
    fanout.publish(make_event("update", std::to_string(i)));
    fast->queue.clear();  // this one keeps up
  }
  EXPECT_TRUE(slow->dropped);
  EXPECT_TRUE(closed);
  EXPECT_TRUE(slow->queue.empty()) << "its events are let go at once";
  EXPECT_FALSE(fast->dropped);
  EXPECT_EQ(fanout.viewers(), 1u);
  EXPECT_EQ(fanout.dropped(), 1u);
}

}  // namespace
}  // namespace kd::gateway
