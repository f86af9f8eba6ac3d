// The gateway: POST /submit-order picks the order instance of the requested partition, sends it a new
// order request over a pooled keep-alive connection, logs the answer and returns it unchanged.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/http/client.hpp"
#include "common/http/server.hpp"
#include "gateway/order_form.hpp"

namespace kd::gateway {

inline constexpr const char* kDefaultOrderUrl =
    "http://order-{partition}.order.kafka-demo.svc.cluster.local/submit-order";

struct Config {
  CommonSettings common;
  HttpServerOptions http;
  HttpClientOptions client;
  int partitions = 3;
  std::string order_url = kDefaultOrderUrl;
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
  Service(asio::io_context& io, const Config& config, std::vector<Url> order_urls, std::uint16_t node);
  asio::awaitable<HttpResponse> submit_order(HttpRequest request);

  Config config_;
  std::vector<Url> order_urls_;  // by partition
  OrderRequestFactory factory_;
  HttpClient client_;
  HttpServer server_;
};

}  // namespace kd::gateway
