// A Kafka consumer for explicitly assigned partitions: the warehouse of region N reads partition N only,
// statistics reads them all. No group rebalancing: each service knows what it owns, and where it starts
// is decided by the service from its own durable state.
#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/kafka/client_config.hpp"
#include "common/kafka/client_events.hpp"
#include "common/metrics.hpp"
#include "common/result.hpp"

namespace kd::kafka {

// Where to start a partition that has no position yet. There is deliberately no "from the committed
// offset": librdkafka 2.0.2 can leave such a partition unfetched forever when the group coordinator
// answers NOT_COORDINATOR (librdkafka issue #5586; we met it on a fresh cluster). Services read the
// committed offset with committed() and assign it explicitly instead.
inline constexpr std::int64_t kFromBeginning = -2;  // RdKafka::Topic::OFFSET_BEGINNING

struct ConsumerOptions {
  std::string brokers;
  std::string group_id;
  std::string client_id = "kafka-demo";
  std::string topic;
  Properties extra;
};

// A record as the services see it; views into the batch that holds it.
struct Record {
  int partition = 0;
  std::int64_t offset = 0;
  std::int64_t timestamp_ms = 0;  // CreateTime: when the producer took it
  std::optional<std::string_view> key;
  std::string_view value;

  // The last header of that name (librdkafka parses headers only when asked, so ask off the hot path).
  std::optional<std::string> header(std::string_view name) const;

 private:
  friend class RecordBatch;
  const RdKafka::Message* message_ = nullptr;
};

class RecordBatch {
 public:
  std::size_t size() const { return messages_.size(); }
  bool empty() const { return messages_.empty(); }
  Record operator[](std::size_t index) const;

 private:
  friend class Consumer;
  std::vector<std::unique_ptr<RdKafka::Message>> messages_;
};

// Partition -> the offset of the next record to read.
using Positions = std::map<int, std::int64_t>;

class Consumer {
 public:
  static Result<std::unique_ptr<Consumer>> create(const ConsumerOptions& options);
  ~Consumer();  // close(), if not done yet
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // Reads the given partitions from the given positions (an offset or kFromBeginning).
  Status assign(const Positions& start);
  // Reads these partitions too, leaving the others where they are (a partition added to the topic).
  Status add(const Positions& start);
  // Up to max_records records, waiting at most `wait` for the first. Transient errors are logged and
  // yield an empty batch; the consumer keeps retrying on its own.
  RecordBatch poll(std::size_t max_records, std::chrono::milliseconds wait);
  // Synchronously commits next-offsets to the group, so a restart resumes after them.
  Status commit(const Positions& next);
  // The group's committed next-offsets for these partitions (absent where nothing is committed). Retries
  // until `timeout` while the coordinator is unknown or moving (a fresh cluster creates its offsets topic
  // on the first group's request).
  Result<Positions> committed(const std::vector<int>& partitions, std::chrono::milliseconds timeout);
  // How far each assigned partition is behind its high watermark, from the last fetch.
  Positions lag(const Positions& next) const;
  void close();
  // True while librdkafka's statistics show a broker up (they arrive while poll() is being called).
  bool brokers_reachable() const { return events_->brokers_up(); }
  // Why not, with librdkafka's last error (a refused password, an untrusted certificate); nullopt if up.
  std::optional<std::string> unreachable_reason() const { return events_->unreachable_reason(); }

 private:
  Consumer() = default;
  void wake_fetchers();
  ConsumerOptions options_;
  static constexpr std::int64_t kQueuedMinMessages = 20000;
  Positions next_;  // per assigned partition, the offset after the last record poll() returned
  std::chrono::steady_clock::time_point last_wake_{};
  std::unique_ptr<ClientEvents> events_;  // before the handle: librdkafka calls it until the handle is gone
  std::unique_ptr<RdKafka::KafkaConsumer> handle_;
  bool closed_ = false;
};

// Publishes kafka_consumer_lag{partition} for this consumer while the registration lives; `next` gives the
// service's own positions (what it has handled), read on the scraping thread.
metrics::GaugeRegistration register_lag_gauge(const Consumer& consumer, std::function<Positions()> next);

}  // namespace kd::kafka
