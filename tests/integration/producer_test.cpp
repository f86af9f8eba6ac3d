// The producer that lingers only when busy (PRODUCER_LINGER_WHEN=busy) against the real cluster: a write
// begun with nothing in flight goes at once by the handle that does not linger; one begun while another
// awaits its acknowledgement lingers, and reaches Kafka once, in order, when flushed or when the producer
// goes.
#include "common/kafka/producer.hpp"

#include "cluster_fixture.hpp"

namespace kd::test {
namespace {

// A write that lingers waits 8 s (librdkafka wants the delivery timeout above it); one that goes at once is
// acknowledged well within 4.
constexpr auto kLinger = 8s;
constexpr auto kAtOnce = 4s;
constexpr auto kDeliveryTimeout = 12s;

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

// A producer that lingers 8 s, but only when busy; each write's result kept by its place.
class BusyProducer {
 public:
  BusyProducer() {
    auto created = kafka::Producer::create({.brokers = brokers(),
                                            .client_id = "it-busy-producer",
                                            .delivery_timeout = kDeliveryTimeout,
                                            .linger_ms = static_cast<int>(kLinger / 1ms),
                                            .linger_when = kafka::LingerWhen::busy});
    if (!created) {
      ADD_FAILURE() << created.error().message;
      return;
    }
    producer_ = std::move(*created);
  }

  kafka::Producer* operator->() { return producer_.get(); }
  kafka::Producer& operator*() { return *producer_; }
  explicit operator bool() const { return producer_ != nullptr; }

  void begin(const std::string& topic, int partition, const std::vector<std::string>& payloads) {
    for (const auto& payload : payloads) {
      const auto index = next_++;
      producer_->async_produce(topic, partition, payload, [this, index](Result<kafka::Delivery> result) {
        std::lock_guard lock(mutex_);
        results_.insert_or_assign(index, std::move(result));
      });
    }
  }
  std::size_t begun() const { return next_; }
  std::size_t completed() {
    std::lock_guard lock(mutex_);
    return results_.size();
  }
  std::map<std::size_t, Result<kafka::Delivery>> results() {
    std::lock_guard lock(mutex_);
    return results_;
  }
  void destroy() { producer_.reset(); }

