// The producer that lingers only when busy (common/kafka/send_pacer.hpp) against the real cluster: a write
// begun with nothing in flight leaves at once; one begun while another awaits its acknowledgement is held
// for the batch, which reaches Kafka once, in the order begun, when flushed and when the producer goes.
#include "common/kafka/producer.hpp"

#include "cluster_fixture.hpp"

namespace kd::test {
namespace {

// How long a write to a stuck topic stays in flight before it is reported failed.
constexpr auto kStuckFor = 4s;

// A topic Kafka refuses writes to: two replicas, and at least three must have each write. librdkafka
// retries NOT_ENOUGH_REPLICAS, so a write to it stays in flight for seconds.
std::string stuck_topic() {
  static std::atomic<int> counter{0};
  const auto name = "it-busy-stuck-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  auto created = kafka::ensure_topic(
      brokers(),
      {.name = name, .partitions = 3, .replication_factor = 2, .config = {{"min.insync.replicas", "3"}}}, {},
      30s);
  if (!created) ADD_FAILURE() << created.error().message;
  return name;
}

// A lingering-when-busy producer on its own io thread.
class BusyProducer {
 public:
  explicit BusyProducer(std::chrono::milliseconds linger) : work_(asio::make_work_guard(io_)) {
    auto created = kafka::Producer::create({.brokers = brokers(),
                                            .client_id = "it-busy-producer",
                                            .delivery_timeout = kStuckFor,
                                            .linger_ms = static_cast<int>(linger.count()),
                                            .linger_when = kafka::LingerWhen::busy,
                                            .executor = io_.get_executor()});
    if (!created) {
      ADD_FAILURE() << created.error().message;
      return;
    }
    producer_ = std::move(*created);
    thread_ = std::jthread([this] { io_.run(); });
  }
  ~BusyProducer() {
    destroy();
    work_.reset();
    thread_ = {};
  }

  kafka::Producer& operator*() { return *producer_; }
  kafka::Producer* operator->() { return producer_.get(); }

  // Begins each write on the io thread, as the order service does, in this order; results arrive in
  // `results` (index = the write's place).
  void begin(const std::string& topic, int partition, const std::vector<std::string>& payloads) {
    std::promise<void> begun;
    asio::post(io_, [&] {
      for (const auto& payload : payloads) {
        const auto index = next_++;
        producer_->async_produce(topic, partition, payload, [this, index](Result<kafka::Delivery> result) {
          std::lock_guard lock(mutex_);
          results_.insert_or_assign(index, std::move(result));
        });
      }
      begun.set_value();
    });
    begun.get_future().wait();
  }
  std::size_t completed() {
    std::lock_guard lock(mutex_);
    return results_.size();
  }
  std::map<std::size_t, Result<kafka::Delivery>> results() {
    std::lock_guard lock(mutex_);
    return results_;
  }
  // Destroyed on the io thread, where the order service's producer goes too.
  void destroy() {
    if (!producer_) return;
    std::promise<void> gone;
    asio::post(io_, [&] {
      producer_.reset();
      gone.set_value();
    });
    gone.get_future().wait();
  }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::unique_ptr<kafka::Producer> producer_;
  std::jthread thread_;
  std::mutex mutex_;
  std::size_t next_ = 0;
  std::map<std::size_t, Result<kafka::Delivery>> results_;
};

std::vector<std::string> payloads(const std::string& stem, int count) {
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) out.push_back(stem + "-" + std::to_string(i));
  return out;
}

// Every write acknowledged, at increasing offsets of `partition` in the order begun.
void expect_acknowledged_in_order(const std::map<std::size_t, Result<kafka::Delivery>>& results,
                                  std::size_t count, int partition) {
  ASSERT_EQ(results.size(), count);
  std::int64_t last = -1;
  for (const auto& [index, result] : results) {
    ASSERT_TRUE(result) << "write " << index << ": " << result.error().message;
    EXPECT_EQ(result->partition, partition);
    EXPECT_GT(result->offset, last) << "write " << index;
    last = result->offset;
  }
}

