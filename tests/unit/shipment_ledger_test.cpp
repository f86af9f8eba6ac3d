// The repository's shipment ledger: what survives a restart, torn lines, the bounded id memory.
#include <gtest/gtest.h>

#include <limits>

#include "repository/shipment_ledger.hpp"
#include "temp_dir.hpp"

namespace kd::repository {
namespace {

using testing_support::append_raw;
using testing_support::slurp;
using testing_support::TempDir;

std::unique_ptr<ShipmentLedger> open_ok(const std::filesystem::path& path, std::size_t remember = 200'000) {
  auto ledger = ShipmentLedger::open(path, remember);
  EXPECT_TRUE(ledger.ok()) << ledger.error().message;
  return ledger.ok() ? std::move(*ledger) : nullptr;
}

TEST(ShipmentLedger, EmptyLedgerHasNoNextOffset) {
  TempDir dir;
  auto ledger = open_ok(dir / "ledger");
  ASSERT_TRUE(ledger);
  EXPECT_FALSE(ledger->next_offset().has_value());
  EXPECT_EQ(ledger->shipped(), 0);
  EXPECT_FALSE(ledger->contains(OrderId{"1"}));
}

TEST(ShipmentLedger, OpenCreatesMissingDirectories) {
  TempDir dir;
  auto ledger = open_ok(dir / "a/b/ledger");
  ASSERT_TRUE(ledger);
  ledger->record_skipped(0);
  ASSERT_TRUE(ledger->sync().ok());
  EXPECT_TRUE(std::filesystem::exists(dir / "a/b/ledger"));
}

TEST(ShipmentLedger, RecordsSurviveReopen) {
  TempDir dir;
  const auto path = dir / "ledger";
  {
    auto ledger = open_ok(path);
    ASSERT_TRUE(ledger);
    ledger->record_shipped(0, OrderId{"1468136426238382080"});
    ledger->record_skipped(1);
    ledger->record_shipped(2, OrderId{"1468136426238382081"});
    EXPECT_EQ(ledger->next_offset(), 3);
    EXPECT_EQ(ledger->shipped(), 2);
    EXPECT_TRUE(ledger->contains(OrderId{"1468136426238382080"}));
    ASSERT_TRUE(ledger->sync().ok());
  }
  auto reopened = open_ok(path);
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->next_offset(), 3);
  EXPECT_EQ(reopened->shipped(), 2);
  EXPECT_TRUE(reopened->contains(OrderId{"1468136426238382080"}));
  EXPECT_TRUE(reopened->contains(OrderId{"1468136426238382081"}));
  EXPECT_FALSE(reopened->contains(OrderId{"1468136426238382082"}));
  EXPECT_FALSE(reopened->contains(OrderId{"-"})) << "a skipped record is not an order";

  // And it keeps counting where it left off.
  reopened->record_shipped(3, OrderId{"5"});
  ASSERT_TRUE(reopened->sync().ok());
  reopened.reset();
  auto third = open_ok(path);
  ASSERT_TRUE(third);
  EXPECT_EQ(third->next_offset(), 4);
  EXPECT_EQ(third->shipped(), 3);
  EXPECT_TRUE(third->contains(OrderId{"5"}));
}

TEST(ShipmentLedger, OnlySyncedRecordsAreOnDisk) {
  TempDir dir;
  const auto path = dir / "ledger";
  {
    auto ledger = open_ok(path);
    ASSERT_TRUE(ledger);
    ledger->record_shipped(0, OrderId{"1"});
    ASSERT_TRUE(ledger->sync().ok());
    ledger->record_shipped(1, OrderId{"2"});  // never synced: "lost in the crash"
  }
  auto reopened = open_ok(path);
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->next_offset(), 1);
  EXPECT_TRUE(reopened->contains(OrderId{"1"}));
  EXPECT_FALSE(reopened->contains(OrderId{"2"}));
}

TEST(ShipmentLedger, SkippedOnlyLedgerResumesAfterIt) {
  TempDir dir;
  const auto path = dir / "ledger";
  {
    auto ledger = open_ok(path);
    ASSERT_TRUE(ledger);
    ledger->record_skipped(41);
    ASSERT_TRUE(ledger->sync().ok());
  }
  auto reopened = open_ok(path);
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->next_offset(), 42);
  EXPECT_EQ(reopened->shipped(), 0);
}

