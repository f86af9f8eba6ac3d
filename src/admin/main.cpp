// kafka-demo-admin: creates (idempotently) or deletes the order topic and its dead-letter topic. The
// Kubernetes Job and the local scripts run it instead of kafka-topics.sh, so no Kafka distribution is needed
// beside the services.
#include <CLI/CLI.hpp>
#include <iostream>

#include "common/config.hpp"
#include "common/kafka/admin.hpp"
#include "common/kafka/settings.hpp"

int main(int argc, char** argv) {
  kd::KafkaSettings kafka;
  kd::kafka::TopicSpec spec;
  int min_insync_replicas = 2;
  int timeout_ms = 30'000;

  CLI::App app{"kafka-demo admin: manage the order topic", "kafka-demo-admin"};
  app.require_subcommand(1);
  kd::kafka::bind_client_options(app, kafka);
  app.add_option("--timeout-ms", timeout_ms, "How long to wait for the brokers")
      ->envname("ADMIN_TIMEOUT_MS")
      ->capture_default_str();
  auto* create = app.add_subcommand(
      "create-topic", "Create the topic and its dead-letter topic, or accept identical existing ones");
  create->add_option("--replication-factor", spec.replication_factor, "Copies of each partition")
      ->envname("KAFKA_REPLICATION_FACTOR")
      ->check(CLI::Range(1, 10))
      ->capture_default_str();
  // With replication 2, min.insync.replicas=2 means an acknowledged order is on both replicas; the price is
  // that a partition whose replica is down refuses writes (503) until it returns.
  create
      ->add_option("--min-insync-replicas", min_insync_replicas,
                   "Replicas that must have a write before it is acknowledged")
      ->envname("KAFKA_MIN_INSYNC_REPLICAS")
      ->check(CLI::Range(1, 10))
      ->capture_default_str();
  auto* remove = app.add_subcommand("delete-topic", "Delete the topic and its dead-letter topic");
  if (auto exit_code = kd::parse_command_line(app, argc, argv)) return *exit_code;

  const auto timeout = std::chrono::milliseconds(timeout_ms);
  const std::string topics[] = {kafka.topic, kafka.dead_letters()};
  if (remove->parsed()) {
    int failed = 0;
    for (const auto& topic : topics) {
      auto status = kd::kafka::delete_topic(kafka.brokers, topic, kafka.properties, timeout);
      std::cout << (status ? "deleted topic " + topic : status.error().message) << "\n";
      failed += status ? 0 : 1;
    }
    return failed == 0 ? 0 : 1;
  }
  // The dead-letter topic has the order topic's shape: a record's letter is as safe as the record was.
  for (const auto& topic : topics) {
    spec.name = topic;
    spec.partitions = kafka.partitions;
    spec.config["min.insync.replicas"] = std::to_string(min_insync_replicas);
    auto outcome = kd::kafka::ensure_topic(kafka.brokers, spec, kafka.properties, timeout);
    if (!outcome) {
      std::cerr << "kafka-demo-admin: " << outcome.error().message << "\n";
      return 1;
    }
    std::cout << (*outcome == kd::kafka::TopicOutcome::created ? "created" : "found existing") << " topic "
              << spec.name << " (" << spec.partitions << " partitions, replication "
              << spec.replication_factor << ", min.insync.replicas " << min_insync_replicas << ")\n";
  }
  return 0;
}
