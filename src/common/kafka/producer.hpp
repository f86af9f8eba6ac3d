// An idempotent Kafka producer whose writes complete as asio operations: an HTTP handler can
// `co_await producer.async_produce(...)` and resume on its own thread when the broker has acknowledged
// the write (or failed it), while concurrent writes share librdkafka's batches.
#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "common/kafka/client_config.hpp"
#include "common/kafka/client_events.hpp"
#include "common/kafka/durability.hpp"
#include "common/net.hpp"
#include "common/result.hpp"

namespace kd::kafka {

struct ProducerOptions {
  std::string brokers;
  std::string client_id = "kafka-demo";
  // Upper bound on a write, retries included (message.timeout.ms): after it the write is reported
  // failed, so a request never hangs on Kafka.
  std::chrono::milliseconds delivery_timeout = kDefaultDeliveryTimeout;
  int linger_ms = kDefaultLingerMs;
  // always: every batch waits linger_ms (librdkafka's linger.ms). busy: a write begun when the shop is quiet
  // (none of this producer's writes awaits its acknowledgement, and none was begun for kQuietGap) goes at
  // once, by a second librdkafka handle that does not linger; the rest linger as before. librdkafka's
  // linger is fixed per handle.
  LingerWhen linger_when = LingerWhen::always;
  Properties extra;
  // Called once, on librdkafka's thread, when the producer has failed fatally (see ClientEvents).
  std::function<void(const std::string&)> on_fatal;
};

struct Delivery {
  int partition = 0;
  std::int64_t offset = 0;
};

inline constexpr int kAnyPartition =
    -1;  // RdKafka::Topic::PARTITION_UA: chosen by the partitioner from the key

// A write, as views: everything is copied before async_produce returns.
struct OutgoingRecord {
  std::string_view topic;
  int partition = kAnyPartition;
  std::optional<std::string_view> key;
  std::string_view value;
  std::vector<std::pair<std::string_view, std::string_view>> headers;
};

// Type-erased continuation of one write, owned by librdkafka (as the message's opaque) while in flight.
class DeliveryWaiter {
 public:
  virtual ~DeliveryWaiter() = default;
  virtual void complete(Result<Delivery> result) = 0;
};

class Producer {
 public:
  static Result<std::unique_ptr<Producer>> create(const ProducerOptions& options);
  // Flushes (bounded by the delivery timeout), then stops the poll threads and destroys the handles.
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Completes with Result<Delivery> on the completion handler's executor. Kafka acknowledged the write
  // with acks=all when the result is ok. On failure the error says whether the write may still be in
  // Kafka: `outcome_unknown` when a broker may have stored it before the delivery timeout (librdkafka's
  // "possibly persisted"), `unavailable` when it certainly is not there. librdkafka copies everything when
  // the write is queued. With use_awaitable that happens when the operation is awaited, so the viewed
  // buffers must live until then (the record itself is held by value).
  template <class CompletionToken>
  auto async_produce(OutgoingRecord record, CompletionToken&& token) {
    return asio::async_initiate<CompletionToken, void(Result<Delivery>)>(
        [this, record = std::move(record)](auto handler) {
          enqueue(record, make_waiter(std::move(handler)));
        },
        token);
  }
  template <class CompletionToken>
  auto async_produce(std::string_view topic, int partition, std::string_view payload,
                     CompletionToken&& token) {
    return async_produce(OutgoingRecord{.topic = topic, .partition = partition, .value = payload},
                         std::forward<CompletionToken>(token));
  }

  // Fetches the topic's metadata and connects to its leaders now, so the first order does not pay for
  // it; returns the topic's partition count as the producer now knows it (-1: no such topic). librdkafka
  // fails a write to a partition its metadata lacks at once, and asks again only every few minutes: a
  // partition added since (a new region) is writable once this counted it (with two handles, both know
  // it). Blocking.
  Result<int> warm_up(const std::string& topic, std::chrono::milliseconds timeout);
  // The topic's replication and min.insync.replicas as Kafka reports them, asked over this producer's own
  // connections (see admin.hpp). Blocking.
  Result<TopicDurability> describe_durability(const std::string& topic, std::chrono::milliseconds timeout);
  // Waits until every write is acknowledged or failed; false if some are still pending at the timeout.
  bool flush(std::chrono::milliseconds timeout);
  int pending() const;
  // True while librdkafka's statistics show a broker up (to each handle).
  bool brokers_reachable() const;
  // Why not, with librdkafka's last error (a refused password, an untrusted certificate); nullopt if up.
  std::optional<std::string> unreachable_reason() const;
  // Set once the producer has failed fatally: every write since fails, whatever Kafka's state.
  std::optional<std::string> fatal_error() const;
  // Makes librdkafka raise a fatal error as a broker's fatal answer would (the fault tests' way in).
  void raise_fatal_error_for_test(const std::string& reason);

 private:
  class Callbacks;
  template <class Handler>
  class Waiter;
  // One librdkafka handle, its events, and the thread serving its delivery reports.
  struct Client {
    std::unique_ptr<ClientEvents> events;
    std::unique_ptr<RdKafka::Producer> handle;
    std::jthread poller;  // declared last, so stopped before the handle goes
  };

  Producer() = default;
  static Result<std::unique_ptr<Client>> open_client(const ProducerOptions& options, bool express,
                                                     Callbacks& callbacks);
  static Result<int> warm_up(RdKafka::Producer& handle, const std::string& topic,
                             std::chrono::milliseconds timeout);
  // Flushes (bounded by the delivery timeout), fails what is left, stops the poll thread.
  void close(Client& client);
  // Whether this write goes by the express handle (lingering only when busy); notes the write's time.
  bool quiet();
  // The least time since the last write for the shop to count as quiet: below 200 orders/s an instance.
  static constexpr std::chrono::milliseconds kQuietGap{5};
  template <class Handler>
  static std::unique_ptr<DeliveryWaiter> make_waiter(Handler handler);
  void enqueue(const OutgoingRecord& record, std::unique_ptr<DeliveryWaiter> waiter);

  ProducerOptions options_;
  // Declared before the handles, so destroyed after them: librdkafka calls them until they are gone.
  std::unique_ptr<Callbacks> callbacks_;
  std::unique_ptr<Client> lingering_;
  std::unique_ptr<Client> express_;                            // only when lingering only when busy
  std::atomic<std::chrono::steady_clock::rep> last_write_{0};  // steady_clock ticks of the last write
};

template <class Handler>
class Producer::Waiter final : public DeliveryWaiter {
 public:
  explicit Waiter(Handler handler) : handler_(std::move(handler)) {}
  // Runs on the poll thread; hands the result to the handler's own executor (the io thread). The
  // io_context outlives the producer (run_service keeps it running), so no work guard is needed.
  void complete(Result<Delivery> result) override {
    auto executor = asio::get_associated_executor(handler_);
    asio::post(executor, [handler = std::move(handler_), result = std::move(result)]() mutable {
      std::move(handler)(std::move(result));
    });
  }

 private:
  Handler handler_;
};

template <class Handler>
std::unique_ptr<DeliveryWaiter> Producer::make_waiter(Handler handler) {
  return std::make_unique<Waiter<Handler>>(std::move(handler));
}

}  // namespace kd::kafka
