// The statistics service's figures and its checkpoint file.
#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>

#include "statistics/shop_figures.hpp"
#include "temp_dir.hpp"

namespace kd::statistics {
namespace {

using nlohmann::json;
using testing_support::TempDir;

Order order_of(std::int64_t money) { return Order{1638865975, UserId{"1"}, money, OrderId{"2"}}; }

RegionNames default_regions() {
  auto names = RegionNames::parse(kDefaultRegions);
  EXPECT_TRUE(names.ok());
  return std::move(names).value();
}

TEST(ShopFigures, CountsAndRejectsPerPartition) {
  ShopFigures figures;
  figures.count(0, order_of(81));
  figures.count(0, order_of(19));
  figures.count(2, order_of(500));
  figures.reject(2);
  figures.reject(1);
  figures.reject(1);
  const auto& by = figures.by_partition();
  EXPECT_EQ(by.at(0), (RegionFigures{2, 100, 0}));
  EXPECT_EQ(by.at(1), (RegionFigures{0, 0, 2}));
  EXPECT_EQ(by.at(2), (RegionFigures{1, 500, 1}));
  EXPECT_EQ(figures.total(), (RegionFigures{3, 600, 3}));
}

TEST(ShopFigures, EmptyTotalIsZero) {
  ShopFigures figures;
  EXPECT_EQ(figures.total(), RegionFigures{});
  EXPECT_TRUE(figures.by_partition().empty());
}

TEST(ShopFigures, JsonListsEveryPartitionWithItsRegion) {
  ShopFigures figures;
  figures.count(1, order_of(300));
  figures.count(1, order_of(200));
  figures.reject(2);
  const auto parsed = json::parse(figures.to_json(default_regions(), 3));
  const json expected = json::parse(R"({
    "regions": [
      {"partition":0,"region":"陕北","orders":0,"revenue":0,"rejected":0},
      {"partition":1,"region":"关中","orders":2,"revenue":500,"rejected":0},
      {"partition":2,"region":"陕南","orders":0,"revenue":0,"rejected":1}
    ],
    "total": {"orders":2,"revenue":500,"rejected":1}
  })");
  EXPECT_EQ(parsed, expected) << parsed.dump(2);
}

TEST(ShopFigures, JsonOfNothingHasZeroRows) {
  ShopFigures figures;
  const auto parsed = json::parse(figures.to_json(default_regions(), 3));
  ASSERT_EQ(parsed.at("regions").size(), 3u);
  for (int p = 0; p < 3; ++p) {
    EXPECT_EQ(parsed["regions"][p]["partition"], p);
    EXPECT_EQ(parsed["regions"][p]["orders"], 0);
  }
  EXPECT_EQ(parsed.at("total"), json::parse(R"({"orders":0,"revenue":0,"rejected":0})"));
}

TEST(ShopFigures, PartitionBeyondTheCountStillAppears) {
  ShopFigures figures;
  figures.count(0, order_of(1));
  figures.count(4, order_of(10));
  const auto parsed = json::parse(figures.to_json(default_regions(), 3));
  const auto& regions = parsed.at("regions");
  ASSERT_EQ(regions.size(), 4u) << parsed.dump();
  EXPECT_EQ(regions[3]["partition"], 4);
  EXPECT_EQ(regions[3]["region"], "partition-4");
  EXPECT_EQ(regions[3]["orders"], 1);
  EXPECT_EQ(regions[3]["revenue"], 10);
  EXPECT_EQ(parsed["total"]["revenue"], 11) << "the total counts every partition";
}

Checkpoint sample_checkpoint() {
  Checkpoint checkpoint;
  checkpoint.next = {{0, 17}, {1, 0}, {2, 123456789012}};
  checkpoint.figures.count(0, order_of(81));
  checkpoint.figures.count(2, order_of(999));
  checkpoint.figures.reject(1);
  checkpoint.figures.count(7, order_of(5));
  return checkpoint;
}

TEST(Checkpoint, EncodeDecodeRoundTrip) {
  const auto checkpoint = sample_checkpoint();
  auto decoded = decode_checkpoint(encode(checkpoint));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(*decoded, checkpoint);

  auto empty = decode_checkpoint(encode(Checkpoint{}));
  ASSERT_TRUE(empty.ok()) << empty.error().message;
  EXPECT_EQ(*empty, Checkpoint{});
}

TEST(Checkpoint, DecodeRefusesGarbageAndOtherVersions) {
  const std::vector<std::string> bad = {
      "",
      "garbage",
      "[]",
      "42",
      R"({"next":{},"figures":{}})",
      R"({"version":2,"next":{},"figures":{}})",
      R"({"version":0,"next":{},"figures":{}})",
      R"({"version":1})",
      R"({"version":1,"next":{"0":"x"},"figures":{}})",
      R"({"version":1,"next":{"zero":1},"figures":{}})",
      R"({"version":1,"next":{},"figures":{"0":{"orders":1}}})",
      R"({"version":1,"next":[],"figures":7})",
  };
  for (const auto& text : bad) {
    auto decoded = decode_checkpoint(text);
    EXPECT_FALSE(decoded.ok()) << "accepted: " << text;
    if (!decoded.ok()) {
      EXPECT_EQ(decoded.error().code, Errc::internal) << text;
    }
  }
}

TEST(Checkpoint, DecodeOfAVersionOfTheWrongTypeIsAnErrorNotAnException) {
  for (const char* text : {R"({"version":"1","next":{},"figures":{}})", R"({"version":null})", R"({"version":[1]})"}) {
    Result<Checkpoint> decoded = make_error(Errc::internal, "not run");
    EXPECT_NO_THROW(decoded = decode_checkpoint(text)) << text;
    EXPECT_FALSE(decoded.ok()) << text;
  }
}

// Found by tests/fuzz/checkpoint_fuzzer: a number that does not fit int64 reached nlohmann::json's
// conversion, undefined behaviour for a float out of range (the fuzzer's input is the first) and a silent
// wrap to a negative for an unsigned above 2^63-1. Decoding now takes back only what encode writes: whole
// numbers from 0 to 2^63-1 (a negative next offset would be librdkafka's "end" and skip records), in
// objects keyed by partitions as std::to_string writes them ("01" and "1" were both partition 1).
TEST(Checkpoint, DecodeRefusesWhatEncodeNeverWrites) {
  const std::vector<std::string> bad = {
      R"({"figures":{"0":{"orders":922337407370955161223372036854857707}},)"
      R"("next":{"0":9223372036854775808},"version":1})",
      R"({"version":1,"next":{"0":1e300},"figures":{}})",
      R"({"version":1,"next":{"0":9223372036854775808},"figures":{}})",
      R"({"version":1,"next":{"0":-1},"figures":{}})",
      R"({"version":1,"next":{"0":17.0},"figures":{}})",
      R"({"version":1,"next":{"0":true},"figures":{}})",
      R"({"version":1,"next":{},"figures":{"0":{"orders":1,"revenue":-81,"rejected":0}}})",
      R"({"version":1,"next":{},"figures":{"0":{"orders":1,"revenue":81,"rejected":0.5}}})",
      R"({"version":1,"next":{"01":1},"figures":{}})",
      R"({"version":1,"next":{"+1":1},"figures":{}})",
      R"({"version":1,"next":{" 1":1},"figures":{}})",
      R"({"version":1,"next":{"1x":1},"figures":{}})",
      R"({"version":1,"next":{"-1":1},"figures":{}})",
      R"({"version":1,"next":{"2147483648":1},"figures":{}})",
      R"({"version":1,"next":[17],"figures":{}})",
      R"({"version":1,"next":{},"figures":[{"orders":1,"revenue":81,"rejected":0}]})",
      R"({"version":4294967297,"next":{},"figures":{}})",
  };
  for (const auto& text : bad) {
    Result<Checkpoint> decoded = make_error(Errc::internal, "not run");
    EXPECT_NO_THROW(decoded = decode_checkpoint(text)) << text;
    EXPECT_FALSE(decoded.ok()) << "accepted: " << text;
    if (!decoded.ok()) {
      EXPECT_EQ(decoded.error().code, Errc::internal) << text;
    }
  }
}

TEST(Checkpoint, DecodeTakesTheLargestWholeNumbers) {
  auto decoded = decode_checkpoint(
      R"({"version":1,"next":{"0":9223372036854775807,"2147483647":0},)"
      R"("figures":{"0":{"orders":9223372036854775807,"revenue":9223372036854775807,)"
      R"("rejected":9223372036854775807}}})");
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  constexpr auto max = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(decoded->next, (kafka::Positions{{0, max}, {2147483647, 0}}));
  EXPECT_EQ(decoded->figures.by_partition().at(0), (RegionFigures{max, max, max}));
  EXPECT_EQ(decode_checkpoint(encode(*decoded)).value(), *decoded);
}

// Found by reading the code while writing tests/fuzz/checkpoint_fuzzer (which did not hit it in 300 s):
// figures that fit one by one overflowed (undefined behaviour) when GET /stats added them up.
TEST(Checkpoint, DecodeRefusesFiguresWhoseTotalDoesNotFit) {
  const std::string overflow = R"({"version":1,"next":{},"figures":{)"
                               R"("0":{"orders":1,"revenue":9223372036854775807,"rejected":0},)"
                               R"("1":{"orders":1,"revenue":1,"rejected":0}}})";
  auto decoded = decode_checkpoint(overflow);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code, Errc::internal);

