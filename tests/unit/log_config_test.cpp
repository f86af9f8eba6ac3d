// Structured logging (zerolog's line shape) and the command-line/environment configuration.
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "common/config.hpp"
#include "common/log.hpp"
#include "order/order_service.hpp"

namespace kd {
namespace {

// Sets an environment variable for one scope and puts back what was there.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// ---------------------------------------------------------------- rfc3339

TEST(Rfc3339, Utc) {
  {
    ScopedEnv tz("TZ", "UTC");
    ::tzset();
    EXPECT_EQ(log::rfc3339(0), "1970-01-01T00:00:00Z");
    EXPECT_EQ(log::rfc3339(1638865975), "2021-12-07T08:32:55Z");
  }
  ::tzset();
}

bool has_zone(const char* zone) {
  return std::filesystem::exists(std::filesystem::path("/usr/share/zoneinfo") / zone);
}

TEST(Rfc3339, LocalOffsets) {
  struct Case {
    const char* zone;
    std::time_t seconds;
    const char* expected;
  };
  const Case cases[] = {
      {"Asia/Shanghai", 1638865975, "2021-12-07T16:32:55+08:00"},  // the seed's example line
      {"Asia/Kolkata", 0, "1970-01-01T05:30:00+05:30"},
      {"America/New_York", 1638865975, "2021-12-07T03:32:55-05:00"},
      {"America/New_York", 1625097600, "2021-06-30T20:00:00-04:00"},  // summer time
  };
  int run = 0;
  for (const auto& c : cases) {
    if (!has_zone(c.zone)) continue;
    {
      ScopedEnv tz("TZ", c.zone);
      ::tzset();
      EXPECT_EQ(log::rfc3339(c.seconds), c.expected) << c.zone;
    }
    ::tzset();
    ++run;
  }
  if (run == 0) GTEST_SKIP() << "no zoneinfo on this machine";
}

// ---------------------------------------------------------------- log lines

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(Log, OneJsonLineInZerologShape) {
  log::init({.level = log::Level::info, .async = false});
  ::testing::internal::CaptureStdout();
  log::info("hello \"x\"", {{"order_id", "1"}, {"n", 3}});
  log::debug("hidden");
  log::shutdown();
  const std::string out = ::testing::internal::GetCapturedStdout();

  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back(), '\n');
  const auto lines = lines_of(out);
  ASSERT_EQ(lines.size(), 1u) << out;
  const auto parsed = nlohmann::ordered_json::parse(lines[0], nullptr, false);
  ASSERT_FALSE(parsed.is_discarded()) << lines[0];
  std::vector<std::string> keys;
  for (const auto& [key, value] : parsed.items()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"level", "time", "message", "order_id", "n"})) << lines[0];
  EXPECT_EQ(parsed["level"], "info");
  EXPECT_EQ(parsed["message"], "hello \"x\"");
  EXPECT_EQ(parsed["order_id"], "1");
  EXPECT_EQ(parsed["n"], 3);
  const std::regex rfc3339(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2}))");
  EXPECT_TRUE(std::regex_match(parsed["time"].get<std::string>(), rfc3339)) << parsed["time"];
}

TEST(Log, LevelsFilterAndAreNamed) {
  log::init({.level = log::Level::warn, .async = false});
  ::testing::internal::CaptureStdout();
  log::debug("d");
  log::info("i");
  log::warn("w");
  log::error("e");
  log::shutdown();
  const auto lines = lines_of(::testing::internal::GetCapturedStdout());
  ASSERT_EQ(lines.size(), 2u);
  const auto warn = nlohmann::json::parse(lines[0]);
  const auto error = nlohmann::json::parse(lines[1]);
  EXPECT_EQ(warn["level"], "warn");
  EXPECT_EQ(warn["message"], "w");
  EXPECT_EQ(error["level"], "error");
  EXPECT_EQ(error["message"], "e");
}

