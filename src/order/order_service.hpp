// The order service of one region: POST /submit-order validates the gateway's request, gives it a
// snowflake order id, writes it to its own partition of the topic, and answers only once Kafka has
// acknowledged the write (acks=all, idempotent producer).
#pragma once

#include <memory>
#include <string>

#include "common/config.hpp"
#include "common/http/server.hpp"
#include "common/ids.hpp"
#include "common/kafka/producer.hpp"
#include "common/kafka/settings.hpp"
#include "common/metrics.hpp"
#include "common/order.hpp"

namespace kd::order {

struct Config {
  CommonSettings common;
  KafkaSettings kafka;
  HttpServerOptions http;
  kafka::ProducerSettings producer;

  void bind_options(CLI::App& app);
};

// Validates a request body and turns it into an order with a fresh id. Pure: no I/O.
Result<Order> make_order(const HttpRequest& request, SnowflakeGenerator& ids);
// The answer for an order Kafka did not acknowledge: 503 "not_written" when it is certainly not stored
// (retry), 504 "unknown" when it may be (look it up by order_id first). Both name the order.
HttpResponse order_not_written(const Order& order, const Error& error);

class Service {
 public:
  using Config = order::Config;
  static constexpr const char* kName = "order";

  // Refuses to create an instance whose pod name does not give a partition of the topic.
  static Result<std::unique_ptr<Service>> create(asio::io_context& io, const Config& config);
  Status start();
  asio::awaitable<void> drain();
  int partition() const { return partition_; }
  std::uint16_t port() const { return server_.port(); }

 private:
  Service(asio::io_context& io, const Config& config, int partition,
          std::unique_ptr<kafka::Producer> producer);
  asio::awaitable<HttpResponse> submit_order(HttpRequest request);

  Config config_;
  int partition_;
  SnowflakeGenerator ids_;
  // Destroyed after the server (declared before it): the producer flushes what the server's requests wrote.
  std::unique_ptr<kafka::Producer> producer_;
  metrics::Counter& produce_errors_;
  metrics::Histogram& produce_seconds_;
  HttpServer server_;
  metrics::GaugeRegistration queue_gauge_;  // reads producer_; unregistered before it goes
};

}  // namespace kd::order
