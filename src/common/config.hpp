// One configuration schema for all services: every setting is a flag and an environment variable
// (the Kubernetes ConfigMap and downward API), with a default that works on a laptop.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/http/server.hpp"
#include "common/kafka/client_config.hpp"
#include "common/log.hpp"

namespace kd {

inline constexpr const char* kLocalBrokers = "127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094";

struct KafkaSettings {
  std::string brokers = kLocalBrokers;
  std::string topic = "order";
  int partitions = 3;
  std::string dead_letter_topic;  // empty: "<topic>.dlq"
  kafka::Properties properties;   // extra librdkafka settings (TLS, SASL, tuning)

  std::string dead_letters() const { return dead_letter_topic.empty() ? topic + ".dlq" : dead_letter_topic; }
};

struct CommonSettings {
  log::Options log;
  std::chrono::milliseconds shutdown_timeout{20'000};  // fits Kubernetes' default 30 s grace period
  std::string pod_name;                                // POD_NAME, from the downward API
};

void bind_kafka_options(CLI::App& app, KafkaSettings& kafka);
void bind_common_options(CLI::App& app, CommonSettings& common);
void bind_http_options(CLI::App& app, HttpServerOptions& http, const std::string& default_listen);

// Parses flags and environment. Returns the exit code when the process should stop now: 0 after --help,
// 2 after a bad value (with a message naming the flag and its variable).
std::optional<int> parse_command_line(CLI::App& app, int argc, const char* const* argv);

}  // namespace kd
