// The warehouse ships each order once: through copies, restarts, torn saves, gaps and recreated topics.
#include "repository/warehouse.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "consumer_driver.hpp"
#include "temp_dir.hpp"

namespace kd::repository {
namespace {

using consumer::OffsetFit;
using consumer::Sighting;
using testing_support::ConsumerDriver;
using testing_support::order_record;
using testing_support::TempDir;

struct Shipped {
  std::vector<Shipment> all;
  Warehouse::Dispatch dispatch() {
    return [this](const std::vector<Shipment>& shipments) {
      all.insert(all.end(), shipments.begin(), shipments.end());
    };
  }
  std::vector<std::string> ids() const {
    std::vector<std::string> out;
    for (const auto& s : all) out.push_back(s.order_id.value);
    return out;
  }
};

TEST(Warehouse, ShipsOnlyWhatIsDurable) {
  TempDir dir;
  Shipped shipped;
  Warehouse warehouse(shipped.dispatch());
  ConsumerDriver driver(dir / "state.db", warehouse);
  driver.feed(0, 0, order_record(1));
  driver.feed(0, 1, order_record(2));
  EXPECT_TRUE(shipped.all.empty()) << "announced before it was saved";
  EXPECT_EQ(warehouse.shipped(), 2);
  driver.save();
  EXPECT_EQ(shipped.all, (std::vector<Shipment>{{OrderId{"1"}, 0, 0}, {OrderId{"2"}, 0, 1}}));
}

TEST(Warehouse, ShipsACopyInsideTheWindowOnce) {
  TempDir dir;
  Shipped shipped;
  Warehouse warehouse(shipped.dispatch());
  ConsumerDriver driver(dir / "state.db", warehouse, /*window=*/10);
  driver.feed(0, 0, order_record(1));
  driver.feed(0, 1, order_record(2));
  const auto copy = driver.feed(0, 5, order_record(1));
  EXPECT_EQ(copy.sighting, Sighting::copy);
  EXPECT_EQ(copy.first_offset, 0);
  EXPECT_EQ(copy.fit, OffsetFit::gap) << "offsets 2..4 never came";
  driver.save();
  EXPECT_EQ(shipped.ids(), (std::vector<std::string>{"1", "2"}));
}

TEST(Warehouse, ACopyBeyondTheWindowIsShippedAgainButReported) {
  TempDir dir;
  Shipped shipped;
  Warehouse warehouse(shipped.dispatch());
  ConsumerDriver driver(dir / "state.db", warehouse, /*window=*/3);
  for (int offset = 0; offset < 5; ++offset) driver.feed(0, offset, order_record(100 + offset));
  const auto late = driver.feed(0, 5, order_record(100));  // the first copy left the window at offset 3
  EXPECT_EQ(late.sighting, Sighting::first);
  EXPECT_TRUE(late.older_than_window) << "never acted on twice in silence";
  EXPECT_EQ(late.window_oldest_offset, 2);
  const auto new_order = driver.feed(0, 6, order_record(200));
  EXPECT_FALSE(new_order.older_than_window);
}

TEST(Warehouse, AnotherOrderUnderAUsedIdIsAConflictNotACopy) {
  TempDir dir;
  Shipped shipped;
  Warehouse warehouse(shipped.dispatch());
  ConsumerDriver driver(dir / "state.db", warehouse);
  driver.feed(0, 0, order_record(1, 81));
  const auto other = driver.feed(0, 1, order_record(1, 999));
  EXPECT_EQ(other.sighting, Sighting::conflict);
  EXPECT_EQ(other.first_offset, 0);
  EXPECT_EQ(warehouse.shipped(), 1);
}

TEST(Warehouse, RestartsFromTheSavedStateAndShipsTheUnsavedTailOnce) {
  TempDir dir;
  Shipped shipped;
  {
    Warehouse warehouse(shipped.dispatch());
    ConsumerDriver driver(dir / "state.db", warehouse);
    driver.feed(0, 0, order_record(1));
    driver.feed(0, 1, order_record(2));
    driver.save();
    driver.feed(0, 2, order_record(3));  // handled, never saved: the crash comes first
  }
  Warehouse warehouse(shipped.dispatch());
  ConsumerDriver driver(dir / "state.db", warehouse);
  EXPECT_EQ(warehouse.shipped(), 2);
  EXPECT_EQ(driver.state().resume_offset(0), 1) << "re-read the last saved record to check the topic";
  EXPECT_EQ(driver.feed(0, 1, order_record(2)).fit, OffsetFit::fingerprint);
  driver.feed(0, 2, order_record(3));
  EXPECT_EQ(driver.feed(0, 3, order_record(1)).sighting, Sighting::copy) << "the window survived the restart";
  driver.save();
  EXPECT_EQ(shipped.ids(), (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(warehouse.shipped(), 3);
}

TEST(Warehouse, ATornTailOfTheLogLosesOnlyTheUnfinishedSave) {
  TempDir dir;
  Shipped shipped;
  {
    Warehouse warehouse(shipped.dispatch());
    ConsumerDriver driver(dir / "state.db", warehouse);
    driver.feed(0, 0, order_record(1));
    driver.save();
  }
  // A crash while a save was being written leaves half a frame at the end of the write-ahead log.
  testing_support::append_raw(dir / "state.db-wal", std::string(1000, '\x5a'));
  Warehouse warehouse(shipped.dispatch());
  ConsumerDriver driver(dir / "state.db", warehouse);
  EXPECT_EQ(warehouse.shipped(), 1);
  EXPECT_EQ(driver.state().position(0)->next, 1);
}

TEST(Warehouse, ASecondWriterOfTheSameStateIsRefused) {
  TempDir dir;
  auto first = consumer::StateStore::open(dir / "state.db", "order");
  ASSERT_TRUE(first.ok());
  auto second = consumer::StateStore::open(dir / "state.db", "order");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, Errc::storage);
  EXPECT_NE(second.error().message.find("in use by another process (pid " + std::to_string(::getpid())),
            std::string::npos)
      << second.error().message;
  first->reset();
  EXPECT_TRUE(consumer::StateStore::open(dir / "state.db", "order").ok()) << "the lock goes with its holder";
}

TEST(Warehouse, AGapIsReportedAndTheRestShipped) {
  TempDir dir;
  Shipped shipped;
  Warehouse warehouse(shipped.dispatch());
  ConsumerDriver driver(dir / "state.db", warehouse);
  driver.feed(0, 0, order_record(1));
  const auto after_gap = driver.feed(0, 40, order_record(2));
  EXPECT_EQ(after_gap.fit, OffsetFit::gap);
  EXPECT_EQ(after_gap.expected, 1);
  EXPECT_EQ(warehouse.shipped(), 2);
}

TEST(Warehouse, ARecreatedTopicIsNotTakenForTheOldOne) {
  TempDir dir;
  Shipped shipped;
  {
    Warehouse warehouse(shipped.dispatch());
    ConsumerDriver driver(dir / "state.db", warehouse);
    for (int offset = 0; offset < 5; ++offset) driver.feed(0, offset, order_record(10 + offset));
    driver.save();
  }
  {
    // The same offset holds another record: the topic is another one.
    Warehouse warehouse(shipped.dispatch());
    ConsumerDriver driver(dir / "state.db", warehouse);
    EXPECT_EQ(driver.feed(0, 4, order_record(99)).fit, OffsetFit::foreign);
  }
  // Shorter than the state says: librdkafka resets to the beginning, behind the position.
  Warehouse warehouse(shipped.dispatch());
  ConsumerDriver driver(dir / "state.db", warehouse);
  EXPECT_EQ(driver.feed(0, 0, order_record(99)).fit, OffsetFit::foreign);
}

TEST(Warehouse, StateOfAnotherTopicIsRefused) {
  TempDir dir;
  ASSERT_TRUE(consumer::StateStore::open(dir / "state.db", "order").ok());
  auto other = consumer::StateStore::open(dir / "state.db", "returns");
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.error().message.find("of topic 'order'"), std::string::npos) << other.error().message;
}

TEST(Warehouse, SnapshotRoundTripAndMalformedState) {
  Warehouse warehouse([](const std::vector<Shipment>&) {});
  ASSERT_TRUE(warehouse.restore(R"({"shipped":41})").ok());
  EXPECT_EQ(warehouse.shipped(), 41);
  Warehouse again([](const std::vector<Shipment>&) {});
  ASSERT_TRUE(again.restore(warehouse.snapshot()).ok());
  EXPECT_EQ(again.shipped(), 41);
  for (const char* bad : {"{", R"({"shipped":-1})", R"({"shipped":"1"})", "[]"}) {
    const auto status = again.restore(bad);
    ASSERT_FALSE(status.ok()) << bad;
    EXPECT_EQ(status.error().code, Errc::storage);
  }
}

}  // namespace
}  // namespace kd::repository
