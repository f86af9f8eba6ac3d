// Statistics: consumes every partition, keeps exact per-region figures, serves them at GET /stats.
#pragma once

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "common/config.hpp"
#include "common/http/server.hpp"
#include "common/kafka/consumer.hpp"
#include "common/kafka/dead_letters.hpp"
#include "common/metrics.hpp"
#include "common/recent_ids.hpp"
#include "common/regions.hpp"
#include "statistics/shop_figures.hpp"

namespace kd::statistics {

struct Config {
  CommonSettings common;
  KafkaSettings kafka;
  HttpServerOptions http;
  std::string regions{kDefaultRegions};
  std::filesystem::path state_dir = "/tmp/kafka-demo";
  std::string group_id = "statistics";
  std::size_t batch_size = 1000;
  std::chrono::milliseconds checkpoint_interval{200};
  std::size_t dedupe_window = 50'000;  // newest order ids remembered per partition

  void bind_options(CLI::App& app);
};

std::filesystem::path checkpoint_path(const Config& config);

class Service {
 public:
  using Config = statistics::Config;
  static constexpr const char* kName = "statistics";

  static Result<std::unique_ptr<Service>> create(asio::io_context& io, const Config& config);
  ~Service();
  Status start();
  asio::awaitable<void> drain();
  std::uint16_t port() const { return server_.port(); }

 private:
  Service(asio::io_context& io, const Config& config, RegionNames regions, Checkpoint checkpoint,
          std::unique_ptr<kafka::Consumer> consumer, std::unique_ptr<kafka::DeadLetters> dead_letters);
  void consume(std::stop_token stop);
  void count(const kafka::RecordBatch& batch, std::stop_token stop);
  void checkpoint();

  Config config_;
  RegionNames regions_;
  std::filesystem::path checkpoint_path_;
  std::mutex state_mutex_;  // the consumer thread writes, GET /stats reads
  Checkpoint state_;        // live figures and positions; saved every checkpoint_interval
  std::unique_ptr<kafka::Consumer> consumer_;
  std::unique_ptr<kafka::DeadLetters> dead_letters_;
  std::map<int, RecentIds> recent_;  // per partition; the consumer thread's own
  std::atomic<bool> consuming_{false};
  HttpServer server_;
  metrics::GaugeRegistration lag_gauge_;
  std::jthread consumer_thread_;  // last: joined first
};

}  // namespace kd::statistics
