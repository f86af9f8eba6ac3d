#include "common/kafka/consumer.hpp"

#include <thread>

#include "common/kafka/errors.hpp"
#include "common/log.hpp"

namespace kd::kafka {
namespace {

// Owns the TopicPartition pointers the C++ API trades in.
struct PartitionList {
  std::vector<RdKafka::TopicPartition*> items;
  ~PartitionList() { RdKafka::TopicPartition::destroy(items); }
};

}  // namespace

Record RecordBatch::operator[](std::size_t index) const {
  const auto& message = *messages_[index];
  Record record;
  record.partition = message.partition();
  record.offset = message.offset();
  record.timestamp_ms = message.timestamp().timestamp;
  if (message.key_pointer()) {
    record.key = std::string_view(static_cast<const char*>(message.key_pointer()), message.key_len());
  }
  record.value = std::string_view(static_cast<const char*>(message.payload()), message.len());
  record.message_ = &message;
  return record;
}

std::optional<std::string> Record::header(std::string_view name) const {
  if (message_ == nullptr) return std::nullopt;
  // headers() belongs to the message (its C++ wrapper deletes it), so it is not freed here.
  RdKafka::Headers* headers = const_cast<RdKafka::Message*>(message_)->headers();
  if (headers == nullptr) return std::nullopt;
  const RdKafka::Headers::Header last = headers->get_last(std::string(name));
  if (last.err() != RdKafka::ERR_NO_ERROR || last.value() == nullptr) return std::nullopt;
  return std::string(static_cast<const char*>(last.value()), last.value_size());
}

Result<std::unique_ptr<Consumer>> Consumer::create(const ConsumerOptions& options) {
  std::unique_ptr<Consumer> consumer(new Consumer());
  consumer->options_ = options;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  // Offsets are committed by the service after it has processed a batch, never in the background.
  const Properties ours = {
      {"bootstrap.servers", options.brokers},
      {"group.id", options.group_id},
      {"client.id", options.client_id},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},
      {"enable.partition.eof", "false"},
      {"fetch.wait.max.ms", "50"},
      {"socket.nagle.disable", "true"},
      // librdkafka prefetches up to 64 MB and 100,000 records per partition by default, and each record
      // costs a few hundred bytes besides its payload: statistics catching up on a backlog peaked at
      // 96 MB RSS in the benchmark. 20,000 records (about 2 MB of orders) keep every partition fed, given
      // wake_fetchers().
      {"queued.max.messages.kbytes", "8192"},
      {"queued.min.messages", std::to_string(kQueuedMinMessages)},
      {"reconnect.backoff.max.ms", "1000"},  // back within a second of the brokers (see producer.cpp)
  };
  if (auto status = set_properties(*conf, ours); !status) return status.error();
  if (auto status = set_properties(*conf, options.extra); !status) return status.error();
  std::string reason;
  consumer->events_ = std::make_unique<ClientEvents>(options.client_id);
  if (auto status = consumer->events_->attach(*conf); !status) return status.error();
  consumer->handle_.reset(RdKafka::KafkaConsumer::create(conf.get(), reason));
  if (!consumer->handle_) return make_error(Errc::bad_request, "cannot create Kafka consumer: " + reason);
  return consumer;
}

Consumer::~Consumer() { close(); }

void Consumer::close() {
  if (closed_ || !handle_) return;
  closed_ = true;
  handle_->close();
}

Status Consumer::assign(const Positions& start) {
  PartitionList list;
  for (const auto& [partition, offset] : start) {
    list.items.push_back(RdKafka::TopicPartition::create(options_.topic, partition, offset));
  }
  if (const auto code = handle_->assign(list.items); code != RdKafka::ERR_NO_ERROR) {
    return to_error(code, "cannot assign partitions of " + options_.topic);
  }
  next_.clear();
  for (const auto& [partition, offset] : start) next_[partition] = std::max<std::int64_t>(offset, 0);
  return Ok{};
}

Status Consumer::add(const Positions& start) {
  PartitionList list;
  for (const auto& [partition, offset] : start) {
    list.items.push_back(RdKafka::TopicPartition::create(options_.topic, partition, offset));
  }
  // Without a group subscription librdkafka takes incremental changes to a manual assignment as well.
  if (std::unique_ptr<RdKafka::Error> error(handle_->incremental_assign(list.items)); error) {
    return to_error(error->code(), "cannot add partitions of " + options_.topic + ": " + error->str());
  }
  for (const auto& [partition, offset] : start) next_[partition] = std::max<std::int64_t>(offset, 0);
  return Ok{};
}

