// What a record is to a consumer: positions, the dedupe window's rule, fingerprints; and the shop's
// figures counted once through it.
#include "common/consumer/consumer_state.hpp"

#include <gtest/gtest.h>

#include "consumer_driver.hpp"
#include "statistics/shop_figures.hpp"
#include "temp_dir.hpp"

namespace kd::consumer {
namespace {

using testing_support::ConsumerDriver;
using testing_support::order_record;
using testing_support::TempDir;

TEST(ConsumerState, APartitionWithoutAPositionTakesWhateverComesFirst) {
  ConsumerState state(10);
  const auto seen = state.examine(1, 500, order_record(1), nullptr);
  EXPECT_EQ(seen.fit, OffsetFit::expected);
  EXPECT_FALSE(state.resume_offset(1).has_value());
}

TEST(ConsumerState, TheWindowIsPerPartitionAndCountsRecordsNotOrders) {
  ConsumerState state(/*window_records=*/3);
  const std::string_view id = "7";
  const std::string value = order_record(7);
  state.handled(0, 0, value, &id, Sighting::first);
  EXPECT_EQ(state.examine(0, 1, value, &id).sighting, Sighting::copy);
  EXPECT_EQ(state.examine(1, 0, value, &id).sighting, Sighting::first) << "another partition's window";
  state.handled(0, 1, "junk", nullptr, Sighting::first);
  state.handled(0, 2, "junk", nullptr, Sighting::first);
  EXPECT_EQ(state.examine(0, 3, value, &id).sighting, Sighting::copy)
      << "offsets 0..2 are the newest 3 records";
  state.handled(0, 3, "junk", nullptr, Sighting::first);
  EXPECT_EQ(state.examine(0, 4, value, &id).sighting, Sighting::first) << "offset 0 left the window";
}

TEST(ConsumerState, AWindowOfZeroRemembersNothing) {
  ConsumerState state(0);
  const std::string_view id = "7";
  state.handled(0, 0, order_record(7), &id, Sighting::first);
  EXPECT_EQ(state.examine(0, 1, order_record(7), &id).sighting, Sighting::first);
  EXPECT_EQ(state.window_size(0), 0u);
}

TEST(ConsumerState, ChangesAreTakenOnce) {
  ConsumerState state(10);
  EXPECT_FALSE(state.has_changes());
  state.handled(0, 0, "junk", nullptr, Sighting::first);
  EXPECT_TRUE(state.has_changes());
  const auto changes = state.take_changes();
  EXPECT_EQ(changes.positions.at(0).next, 1);
  EXPECT_FALSE(state.has_changes());
}

TEST(ShopFiguresThroughTheConsumer, CountsEachOrderOnceAcrossCopiesAndRestarts) {
  TempDir dir;
  {
    statistics::ShopFigures figures;
    ConsumerDriver driver(dir / "statistics.db", figures);
    driver.feed(0, 0, order_record(1, 100));
    driver.feed(1, 0, order_record(2, 50));
    driver.feed(1, 1, order_record(2, 50));  // Kafka holds it twice
    driver.feed(2, 0, "not an order");
    driver.save();
    driver.feed(0, 1, order_record(3, 7));  // not saved: the restart reads it again
  }
  statistics::ShopFigures figures;
  ConsumerDriver driver(dir / "statistics.db", figures);
  EXPECT_EQ(figures.total(), (statistics::RegionFigures{2, 150, 1}));
  EXPECT_EQ(driver.feed(0, 0, order_record(1, 100)).fit, OffsetFit::fingerprint);
  driver.feed(0, 1, order_record(3, 7));
  EXPECT_EQ(driver.feed(1, 2, order_record(2, 50)).sighting, Sighting::copy) << "the window was restored";
  EXPECT_EQ(figures.total(), (statistics::RegionFigures{3, 157, 1}));
  EXPECT_EQ(figures.by_partition().at(0), (statistics::RegionFigures{2, 107, 0}));
}

}  // namespace
}  // namespace kd::consumer
