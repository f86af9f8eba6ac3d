// Random access to a topic's partitions, for looking records up rather than consuming them: the
// watermarks, where a time falls (Kafka's offsets-for-times, the broker's time index), and a few records
// from an offset. The order lookup and the console's feed read through it; neither commits anything.
#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/kafka/client_config.hpp"
#include "common/kafka/client_events.hpp"
#include "common/result.hpp"

namespace kd::kafka {

struct Watermarks {
  std::int64_t low = 0;   // the oldest offset still held
  std::int64_t high = 0;  // the offset the next record will get
};

struct StoredRecord {
  int partition = 0;
  std::int64_t offset = 0;
  std::int64_t timestamp_ms = 0;  // the record's timestamp (CreateTime: when its producer took it)
  std::string value;
};

// What a lookup needs from a topic; TopicReader reads Kafka, the unit tests a partition in memory.
// Errors are unavailable (Kafka cannot be asked now).
class RecordSource {
 public:
  virtual ~RecordSource() = default;
  virtual Result<Watermarks> watermarks(int partition) = 0;
  // The first offset whose record's timestamp is at or after `unix_ms`; the high watermark if none is.
  virtual Result<std::int64_t> offset_for_time(int partition, std::int64_t unix_ms) = 0;
  // Up to `max` records from `offset` on, none at or after `end` (fewer where records were deleted).
  virtual Result<std::vector<StoredRecord>> read(int partition, std::int64_t offset, std::size_t max,
                                                 std::int64_t end) = 0;
};

struct ReaderOptions {
  std::string brokers;
  std::string topic;
  std::string client_id;
  std::chrono::milliseconds timeout{5'000};  // each call's longest wait for the brokers
  Properties extra;
};

// One long-lived client (a fresh one costs connections and a metadata round trip on every lookup).
// Blocking; calls are serialised, so call from a thread of its own, never the io thread.
class TopicReader final : public RecordSource {
 public:
  static Result<std::unique_ptr<TopicReader>> create(const ReaderOptions& options);
  ~TopicReader() override;
  TopicReader(const TopicReader&) = delete;
  TopicReader& operator=(const TopicReader&) = delete;

  Result<Watermarks> watermarks(int partition) override;
  Result<std::int64_t> offset_for_time(int partition, std::int64_t unix_ms) override;
  Result<std::vector<StoredRecord>> read(int partition, std::int64_t offset, std::size_t max,
                                         std::int64_t end) override;

 private:
  TopicReader() = default;
  ReaderOptions options_;
  std::mutex mutex_;
  std::unique_ptr<ClientEvents> events_;  // before the handle: librdkafka calls it until the handle is gone
  std::unique_ptr<RdKafka::KafkaConsumer> handle_;
};

}  // namespace kd::kafka
