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
};

Result<std::unique_ptr<Producer>> Producer::create(const ProducerOptions& options) {
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
      {"linger.ms", std::to_string(options.linger_ms)},
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
  producer->poller_ = std::jthread([raw = producer.get()](std::stop_token stop) {
    while (!stop.stop_requested()) raw->handle_->poll(50);
  });
  return producer;
}

Producer::~Producer() {
  if (!handle_) return;
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

bool Producer::flush(std::chrono::milliseconds timeout) {
  return handle_->flush(static_cast<int>(timeout.count())) == RdKafka::ERR_NO_ERROR;
}

void Producer::enqueue(const OutgoingRecord& record, std::unique_ptr<DeliveryWaiter> waiter) {
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
    waiter.release();  // now owned by librdkafka until its delivery report, as are the headers
    return;
  }
  delete headers;  // only a successful produce() takes them
  // A full queue means Kafka has not kept up for a while (100k writes waiting): answering "retry later"
  // at once is better back-pressure than blocking the event loop.
  waiter->complete(to_error(code, "Kafka did not take the write"));
}

}  // namespace kd::kafka
