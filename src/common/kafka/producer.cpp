#include "common/kafka/producer.hpp"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <mutex>
#include <set>

#include "common/kafka/admin.hpp"
#include "common/kafka/errors.hpp"
#include "common/log.hpp"

namespace kd::kafka {

class Producer::Callbacks final : public RdKafka::DeliveryReportCb {
 public:
  // Called by both handles' poll threads.
  void dr_cb(RdKafka::Message& message) override {
    std::unique_ptr<DeliveryWaiter> waiter(static_cast<DeliveryWaiter*>(message.msg_opaque()));
    if (!waiter) return;
    in_flight.fetch_sub(1, std::memory_order_relaxed);
    if (message.err() != RdKafka::ERR_NO_ERROR) {
      if (message.err() == RdKafka::ERR__UNKNOWN_PARTITION) ask_again_for(message.topic_name());
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

  // Writes handed to librdkafka and not yet reported delivered or failed: "busy" (LingerWhen::busy).
  std::atomic<int> in_flight{0};

  // A write failed for a partition a handle does not know: its view of the topic is older than the topic
  // (a partition added since, or a broker that had not heard of it answered the last metadata request).
  // librdkafka would ask again only every topic.metadata.refresh.interval.ms (5 minutes): each handle's
  // poll thread asks at once (refresh_if_asked).
  void ask_again_for(const std::string& topic) {
    std::lock_guard lock(stale_mutex_);
    stale_topics_.insert(topic);
    stale_generation_.fetch_add(1, std::memory_order_release);
  }
  // Called by a handle's poll thread: asks for the topics' metadata if asked to since `seen`, at most
  // once per kAskAgainEvery (a write refused for a partition Kafka really lacks must not flood it).
  void refresh_if_asked(RdKafka::Producer& handle, std::uint64_t& seen,
                        std::chrono::steady_clock::time_point& last_asked) {
    const auto generation = stale_generation_.load(std::memory_order_acquire);
    const auto now = std::chrono::steady_clock::now();
    if (generation == seen || now - last_asked < kAskAgainEvery) return;
    seen = generation;
    last_asked = now;
    std::set<std::string> topics;
    {
      std::lock_guard lock(stale_mutex_);
      topics = stale_topics_;
    }
    for (const auto& topic : topics) {
      auto known = Producer::warm_up(handle, topic, kAskAgainTimeout);
      log::info(
          "asked Kafka again for the topic's partitions after a write to one this producer did not know",
          {{"topic", topic}, {"partitions", known ? *known : -1}});
    }
  }

 private:
  static constexpr std::chrono::seconds kAskAgainEvery{1};
  // Delivery reports wait meanwhile; with brokers up an answer takes milliseconds.
  static constexpr std::chrono::seconds kAskAgainTimeout{1};
  std::mutex stale_mutex_;
  std::set<std::string> stale_topics_;  // the topics of this producer's writes: one or two
  std::atomic<std::uint64_t> stale_generation_{0};
};

Result<std::unique_ptr<Producer::Client>> Producer::open_client(const ProducerOptions& options, bool express,
                                                                Callbacks& callbacks) {
  const auto client_id = express ? options.client_id + "-express" : options.client_id;
  const int linger_ms = express ? 0 : options.linger_ms;
  auto client = std::make_unique<Client>();
  client->events = std::make_unique<ClientEvents>(client_id, options.on_fatal);
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string reason;
  // Idempotence implies acks=all and bounded in-flight requests: the broker acknowledges only what every
  // in-sync replica has, and a retried batch is never written twice nor reordered.
  const Properties ours = {
      {"bootstrap.servers", options.brokers},
      {"client.id", client_id},
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"message.timeout.ms", std::to_string(options.delivery_timeout.count())},
      {"linger.ms", std::to_string(linger_ms)},
      {"socket.nagle.disable", "true"},
      // librdkafka backs off reconnecting to a dead broker up to 10 s by default, and it is the woken broker
      // thread that expires queued writes: with every broker down, answers came 5-10 s after a 5 s delivery
      // timeout (seen in the brokers_down fault test). At most 1 s keeps the bound and recovers sooner.
      {"reconnect.backoff.max.ms", "1000"},
  };
  if (auto status = set_properties(*conf, ours); !status) return status.error();
  Properties extra = options.extra;
  if (express) extra.erase("linger.ms");  // never lingers, whatever the operator's tuning says
  if (auto status = set_properties(*conf, extra); !status) return status.error();
  if (auto status = client->events->attach(*conf); !status) return status.error();
  if (conf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(&callbacks), reason) !=
      RdKafka::Conf::CONF_OK) {
    return make_error(Errc::internal, "Kafka producer callbacks: " + reason);
  }
  client->handle.reset(RdKafka::Producer::create(conf.get(), reason));
  if (!client->handle) return make_error(Errc::bad_request, "cannot create Kafka producer: " + reason);
  client->poller = std::jthread([raw = client->handle.get(), &callbacks](std::stop_token stop) {
    std::uint64_t seen = 0;
    std::chrono::steady_clock::time_point last_asked{};
    while (!stop.stop_requested()) {
      raw->poll(50);
      callbacks.refresh_if_asked(*raw, seen, last_asked);
    }
  });
  return client;
}

Result<std::unique_ptr<Producer>> Producer::create(const ProducerOptions& options) {
  std::unique_ptr<Producer> producer(new Producer());
  producer->options_ = options;
  producer->callbacks_ = std::make_unique<Callbacks>();
  auto lingering = open_client(options, false, *producer->callbacks_);
  if (!lingering) return lingering.error();
  producer->lingering_ = std::move(*lingering);
  if (options.linger_when == LingerWhen::busy && options.linger_ms > 0) {
    auto express = open_client(options, true, *producer->callbacks_);
    if (!express) return express.error();
    producer->express_ = std::move(*express);
  }
  return producer;
}

void Producer::close(Client& client) {
  const auto timeout = options_.delivery_timeout + std::chrono::seconds(1);
  if (client.handle->flush(static_cast<int>(timeout.count())) != RdKafka::ERR_NO_ERROR) {
    // Fail what is left rather than leave callers waiting: their waiters complete with a purge error.
    client.handle->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
    client.handle->poll(0);
    log::warn("kafka producer closed with writes still pending", {{"pending", client.handle->outq_len()}});
  }
  client.poller.request_stop();
  if (client.poller.joinable()) client.poller.join();
  client.handle->poll(0);  // deliver any last reports
}

Producer::~Producer() {
  if (express_) close(*express_);
  if (lingering_) close(*lingering_);
}

Result<int> Producer::warm_up(const std::string& topic, std::chrono::milliseconds timeout) {
  auto known = warm_up(*lingering_->handle, topic, timeout);
  if (!known || !express_) return known;
  // Its own connections and metadata too, or the first quiet order would pay for them. Brokers learn of a
  // new partition one by one, so the two handles may be told different counts: a partition counts once
  // both know it, since a write may take either.
  auto express_known = warm_up(*express_->handle, topic, timeout);
  if (!express_known) return express_known;
  return std::min(*known, *express_known);
}

Result<int> Producer::warm_up(RdKafka::Producer& handle, const std::string& topic,
                              std::chrono::milliseconds timeout) {
  std::string reason;
  std::unique_ptr<RdKafka::Topic> topic_handle(RdKafka::Topic::create(&handle, topic, nullptr, reason));
  if (!topic_handle) return make_error(Errc::bad_request, "topic " + topic + ": " + reason);
  RdKafka::Metadata* raw = nullptr;
  const auto code = handle.metadata(false, topic_handle.get(), &raw, static_cast<int>(timeout.count()));
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
  return kafka::describe_durability(lingering_->handle->c_ptr(), topic, timeout);
}

void Producer::raise_fatal_error_for_test(const std::string& reason) {
  rd_kafka_test_fatal_error(lingering_->handle->c_ptr(), RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                            reason.c_str());
}

int Producer::pending() const {
  return lingering_->handle->outq_len() + (express_ ? express_->handle->outq_len() : 0);
}

bool Producer::brokers_reachable() const {
  return lingering_->events->brokers_up() && (!express_ || express_->events->brokers_up());
}

std::optional<std::string> Producer::unreachable_reason() const {
  if (auto reason = lingering_->events->unreachable_reason()) return reason;
  return express_ ? express_->events->unreachable_reason() : std::nullopt;
}

std::optional<std::string> Producer::fatal_error() const {
  if (auto fatal = lingering_->events->fatal_error()) return fatal;
  return express_ ? express_->events->fatal_error() : std::nullopt;
}

bool Producer::flush(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool flushed = true;
  for (Client* client : {express_.get(), lingering_.get()}) {
    if (client == nullptr) continue;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    flushed = client->handle->flush(static_cast<int>(std::max<std::int64_t>(left.count(), 0))) ==
                  RdKafka::ERR_NO_ERROR &&
              flushed;
  }
  return flushed;
}

bool Producer::quiet() {
  if (!express_) return false;
  const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  const auto last = last_write_.exchange(now, std::memory_order_relaxed);
  // Nothing in flight and no write for a while: no other write is coming soon to share a request, so this
  // one goes by the handle that does not wait. Either alone is not enough: under load the writes in flight
  // are often all acknowledged at once (each write after that went alone: a third of the maximum lost at 64
  // connections, bench/README.md item 10), and writes a millisecond apart do share requests.
  return callbacks_->in_flight.load(std::memory_order_relaxed) == 0 &&
         now - last >= std::chrono::steady_clock::duration(kQuietGap).count();
}

void Producer::enqueue(const OutgoingRecord& record, std::unique_ptr<DeliveryWaiter> waiter) {
  RdKafka::Producer& handle = quiet() ? *express_->handle : *lingering_->handle;
  RdKafka::Headers* headers = nullptr;
  if (!record.headers.empty()) {
    headers = RdKafka::Headers::create();
    for (const auto& [name, value] : record.headers)
      headers->add(std::string(name), value.data(), value.size());
  }
  // Counted before librdkafka may report it, so the count never dips below what is in flight.
  callbacks_->in_flight.fetch_add(1, std::memory_order_relaxed);
  // RK_MSG_COPY: librdkafka owns its copy, so the caller's buffers may go at once.
  const auto code = handle.produce(std::string(record.topic), record.partition,
                                   RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(record.value.data()),
                                   record.value.size(), record.key ? record.key->data() : nullptr,
                                   record.key ? record.key->size() : 0, 0, headers, waiter.get());
  if (code == RdKafka::ERR_NO_ERROR) {
    waiter.release();  // now owned by librdkafka until its delivery report, as are the headers
    return;
  }
  callbacks_->in_flight.fetch_sub(1, std::memory_order_relaxed);
  delete headers;  // only a successful produce() takes them
  if (code == RdKafka::ERR__UNKNOWN_PARTITION) callbacks_->ask_again_for(std::string(record.topic));
  // A full queue means Kafka has not kept up for a while (100k writes waiting): answering "retry later"
  // at once is better back-pressure than blocking the event loop.
  waiter->complete(to_error(code, "Kafka did not take the write"));
}

}  // namespace kd::kafka
