// The gateway, the client's entry point: POST /submit-order picks the order instance of the requested
// partition, sends it a new order request over a pooled keep-alive connection, logs the answer and returns
// it unchanged. GET /orders/{order_id} tells an order's story (order_tracking.hpp); /console is the live
// console (console.hpp).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/http/client.hpp"
#include "common/http/server.hpp"
#include "common/kafka/partition_watch.hpp"
#include "common/kafka/settings.hpp"
#include "gateway/console.hpp"
#include "gateway/order_form.hpp"
#include "gateway/order_tracking.hpp"
#include "gateway/peers.hpp"

namespace kd::gateway {

struct Config {
  CommonSettings common;
  HttpServerOptions http;
  HttpClientOptions client;
  // Where orders are looked up; kafka.partitions is the count accepted until Kafka's metadata shows more (a
  // region added while running, read every partition_refresh).
  KafkaSettings kafka;
  std::chrono::milliseconds partition_refresh = kafka::kDefaultPartitionRefresh;
  PeerSettings peers;
  int snowflake_node = -1;  // -1: from the host name

  void bind_options(CLI::App& app);
};

// The gateway's answer when the order instance could not be reached (502, not stored) or took the order
// and never answered (504, may be stored); it names the user_id the gateway made, so the order can be
// found either way.
HttpResponse order_instance_failed(int partition, const UserId& user_id, const Error& error);

class Service {
 public:
  using Config = gateway::Config;
  static constexpr const char* kName = "gateway";

  static Result<std::unique_ptr<Service>> create(asio::io_context& io, const Config& config);
  Status start();
  asio::awaitable<void> drain();
  std::uint16_t port() const { return server_.port(); }

 private:
  Service(asio::io_context& io, const Config& config, Peers peers, std::uint16_t node,
          std::unique_ptr<kafka::PartitionWatch> watch);
  asio::awaitable<HttpResponse> submit_order(HttpRequest request);
  // The partitions accepted now: the configured count, or more once Kafka's metadata shows more, with their
  // instances' URLs made on the way.
  int accepted_partitions();

  Config config_;
  std::unique_ptr<kafka::PartitionWatch> watch_;  // before what reads it: the tracking and the console
  Peers peers_;
  OrderRequestFactory factory_;
  HttpClient client_;
  std::unique_ptr<OrderTracking> tracking_;
  HttpServer server_;
  Console console_;  // after the server: its viewers' streams are the server's connections
};

}  // namespace kd::gateway
