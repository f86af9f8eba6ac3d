// The one consumer loop behind the warehouse and statistics: it owns the Kafka consumer of its
// partitions, the dead-letter writer, the thread, the state store and the dedupe window, decides what
// each record is, hands first copies of orders to a Handler, saves and commits, and reports readiness,
// lag and what it saw (copies, conflicts, gaps) as metrics and log lines. A service is its settings, a
// handler and its HTTP routes.
#pragma once

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "common/consumer/consumer_state.hpp"
#include "common/consumer/handler.hpp"
#include "common/consumer/progress_log.hpp"
#include "common/consumer/state_store.hpp"
#include "common/kafka/consumer.hpp"
#include "common/kafka/dead_letters.hpp"
#include "common/kafka/partition_watch.hpp"
#include "common/kafka/settings.hpp"
#include "common/metrics.hpp"
#include "common/net.hpp"
#include "common/published.hpp"

namespace kd {
class HttpServer;
}

namespace kd::consumer {

// The settings every consumer service has, each a flag and an environment variable.
struct ConsumerSettings {
  std::filesystem::path state_dir = "/tmp/kafka-demo";
  std::string group_id;
  std::size_t batch_size = 500;
  // Each partition's newest records whose order ids are remembered, to act on an order Kafka holds twice
  // once; the same unit and setting for every consumer.
  std::int64_t dedupe_window = 100'000;
  // Commits are for a new volume's fallback and lag monitoring (the state holds the positions), and each
  // is a write the brokers replicate: one per batch cost the brokers 4x the CPU per order under load.
  std::chrono::milliseconds commit_interval{200};
};

void bind_consumer_options(CLI::App& app, ConsumerSettings& settings);

// What one service's loop reads and how it keeps its state.
struct LoopSpec {
  std::string client_id;        // "repository-0", "statistics": Kafka client id and dead letters' consumer
  std::string state_name;       // the state file in the state directory, without ".db"
  std::vector<int> partitions;  // the partitions this loop owns
  bool resume_from_group_offset =
      false;  // without saved state: the group's committed offset, else the beginning
  // Statistics: also every partition the state has saved, and every partition added to the topic while
  // running (read every `partition_refresh`), each from its saved position or else its beginning, so the
  // orders a new region took before this loop noticed it are counted too.
  bool follow_topic = false;
  std::chrono::milliseconds partition_refresh = kafka::kDefaultPartitionRefresh;
  std::chrono::milliseconds save_interval{0};  // 0: save after every batch, before on_durable()
  std::function<void()> after_batch;  // on the loop's thread after each batch: publish views for HTTP
};

class ConsumerLoop {
 public:
  // Opens (and locks) the state and restores the handler from it; creates the Kafka clients.
  static Result<std::unique_ptr<ConsumerLoop>> create(const KafkaSettings& kafka,
                                                      const ConsumerSettings& settings, LoopSpec spec,
                                                      Handler& handler);
  ~ConsumerLoop();  // stops the thread if stop() did not
  ConsumerLoop(const ConsumerLoop&) = delete;
  ConsumerLoop& operator=(const ConsumerLoop&) = delete;

  // Starts the thread: it finds where to start (which may wait for the brokers), then consumes.
  void start();
  // Stops consuming, saves and commits what was handled; waits for that at most `timeout`, without
  // blocking the io thread it runs on.
  asio::awaitable<void> stop(std::chrono::milliseconds timeout);

  // Consuming, the state saving, and a broker reachable; otherwise why not.
  std::optional<std::string> not_ready_reason() const;
  // The next offset to handle per partition, as of the last batch; any thread.
  kafka::Positions positions() const { return *positions_.get(); }
  // How many partitions the loop reads (0..count-1 for statistics); any thread.
  int partition_count() const { return partition_count_.load(std::memory_order_acquire); }
  const std::filesystem::path& state_path() const { return store_->path(); }
  // What is durable, and since when (see ProgressLog); any thread.
  const ProgressLog& progress() const { return progress_; }
  // Each partition's lag behind its high watermark (as of the last fetch), from the handled position.
  kafka::Positions lag() const { return consumer_->lag(positions()); }

