// Snowflake ids, pod identity (partition from the pod name) and region names.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <ctime>
#include <set>
#include <thread>
#include <unordered_set>
#include <vector>

#include "common/ids.hpp"
#include "common/pod_identity.hpp"
#include "common/regions.hpp"

namespace kd {
namespace {

// ---------------------------------------------------------------- SnowflakeGenerator

TEST(Snowflake, UniqueAcrossThreadsAndIncreasingWithinEach) {
  SnowflakeGenerator ids(7);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50'000;
  std::vector<std::vector<std::int64_t>> drawn(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto& mine = drawn[t];
      mine.reserve(kPerThread);
      for (int i = 0; i < kPerThread; ++i) mine.push_back(ids.next());
    });
  }
  for (auto& thread : threads) thread.join();

  std::unordered_set<std::int64_t> all;
  all.reserve(kThreads * kPerThread);
  for (const auto& mine : drawn) {
    for (std::size_t i = 1; i < mine.size(); ++i) {
      ASSERT_LT(mine[i - 1], mine[i]) << "ids within one thread must strictly increase";
    }
    for (auto id : mine) all.insert(id);
  }
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kThreads * kPerThread));
}

TEST(Snowflake, NodeLandsInBits12To21) {
  for (std::uint16_t node : {0, 1, 5, 512, 1023}) {
    SnowflakeGenerator ids(node);
    EXPECT_EQ(ids.node(), node);
    for (int i = 0; i < 10; ++i) {
      const auto id = ids.next();
      EXPECT_GT(id, 0);
      EXPECT_EQ((id >> 12) & 0x3FF, node) << "node " << node;
    }
  }
}

TEST(Snowflake, TimeBitsFollowTheClock) {
  const std::int64_t now = 1'700'000'000'000;
  SnowflakeGenerator ids(3, [now] { return now; });
  const auto id = ids.next();
  EXPECT_EQ((id >> 22) + SnowflakeGenerator::kEpochMs, now);
  EXPECT_EQ(id & 0xFFF, 0);
}

TEST(Snowflake, ClockSteppingBackStillGivesIncreasingUniqueIds) {
  std::int64_t now = 1'700'000'000'000;
  SnowflakeGenerator ids(1, [&now] { return now; });
  std::vector<std::int64_t> drawn;
  for (int i = 0; i < 100; ++i) drawn.push_back(ids.next());
  now -= 5'000;  // NTP steps the clock back five seconds
  for (int i = 0; i < 100; ++i) drawn.push_back(ids.next());
  now += 10'000;
  for (int i = 0; i < 100; ++i) drawn.push_back(ids.next());
  for (std::size_t i = 1; i < drawn.size(); ++i) ASSERT_LT(drawn[i - 1], drawn[i]) << "at " << i;
  for (auto id : drawn) EXPECT_EQ((id >> 12) & 0x3FF, 1);
}

TEST(Snowflake, MoreThan4096IdsInOneMillisecondStayUniqueAndIncreasing) {
  const std::int64_t now = 1'700'000'000'000;
  SnowflakeGenerator ids(9, [now] { return now; });
  std::vector<std::int64_t> drawn;
  for (int i = 0; i < 3 * 4096 + 17; ++i) drawn.push_back(ids.next());
  for (std::size_t i = 1; i < drawn.size(); ++i) ASSERT_LT(drawn[i - 1], drawn[i]) << "at " << i;
  for (auto id : drawn)
    ASSERT_EQ((id >> 12) & 0x3FF, 9) << "sequence overflow must not spill into the node bits";
  // Ids past the 4096th borrow the following milliseconds.
  EXPECT_EQ((drawn.back() >> 22) + SnowflakeGenerator::kEpochMs, now + 3);
}

TEST(Snowflake, NodeAbove1023Throws) {
  EXPECT_THROW(SnowflakeGenerator(1024), std::invalid_argument);
  EXPECT_THROW(SnowflakeGenerator(65535), std::invalid_argument);
  EXPECT_NO_THROW(SnowflakeGenerator(1023));
}

TEST(Snowflake, SeedIdDecodesToDecember7th2021) {
  const std::int64_t seed_id = 1468136426238382080;
  const std::int64_t ms = (seed_id >> 22) + SnowflakeGenerator::kEpochMs;
  const std::time_t seconds = ms / 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  EXPECT_EQ(utc.tm_year + 1900, 2021);
  EXPECT_EQ(utc.tm_mon + 1, 12);
  EXPECT_EQ(utc.tm_mday, 7);
}

TEST(Snowflake, SystemClockIdsAreNearNow) {
  SnowflakeGenerator ids(0);
  const auto before = SnowflakeGenerator::system_clock_ms();
  const auto id = ids.next();
  const auto after = SnowflakeGenerator::system_clock_ms();
  const auto ms = (id >> 22) + SnowflakeGenerator::kEpochMs;
  EXPECT_GE(ms, before);
  EXPECT_LE(ms, after);
  const std::string text = ids.next_string();
  ASSERT_FALSE(text.empty());
  EXPECT_TRUE(std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) << text;
  EXPECT_GT(std::stoll(text), id);
}

