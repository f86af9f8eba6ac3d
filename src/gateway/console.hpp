// The live console at /console: a page (built from web/console, embedded in the binary) and one stream of
// Server-Sent Events at /console/events shared by every viewer. While anyone watches, one tail reader
// follows the topic's newest records and one poll per instance asks it how it is (/readyz), how far it has
// got (/positions) and what it counted (/stats); ShopView turns that into events, and Fanout hands them to
// each viewer through a bounded queue. A hundred viewers cost one reader, a dozen polls a second and the
// writes: the pipeline never waits for a viewer. With nobody watching, nothing runs.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <stop_token>
#include <thread>

#include "common/http/server.hpp"
#include "common/kafka/partition_watch.hpp"
#include "common/kafka/settings.hpp"
#include "common/metrics.hpp"
#include "gateway/fanout.hpp"
#include "gateway/peers.hpp"
#include "gateway/shop_view.hpp"

namespace kd::gateway {

class Console {
 public:
  // `watch` (which must outlive this) says how many partitions there are now: a region added while someone
  // watches starts the console over with every partition.
  Console(asio::io_context& io, const KafkaSettings& kafka, const kafka::PartitionWatch& watch,
          const Peers& peers);
  ~Console();
  Console(const Console&) = delete;
  Console& operator=(const Console&) = delete;

  void add_routes(HttpServer& server);
  // Ends every viewer's stream and the polls (on the io thread, before the server drains).
  void stop();

 private:
  // What the tail reader brings, taken by the io thread on each tick.
  struct Inbox {
    std::mutex mutex;
    std::vector<PlacedRecord> records;
    std::map<std::int64_t, std::vector<std::int64_t>> per_second;
  };

  asio::awaitable<void> watch(beast::tcp_stream& stream);
  void activate();
  asio::awaitable<void> tick(std::uint64_t generation);
  asio::awaitable<void> poll(std::uint64_t generation, std::string instance, Url url,
                             std::optional<int> partition, bool consumer, bool figures);
  void tail(std::stop_token stop);
  bool current(std::uint64_t generation) const { return active_ && generation == generation_ && !stopping_; }

  asio::io_context& io_;
  KafkaSettings kafka_;
  const kafka::PartitionWatch& watch_;
  Peers peers_;
  std::atomic<int> partitions_;  // shown since the last activation; read by the tail reader
  HttpClient client_;  // short timeouts: an instance that is down shows as down, it does not hold the polls
  ShopView view_;
  Fanout fanout_;
  Event heartbeat_;
  bool stopping_ = false;
  std::uint64_t generation_ = 0;  // a new one per activation: loops of an earlier one end
  std::chrono::steady_clock::time_point idle_since_{};
  std::atomic<bool> active_{false};  // read by the tail reader
  std::atomic<int> viewers_{0};      // read by /metrics
  Inbox inbox_;
  metrics::Counter& dropped_;
  metrics::GaugeRegistration viewers_gauge_;
  std::jthread tail_;  // last: joined first
};

}  // namespace kd::gateway
