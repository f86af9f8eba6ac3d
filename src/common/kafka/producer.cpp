#include "common/kafka/producer.hpp"

#include <librdkafka/rdkafka.h>

#include "common/kafka/admin.hpp"
#include "common/kafka/errors.hpp"
#include "common/log.hpp"

namespace kd::kafka {

class Producer::Callbacks final : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& message) override {
    std::unique_ptr<DeliveryWaiter> waiter(static_cast<DeliveryWaiter*>(message.msg_opaque()));
    if (!waiter) return;
    in_flight.fetch_sub(1, std::memory_order_relaxed);
    if (message.err() != RdKafka::ERR_NO_ERROR) {
      auto error = to_error(message.err(), "Kafka did not acknowledge the write");
      // Sent, and no answer before the timeout: a broker may have stored it. Callers must not report
      // that as a plain failure, nor write it again.
      if (message.status() == RdKafka::Message::MSG_STATUS_POSSIBLY_PERSISTED) {
        error = Error{Errc::outcome_unknown, error.message + " (it may have been stored)"};
      }
      waiter->complete(std::move(error));
      return;
    }
    waiter->complete(Delivery{message.partition(), message.offset()});
  }

  // Writes handed to librdkafka and not yet reported delivered or failed (what "busy" means to the pacer).
  std::atomic<int> in_flight{0};
};

// A write held for the next batch: owned copies, since the caller's buffers may go once enqueue returns.
struct Producer::HeldWrite {
  HeldWrite(const OutgoingRecord& record, std::unique_ptr<DeliveryWaiter> waiter)
      : topic(record.topic),
        partition(record.partition),
        key(record.key ? std::optional<std::string>(*record.key) : std::nullopt),
        value(record.value),
        waiter(std::move(waiter)) {
    for (const auto& [name, content] : record.headers) headers.emplace_back(name, content);
  }
  // Can go with others in one produce_batch call, which takes no headers and needs a fixed partition.
  bool batchable() const { return headers.empty() && partition != kAnyPartition; }
  OutgoingRecord view() const {
    OutgoingRecord record{.topic = topic, .partition = partition, .value = value};
    if (key) record.key = *key;
    for (const auto& [name, content] : headers) record.headers.emplace_back(name, content);
    return record;
  }

  std::string topic;
  int partition;
  std::optional<std::string> key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
  std::unique_ptr<DeliveryWaiter> waiter;
};

struct Producer::Pacing {
  Pacing(const asio::any_io_executor& executor, std::chrono::milliseconds linger, Producer* owner)
      : pacer(linger), timer(executor), owner(owner) {}

  std::mutex mutex;  // guards all below but the timer, which only the executor's thread touches
  SendPacer pacer;
  std::vector<HeldWrite> held;
  asio::steady_timer timer;
  Producer* owner;  // null once the producer is going: a late timer then does nothing
};

Result<std::unique_ptr<Producer>> Producer::create(const ProducerOptions& options) {
  const bool linger_when_busy = options.linger_when == LingerWhen::busy && options.linger_ms > 0;
  if (linger_when_busy && !options.executor) {
    return make_error(Errc::internal, "a producer that lingers only when busy needs an executor");
  }
  std::unique_ptr<Producer> producer(new Producer());
  producer->options_ = options;
  producer->callbacks_ = std::make_unique<Callbacks>();
  producer->events_ = std::make_unique<ClientEvents>(options.client_id, options.on_fatal);

  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string reason;
  // Idempotence implies acks=all and bounded in-flight requests: the broker acknowledges only what every
  // in-sync replica has, and a retried batch is never written twice nor reordered.
  const Properties ours = {
      {"bootstrap.servers", options.brokers},
      {"client.id", options.client_id},
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"message.timeout.ms", std::to_string(options.delivery_timeout.count())},
      {"linger.ms", std::to_string(linger_when_busy ? 0 : options.linger_ms)},
      {"socket.nagle.disable", "true"},
      // librdkafka backs off reconnecting to a dead broker up to 10 s by default, and it is the woken broker
      // thread that expires queued writes: with every broker down, answers came 5-10 s after a 5 s delivery
      // timeout (seen in the brokers_down fault test). At most 1 s keeps the bound and recovers sooner.
      {"reconnect.backoff.max.ms", "1000"},
  };
  if (auto status = set_properties(*conf, ours); !status) return status.error();
  if (auto status = set_properties(*conf, options.extra); !status) return status.error();
  if (auto status = producer->events_->attach(*conf); !status) return status.error();
  if (conf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(producer->callbacks_.get()), reason) !=
      RdKafka::Conf::CONF_OK) {
    return make_error(Errc::internal, "Kafka producer callbacks: " + reason);
  }
  producer->handle_.reset(RdKafka::Producer::create(conf.get(), reason));
  if (!producer->handle_) return make_error(Errc::bad_request, "cannot create Kafka producer: " + reason);
  if (linger_when_busy) {
    producer->pacing_ = std::make_shared<Pacing>(
        options.executor, std::chrono::milliseconds(options.linger_ms), producer.get());
  }
  producer->poller_ = std::jthread([raw = producer.get()](std::stop_token stop) {
    while (!stop.stop_requested()) raw->handle_->poll(50);
  });
  return producer;
}