  auto fits = decode_checkpoint(R"({"version":1,"next":{},"figures":{)"
                                R"("0":{"orders":1,"revenue":9223372036854775806,"rejected":0},)"
                                R"("1":{"orders":1,"revenue":1,"rejected":0}}})");
  ASSERT_TRUE(fits.ok()) << fits.error().message;
  EXPECT_EQ(fits->figures.total().revenue, std::numeric_limits<std::int64_t>::max());
}

TEST(Checkpoint, SaveLoadRoundTripLeavesNoTemporaryFile) {
  TempDir dir;
  const auto path = dir / "statistics.checkpoint";
  const auto checkpoint = sample_checkpoint();
  ASSERT_TRUE(save_checkpoint(path, checkpoint).ok());
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".tmp"));
  auto loaded = load_checkpoint(path);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ(**loaded, checkpoint);

  // A second save replaces the first whole.
  Checkpoint later = checkpoint;
  later.next[0] = 18;
  later.figures.count(0, order_of(1));
  ASSERT_TRUE(save_checkpoint(path, later).ok());
  auto reloaded = load_checkpoint(path);
  ASSERT_TRUE(reloaded.ok() && reloaded->has_value());
  EXPECT_EQ(**reloaded, later);
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 1u) << "only the checkpoint itself remains";
}

TEST(Checkpoint, SaveCreatesTheDirectory) {
  TempDir dir;
  const auto path = dir / "state/deeper/checkpoint";
  ASSERT_TRUE(save_checkpoint(path, sample_checkpoint()).ok());
  auto loaded = load_checkpoint(path);
  ASSERT_TRUE(loaded.ok() && loaded->has_value());
}

TEST(Checkpoint, MissingFileIsEmpty) {
  TempDir dir;
  auto loaded = load_checkpoint(dir / "never-saved");
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_FALSE(loaded->has_value());
}

TEST(Checkpoint, CorruptFileIsAnErrorNamingThePath) {
  TempDir dir;
  const auto path = dir / "checkpoint";
  testing_support::append_raw(path, "{\"version\":1,\"ne");
  auto loaded = load_checkpoint(path);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message.find(path.string()), std::string::npos) << loaded.error().message;
}

}  // namespace
}  // namespace kd::statistics
