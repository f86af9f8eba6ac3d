// Whether the order topic can keep the promise a 200 makes: the order is on at least two brokers. The
// producer writes with acks=all, which waits for the partition's in-sync replicas, and the brokers accept
// such a write only while at least min.insync.replicas of them are in sync. So the promise holds when each
// partition has at least two replicas and min.insync.replicas is at least two; with min.insync.replicas=1
// one broker's copy suffices for an acknowledgement, whatever the replication. The settings are read back
// from Kafka (metadata and DescribeConfigs), never taken from what someone asked for.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

namespace kd::kafka {

// What the topic must have: the same two settings the admin tool creates it with, so that a single-broker
// development cluster, which can hold one copy only, says so in one place (1 and 1) for everyone.
struct DurabilityRequirement {
  int replication_factor = 2;
  int min_insync_replicas = 2;
};

// KAFKA_REPLICATION_FACTOR and KAFKA_MIN_INSYNC_REPLICAS (admin: what to create; admin and order: the least
// an existing topic must have).
void bind_durability_options(CLI::App& app, DurabilityRequirement& requirement);

// A topic's settings as Kafka reports them.
struct TopicDurability {
  std::string topic;
  std::vector<int> replicas;  // each partition's replica count, by partition number
  int min_insync_replicas = 1;
  bool min_insync_from_topic = false;  // set on the topic; else the brokers' default applies
};

enum class DurabilityVerdict {
  ok,         // a 200 means the required number of copies
  weak,       // writes succeed on fewer copies than required
  unwritable  // min.insync.replicas above the replication: every acks=all write fails
};

struct DurabilityJudgement {
  DurabilityVerdict verdict = DurabilityVerdict::ok;
  std::string summary;  // the real figures: "replication 2, min.insync.replicas 2 (set on the topic)"
  std::string problem;  // empty when ok: each setting found short, the value found and required, the fix
};

// Pure: the verdict on `found` against `required`. `brokers` only goes into the fix's command line.
DurabilityJudgement judge_durability(const TopicDurability& found, const DurabilityRequirement& required,
                                     const std::string& brokers);

// A warning for a requirement below the promise (a single-broker development cluster); nullopt if none.
std::optional<std::string> single_copy_warning(const DurabilityRequirement& required);

}  // namespace kd::kafka