TEST(BusyProducer, WritesBegunWithNothingInFlightLeaveAtOnceAndInOrder) {
  const auto topic = fresh_topic("busy-quiet");
  BusyProducer producer(std::chrono::minutes(10));
  ASSERT_TRUE(producer->warm_up(topic, 10s));
  // Were they held, they would wait ten minutes: every one is acknowledged within the 20 s.
  producer.begin(topic, 2, payloads("first", 4));
  ASSERT_TRUE(eventually([&] { return producer.completed() == 4; }));
  producer.begin(topic, 2, payloads("second", 3));
  ASSERT_TRUE(eventually([&] { return producer.completed() == 7; }));
  expect_acknowledged_in_order(producer.results(), 7, 2);

  const auto stored = read_back(topic, {2}, 7);
  ASSERT_EQ(stored.size(), 7u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(stored[i].value, "first-" + std::to_string(i));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(stored[4 + i].value, "second-" + std::to_string(i));
}

TEST(BusyProducer, WritesBegunWhileAnotherIsInFlightWaitForTheBatchAndAFlushSendsIt) {
  const auto topic = fresh_topic("busy-flush");
  const auto stuck = stuck_topic();
  BusyProducer producer(std::chrono::minutes(10));
  ASSERT_TRUE(producer->warm_up(topic, 10s));
  ASSERT_TRUE(producer->warm_up(stuck, 10s));
  producer.begin(stuck, 0, payloads("stuck", 1));
  // In flight (librdkafka retries it): these are held for the batch ten minutes on.
  producer.begin(topic, 0, payloads("held", 3));
  EXPECT_EQ(producer->pending(), 4);
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(producer.completed(), 0u);

  producer->flush(100ms);  // sends the batch; the stuck write is still pending, so it returns false
  ASSERT_TRUE(eventually([&] { return producer.completed() == 3; }));
  auto results = producer.results();
  results.erase(0);
  std::int64_t last = -1;
  for (const auto& [index, result] : results) {
    ASSERT_TRUE(result) << "write " << index << ": " << result.error().message;
    EXPECT_GT(result->offset, last);
    last = result->offset;
  }
  // And the stuck write is reported too (seen failed at its delivery timeout, and once stored): not lost.
  ASSERT_TRUE(eventually([&] { return producer.completed() == 4; }));
  EXPECT_EQ(read_back(topic, {0}, 3).size(), 3u);
}

TEST(BusyProducer, WhatIsHeldWhenTheProducerGoesIsWrittenAndAcknowledged) {
  const auto topic = fresh_topic("busy-close");
  const auto stuck = stuck_topic();
  BusyProducer producer(std::chrono::minutes(10));
  ASSERT_TRUE(producer->warm_up(topic, 10s));
  ASSERT_TRUE(producer->warm_up(stuck, 10s));
  producer.begin(stuck, 1, payloads("stuck", 1));
  producer.begin(topic, 1, payloads("held", 3));
  EXPECT_EQ(producer->pending(), 4);
  producer.destroy();  // flushes: the held batch leaves; the stuck write is reported by its delivery timeout
  ASSERT_TRUE(eventually([&] { return producer.completed() == 4; }));
  const auto results = producer.results();
  for (std::size_t i = 1; i < 4; ++i) EXPECT_TRUE(results.at(i)) << results.at(i).error().message;
  EXPECT_EQ(read_back(topic, {1}, 3).size(), 3u);
}

TEST(BusyProducer, NeedsAnExecutorForItsBatches) {
  const auto created =
      kafka::Producer::create({.brokers = brokers(), .linger_ms = 1, .linger_when = kafka::LingerWhen::busy});
  ASSERT_FALSE(created);
  EXPECT_NE(created.error().message.find("executor"), std::string::npos) << created.error().message;
}

}  // namespace
}  // namespace kd::test