 private:
  std::unique_ptr<kafka::Producer> producer_;
  std::mutex mutex_;
  std::size_t next_ = 0;
  std::map<std::size_t, Result<kafka::Delivery>> results_;
};

std::vector<std::string> payloads(const std::string& stem, int count) {
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) out.push_back(stem + "-" + std::to_string(i));
  return out;
}

// Writes first..last acknowledged at increasing offsets, in the order begun.
void expect_acknowledged_in_order(const std::map<std::size_t, Result<kafka::Delivery>>& results,
                                  std::size_t first, std::size_t last) {
  std::int64_t previous = -1;
  for (auto index = first; index <= last; ++index) {
    ASSERT_TRUE(results.contains(index)) << "write " << index;
    const auto& result = results.at(index);
    ASSERT_TRUE(result) << "write " << index << ": " << result.error().message;
    EXPECT_GT(result->offset, previous) << "write " << index;
    previous = result->offset;
  }
}

// Write 0 to a stuck topic (nothing in flight: it goes at once, and stays in flight), then writes 1-3,
// "busy-0".."busy-2", to `topic`'s `partition`: begun while it is in flight, they linger 8 s.
void begin_behind_a_stuck_write(BusyProducer& producer, const std::string& topic, int partition) {
  const auto stuck = stuck_topic();
  ASSERT_TRUE(producer->warm_up(stuck, 10s));
  producer.begin(stuck, 0, payloads("stuck", 1));
  producer.begin(topic, partition, payloads("busy", 3));
}

TEST(BusyProducer, AWriteBegunWithNothingInFlightGoesAtOnce) {
  const auto topic = fresh_topic("busy-quiet");
  BusyProducer producer;
  ASSERT_TRUE(producer);
  ASSERT_TRUE(producer->warm_up(topic, 10s));
  // Had they lingered, each would wait 8 s.
  for (int i = 0; i < 3; ++i) {
    producer.begin(topic, 2, {"quiet-" + std::to_string(i)});
    ASSERT_TRUE(eventually([&] { return producer.completed() == static_cast<std::size_t>(i + 1); }, kAtOnce));
  }
  expect_acknowledged_in_order(producer.results(), 0, 2);
  EXPECT_EQ(read_back(topic, {2}, 3).size(), 3u);
}

TEST(BusyProducer, WritesBegunWhileAnotherIsInFlightLingerAndAFlushSendsThemInOrder) {
  const auto topic = fresh_topic("busy-flush");
  BusyProducer producer;
  ASSERT_TRUE(producer);
  ASSERT_TRUE(producer->warm_up(topic, 10s));
  ASSERT_NO_FATAL_FAILURE(begin_behind_a_stuck_write(producer, topic, 0));
  EXPECT_EQ(producer->pending(), 4);
  std::this_thread::sleep_for(1s);
  const auto early = producer.results();
  EXPECT_FALSE(early.contains(1) || early.contains(2) || early.contains(3)) << "a lingering write was sent";

  producer->flush(kDeliveryTimeout + 5s);  // sends them at once, and waits for the stuck one's report
  ASSERT_TRUE(eventually([&] { return producer.completed() == 4; }, kDeliveryTimeout + 5s));
  expect_acknowledged_in_order(producer.results(), 1, 3);
  const auto stored = read_back(topic, {0}, 3);
  ASSERT_EQ(stored.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(stored[i].value, "busy-" + std::to_string(i));
}

TEST(BusyProducer, WhatLingersWhenTheProducerGoesIsWrittenAndAcknowledged) {
  const auto topic = fresh_topic("busy-close");
  BusyProducer producer;
  ASSERT_TRUE(producer);
  ASSERT_TRUE(producer->warm_up(topic, 10s));
  ASSERT_NO_FATAL_FAILURE(begin_behind_a_stuck_write(producer, topic, 1));
  producer.destroy();  // flushes both handles, bounded by the delivery timeout
  ASSERT_TRUE(eventually([&] { return producer.completed() == 4; }, kDeliveryTimeout + 5s));
  expect_acknowledged_in_order(producer.results(), 1, 3);
  EXPECT_EQ(read_back(topic, {1}, 3).size(), 3u);
}

// Each handle has its own view of the topic, and brokers learn of a new partition one by one: once warm_up
// counts a partition, no handle may refuse a write to it for lack of it ("did not take": before the fix,
// warm_up counted what the lingering handle knew, and a quiet write went by the other). Grown one partition
// at a time, each written at once (quiet) as soon as warm_up counts it. A write dropped later, when a broker
// that has not yet heard of the partition answers librdkafka's next metadata request, is not this fault:
// it goes again.
TEST(BusyProducer, NoHandleRefusesAWriteToAPartitionWarmUpCounted) {
  const auto topic = fresh_topic("busy-grow");
  BusyProducer producer;
  ASSERT_TRUE(producer);
  for (int partitions = 4; partitions <= 16; ++partitions) {
    ASSERT_TRUE(kafka::grow_topic(brokers(), topic, partitions, {}, 30s));
    const int newest = partitions - 1;
    for (int attempt = 0;; ++attempt) {
      ASSERT_TRUE(eventually_knows(*producer, topic, newest));
      const auto index = producer.begun();
      producer.begin(topic, newest, {"grown-" + std::to_string(newest)});
      ASSERT_TRUE(eventually([&] { return producer.completed() == index + 1; }, kAtOnce));
      const auto result = producer.results().at(index);
      if (result) break;
      ASSERT_FALSE(result.error().message.starts_with("Kafka did not take the write"))
          << "partition " << newest << ": " << result.error().message;
      ASSERT_LT(attempt, 5) << "partition " << newest << ": " << result.error().message;
    }
  }
}

// A partition added after the producer last asked: librdkafka refuses writes to it until it asks again,
// by itself only every 5 minutes (an order instance answered 503 for that long after a stale metadata
// answer). The refusal makes each handle ask at once: the next writes, quiet (express handle) and busy
// (lingering handle), are taken.
TEST(BusyProducer, AWriteRefusedForAPartitionAddedSinceMakesEachHandleAskAgain) {
  const auto topic = fresh_topic("busy-ask-again");
  BusyProducer producer;
  ASSERT_TRUE(producer);
  const auto known = producer->warm_up(topic, 10s);
  ASSERT_TRUE(known && *known == 3);
  ASSERT_TRUE(kafka::grow_topic(brokers(), topic, 5, {}, 30s));
  produce(topic, 4, {"by-another-producer"});  // the brokers know partition 4 now

  producer.begin(topic, 4, {"refused"});
  ASSERT_TRUE(eventually([&] { return producer.completed() == 1; }, kAtOnce));
  ASSERT_FALSE(producer.results().at(0)) << "the producer knew partition 4 without asking";
  // Quiet writes, one at a time, until one is taken: within a few seconds, not minutes.
  ASSERT_TRUE(eventually(
      [&] {
        const auto index = producer.begun();
        producer.begin(topic, 4, {"quiet"});
        return eventually([&] { return producer.completed() == index + 1; }, kAtOnce) &&
               producer.results().at(index).ok();
      },
      10s));
  // The lingering handle asked too: writes that linger behind a stuck one are taken and, once flushed,
  // acknowledged.
  const auto first_busy = producer.begun() + 1;
  ASSERT_NO_FATAL_FAILURE(begin_behind_a_stuck_write(producer, topic, 4));
  producer->flush(kDeliveryTimeout + 5s);
  ASSERT_TRUE(eventually([&] { return producer.completed() == first_busy + 3; }, kDeliveryTimeout + 5s));
  expect_acknowledged_in_order(producer.results(), first_busy, first_busy + 2);
  const auto stored = read_back(topic, {4}, 5);
  EXPECT_EQ(stored.size(), 5u);  // "by-another-producer", the quiet write taken, the three busy ones
}

}  // namespace
}  // namespace kd::test
