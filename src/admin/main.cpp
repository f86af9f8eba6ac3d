// kafka-demo-admin: creates (idempotently), grows or deletes the order topic and its dead-letter topic. The
// Kubernetes Job and the local scripts run it instead of kafka-topics.sh, so no Kafka distribution is needed
// beside the services.
#include <CLI/CLI.hpp>
#include <iostream>

#include "common/config.hpp"
#include "common/kafka/admin.hpp"
#include "common/kafka/settings.hpp"

namespace {

// What happened to one topic, for a person reading the Job's log or a terminal.
std::string describe(const kd::kafka::TopicSpec& spec, const kd::kafka::TopicChange& change,
                     int min_insync_replicas) {
  using kd::kafka::TopicOutcome;
  const std::string count = std::to_string(spec.partitions) + " partitions";
  switch (change.outcome) {
    case TopicOutcome::created:
      return "created topic " + spec.name + " (" + count + ", replication " +
             std::to_string(spec.replication_factor) + ", min.insync.replicas " +
             std::to_string(min_insync_replicas) + ")";
    case TopicOutcome::already_existed:
      return "found existing topic " + spec.name + " (" + count + ")";
    case TopicOutcome::grown:
      return "grew topic " + spec.name + " from " + std::to_string(change.partitions_before) + " to " + count;
  }
  return spec.name;
}

// 2 for a request the cluster's state makes wrong (shrinking, a count that differs): retrying cannot help,
// and the Job's podFailurePolicy stops at once. 1 for anything else (brokers unreachable: retry).
int exit_code(const kd::Error& error) { return error.code == kd::Errc::config ? 2 : 1; }

}  // namespace

int main(int argc, char** argv) {
  kd::KafkaSettings kafka;
  kd::kafka::TopicSpec spec;
  int min_insync_replicas = 2;
  int timeout_ms = 30'000;
  bool grow = false;

  CLI::App app{"kafka-demo admin: manage the order topic", "kafka-demo-admin"};
  app.require_subcommand(1);
  app.fallthrough();  // `grow-topic --partitions 5`: the shared options may follow the subcommand
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
  create->add_flag(
      "--grow", grow,
      "Grow existing topics with fewer partitions to --partitions, as grow-topic does (never shrinks)");
  auto* grow_command = app.add_subcommand(
      "grow-topic",
      "Add partitions (regions) to the existing topic and its dead-letter topic until each has --partitions; "
      "nothing to do if they have them, refused if they have more (Kafka cannot remove partitions)");
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
    auto change =
        grow_command->parsed()
            ? kd::kafka::grow_topic(kafka.brokers, topic, kafka.partitions, kafka.properties, timeout)
            : kd::kafka::ensure_topic(kafka.brokers, spec, kafka.properties, timeout,
                                      grow ? kd::kafka::IfFewer::grow : kd::kafka::IfFewer::refuse);
    if (!change) {
      std::cerr << "kafka-demo-admin: " << change.error().message << "\n";
      return exit_code(change.error());
    }
    std::cout << describe(spec, *change, min_insync_replicas) << "\n";
  }
  return 0;
}