Producer::~Producer() {
  if (!handle_) return;
  if (pacing_) {
    std::lock_guard lock(pacing_->mutex);
    send_held_batch();
    pacing_->owner = nullptr;
  }
  if (!flush(options_.delivery_timeout + std::chrono::seconds(1))) {
    // Fail what is left rather than leave callers waiting: their waiters complete with a purge error.
    handle_->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
    handle_->poll(0);
    log::warn("kafka producer closed with writes still pending", {{"pending", handle_->outq_len()}});
  }
  poller_.request_stop();
  if (poller_.joinable()) poller_.join();
  handle_->poll(0);  // deliver any last reports
}

Result<int> Producer::warm_up(const std::string& topic, std::chrono::milliseconds timeout) {
  std::string reason;
  std::unique_ptr<RdKafka::Topic> handle(RdKafka::Topic::create(handle_.get(), topic, nullptr, reason));
  if (!handle) return make_error(Errc::bad_request, "topic " + topic + ": " + reason);
  RdKafka::Metadata* raw = nullptr;
  const auto code = handle_->metadata(false, handle.get(), &raw, static_cast<int>(timeout.count()));
  std::unique_ptr<RdKafka::Metadata> metadata(raw);
  if (code != RdKafka::ERR_NO_ERROR) return to_error(code, "cannot read metadata of topic " + topic);
  for (const auto* entry : *metadata->topics()) {
    if (entry->topic() == topic && entry->err() != RdKafka::ERR_UNKNOWN_TOPIC_OR_PART) {
      return static_cast<int>(entry->partitions()->size());
    }
  }
  return -1;
}

Result<TopicDurability> Producer::describe_durability(const std::string& topic,
                                                      std::chrono::milliseconds timeout) {
  return kafka::describe_durability(handle_->c_ptr(), topic, timeout);
}

void Producer::raise_fatal_error_for_test(const std::string& reason) {
  rd_kafka_test_fatal_error(handle_->c_ptr(), RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, reason.c_str());
}

int Producer::pending() const {
  if (!handle_) return 0;
  int held = 0;
  if (pacing_) {
    std::lock_guard lock(pacing_->mutex);
    held = static_cast<int>(pacing_->held.size());
  }
  return handle_->outq_len() + held;
}

bool Producer::flush(std::chrono::milliseconds timeout) {
  if (pacing_) {
    std::lock_guard lock(pacing_->mutex);
    send_held_batch();
  }
  return handle_->flush(static_cast<int>(timeout.count())) == RdKafka::ERR_NO_ERROR;
}

void Producer::enqueue(const OutgoingRecord& record, std::unique_ptr<DeliveryWaiter> waiter) {
  if (!pacing_) return send(record, std::move(waiter));
  std::unique_lock lock(pacing_->mutex);
  const auto now = SendPacer::Clock::now();
  const auto decision = pacing_->pacer.arrive(now, callbacks_->in_flight.load(std::memory_order_relaxed) > 0);
  pacing_->held.emplace_back(record, std::move(waiter));
  if (!decision.starts_batch) return;
  lock.unlock();
  const auto send_if_due = [weak = std::weak_ptr<Pacing>(pacing_)] {
    auto pacing = weak.lock();
    if (!pacing) return;
    std::lock_guard lock(pacing->mutex);
    // Not due: a flush sent that batch already and this is a stale wake-up; the new batch has its own.
    if (pacing->owner && pacing->pacer.batch_due(SendPacer::Clock::now())) pacing->owner->send_held_batch();
  };
  const auto& executor = pacing_->timer.get_executor();
  // Due now: after the handlers already queued, which may begin more writes for this batch.
  if (decision.due <= now) return asio::post(executor, send_if_due);
  // Runs at once when called on the executor's thread, as writes are meant to be.
  asio::dispatch(executor, [weak = std::weak_ptr<Pacing>(pacing_), due = decision.due, send_if_due] {
    auto pacing = weak.lock();
    if (!pacing) return;
    pacing->timer.expires_at(due);  // replaces an earlier batch's wait, if one is left
    pacing->timer.async_wait([send_if_due](const std::error_code& error) {
      if (!error) send_if_due();
    });
  });
}

