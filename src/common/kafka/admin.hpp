// Topic administration through librdkafka's Admin API: create the order topic idempotently, and add
// partitions (regions) to it; Kafka can add partitions, never remove them.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "common/kafka/client_config.hpp"
#include "common/kafka/durability.hpp"
#include "common/result.hpp"

typedef struct rd_kafka_s rd_kafka_t;  // librdkafka's handle (rdkafka.h), for clients that have one

namespace kd::kafka {

struct TopicSpec {
  std::string name;
  int partitions = 3;
  int replication_factor = 2;
  std::map<std::string, std::string> config;  // e.g. min.insync.replicas
};

enum class TopicOutcome { created, already_existed, grown };

struct TopicChange {
  TopicOutcome outcome = TopicOutcome::created;
  int partitions_before = 0;  // the count found: 0 when created
};

// What to do with an existing topic that has fewer partitions than asked for.
enum class IfFewer { refuse, grow };

// Creates the topic, or accepts an existing one if its partition count matches. An existing topic with
// fewer partitions is refused or, with IfFewer::grow, grown; one with more is always refused (a config
// error: Kafka cannot remove partitions, and partition = region, so the count cannot silently differ).
// Waits until the topic's metadata shows every partition with a leader, so producers can write at once.
Result<TopicChange> ensure_topic(const std::string& brokers, const TopicSpec& spec, const Properties& extra,
                                 std::chrono::milliseconds timeout, IfFewer if_fewer = IfFewer::refuse);

// Adds partitions to an existing topic until it has `partitions` (idempotent: already_existed when it has
// them). Asking for fewer than it has is refused with a config error that says why; a topic that does not
// exist is a config error too. Waits until every partition has a leader.
Result<TopicChange> grow_topic(const std::string& brokers, const std::string& topic, int partitions,
                               const Properties& extra, std::chrono::milliseconds timeout);

// The topic's partition count, from cluster metadata.
Result<int> partition_count(const std::string& brokers, const std::string& topic, const Properties& extra,
                            std::chrono::milliseconds timeout);

// The topic's real durability settings: each partition's replica count (metadata) and its effective
// min.insync.replicas (DescribeConfigs: the topic's own, else the brokers' default). `unavailable` while
// Kafka cannot answer; `config` when the topic does not exist; `forbidden`-like refusals (no DescribeConfigs
// right on the topic) come back as `bad_request`, which retrying cannot mend.
Result<TopicDurability> describe_durability(const std::string& brokers, const std::string& topic,
                                            const Properties& extra, std::chrono::milliseconds timeout);
// The same on a client's own handle (the order service's producer): no connection of its own.
Result<TopicDurability> describe_durability(rd_kafka_t* handle, const std::string& topic,
                                            std::chrono::milliseconds timeout);

Status delete_topic(const std::string& brokers, const std::string& topic, const Properties& extra,
                    std::chrono::milliseconds timeout);

// Sets one setting of a topic (AlterConfigs, which replaces the topic's other overrides): for tests of a
// topic fixed while services run, as kafka-configs.sh --alter would.
Status set_topic_config(const std::string& brokers, const std::string& topic, const std::string& key,
                        const std::string& value, const Properties& extra, std::chrono::milliseconds timeout);

// Deletes a partition's records below `offset` (what retention does with time): for tests of gaps.
Status delete_records_before(const std::string& brokers, const std::string& topic, int partition,
                             std::int64_t offset, const Properties& extra, std::chrono::milliseconds timeout);

}  // namespace kd::kafka