TEST(Log, AsyncWriterFlushesEverythingOnShutdown) {
  log::init({.level = log::Level::debug, .async = true});
  ::testing::internal::CaptureStdout();
  for (int i = 0; i < 200; ++i) log::debug("line", {{"i", i}});
  log::shutdown();
  const auto lines = lines_of(::testing::internal::GetCapturedStdout());
  ASSERT_EQ(lines.size(), 200u);
  for (int i = 0; i < 200; ++i) {
    const auto parsed = nlohmann::json::parse(lines[i], nullptr, false);
    ASSERT_FALSE(parsed.is_discarded()) << lines[i];
    EXPECT_EQ(parsed["i"], i) << "lines keep their order";
  }
}

TEST(Log, InvalidUtf8StillGivesValidJson) {
  log::init({.level = log::Level::info, .async = false});
  ::testing::internal::CaptureStdout();
  log::info("bad \xff bytes", {{"field\xfe", "v\xc3"}});
  log::shutdown();
  const auto lines = lines_of(::testing::internal::GetCapturedStdout());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_FALSE(nlohmann::json::parse(lines[0], nullptr, false).is_discarded()) << lines[0];
}

TEST(Log, BeforeInitGoesToStderr) {
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  log::info("early bird");
  const std::string err = ::testing::internal::GetCapturedStderr();
  const std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_NE(err.find("early bird"), std::string::npos);
  EXPECT_EQ(out, "");
}

TEST(Log, ParseLevel) {
  const std::pair<const char*, log::Level> words[] = {{"debug", log::Level::debug},
                                                      {"info", log::Level::info},
                                                      {"warn", log::Level::warn},
                                                      {"error", log::Level::error}};
  for (const auto& [word, expected] : words) {
    log::Level level = log::Level::error;
    if (expected == log::Level::error) level = log::Level::debug;
    EXPECT_TRUE(log::parse_level(word, level)) << word;
    EXPECT_EQ(level, expected) << word;
  }
  for (const char* word : {"", "INFO", "warning", "trace", "err"}) {
    log::Level level = log::Level::info;
    EXPECT_FALSE(log::parse_level(word, level)) << word;
    EXPECT_EQ(level, log::Level::info) << "unchanged on failure";
  }
}

// ---------------------------------------------------------------- configuration

// Every variable the order service reads, cleared so that the machine's environment does not leak in.
class ConfigTest : public ::testing::Test {
 protected:
  ConfigTest() {
    for (const char* name : {"KAFKA_BROKERS", "KAFKA_TOPIC", "KAFKA_PARTITIONS", "KAFKA_PROPERTIES",
                             "LOG_LEVEL", "SHUTDOWN_TIMEOUT_MS", "POD_NAME", "LISTEN", "HTTP_BODY_LIMIT",
                             "HTTP_REQUEST_TIMEOUT_MS", "HTTP_IDLE_TIMEOUT_MS", "HTTP_MAX_CONNECTIONS",
                             "DELIVERY_TIMEOUT_MS", "PRODUCER_LINGER_MS", "PRODUCER_LINGER_WHEN"}) {
      cleared_.push_back(std::make_unique<ScopedEnv>(name, nullptr));
    }
  }

  // Parses `args` (without the program name) into config_; returns the exit code, if any. What the parser
  // prints goes to printed_.
  std::optional<int> parse(std::vector<std::string> args) {
    args.insert(args.begin(), "order");
    std::vector<const char*> argv;
    for (const auto& arg : args) argv.push_back(arg.c_str());
    CLI::App app{"kafka-demo order", "order"};
    config_.bind_options(app);
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    auto code = parse_command_line(app, static_cast<int>(argv.size()), argv.data());
    printed_ = ::testing::internal::GetCapturedStderr();
    printed_ += ::testing::internal::GetCapturedStdout();
    return code;
  }

  std::vector<std::unique_ptr<ScopedEnv>> cleared_;
  order::Config config_;
  std::string printed_;
};

