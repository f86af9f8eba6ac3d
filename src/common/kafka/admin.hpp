// Topic administration through librdkafka's Admin API: create the order topic idempotently.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "common/kafka/client_config.hpp"
#include "common/result.hpp"

namespace kd::kafka {

struct TopicSpec {
  std::string name;
  int partitions = 3;
  int replication_factor = 2;
  std::map<std::string, std::string> config;  // e.g. min.insync.replicas
};

enum class TopicOutcome { created, already_existed };

// Creates the topic, or accepts an existing one if its partition count matches (a different count is an
// error: partition = region, so it cannot silently differ). Waits until the topic's metadata shows every
// partition with a leader, so producers can write at once.
Result<TopicOutcome> ensure_topic(const std::string& brokers, const TopicSpec& spec, const Properties& extra,
                                  std::chrono::milliseconds timeout);

// The topic's partition count, from cluster metadata.
Result<int> partition_count(const std::string& brokers, const std::string& topic, const Properties& extra,
                            std::chrono::milliseconds timeout);

Status delete_topic(const std::string& brokers, const std::string& topic, const Properties& extra,
                    std::chrono::milliseconds timeout);

// Deletes a partition's records below `offset` (what retention does with time): for tests of gaps.
Status delete_records_before(const std::string& brokers, const std::string& topic, int partition,
                             std::int64_t offset, const Properties& extra, std::chrono::milliseconds timeout);

}  // namespace kd::kafka