TEST(ShipmentLedger, TornLastLineIsIgnoredAndLaterLinesAreWellFormed) {
  TempDir dir;
  const auto path = dir / "ledger";
  {
    auto ledger = open_ok(path);
    ASSERT_TRUE(ledger);
    ledger->record_shipped(15, OrderId{"100"});
    ledger->record_shipped(16, OrderId{"101"});
    ASSERT_TRUE(ledger->sync().ok());
  }
  append_raw(path, "17 14681");  // the crash cut this line short
  {
    auto ledger = open_ok(path);
    ASSERT_TRUE(ledger);
    EXPECT_EQ(ledger->next_offset(), 17);
    EXPECT_EQ(ledger->shipped(), 2);
    EXPECT_FALSE(ledger->contains(OrderId{"14681"}));
    ledger->record_shipped(17, OrderId{"1468136426238382080"});
    ledger->record_skipped(18);
    ASSERT_TRUE(ledger->sync().ok());
  }
  EXPECT_EQ(slurp(path), "15 100\n16 101\n17 1468136426238382080\n18 -\n");
  auto reopened = open_ok(path);
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->next_offset(), 19);
  EXPECT_EQ(reopened->shipped(), 3);
  EXPECT_TRUE(reopened->contains(OrderId{"1468136426238382080"}));
}

TEST(ShipmentLedger, TornOnlyLineLeavesAnEmptyLedger) {
  TempDir dir;
  const auto path = dir / "ledger";
  append_raw(path, "0 12");
  auto ledger = open_ok(path);
  ASSERT_TRUE(ledger);
  EXPECT_FALSE(ledger->next_offset().has_value());
  ledger->record_shipped(0, OrderId{"7"});
  ASSERT_TRUE(ledger->sync().ok());
  EXPECT_EQ(slurp(path), "0 7\n");
}

TEST(ShipmentLedger, RememberBoundForgetsTheOldestIds) {
  TempDir dir;
  const auto path = dir / "ledger";
  {
    auto ledger = open_ok(path, 2);
    ASSERT_TRUE(ledger);
    ledger->record_shipped(0, OrderId{"a1"});
    ledger->record_shipped(1, OrderId{"a2"});
    ledger->record_shipped(2, OrderId{"a3"});
    EXPECT_FALSE(ledger->contains(OrderId{"a1"}));
    EXPECT_TRUE(ledger->contains(OrderId{"a2"}));
    EXPECT_TRUE(ledger->contains(OrderId{"a3"}));
    EXPECT_EQ(ledger->shipped(), 3) << "forgetting an id does not un-ship it";
    ASSERT_TRUE(ledger->sync().ok());
  }
  auto reopened = open_ok(path, 2);
  ASSERT_TRUE(reopened);
  EXPECT_FALSE(reopened->contains(OrderId{"a1"}));
  EXPECT_TRUE(reopened->contains(OrderId{"a2"}));
  EXPECT_TRUE(reopened->contains(OrderId{"a3"}));
  EXPECT_EQ(reopened->shipped(), 3);

  auto roomy = open_ok(path, 10);
  ASSERT_TRUE(roomy);
  EXPECT_TRUE(roomy->contains(OrderId{"a1"}));
}

TEST(ShipmentLedger, MalformedLineIsAnError) {
  for (const std::string content : {"0 1\nnot-a-number 5\n", "abc\n", "12\n", "\n", "0 1\n\n1 2\n"}) {
    TempDir dir;
    const auto path = dir / "ledger";
    append_raw(path, content);
    auto ledger = ShipmentLedger::open(path);
    ASSERT_FALSE(ledger.ok()) << "accepted: " << ::testing::PrintToString(content);
    EXPECT_NE(ledger.error().message.find("malformed"), std::string::npos) << ledger.error().message;
  }
}

TEST(ShipmentLedger, OffsetWithTrailingGarbageIsMalformed) {
  for (const std::string content : {"12x 5\n", "-1 5\n", "1.5 5\n"}) {
    TempDir dir;
    const auto path = dir / "ledger";
    append_raw(path, content);
    auto ledger = ShipmentLedger::open(path);
    EXPECT_FALSE(ledger.ok()) << "accepted: " << ::testing::PrintToString(content);
  }
}

// Found by tests/fuzz/shipment_ledger_fuzzer: the largest int64 offset overflowed (undefined behaviour)
// when the ledger worked out where to resume.
TEST(ShipmentLedger, LargestInt64OffsetIsMalformed) {
  TempDir dir;
  const auto path = dir / "ledger";
  append_raw(path, "0 1\n9223372036854775807 2\n");
  auto ledger = ShipmentLedger::open(path);
  ASSERT_FALSE(ledger.ok());
  EXPECT_NE(ledger.error().message.find("malformed"), std::string::npos) << ledger.error().message;

  TempDir other;
  append_raw(other / "ledger", "9223372036854775806 2\n");
  auto largest = open_ok(other / "ledger");
  ASSERT_TRUE(largest);
  EXPECT_EQ(largest->next_offset(), std::numeric_limits<std::int64_t>::max());
}

TEST(ShipmentLedger, UnreadablePathIsAnError) {
  TempDir dir;
  // A directory where the file should be.
  std::filesystem::create_directories(dir / "ledger");
  auto ledger = ShipmentLedger::open(dir / "ledger");
  EXPECT_FALSE(ledger.ok());
}

}  // namespace
}  // namespace kd::repository
