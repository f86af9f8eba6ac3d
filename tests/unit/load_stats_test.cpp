// kafka-demo-load's arithmetic and shapes: percentiles, the open-loop schedule, the summary and record
// lines, and the command line it promises other scripts.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tools/load/options.hpp"
#include "tools/load/stats.hpp"

namespace kd::load {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

TEST(LoadStats, PercentilesAreNearestRankOverAllSamples) {
  LatencyStats stats;
  for (int i = 100; i >= 1; --i) stats.add(i);  // 1..100, added out of order
  EXPECT_EQ(stats.percentile(0.50), 50);
  EXPECT_EQ(stats.percentile(0.90), 90);
  EXPECT_EQ(stats.percentile(0.99), 99);
  EXPECT_EQ(stats.percentile(0.999), 100);
  EXPECT_EQ(stats.percentile(0.0), 1);
  EXPECT_EQ(stats.percentile(1.0), 100);
  EXPECT_EQ(stats.max(), 100);
}

TEST(LoadStats, OneSlowSampleInAThousandIsTheP999) {
  LatencyStats stats;
  for (int i = 0; i < 999; ++i) stats.add(1000);
  stats.add(5'000'000);
  EXPECT_EQ(stats.percentile(0.99), 1000);
  EXPECT_EQ(stats.percentile(0.999), 1000);  // rank ceil(0.999 * 1000) = 999: still a fast one
  stats.add(5'000'000);                      // 1001 samples: rank 1000 is a slow one
  EXPECT_EQ(stats.percentile(0.999), 5'000'000);
  EXPECT_EQ(stats.max(), 5'000'000);
}

TEST(LoadStats, EmptyIsZero) {
  LatencyStats stats;
  EXPECT_EQ(stats.percentile(0.5), 0);
  EXPECT_EQ(stats.max(), 0);
}

TEST(LoadStats, AddingAfterAPercentileResorts) {
  LatencyStats stats;
  stats.add(10);
  EXPECT_EQ(stats.percentile(0.5), 10);
  stats.add(1);
  stats.add(2);
  EXPECT_EQ(stats.percentile(0.5), 2);
}

TEST(LoadSchedule, IntendedStartsAreIOverRateWithoutDrift) {
  EXPECT_EQ(intended_offset(0, 1000), 0ns);
  EXPECT_EQ(intended_offset(1, 1000), 1ms);
  EXPECT_EQ(intended_offset(3, 3), 1s);
  // 1/3 s does not accumulate rounding: the millionth request is exactly on time.
  EXPECT_EQ(intended_offset(3'000'000, 3), 1'000'000s);
  EXPECT_EQ(intended_offset(1, 3), 333'333'333ns);
}

TEST(LoadSchedule, PartitionsRotatePerRequest) {
  EXPECT_EQ(partition_body(0, 3), "partition=0");
  EXPECT_EQ(partition_body(1, 3), "partition=1");
  EXPECT_EQ(partition_body(5, 3), "partition=2");
  EXPECT_EQ(partition_body(7, 1), "partition=0");
}

TEST(LoadSummary, CountsStatusesAndTransportErrorsApart) {
  Summary summary;
  summary.count({200, "{}"}, 1000);
  summary.count({200, "{}"}, 3000);
  summary.count({503, "retry"}, 2000);
  summary.count({0, "read: timeout"}, 15'000'000);
  summary.duration_s = 2.0;
  summary.connections = 64;
  const auto out = json::parse(summary.to_json());
  EXPECT_EQ(out["mode"], "closed");
  EXPECT_EQ(out["connections"], 64);
  EXPECT_TRUE(out["rate"].is_null());
  EXPECT_EQ(out["requests"], 4);
  EXPECT_EQ(out["ok"], 2);
  EXPECT_EQ(out["status"], (json{{"200", 2}, {"503", 1}}));
  EXPECT_EQ(out["transport_errors"], 1);
  EXPECT_DOUBLE_EQ(out["rps"].get<double>(), 2.0);
  // Latencies of answered requests only (the timeout is in transport_errors).
  EXPECT_DOUBLE_EQ(out["p50_ms"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(out["max_ms"].get<double>(), 3.0);
}

TEST(LoadSummary, KeysComeInTheDocumentedOrder) {
  Summary summary;
  summary.open_loop = true;
  summary.rate = 500;
  const std::string text = summary.to_json();
  const std::vector<std::string> order = {
      "mode", "connections", "rate",   "duration_s", "requests", "ok",    "status", "transport_errors",
      "rps",  "p50_ms",      "p90_ms", "p99_ms",     "p999_ms",  "max_ms"};
  std::size_t at = 0;
  for (const auto& key : order) {
    const auto found = text.find("\"" + key + "\":", at);
    ASSERT_NE(found, std::string::npos) << key;
    at = found;
  }
  EXPECT_EQ(json::parse(text)["mode"], "open");
  EXPECT_EQ(json::parse(text)["rate"], 500.0);
  EXPECT_EQ(json::parse(text)["rps"], 0.0);
}

TEST(LoadRecord, JsonBodiesAreEmbeddedOthersAreStrings) {
  const auto line = json::parse(record_line(7, 1, {200, R"({"order_id":"12","money":3})"}, 1234));
  EXPECT_EQ(line, (json{{"seq", 7},
                        {"partition", 1},
                        {"status", 200},
                        {"latency_us", 1234},
                        {"body", {{"order_id", "12"}, {"money", 3}}}}));
  const auto text = json::parse(record_line(8, std::nullopt, {200, "hello"}, 5));
  EXPECT_TRUE(text["partition"].is_null());
  EXPECT_EQ(text["body"], "hello");
  const auto garbled = json::parse(record_line(9, 0, {502, "\xff not utf-8"}, 5));
  EXPECT_TRUE(garbled["body"].is_string());
}

TEST(LoadRecord, TransportErrorsHaveStatusZeroAndAnError) {
  const auto line =
      json::parse(record_line(3, 0, {0, "connect: Connection refused"}, 900, 1'700'000'000'000'000));
  EXPECT_EQ(line["status"], 0);
  EXPECT_EQ(line["error"], "connect: Connection refused");
  EXPECT_FALSE(line.contains("body"));
  EXPECT_EQ(line["start_us"], 1'700'000'000'000'000);
}

TEST(LoadOptions, DurationsTakeSecondsOrMilliseconds) {
  EXPECT_EQ(*parse_duration("10s"), 10s);
  EXPECT_EQ(*parse_duration("250ms"), 250ms);
  EXPECT_EQ(*parse_duration("1.5s"), 1500ms);
  EXPECT_EQ(*parse_duration("3"), 3s);
  EXPECT_EQ(*parse_duration("0s"), 0s);
  EXPECT_FALSE(parse_duration("").ok());
  EXPECT_FALSE(parse_duration("-1s").ok());
  EXPECT_FALSE(parse_duration("10m").ok());
  EXPECT_FALSE(parse_duration("s").ok());
  EXPECT_FALSE(parse_duration("1.2.3s").ok());
}

Options parse_ok(const std::vector<std::string>& args) {
  auto parsed = parse_options(args);
  if (auto* usage = std::get_if<Usage>(&parsed)) ADD_FAILURE() << usage->text;
  return std::get<Options>(parsed);
}

int usage_exit(const std::vector<std::string>& args) {
  auto parsed = parse_options(args);
  auto* usage = std::get_if<Usage>(&parsed);
  return usage ? usage->exit_code : -1;
}

TEST(LoadOptions, DefaultsAreAClosedLoopOfSixtyFourForTenSeconds) {
  const auto options = parse_ok({"--url", "http://127.0.0.1:8080/submit-order"});
  EXPECT_FALSE(options.open_loop());
  EXPECT_EQ(options.connections, 64);
  EXPECT_EQ(options.partitions, 3);
  EXPECT_TRUE(options.rotates_partitions());
  EXPECT_EQ(options.method, http::verb::post);
  EXPECT_EQ(options.duration, 10s);
  EXPECT_FALSE(options.requests);
  EXPECT_EQ(options.warmup, 0s);  // every request counted unless a warm-up is asked for
  EXPECT_EQ(options.timeout, 15000ms);
  EXPECT_EQ(options.max_connections, 1024);
  EXPECT_EQ(options.target.port, "8080");
  EXPECT_EQ(options.target.target, "/submit-order");
}

TEST(LoadOptions, RateMakesAnOpenLoop) {
  const auto options =
      parse_ok({"--url", "http://h:1/x", "--rate", "1500.5", "--requests", "100", "--warmup", "2s",
                "--max-connections", "8", "--timeout-ms", "500", "--record", "/tmp/r.jsonl"});
  EXPECT_TRUE(options.open_loop());
  EXPECT_DOUBLE_EQ(*options.rate, 1500.5);
  EXPECT_EQ(options.requests, 100u);
  EXPECT_FALSE(options.duration);
  EXPECT_EQ(options.warmup, 2s);
  EXPECT_EQ(options.max_connections, 8);
  EXPECT_EQ(options.timeout, 500ms);
  EXPECT_EQ(options.record_path, "/tmp/r.jsonl");
}

TEST(LoadOptions, AFixedBodyStopsTheRotation) {
  const auto options = parse_ok(
      {"--url", "http://h:1/x", "--body", R"({"partition":1})", "--content-type", "application/json"});
  EXPECT_EQ(options.body, R"({"partition":1})");
  EXPECT_EQ(options.content_type, "application/json");
  EXPECT_FALSE(options.rotates_partitions());
  const auto get = parse_ok({"--url", "http://h:1/", "--method", "GET"});
  EXPECT_FALSE(get.rotates_partitions());
}

TEST(LoadOptions, UsageErrorsExitTwoAndHelpExitsZero) {
  EXPECT_EQ(usage_exit({}), 2);                        // no --url
  EXPECT_EQ(usage_exit({"--url", "https://h/x"}), 2);  // not http://
  EXPECT_EQ(usage_exit({"--url", "http://h:1/x", "--duration", "5s", "--requests", "9"}), 2);
  EXPECT_EQ(usage_exit({"--url", "http://h:1/x", "--duration", "soon"}), 2);
  EXPECT_EQ(usage_exit({"--url", "http://h:1/x", "--duration", "0s"}), 2);
  EXPECT_EQ(usage_exit({"--url", "http://h:1/x", "--rate", "0"}), 2);
  EXPECT_EQ(usage_exit({"--url", "http://h:1/x", "--method", "PUT"}), 2);
  EXPECT_EQ(usage_exit({"--url", "http://h:1/x", "--connections", "0"}), 2);
  EXPECT_EQ(usage_exit({"--url", "http://h:1/x", "--bogus"}), 2);
  EXPECT_EQ(usage_exit({"--help"}), 0);
}

}  // namespace
}  // namespace kd::load