TEST(Snowflake, NodeFromHostnameIsStableAndInRange) {
  for (const std::string host : {"", "gateway-7d9f8c6b5-x2x9q", "localhost", "a", "order-0"}) {
    const auto node = node_from_hostname(host);
    EXPECT_LE(node, SnowflakeGenerator::kMaxNode) << host;
    EXPECT_EQ(node, node_from_hostname(host)) << host;
  }
  // FNV-1a of "" is the offset basis 2166136261, which is 205 modulo 1024: the hash must not depend on the
  // build or the run (std::hash would).
  EXPECT_EQ(node_from_hostname(""), 2166136261u % 1024);
  std::set<std::uint16_t> nodes;
  for (int i = 0; i < 10; ++i) nodes.insert(node_from_hostname("gateway-" + std::to_string(i)));
  EXPECT_GE(nodes.size(), 8u) << "ten host names should mostly get different nodes";
}

// ---------------------------------------------------------------- pod identity

struct OrdinalCase {
  const char* name;
  std::optional<int> expected;
};

class OrdinalFromName : public ::testing::TestWithParam<OrdinalCase> {};

TEST_P(OrdinalFromName, Parses) {
  EXPECT_EQ(ordinal_from_name(GetParam().name), GetParam().expected) << GetParam().name;
}

INSTANTIATE_TEST_SUITE_P(
    Table, OrdinalFromName,
    ::testing::Values(OrdinalCase{"order-0", 0}, OrdinalCase{"order-12", 12}, OrdinalCase{"repository-2", 2},
                      OrdinalCase{"my-app-order-7", 7}, OrdinalCase{"order", std::nullopt},
                      OrdinalCase{"order-", std::nullopt}, OrdinalCase{"order-1a", std::nullopt},
                      OrdinalCase{"order--1", 1},  // after the last '-' comes "1"
                      OrdinalCase{"order-+1", std::nullopt}, OrdinalCase{"order- 1", std::nullopt},
                      OrdinalCase{"order-99999999999", std::nullopt}, OrdinalCase{"", std::nullopt}));

TEST(ResolvePartition, PodNameWinsOverHostname) {
  auto partition = resolve_partition("order-1", "order-2", 3);
  ASSERT_TRUE(partition.ok()) << partition.error().message;
  EXPECT_EQ(*partition, 1);
}

TEST(ResolvePartition, HostnameUsedWhenPodNameEmpty) {
  auto partition = resolve_partition("", "order-2", 3);
  ASSERT_TRUE(partition.ok()) << partition.error().message;
  EXPECT_EQ(*partition, 2);
}

TEST(ResolvePartition, OrdinalBeyondPartitionsIsAnErrorNamingTheCount) {
  auto partition = resolve_partition("order-3", "", 3);
  ASSERT_FALSE(partition.ok());
  EXPECT_EQ(partition.error().code, Errc::config);
  EXPECT_NE(partition.error().message.find("3 partitions"), std::string::npos) << partition.error().message;
  EXPECT_NE(partition.error().message.find("order-3"), std::string::npos) << partition.error().message;

  auto big = resolve_partition("", "order-12", 3);
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().message.find("3 partitions"), std::string::npos) << big.error().message;
}

TEST(ResolvePartition, NameWithoutOrdinalGivesClearError) {
  auto partition = resolve_partition("order", "ignored-1", 3);
  ASSERT_FALSE(partition.ok());
  EXPECT_EQ(partition.error().code, Errc::config);
  EXPECT_NE(partition.error().message.find("POD_NAME"), std::string::npos) << partition.error().message;
  EXPECT_NE(partition.error().message.find("'order'"), std::string::npos) << partition.error().message;

  auto from_host = resolve_partition("", "laptop", 3);
  ASSERT_FALSE(from_host.ok());
  EXPECT_NE(from_host.error().message.find("laptop"), std::string::npos) << from_host.error().message;
}

TEST(ResolvePartition, CurrentHostnameIsNotEmpty) { EXPECT_FALSE(current_hostname().empty()); }

// ---------------------------------------------------------------- regions

TEST(Regions, DefaultNamesAndBeyond) {
  auto names = RegionNames::parse(kDefaultRegions);
  ASSERT_TRUE(names.ok()) << names.error().message;
  EXPECT_EQ(names->size(), 3u);
  EXPECT_EQ(names->name(0), "陕北");
  EXPECT_EQ(names->name(1), "关中");
  EXPECT_EQ(names->name(2), "陕南");
  EXPECT_EQ(names->name(3), "partition-3");
  EXPECT_EQ(names->name(5), "partition-5");
  EXPECT_EQ(names->name(-1), "partition--1");
}

TEST(Regions, SpacesAreTrimmed) {
  auto names = RegionNames::parse("  north , south  ,east");
  ASSERT_TRUE(names.ok()) << names.error().message;
  ASSERT_EQ(names->size(), 3u);
  EXPECT_EQ(names->name(0), "north");
  EXPECT_EQ(names->name(1), "south");
  EXPECT_EQ(names->name(2), "east");
  auto inner = RegionNames::parse("new york");
  ASSERT_TRUE(inner.ok());
  EXPECT_EQ(inner->name(0), "new york");
}

TEST(Regions, EmptyAndDuplicateNamesAreRejected) {
  for (const char* text : {"", " ", "a,,b", "a,b,", ",a", "a, ,b"}) {
    auto names = RegionNames::parse(text);
    ASSERT_FALSE(names.ok()) << "'" << text << "'";
    EXPECT_EQ(names.error().code, Errc::config);
    EXPECT_NE(names.error().message.find("empty"), std::string::npos) << names.error().message;
  }
  for (const char* text : {"a,a", "a,b, a", "陕北,关中,陕北"}) {
    auto names = RegionNames::parse(text);
    ASSERT_FALSE(names.ok()) << "'" << text << "'";
    EXPECT_NE(names.error().message.find("twice"), std::string::npos) << names.error().message;
  }
}

}  // namespace
}  // namespace kd