TEST_F(ConfigTest, DefaultsWorkOnALaptop) {
  ASSERT_EQ(parse({}), std::nullopt) << printed_;
  EXPECT_EQ(config_.kafka.brokers, kLocalBrokers);
  EXPECT_EQ(config_.kafka.topic, "order");
  EXPECT_EQ(config_.kafka.partitions, 3);
  EXPECT_TRUE(config_.kafka.properties.empty());
  EXPECT_EQ(config_.common.log.level, log::Level::info);
  EXPECT_EQ(config_.common.shutdown_timeout, std::chrono::milliseconds(20'000));
  EXPECT_EQ(config_.common.pod_name, "");
  EXPECT_EQ(config_.http.listen, "") << "the order service picks 8100 + partition itself";
  EXPECT_EQ(config_.producer.linger_ms, 1);
  EXPECT_EQ(config_.producer.linger_when, kafka::LingerWhen::busy);
}

TEST_F(ConfigTest, EnvironmentIsRead) {
  ScopedEnv brokers("KAFKA_BROKERS", "kafka-0:9092,kafka-1:9092");
  ScopedEnv pod("POD_NAME", "order-2");
  ScopedEnv level("LOG_LEVEL", "debug");
  ScopedEnv partitions("KAFKA_PARTITIONS", "5");
  ASSERT_EQ(parse({}), std::nullopt) << printed_;
  EXPECT_EQ(config_.kafka.brokers, "kafka-0:9092,kafka-1:9092");
  EXPECT_EQ(config_.common.pod_name, "order-2");
  EXPECT_EQ(config_.common.log.level, log::Level::debug);
  EXPECT_EQ(config_.kafka.partitions, 5);
}

TEST_F(ConfigTest, FlagWinsOverEnvironment) {
  ScopedEnv brokers("KAFKA_BROKERS", "from-env:9092");
  ASSERT_EQ(parse({"--brokers", "from-flag:9092"}), std::nullopt) << printed_;
  EXPECT_EQ(config_.kafka.brokers, "from-flag:9092");
}

TEST_F(ConfigTest, FlagsAreRead) {
  ASSERT_EQ(parse({"--topic",
                   "orders2",
                   "--partitions",
                   "4",
                   "--log-level",
                   "warn",
                   "--shutdown-timeout-ms",
                   "500",
                   "--pod-name",
                   "order-1",
                   "--listen",
                   "0.0.0.0:9000",
                   "--body-limit",
                   "1024",
                   "--request-timeout-ms",
                   "2000",
                   "--idle-timeout-ms",
                   "3000",
                   "--delivery-timeout-ms",
                   "700",
                   "--linger-ms",
                   "5",
                   "--linger-when",
                   "always"}),
            std::nullopt)
      << printed_;
  EXPECT_EQ(config_.kafka.topic, "orders2");
  EXPECT_EQ(config_.kafka.partitions, 4);
  EXPECT_EQ(config_.common.log.level, log::Level::warn);
  EXPECT_EQ(config_.common.shutdown_timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(config_.common.pod_name, "order-1");
  EXPECT_EQ(config_.http.listen, "0.0.0.0:9000");
  EXPECT_EQ(config_.http.body_limit, 1024u);
  EXPECT_EQ(config_.http.request_timeout, std::chrono::milliseconds(2000));
  EXPECT_EQ(config_.http.idle_timeout, std::chrono::milliseconds(3000));
  EXPECT_EQ(config_.producer.delivery_timeout, std::chrono::milliseconds(700));
  EXPECT_EQ(config_.producer.linger_ms, 5);
  EXPECT_EQ(config_.producer.linger_when, kafka::LingerWhen::always);
}

TEST_F(ConfigTest, WhenTheProducerLingersComesFromTheEnvironment) {
  ScopedEnv when("PRODUCER_LINGER_WHEN", "always");
  ASSERT_EQ(parse({}), std::nullopt) << printed_;
  EXPECT_EQ(config_.producer.linger_when, kafka::LingerWhen::always);
}

TEST_F(ConfigTest, ConnectionLimitFromTheEnvironmentAndItsBounds) {
  ASSERT_EQ(parse({}), std::nullopt) << printed_;
  EXPECT_EQ(config_.http.max_connections, 1024u);
  {
    ScopedEnv limit("HTTP_MAX_CONNECTIONS", "20000");
    ASSERT_EQ(parse({}), std::nullopt) << printed_;
    EXPECT_EQ(config_.http.max_connections, 20000u);
  }
  EXPECT_EQ(parse({"--max-connections", "0"}), 2);
}

TEST_F(ConfigTest, BadValuesExitWith2NamingTheFlag) {
  const std::vector<std::vector<std::string>> bad = {
      {"--partitions", "0"},      {"--partitions", "abc"},    {"--partitions", "1001"},
      {"--log-level", "loud"},    {"--body-limit", "10"},     {"--shutdown-timeout-ms", "-1"},
      {"--linger-ms", "5000"},    {"--idle-timeout-ms", "1"}, {"--kafka-property", "novalue"},
      {"--kafka-property", "=v"}, {"--no-such-flag"},         {"--linger-when", "sometimes"},
  };
  for (const auto& args : bad) {
    config_ = order::Config{};
    EXPECT_EQ(parse(args), 2) << args[0] << (args.size() > 1 ? " " + args[1] : "");
    EXPECT_NE(printed_.find(args[0]), std::string::npos) << printed_;
  }
}

TEST_F(ConfigTest, BadEnvironmentValueExitsWith2) {
  ScopedEnv partitions("KAFKA_PARTITIONS", "0");
  EXPECT_EQ(parse({}), 2);
  EXPECT_NE(printed_.find("partitions"), std::string::npos) << printed_;
}

TEST_F(ConfigTest, BadValueMessageNamesTheVariableToo) {
  ScopedEnv partitions("KAFKA_PARTITIONS", "0");
  EXPECT_EQ(parse({}), 2);
  EXPECT_NE(printed_.find("KAFKA_PARTITIONS"), std::string::npos) << printed_;
}

TEST_F(ConfigTest, HelpExitsWith0AndListsEnvironmentVariables) {
  EXPECT_EQ(parse({"--help"}), 0);
  EXPECT_NE(printed_.find("--brokers"), std::string::npos) << printed_;
  EXPECT_NE(printed_.find("KAFKA_BROKERS"), std::string::npos) << printed_;
}

TEST_F(ConfigTest, KafkaPropertyFlagsFillProperties) {
  ASSERT_EQ(parse({"--kafka-property", "a=b", "--kafka-property", "security.protocol=SASL_SSL",
                   "--kafka-property", "sasl.username=x=y"}),
            std::nullopt)
      << printed_;
  const kafka::Properties expected{{"a", "b"}, {"security.protocol", "SASL_SSL"}, {"sasl.username", "x=y"}};
  EXPECT_EQ(config_.kafka.properties, expected);
}

TEST_F(ConfigTest, KafkaPropertiesFromEnvironmentAreSpaceSeparated) {
  ScopedEnv properties("KAFKA_PROPERTIES", "a=1 b=2");
  ASSERT_EQ(parse({}), std::nullopt) << printed_;
  const kafka::Properties expected{{"a", "1"}, {"b", "2"}};
  EXPECT_EQ(config_.kafka.properties, expected);
}

TEST_F(ConfigTest, KafkaPropertyWithoutEqualsInEnvironmentExitsWith2) {
  ScopedEnv properties("KAFKA_PROPERTIES", "a=1 broken");
  EXPECT_EQ(parse({}), 2);
  EXPECT_NE(printed_.find("broken"), std::string::npos) << printed_;
}

TEST(KafkaProperty, Parse) {
  auto pair = kafka::parse_property("linger.ms=5");
  ASSERT_TRUE(pair.ok());
  EXPECT_EQ(pair->first, "linger.ms");
  EXPECT_EQ(pair->second, "5");
  auto empty_value = kafka::parse_property("k=");
  ASSERT_TRUE(empty_value.ok());
  EXPECT_EQ(empty_value->second, "");
  for (const char* bad : {"", "novalue", "=v"}) {
    auto parsed = kafka::parse_property(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.error().code, Errc::config);
  }
}

}  // namespace
}  // namespace kd
