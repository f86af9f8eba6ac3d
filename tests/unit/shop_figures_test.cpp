// The statistics service's figures and their snapshot (saved by the consumer loop's state store).
#include "statistics/shop_figures.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>

namespace kd::statistics {
namespace {

using nlohmann::json;

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

ShopFigures sample_figures() {
  ShopFigures figures;
  figures.count(0, order_of(81));
  figures.count(2, order_of(999));
  figures.reject(1);
  figures.count(7, order_of(5));
  return figures;
}

TEST(FiguresSnapshot, EncodeDecodeRoundTrip) {
  const auto figures = sample_figures();
  auto decoded = decode_figures(encode(figures));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(*decoded, figures);

  auto empty = decode_figures(encode(ShopFigures{}));
  ASSERT_TRUE(empty.ok()) << empty.error().message;
  EXPECT_EQ(*empty, ShopFigures{});
}

TEST(FiguresSnapshot, TheHandlerRestoresWhatItSnapshotted) {
  const auto figures = sample_figures();
  ShopFigures restored;
  ASSERT_TRUE(restored.restore(figures.snapshot()).ok());
  EXPECT_EQ(restored, figures);
  ASSERT_TRUE(restored.restore("").ok()) << "nothing saved yet: zero figures";
  EXPECT_EQ(restored, ShopFigures{});
  EXPECT_FALSE(restored.restore("{\"version\":2,\"fig").ok());
}

TEST(FiguresSnapshot, DecodeRefusesGarbageAndOtherVersions) {
  const std::vector<std::string> bad = {
      "",
      "garbage",
      "[]",
      "42",
      R"({"figures":{}})",
      R"({"version":1,"next":{},"figures":{}})",
      R"({"version":3,"figures":{}})",
      R"({"version":0,"figures":{}})",
      R"({"version":2})",
      R"({"version":2,"figures":{"zero":{"orders":1,"revenue":1,"rejected":0}}})",
      R"({"version":2,"figures":{"0":{"orders":1}}})",
      R"({"version":2,"figures":7})",
  };
  for (const auto& text : bad) {
    auto decoded = decode_figures(text);
    EXPECT_FALSE(decoded.ok()) << "accepted: " << text;
    if (!decoded.ok()) {
      EXPECT_EQ(decoded.error().code, Errc::storage) << text;
    }
  }
}

TEST(FiguresSnapshot, DecodeOfAVersionOfTheWrongTypeIsAnErrorNotAnException) {
  for (const char* text : {R"({"version":"2","figures":{}})", R"({"version":null})", R"({"version":[2]})"}) {
    Result<ShopFigures> decoded = make_error(Errc::internal, "not run");
    EXPECT_NO_THROW(decoded = decode_figures(text)) << text;
    EXPECT_FALSE(decoded.ok()) << text;
  }
}

// Found by tests/fuzz/checkpoint_fuzzer (now figures_fuzzer): a number that does not fit int64 reached
// nlohmann::json's conversion, undefined behaviour for a float out of range (the fuzzer's input is the
// first) and a silent wrap to a negative for an unsigned above 2^63-1. Decoding now takes back only what
// encode writes: whole numbers from 0 to 2^63-1, in objects keyed by partitions as std::to_string writes
// them ("01" and "1" were both partition 1).
TEST(FiguresSnapshot, DecodeRefusesWhatEncodeNeverWrites) {
  const std::vector<std::string> bad = {
      R"({"figures":{"0":{"orders":922337407370955161223372036854857707}},"version":2})",
      R"({"version":2,"figures":{"0":{"orders":1e300,"revenue":1,"rejected":0}}})",
      R"({"version":2,"figures":{"0":{"orders":9223372036854775808,"revenue":1,"rejected":0}}})",
      R"({"version":2,"figures":{"0":{"orders":-1,"revenue":1,"rejected":0}}})",
      R"({"version":2,"figures":{"0":{"orders":17.0,"revenue":1,"rejected":0}}})",
      R"({"version":2,"figures":{"0":{"orders":true,"revenue":1,"rejected":0}}})",
      R"({"version":2,"figures":{"0":{"orders":1,"revenue":-81,"rejected":0}}})",
      R"({"version":2,"figures":{"0":{"orders":1,"revenue":81,"rejected":0.5}}})",
      R"({"version":2,"figures":{"01":{"orders":1,"revenue":81,"rejected":0}}})",
      R"({"version":2,"figures":{"+1":{"orders":1,"revenue":81,"rejected":0}}})",
      R"({"version":2,"figures":{" 1":{"orders":1,"revenue":81,"rejected":0}}})",
      R"({"version":2,"figures":{"1x":{"orders":1,"revenue":81,"rejected":0}}})",
      R"({"version":2,"figures":{"-1":{"orders":1,"revenue":81,"rejected":0}}})",
      R"({"version":2,"figures":{"2147483648":{"orders":1,"revenue":81,"rejected":0}}})",
      R"({"version":2,"figures":[{"orders":1,"revenue":81,"rejected":0}]})",
      R"({"version":4294967298,"figures":{}})",
  };
  for (const auto& text : bad) {
    Result<ShopFigures> decoded = make_error(Errc::internal, "not run");
    EXPECT_NO_THROW(decoded = decode_figures(text)) << text;
    EXPECT_FALSE(decoded.ok()) << "accepted: " << text;
    if (!decoded.ok()) {
      EXPECT_EQ(decoded.error().code, Errc::storage) << text;
    }
  }
}

TEST(FiguresSnapshot, DecodeTakesTheLargestWholeNumbers) {
  auto decoded = decode_figures(
      R"({"version":2,"figures":{"0":{"orders":9223372036854775807,"revenue":9223372036854775807,)"
      R"("rejected":9223372036854775807},"2147483647":{"orders":0,"revenue":0,"rejected":0}}})");
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  constexpr auto max = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(decoded->by_partition().at(0), (RegionFigures{max, max, max}));
  EXPECT_EQ(decoded->by_partition().at(2147483647), RegionFigures{});
  EXPECT_EQ(decode_figures(encode(*decoded)).value(), *decoded);
}

// Found by reading the code while writing tests/fuzz/checkpoint_fuzzer (which did not hit it in 300 s):
// figures that fit one by one overflowed (undefined behaviour) when GET /stats added them up.
TEST(FiguresSnapshot, DecodeRefusesFiguresWhoseTotalDoesNotFit) {
  const std::string overflow = R"({"version":2,"figures":{)"
                               R"("0":{"orders":1,"revenue":9223372036854775807,"rejected":0},)"
                               R"("1":{"orders":1,"revenue":1,"rejected":0}}})";
  auto decoded = decode_figures(overflow);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code, Errc::storage);

  auto fits = decode_figures(R"({"version":2,"figures":{)"
                             R"("0":{"orders":1,"revenue":9223372036854775806,"rejected":0},)"
                             R"("1":{"orders":1,"revenue":1,"rejected":0}}})");
  ASSERT_TRUE(fits.ok()) << fits.error().message;
  EXPECT_EQ(fits->total().revenue, std::numeric_limits<std::int64_t>::max());
}

}  // namespace
}  // namespace kd::statistics