RecordBatch Consumer::poll(std::size_t max_records, std::chrono::milliseconds wait) {
  RecordBatch batch;
  auto timeout = static_cast<int>(wait.count());
  while (batch.messages_.size() < max_records) {
    std::unique_ptr<RdKafka::Message> message(handle_->consume(timeout));
    timeout = 0;  // after the first record, take only what is already fetched
    if (!message) break;
    if (message->err() == RdKafka::ERR_NO_ERROR) {
      next_[message->partition()] = message->offset() + 1;
      batch.messages_.push_back(std::move(message));
      continue;
    }
    if (message->err() != RdKafka::ERR__TIMED_OUT) {
      log::warn("kafka consumer", {{"error", message->errstr()}, {"topic", options_.topic}});
    }
    break;
  }
  if (!batch.empty()) wake_fetchers();
  return batch;
}

// librdkafka 2.0.2 stops fetching a partition once its prefetch queue holds queued.min.messages records,
// and decides again only when its broker thread next wakes up, up to a second later: reading a backlog,
// statistics waited 40 s for a million records that kcat reads in 2. (2.1 made that wait a setting,
// fetch.queue.backoff.ms.) Asking a partition's leader for its watermarks is a request through that
// broker thread, which wakes it. So, at most every 20 ms, ask for each partition that is far enough
// behind (by the watermark of its last fetch) that its queue may be full. The answer also keeps lag()
// current.
void Consumer::wake_fetchers() {
  constexpr auto kInterval = std::chrono::milliseconds(20);
  constexpr int kTimeoutMs = 1000;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_wake_ < kInterval) return;
  last_wake_ = now;
  for (const auto& [partition, next] : next_) {
    std::int64_t low = 0;
    std::int64_t high = 0;
    if (handle_->get_watermark_offsets(options_.topic, partition, &low, &high) != RdKafka::ERR_NO_ERROR ||
        high - next < kQueuedMinMessages / 2) {
      continue;
    }
    handle_->query_watermark_offsets(options_.topic, partition, &low, &high, kTimeoutMs);
  }
}

Status Consumer::commit(const Positions& next) {
  if (next.empty()) return Ok{};
  PartitionList list;
  for (const auto& [partition, offset] : next) {
    list.items.push_back(RdKafka::TopicPartition::create(options_.topic, partition, offset));
  }
  if (const auto code = handle_->commitSync(list.items); code != RdKafka::ERR_NO_ERROR) {
    return to_error(code, "cannot commit offsets of " + options_.topic);
  }
  for (const auto* item : list.items) {
    if (item->err() != RdKafka::ERR_NO_ERROR) {
      return to_error(item->err(), "cannot commit offset of partition " + std::to_string(item->partition()));
    }
  }
  return Ok{};
}

Result<Positions> Consumer::committed(const std::vector<int>& partitions, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    PartitionList list;
    for (int partition : partitions)
      list.items.push_back(RdKafka::TopicPartition::create(options_.topic, partition));
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    auto code = handle_->committed(list.items,
                                   static_cast<int>(std::max(left, std::chrono::milliseconds(100)).count()));
    for (const auto* item : list.items) {
      if (code == RdKafka::ERR_NO_ERROR && item->err() != RdKafka::ERR_NO_ERROR) code = item->err();
    }
    if (code == RdKafka::ERR_NO_ERROR) {
      Positions positions;
      for (const auto* item : list.items) {
        if (item->offset() >= 0) positions[item->partition()] = item->offset();
      }
      return positions;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return to_error(code, "cannot read committed offsets of " + options_.topic);
    }
    log::info("waiting for the group coordinator",
              {{"topic", options_.topic}, {"error", RdKafka::err2str(code)}});
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

metrics::GaugeRegistration register_lag_gauge(const Consumer& consumer, std::function<Positions()> next) {
  return metrics::registry().gauge(
      "kafka_consumer_lag", "Records in a partition not yet handled", [&consumer, next = std::move(next)] {
        std::vector<std::pair<metrics::Labels, double>> out;
        for (const auto& [partition, lag] : consumer.lag(next())) {
          out.push_back({{{"partition", std::to_string(partition)}}, static_cast<double>(lag)});
        }
        return out;
      });
}

Positions Consumer::lag(const Positions& next) const {
  Positions lag;
  for (const auto& [partition, offset] : next) {
    std::int64_t low = 0;
    std::int64_t high = 0;
    if (handle_->get_watermark_offsets(options_.topic, partition, &low, &high) == RdKafka::ERR_NO_ERROR &&
        high >= 0) {
      lag[partition] = std::max<std::int64_t>(0, high - std::max(offset, low));
    }
  }
  return lag;
}

}  // namespace kd::kafka
