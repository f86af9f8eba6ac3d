// How a running service learns that regions were added: it reads the topic's partition count from Kafka's
// metadata now and then, on a thread of its own. The gateway accepts the new partition numbers and
// statistics starts counting the new partitions, neither needing a restart (kafka-demo-admin grow-topic
// adds them; Kafka can add partitions, never remove them).
#pragma once

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>

#include "common/kafka/client_config.hpp"
#include "common/kafka/client_events.hpp"
#include "common/result.hpp"

namespace kd::kafka {

// 5 s: a new region is taken up seconds after it was added, at one small metadata request per interval
// and service.
inline constexpr std::chrono::milliseconds kDefaultPartitionRefresh{5'000};

void bind_partition_watch_options(CLI::App& app, std::chrono::milliseconds& interval);

struct PartitionWatchOptions {
  std::string brokers;
  std::string topic;
  std::string client_id;
  Properties extra;
  std::chrono::milliseconds interval = kDefaultPartitionRefresh;
};

class PartitionWatch {
 public:
  // Creates the client and starts the thread; the first read happens at once.
  static Result<std::unique_ptr<PartitionWatch>> start(const PartitionWatchOptions& options);
  ~PartitionWatch();  // stops the thread: at most one metadata request's timeout
  PartitionWatch(const PartitionWatch&) = delete;
  PartitionWatch& operator=(const PartitionWatch&) = delete;

  // The topic's partition count as last read; 0 until Kafka first answered (or while the topic does not
  // exist). It never goes down: Kafka cannot remove partitions, and a stale answer must not undo a region.
  int partitions() const { return partitions_.load(std::memory_order_acquire); }
  // The partitions to serve: the configured count until the topic shows more.
  int serving(int configured) const { return std::max(configured, partitions()); }

 private:
  explicit PartitionWatch(PartitionWatchOptions options) : options_(std::move(options)) {}
  void run(std::stop_token stop);
  // The count in Kafka's metadata now (-1: no such topic).
  Result<int> read_count() const;

  PartitionWatchOptions options_;
  std::atomic<int> partitions_{0};
  std::unique_ptr<ClientEvents> events_;  // before the handle: librdkafka calls it until the handle is gone
  std::unique_ptr<RdKafka::Producer> handle_;
  std::mutex mutex_;
  std::condition_variable_any wake_;
  std::jthread thread_;  // last: joined first, while everything it uses still exists
};

}  // namespace kd::kafka
