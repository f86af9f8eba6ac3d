// kafka-demo-admin: creates (idempotently), grows or deletes the order topic and its dead-letter topic. The
// Kubernetes Job and the local scripts run it instead of kafka-topics.sh, so no Kafka distribution is needed
// beside the services.
#include <CLI/CLI.hpp>
#include <iostream>

#include "common/config.hpp"
#include "common/kafka/admin.hpp"
#include "common/kafka/settings.hpp"

namespace {

// What happened to one topic, with the settings Kafka reports for it (never those asked for).
std::string describe(const kd::kafka::TopicSpec& spec, const kd::kafka::TopicChange& change,
                     const std::string& settings) {
  using kd::kafka::TopicOutcome;
  const std::string count = std::to_string(spec.partitions) + " partitions, ";
  switch (change.outcome) {
    case TopicOutcome::created:
      return "created topic " + spec.name + " (" + count + settings + ")";
    case TopicOutcome::already_existed:
      return "found existing topic " + spec.name + " (" + count + settings + ")";
    case TopicOutcome::grown:
      return "grew topic " + spec.name + " from " + std::to_string(change.partitions_before) + " to " +
             count + settings;
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
  kd::kafka::DurabilityRequirement durability;
  int timeout_ms = 30'000;
  bool grow = false;

  CLI::App app{"kafka-demo admin: manage the order topic", "kafka-demo-admin"};
  app.require_subcommand(1);
  app.fallthrough();  // `grow-topic --partitions 5`: the shared options may follow the subcommand
  kd::kafka::bind_client_options(app, kafka);
  kd::kafka::bind_durability_options(app, durability);
  app.add_option("--timeout-ms", timeout_ms, "How long to wait for the brokers")
      ->envname("ADMIN_TIMEOUT_MS")
      ->capture_default_str();
  auto* create = app.add_subcommand(
      "create-topic",
      "Create the topic and its dead-letter topic, or accept existing ones with the same partition count; "
      "either way read their replication and min.insync.replicas back and refuse (exit 2) a topic that has "
      "less than --replication-factor and --min-insync-replicas");
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
  if (auto warning = kd::kafka::single_copy_warning(durability))
    std::cerr << "kafka-demo-admin: warning: " << *warning << "\n";
  // The dead-letter topic has the order topic's shape: a record's letter is as safe as the record was.
  spec.replication_factor = durability.replication_factor;
  for (const auto& topic : topics) {
    spec.name = topic;
    spec.partitions = kafka.partitions;
    spec.config["min.insync.replicas"] = std::to_string(durability.min_insync_replicas);
    auto change =
        grow_command->parsed()
            ? kd::kafka::grow_topic(kafka.brokers, topic, kafka.partitions, kafka.properties, timeout)
            : kd::kafka::ensure_topic(kafka.brokers, spec, kafka.properties, timeout,
                                      grow ? kd::kafka::IfFewer::grow : kd::kafka::IfFewer::refuse);
    if (!change) {
      std::cerr << "kafka-demo-admin: " << change.error().message << "\n";
      return exit_code(change.error());
    }
    // An existing topic may have been made by anyone: what it holds, not what we asked for, decides.
    auto found = kd::kafka::describe_durability(kafka.brokers, topic, kafka.properties, timeout);
    if (!found) {
      std::cerr << "kafka-demo-admin: " << found.error().message << "\n";
      return exit_code(found.error());
    }
    const auto judgement = kd::kafka::judge_durability(*found, durability, kafka.brokers);
    std::cout << describe(spec, *change, judgement.summary) << "\n";
    if (judgement.verdict != kd::kafka::DurabilityVerdict::ok) {
      std::cerr << "kafka-demo-admin: refusing " << judgement.problem << "\n";
      return 2;  // the topic's settings, not the cluster's state: retrying cannot help
    }
  }
  return 0;
}
