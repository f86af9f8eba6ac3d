// The order service of one region: POST /submit-order validates the gateway's request, gives it a
// snowflake order id, writes it to its own partition of the topic, and answers only once Kafka has
// acknowledged the write (acks=all, idempotent producer).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "common/config.hpp"
#include "common/http/server.hpp"
#include "common/ids.hpp"
#include "common/kafka/durability.hpp"
#include "common/kafka/producer.hpp"
#include "common/kafka/settings.hpp"
#include "common/metrics.hpp"
#include "common/order.hpp"
#include "order/durability_watch.hpp"

namespace kd::order {

struct Config {
  CommonSettings common;
  KafkaSettings kafka;
  HttpServerOptions http;
  kafka::ProducerSettings producer;
  kafka::DurabilityRequirement durability;
  // How often the topic's replication and min.insync.replicas are read again (one metadata and one
  // DescribeConfigs request over the producer's connections).
  std::chrono::milliseconds durability_check{30'000};

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
  kafka::Producer& producer_for_test() { return *producer_; }  // the fault tests' way to its fatal path

 private:
  Service(asio::io_context& io, const Config& config, int partition,
          std::unique_ptr<kafka::Producer> producer);
  asio::awaitable<HttpResponse> submit_order(HttpRequest request);
  // Reads the newest order ids of this partition from Kafka and keeps new ids after them; false (and
  // orders answered 503) while Kafka cannot be read, or while the producer does not know the partition
  // (a new region's, not added to the topic yet). See last_order_id.hpp.
  bool secure_ids(std::chrono::milliseconds timeout);
  // Reads the topic's durability settings once and records the verdict (see durability_watch.hpp).
  void check_durability();

  Config config_;
  int partition_;
  // The generator's clock never goes below this (ms since the epoch): the millisecond after the newest id
  // this partition holds, read at start.
  std::shared_ptr<std::atomic<std::int64_t>> clock_floor_;
  std::atomic<bool> partition_known_{false};
  std::atomic<bool> ids_secured_{false};
  std::string id_reader_error_;  // the last reason secure_ids() failed (start(), then id_reader_ only)
  SnowflakeGenerator ids_;
  // Destroyed after the server (declared before it): the producer flushes what the server's requests wrote.
  std::unique_ptr<kafka::Producer> producer_;
  metrics::Counter& produce_errors_;
  metrics::Histogram& produce_seconds_;
  HttpServer server_;
  metrics::GaugeRegistration queue_gauge_;  // reads producer_; unregistered before it goes
  DurabilityStatus durability_;
  std::jthread id_reader_;  // retries secure_ids() while Kafka cannot be read; joined before what it uses
  std::jthread durability_watch_;  // last: check_durability() at start and every durability_check
};

}  // namespace kd::order
