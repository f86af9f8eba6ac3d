// Statistics: consumes every partition, keeps exact per-region figures, serves them at GET /stats.
#pragma once

#include <memory>
#include <string>

#include "common/config.hpp"
#include "common/consumer/consumer_loop.hpp"
#include "common/http/server.hpp"
#include "common/kafka/settings.hpp"
#include "common/published.hpp"
#include "common/regions.hpp"
#include "statistics/shop_figures.hpp"

namespace kd::statistics {

struct Config {
  CommonSettings common;
  KafkaSettings kafka;
  HttpServerOptions http;
  consumer::ConsumerSettings consumer{.group_id = "statistics", .batch_size = 1000};
  std::string regions{kDefaultRegions};
  // Figures carry no side effect, so they are saved on a timer, not per batch.
  std::chrono::milliseconds checkpoint_interval{200};
  std::chrono::milliseconds partition_refresh = kafka::kDefaultPartitionRefresh;

  void bind_options(CLI::App& app);
};

class Service {
 public:
  using Config = statistics::Config;
  static constexpr const char* kName = "statistics";

  static Result<std::unique_ptr<Service>> create(asio::io_context& io, const Config& config);
  Status start();
  asio::awaitable<void> drain();
  std::uint16_t port() const { return server_.port(); }

 private:
  Service(asio::io_context& io, const Config& config, RegionNames regions);
  // GET /stats' answer from the figures, for every partition the loop reads (on the consumer thread).
  void publish_stats();

  Config config_;
  RegionNames regions_;
  ShopFigures figures_;                // the consumer thread's own
  Published<std::string> stats_json_;  // what GET /stats answers
  HttpServer server_;
  std::unique_ptr<consumer::ConsumerLoop> loop_;  // after figures_: stopped before they go
};

}  // namespace kd::statistics
