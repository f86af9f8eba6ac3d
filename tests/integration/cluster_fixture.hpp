// Helpers for tests against the real three-broker cluster that CTest starts (fixture "kafka"): a fresh
// topic per test, services run in-process on their own io thread, blocking HTTP calls, and direct
// produce / read-back through librdkafka to check what really is in Kafka.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/kafka/admin.hpp"
#include "common/kafka/consumer.hpp"
#include "common/kafka/dead_letters.hpp"
#include "common/kafka/producer.hpp"
#include "common/net.hpp"
#include "common/result.hpp"

namespace kd::test {

using namespace std::chrono_literals;

inline std::string brokers() {
  const char* value = std::getenv("KD_TEST_BROKERS");
  return value ? value : "127.0.0.1:29092,127.0.0.1:29093,127.0.0.1:29094";
}

// A topic of its own for each test: 3 partitions, replication 2, like `order`.
inline std::string fresh_topic(const std::string& stem) {
  static std::atomic<int> counter{0};
  const auto name = "it-" + stem + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
                    std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 1000000);
  // And its dead-letter topic, named as the services expect by default.
  for (const auto& topic : {name, name + ".dlq"}) {
    auto created = kafka::ensure_topic(
        brokers(),
        {.name = topic, .partitions = 3, .replication_factor = 2, .config = {{"min.insync.replicas", "2"}}},
        {}, 30s);
    if (!created) ADD_FAILURE() << created.error().message;
  }
  return name;
}

inline std::filesystem::path fresh_dir(const std::string& stem) {
  auto dir = std::filesystem::temp_directory_path() /
             ("kd-it-" + stem + "-" + std::to_string(::getpid()) + "-" +
              std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  std::filesystem::create_directories(dir);
  return dir;
}

// Runs one service (gateway::Service, order::Service, …) on an io thread of its own, as run_service does.
template <class Service>
class Running {
 public:
  explicit Running(const typename Service::Config& config) {
    auto created = Service::create(io_, config);
    if (!created) {
      error_ = created.error().message;
      return;
    }
    service_ = std::move(*created);
    if (auto started = service_->start(); !started) {
      error_ = started.error().message;
      service_.reset();
      return;
    }
    thread_ = std::thread([this] {
      auto keep_running = asio::make_work_guard(io_);
      io_.run();
    });
  }
  ~Running() { stop(); }

  bool ok() const { return service_ != nullptr; }
  const std::string& error() const { return error_; }
  Service& operator*() { return *service_; }
  Service* operator->() { return service_.get(); }

  // Graceful: the service's drain(), as on SIGTERM, then teardown.
  void stop() {
    if (!thread_.joinable()) return;
    std::promise<void> drained;
    asio::co_spawn(
        io_,
        [&]() -> asio::awaitable<void> {
          co_await service_->drain();
          drained.set_value();
        },
        asio::detached);
    drained.get_future().wait();
    io_.stop();
    thread_.join();
    service_.reset();
  }

 private:
  asio::io_context io_{1};
  std::unique_ptr<Service> service_;
  std::string error_;
  std::thread thread_;
};

struct Reply {
  unsigned status = 0;
  std::string body;
  std::string allow;
};

// One blocking HTTP/1.1 request on a fresh connection.
inline Reply call(http::verb method, std::uint16_t port, const std::string& target,
                  const std::string& body = "", const std::string& content_type = "") {
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(30s);
  stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  http::request<http::string_body> request{method, target, 11};
  request.set(http::field::host, "127.0.0.1");
  if (!content_type.empty()) request.set(http::field::content_type, content_type);
  request.body() = body;
  request.prepare_payload();
  http::write(stream, request);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(stream, buffer, response);
  return {response.result_int(), response.body(), std::string(response[http::field::allow])};
}

// Polls `probe` until it holds or the time is up.
template <class Probe>
bool eventually(Probe probe, std::chrono::milliseconds limit = 20s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (probe()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return probe();
}

// Asks until `producer` counts `partition` in `topic`: a partition added a moment ago may be missing from
// what a broker answers yet.
inline bool eventually_knows(kafka::Producer& producer, const std::string& topic, int partition) {
  return eventually([&] {
    const auto known = producer.warm_up(topic, 5s);
    return known && *known > partition;
  });
}

// Writes payloads straight to a partition (as a misbehaving producer or a replay would), waiting for acks.
inline void produce(const std::string& topic, int partition, const std::vector<std::string>& payloads) {
  auto producer = kafka::Producer::create({.brokers = brokers(), .client_id = "it-producer"});
  ASSERT_TRUE(producer) << producer.error().message;
  const auto write = [&](const std::string& payload) {
    EXPECT_TRUE(eventually_knows(**producer, topic, partition));
    std::promise<Result<kafka::Delivery>> delivered;
    (*producer)->async_produce(topic, partition, payload, [&](Result<kafka::Delivery> result) {
      delivered.set_value(std::move(result));
    });
    return delivered.get_future().get();
  };
  for (const auto& payload : payloads) {
    auto result = write(payload);
    // Even then, a broker that has not yet heard of the partition may answer librdkafka's next metadata
    // request, and librdkafka drops the partition, failing the writes it holds for it. Reported certainly
    // not written (not outcome_unknown), such a write may go again.
    const auto dropped = [&] {
      return !result && result.error().code == Errc::unavailable &&
             result.error().message.ends_with("Unknown partition");
    };
    for (int retry = 0; retry < 5 && dropped(); ++retry) {
      result = write(payload);
    }
    ASSERT_TRUE(result) << result.error().message;
  }
}

struct Stored {
  int partition;
  std::int64_t offset;
  std::string value;
  std::optional<std::string> key;
  std::map<std::string, std::string> headers;  // the dead-letter headers, where present
};

// Everything in the given partitions from the beginning, read with a consumer of its own; stops once
// `expected` records are read or `wait` passes with nothing new.
inline std::vector<Stored> read_back(const std::string& topic, std::vector<int> partitions,
                                     std::size_t expected, std::chrono::milliseconds wait = 3000ms) {
  auto consumer = kafka::Consumer::create(
      {.brokers = brokers(), .group_id = "it-reader-" + topic, .client_id = "it-reader", .topic = topic});
  std::vector<Stored> out;
  if (!consumer) {
    ADD_FAILURE() << consumer.error().message;
    return out;
  }
  kafka::Positions start;
  for (int partition : partitions) start[partition] = kafka::kFromBeginning;
  EXPECT_TRUE((*consumer)->assign(start));
  auto quiet_since = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - quiet_since < wait) {
    const auto batch = (*consumer)->poll(1000, 100ms);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const kafka::Record record = batch[i];
      Stored stored{record.partition, record.offset, std::string(record.value), std::nullopt, {}};
      if (record.key) stored.key = std::string(*record.key);
      namespace header = kafka::dead_letter_header;
      for (const auto name : {header::source_topic, header::source_partition, header::source_offset,
                              header::source_key, header::consumer, header::error}) {
        if (auto value = record.header(name)) stored.headers[std::string(name)] = *value;
      }
      out.push_back(std::move(stored));
    }
    if (!batch.empty()) quiet_since = std::chrono::steady_clock::now();
    if (out.size() >= expected && expected > 0) break;
  }
  return out;
}

inline std::string order_json(const std::string& order_id, std::int64_t money) {
  return R"({"money":)" + std::to_string(money) + R"(,"order_id":")" + order_id +
         R"(","time":1638865975,"user_id":"1468136425655373824"})";
}

}  // namespace kd::test