 private:
  struct PartitionMetrics {
    metrics::Counter* consumed;
    metrics::Counter* duplicates;
    metrics::Counter* older_than_window;
    metrics::Counter* conflicts;
    metrics::Counter* gaps;
    metrics::Counter* gap_records;
    std::atomic<std::int64_t> largest_copy_distance{0};
  };

  ConsumerLoop(const KafkaSettings& kafka, const ConsumerSettings& settings, LoopSpec spec, Handler& handler);
  // Makes the partition one of the loop's, with its metrics (before the thread starts, or on it).
  void track(int partition);
  void run(std::stop_token stop);
  bool assign_start(std::stop_token stop);
  // Assigns the partitions the watch has seen added to the topic (follow_topic).
  void take_new_partitions();
  // Handles a batch; false if stopped before its end (the rest is read again after a restart).
  bool handle(const kafka::RecordBatch& batch, std::stop_token stop);
  // Saves what changed if `save_interval` passed (or now); false while the store fails.
  bool save(bool now);
  void log_final_positions();  // after the last save and commit, on stop
  void commit(bool now);
  // Before a call that may wait (a dead letter while Kafka cannot take it).
  void before_waiting();
  void report_gap(int partition, std::int64_t expected, std::int64_t offset);
  // Stops consuming for good and asks the process to exit with a failure (stop_with_failure).
  void refuse_foreign_topic(int partition, std::int64_t expected, std::int64_t offset);
  void publish();

  KafkaSettings kafka_;
  ConsumerSettings settings_;
  LoopSpec spec_;
  Handler& handler_;
  ConsumerState state_;
  std::unique_ptr<StateStore> store_;
  std::unique_ptr<kafka::Consumer> consumer_;
  std::unique_ptr<kafka::DeadLetters> dead_letters_;
  std::unique_ptr<kafka::PartitionWatch> watch_;  // follow_topic only
  // Inserted into on the consumer thread (a new partition), iterated by a scrape: both under the mutex.
  // The consumer thread reads it without the lock, being its only writer.
  std::map<int, PartitionMetrics> metrics_;
  mutable std::mutex metrics_mutex_;

  // The consumer thread's own.
  std::optional<StateChanges> unsaved_;  // taken from state_, not yet durable
  std::string unsaved_snapshot_;
  std::chrono::steady_clock::time_point last_save_{};
  kafka::Positions uncommitted_;
  std::chrono::steady_clock::time_point last_commit_{};

  // Read by other threads.
  std::atomic<bool> consuming_{false};
  std::atomic<bool> store_failing_{false};
  std::atomic<bool> finished_{false};
  std::atomic<bool> refused_{false};
  std::atomic<int> partition_count_{0};
  Published<std::string> refusal_;  // why, once refused_
  Published<kafka::Positions> positions_;
  // Where reading began in each partition that has no handled record yet (a new volume resuming from the
  // group's offset): its position until the first record, so its lag is not the whole partition.
  kafka::Positions reading_from_;
  ProgressLog progress_;
  metrics::GaugeRegistration lag_gauge_;
  metrics::GaugeRegistration distance_gauge_;
  std::jthread thread_;  // last: joined first, while everything it uses still exists
};

// GET /positions: {"partitions":[{"partition":0,"next":120,"durable":118,"lag":0}]}, each partition's handled
// position, durable position and lag (the console polls it). GET /progress/P/O:
// {"partition":P,"offset":O,"done":true,"at_ms":…,"by_ms":null,"durable":118}, whether the durable position
// has passed that offset and when (the order tracking asks it).
void add_progress_routes(HttpServer& server, const ConsumerLoop& loop);

}  // namespace kd::consumer
