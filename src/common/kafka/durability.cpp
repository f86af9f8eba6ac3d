#include "common/kafka/durability.hpp"

#include <algorithm>

namespace kd::kafka {

void bind_durability_options(CLI::App& app, DurabilityRequirement& requirement) {
  app.add_option("--replication-factor", requirement.replication_factor,
                 "Copies of each partition: what create-topic creates, and the least the topic must have")
      ->envname("KAFKA_REPLICATION_FACTOR")
      ->check(CLI::Range(1, 10))
      ->capture_default_str();
  // With replication 2, min.insync.replicas=2 means an acknowledged order is on both replicas; the price is
  // that a partition whose replica is down refuses writes (503) until it returns.
  app.add_option("--min-insync-replicas", requirement.min_insync_replicas,
                 "Replicas that must have a write before it is acknowledged: what create-topic sets, and the "
                 "least the topic must have (1 only for a single-broker development cluster)")
      ->envname("KAFKA_MIN_INSYNC_REPLICAS")
      ->check(CLI::Range(1, 10))
      ->capture_default_str();
}

namespace {

std::string partition_list(const std::vector<int>& replicas, int below) {
  std::string list;
  int count = 0;
  for (std::size_t p = 0; p < replicas.size(); ++p) {
    if (replicas[p] >= below) continue;
    if (++count > 8) {
      list += ", …";
      break;
    }
    list += (list.empty() ? "" : ", ") + std::to_string(p);
  }
  return list;
}

std::string copies(int n) { return std::to_string(n) + (n == 1 ? " broker has it" : " brokers have it"); }

}  // namespace

DurabilityJudgement judge_durability(const TopicDurability& found, const DurabilityRequirement& required,
                                     const std::string& brokers) {
  DurabilityJudgement judgement;
  const int least_replicas =
      found.replicas.empty() ? 0 : *std::min_element(found.replicas.begin(), found.replicas.end());
  const int most_replicas =
      found.replicas.empty() ? 0 : *std::max_element(found.replicas.begin(), found.replicas.end());
  const std::string isr_source = found.min_insync_from_topic ? "set on the topic" : "the brokers' default";
  judgement.summary = "replication " +
                      (least_replicas == most_replicas
                           ? std::to_string(least_replicas)
                           : std::to_string(least_replicas) + " to " + std::to_string(most_replicas)) +
                      ", min.insync.replicas " + std::to_string(found.min_insync_replicas) + " (" +
                      isr_source + ")";
  const std::string subject = "topic " + found.topic + ": ";
  const std::string bootstrap = "--bootstrap-server " + brokers.substr(0, brokers.find(','));
  std::vector<std::string> problems;
  // Checked first: no write at all is worse than a weak one, and its fix differs.
  if (least_replicas > 0 && found.min_insync_replicas > least_replicas) {
    judgement.verdict = DurabilityVerdict::unwritable;
    problems.push_back(subject + "min.insync.replicas is " + std::to_string(found.min_insync_replicas) +
                       " (" + isr_source + ") but partitions " +
                       partition_list(found.replicas, found.min_insync_replicas) + " have " +
                       std::to_string(least_replicas) +
                       " replicas: every acks=all write fails (NOT_ENOUGH_REPLICAS). Fix: kafka-configs.sh " +
                       bootstrap + " --alter --entity-type topics --entity-name " + found.topic +
                       " --add-config min.insync.replicas=" + std::to_string(least_replicas));
  } else if (found.min_insync_replicas < required.min_insync_replicas) {
    judgement.verdict = DurabilityVerdict::weak;
    problems.push_back(subject + "min.insync.replicas is " + std::to_string(found.min_insync_replicas) +
                       " (" + isr_source + "), at least " + std::to_string(required.min_insync_replicas) +
                       " is required: acks=all is then met once " + copies(found.min_insync_replicas) +
                       ", so a 200 may mean fewer copies than promised. Fix: kafka-configs.sh " + bootstrap +
                       " --alter --entity-type topics --entity-name " + found.topic +
                       " --add-config min.insync.replicas=" + std::to_string(required.min_insync_replicas));
  }
  if (least_replicas < required.replication_factor) {
    if (judgement.verdict == DurabilityVerdict::ok) judgement.verdict = DurabilityVerdict::weak;
    // First: raising min.insync.replicas above the replicas a partition has would stop every write.
    problems.insert(
        problems.begin(),
        subject + "replication is " + std::to_string(least_replicas) + " (partitions " +
            partition_list(found.replicas, required.replication_factor) + "), at least " +
            std::to_string(required.replication_factor) +
            " is required: those partitions' orders live on fewer brokers than promised. Fix: give each "
            "partition " +
            std::to_string(required.replication_factor) + " replicas with kafka-reassign-partitions.sh " +
            bootstrap +
            " --reassignment-json-file <plan> --execute (Kafka cannot change a topic's replication "
            "otherwise)");
  }
  for (const auto& problem : problems) judgement.problem += (judgement.problem.empty() ? "" : "; ") + problem;
  if (judgement.verdict != DurabilityVerdict::ok) {
    judgement.problem +=
        ". A single-broker development cluster can hold one copy only: there, KAFKA_REPLICATION_FACTOR=1 "
        "and KAFKA_MIN_INSYNC_REPLICAS=1 accept that";
  }
  return judgement;
}

std::optional<std::string> single_copy_warning(const DurabilityRequirement& required) {
  if (required.replication_factor >= 2 && required.min_insync_replicas >= 2) return std::nullopt;
  return "KAFKA_REPLICATION_FACTOR=" + std::to_string(required.replication_factor) +
         " and KAFKA_MIN_INSYNC_REPLICAS=" + std::to_string(required.min_insync_replicas) +
         " accept orders acknowledged by one broker: a 200 may mean a single copy, lost with that broker's "
         "disk (for a single-broker development cluster only)";
}

}  // namespace kd::kafka
