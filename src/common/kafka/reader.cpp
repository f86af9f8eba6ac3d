#include "common/kafka/reader.hpp"

#include "common/kafka/errors.hpp"

namespace kd::kafka {
namespace {

constexpr std::chrono::milliseconds kWakeEvery{10};

}  // namespace

Result<std::unique_ptr<TopicReader>> TopicReader::create(const ReaderOptions& options) {
  std::unique_ptr<TopicReader> reader(new TopicReader());
  reader->options_ = options;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  const Properties ours = {
      {"bootstrap.servers", options.brokers},
      // librdkafka's consumer wants a group; nothing is ever committed under it.
      {"group.id", options.client_id},
      {"client.id", options.client_id},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "false"},
      // An offset deleted meanwhile is an error to report, not a reason to jump to the end.
      {"auto.offset.reset", "error"},
      // A lookup reads a few records: small fetches and no prefetch beyond them, so a read costs the brokers
      // little and the process holds no backlog (the gateway's memory stays small).
      {"fetch.wait.max.ms", "10"},
      {"max.partition.fetch.bytes", "65536"},
      {"queued.min.messages", "100"},
      {"queued.max.messages.kbytes", "1024"},
      {"socket.nagle.disable", "true"},
      {"reconnect.backoff.max.ms", "1000"},
  };
  if (auto status = set_properties(*conf, ours); !status) return status.error();
  if (auto status = set_properties(*conf, options.extra); !status) return status.error();
  std::string reason;
  reader->events_ = std::make_unique<ClientEvents>(options.client_id);
  if (auto status = reader->events_->attach(*conf); !status) return status.error();
  reader->handle_.reset(RdKafka::KafkaConsumer::create(conf.get(), reason));
  if (!reader->handle_) return make_error(Errc::config, "cannot create Kafka reader: " + reason);
  return reader;
}

TopicReader::~TopicReader() {
  if (handle_) handle_->close();
}

Result<Watermarks> TopicReader::watermarks(int partition) {
  std::lock_guard lock(mutex_);
  Watermarks marks;
  const auto code = handle_->query_watermark_offsets(options_.topic, partition, &marks.low, &marks.high,
                                                     static_cast<int>(options_.timeout.count()));
  if (code != RdKafka::ERR_NO_ERROR) {
    return to_error(code,
                    "cannot read the watermarks of " + options_.topic + "/" + std::to_string(partition));
  }
  return marks;
}

Result<std::int64_t> TopicReader::offset_for_time(int partition, std::int64_t unix_ms) {
  std::lock_guard lock(mutex_);
  std::vector<RdKafka::TopicPartition*> list{
      RdKafka::TopicPartition::create(options_.topic, partition, unix_ms)};
  auto code = handle_->offsetsForTimes(list, static_cast<int>(options_.timeout.count()));
  if (code == RdKafka::ERR_NO_ERROR) code = list[0]->err();
  const std::int64_t offset = list[0]->offset();
  RdKafka::TopicPartition::destroy(list);
  if (code != RdKafka::ERR_NO_ERROR) {
    return to_error(code, "cannot look up a time in " + options_.topic + "/" + std::to_string(partition));
  }
  if (offset >= 0) return offset;
  // No record that late (the broker answers -1): the next one written would be the first.
  std::int64_t low = 0;
  std::int64_t high = 0;
  code = handle_->query_watermark_offsets(options_.topic, partition, &low, &high,
                                          static_cast<int>(options_.timeout.count()));
  if (code != RdKafka::ERR_NO_ERROR) {
    return to_error(code,
                    "cannot read the watermarks of " + options_.topic + "/" + std::to_string(partition));
  }
  return high;
}

Result<std::vector<StoredRecord>> TopicReader::read(int partition, std::int64_t offset, std::size_t max,
                                                    std::int64_t end) {
  std::lock_guard lock(mutex_);
  std::vector<StoredRecord> records;
  if (offset >= end || max == 0) return records;
  std::vector<RdKafka::TopicPartition*> list{
      RdKafka::TopicPartition::create(options_.topic, partition, offset)};
  auto code = handle_->assign(list);
  RdKafka::TopicPartition::destroy(list);
  if (code != RdKafka::ERR_NO_ERROR) {
    return to_error(code, "cannot read " + options_.topic + "/" + std::to_string(partition));
  }
  const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
  std::int64_t next = offset;
  Status failed = Ok{};
  while (records.size() < max && next < end) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      failed =
          make_error(Errc::unavailable, "no records from " + options_.topic + "/" +
                                            std::to_string(partition) + " at offset " + std::to_string(next) +
                                            " within " + std::to_string(options_.timeout.count()) + " ms");
      break;
    }
    std::unique_ptr<RdKafka::Message> message(
        handle_->consume(static_cast<int>(std::min<std::chrono::milliseconds>(left, kWakeEvery).count())));
    if (!message || message->err() == RdKafka::ERR__TIMED_OUT) {
      // librdkafka 2.0.2 starts fetching a newly assigned partition when its broker thread next wakes up,
      // which can be a second later (lookups measured 1-3 s in 1 of 5). A request through that thread wakes
      // it: the watermarks, as the consumer loop does (kafka/consumer.cpp).
      std::int64_t low = 0;
      std::int64_t high = 0;
      handle_->query_watermark_offsets(options_.topic, partition, &low, &high, 1000);
      continue;
    }
    if (message->err() != RdKafka::ERR_NO_ERROR) {
      // Out of range: the records from `offset` on were deleted (retention) after the watermarks were read.
      if (message->err() == RdKafka::ERR__AUTO_OFFSET_RESET ||
          message->err() == RdKafka::ERR_OFFSET_OUT_OF_RANGE)
        break;
      continue;  // transient (a leader moving): librdkafka retries on its own until the deadline
    }
    // A message of an earlier assignment, or before the offset asked for (a batch is fetched whole).
    if (message->partition() != partition || message->offset() < next) continue;
    next = message->offset() + 1;
    if (message->offset() >= end) break;
    records.push_back({partition, message->offset(), message->timestamp().timestamp,
                       std::string(static_cast<const char*>(message->payload()), message->len())});
  }
  // Stop fetching: the next lookup reads elsewhere, and nothing should be prefetched meanwhile.
  handle_->unassign();
  if (!failed) return failed.error();
  return records;
}

}  // namespace kd::kafka
