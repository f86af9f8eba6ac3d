// The warehouse service of one region: consumes only its own partition, ships each order once, and
// serves what it has shipped at GET /shipments.
#pragma once

#include <memory>
#include <string>

#include "common/config.hpp"
#include "common/consumer/consumer_loop.hpp"
#include "common/http/server.hpp"
#include "common/kafka/settings.hpp"
#include "common/published.hpp"
#include "repository/warehouse.hpp"

namespace kd::repository {

struct Config {
  CommonSettings common;
  KafkaSettings kafka;
  HttpServerOptions http;
  consumer::ConsumerSettings consumer{.group_id = "repository", .batch_size = 500};

  void bind_options(CLI::App& app);
};

class Service {
 public:
  using Config = repository::Config;
  static constexpr const char* kName = "repository";

  static Result<std::unique_ptr<Service>> create(asio::io_context& io, const Config& config);
  Status start();
  asio::awaitable<void> drain();
  int partition() const { return partition_; }
  std::uint16_t port() const { return server_.port(); }

 private:
  Service(asio::io_context& io, const Config& config, int partition);
  void publish();

  Config config_;
  int partition_;
  Warehouse warehouse_;                    // the consumer thread's own
  Published<std::string> shipments_json_;  // what GET /shipments answers
  HttpServer server_;
  std::unique_ptr<consumer::ConsumerLoop> loop_;  // after warehouse_: stopped before it goes
};

}  // namespace kd::repository