void Producer::send_held_batch() {
  if (!pacing_->pacer.batch_waiting()) return;
  auto& held = pacing_->held;
  for (std::size_t begin = 0; begin < held.size();) {
    std::size_t end = begin + 1;
    if (held[begin].batchable()) {
      while (end < held.size() && held[end].batchable() && held[end].topic == held[begin].topic &&
             held[end].partition == held[begin].partition)
        ++end;
    }
    if (end - begin == 1) {
      send(held[begin].view(), std::move(held[begin].waiter));
    } else {
      send_together(std::span(held).subspan(begin, end - begin));
    }
    begin = end;
  }
  held.clear();
  pacing_->pacer.batch_sent();
}

// librdkafka takes a run of writes to one partition in a single call, under one lock and with one wake-up
// of its broker thread, so they leave in one request. Handed over one by one with linger.ms 0, the broker
// thread woke for each while the rest were still coming and sent them in several small requests: 2-3 times
// the CPU per write and a p99 of 20 ms instead of 4 at 64 writes in flight (produce benchmark).
void Producer::send_together(std::span<HeldWrite> writes) {
  rd_kafka_topic_t* topic = rd_kafka_topic_new(handle_->c_ptr(), writes.front().topic.c_str(), nullptr);
  if (topic == nullptr) {
    for (auto& write : writes) send(write.view(), std::move(write.waiter));
    return;
  }
  std::vector<rd_kafka_message_t> messages(writes.size());
  for (std::size_t i = 0; i < writes.size(); ++i) {
    auto& message = messages[i];
    message.payload = writes[i].value.data();
    message.len = writes[i].value.size();
    message.key = writes[i].key ? writes[i].key->data() : nullptr;
    message.key_len = writes[i].key ? writes[i].key->size() : 0;
    message._private = writes[i].waiter.get();
  }
  rd_kafka_produce_batch(topic, writes.front().partition, RD_KAFKA_MSG_F_COPY, messages.data(),
                         static_cast<int>(messages.size()));
  rd_kafka_topic_destroy(topic);  // librdkafka keeps its own reference while writes are queued
  for (std::size_t i = 0; i < writes.size(); ++i) {
    auto waiter = std::move(writes[i].waiter);
    if (messages[i].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      callbacks_->in_flight.fetch_add(1, std::memory_order_relaxed);
      waiter.release();  // owned by librdkafka until its delivery report
    } else {
      waiter->complete(
          to_error(static_cast<RdKafka::ErrorCode>(messages[i].err), "Kafka did not take the write"));
    }
  }
}

void Producer::send(const OutgoingRecord& record, std::unique_ptr<DeliveryWaiter> waiter) {
  RdKafka::Headers* headers = nullptr;
  if (!record.headers.empty()) {
    headers = RdKafka::Headers::create();
    for (const auto& [name, value] : record.headers)
      headers->add(std::string(name), value.data(), value.size());
  }
  // RK_MSG_COPY: librdkafka owns its copy, so the caller's buffers may go at once.
  const auto code = handle_->produce(std::string(record.topic), record.partition,
                                     RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(record.value.data()),
                                     record.value.size(), record.key ? record.key->data() : nullptr,
                                     record.key ? record.key->size() : 0, 0, headers, waiter.get());
  if (code == RdKafka::ERR_NO_ERROR) {
    callbacks_->in_flight.fetch_add(1, std::memory_order_relaxed);
    waiter.release();  // now owned by librdkafka until its delivery report, as are the headers
    return;
  }
  delete headers;  // only a successful produce() takes them
  // A full queue means Kafka has not kept up for a while (100k writes waiting): answering "retry later"
  // at once is better back-pressure than blocking the event loop.
  waiter->complete(to_error(code, "Kafka did not take the write"));
}

}  // namespace kd::kafka
