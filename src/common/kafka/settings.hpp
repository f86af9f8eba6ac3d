// The Kafka settings our services and tools share, each a flag and an environment variable: where the
// cluster is and which topic, and how an order is produced. Their binders live here, beside the
// clients that use them, so reading settings never compiles the HTTP stack.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <string>

#include "common/kafka/client_config.hpp"
#include "common/kafka/security.hpp"

namespace kd {

inline constexpr const char* kLocalBrokers = "127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094";

struct KafkaSettings {
  std::string brokers = kLocalBrokers;
  std::string topic = "order";
  int partitions = 3;
  std::string dead_letter_topic;  // empty: "<topic>.dlq"
  kafka::SecuritySettings security;
  // What every client is given after ours: the security settings' properties (secrets read from their
  // files at start) and the extra librdkafka settings (tuning, or TLS/SASL the security settings don't name).
  kafka::Properties properties;

  std::string dead_letters() const { return dead_letter_topic.empty() ? topic + ".dlq" : dead_letter_topic; }
};

namespace kafka {

// How orders are produced: the order service and the produce benchmark take the same flags, so a tuning
// measured by one applies to the other.
struct ProducerSettings {
  std::chrono::milliseconds delivery_timeout = kDefaultDeliveryTimeout;
  int linger_ms = kDefaultLingerMs;
  LingerWhen linger_when = kDefaultLingerWhen;
};

// Also sets the app's final callback: once every flag is read, the security settings are checked and turned
// into `kafka.properties` (a wrong one stops the program with exit status 2 and a message naming it).
void bind_client_options(CLI::App& app, KafkaSettings& kafka);
// What that callback does: merges `security` into `properties`, refusing a setting given both ways.
Status apply_security(KafkaSettings& kafka);
void bind_producer_options(CLI::App& app, ProducerSettings& producer);

}  // namespace kafka
}  // namespace kd
