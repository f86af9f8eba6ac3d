#include "gateway/gateway_service.hpp"

#include <nlohmann/json.hpp>

#include "common/local_ports.hpp"
#include "common/log.hpp"
#include "common/pod_identity.hpp"

namespace kd::gateway {

void Config::bind_options(CLI::App& app) {
  bind_common_options(app, common);
  bind_server_options(app, http, local_listen(local_ports::kGateway));
  kafka::bind_client_options(app, kafka);
  kafka::bind_partition_watch_options(app, partition_refresh);
  bind_peer_options(app, peers);
  app.add_option_function<int>(
         "--order-timeout-ms", [this](int ms) { client.request_timeout = std::chrono::milliseconds(ms); },
         "Longest wait for an order instance's answer (default 10000; keep it above its delivery timeout)")
      ->envname("ORDER_TIMEOUT_MS")
      ->check(CLI::Range(100, 600'000));
  app.add_option_function<int>(
         "--connect-timeout-ms", [this](int ms) { client.connect_timeout = std::chrono::milliseconds(ms); },
         "Longest wait to resolve and connect to an order instance (default 1000)")
      ->envname("ORDER_CONNECT_TIMEOUT_MS")
      ->check(CLI::Range(10, 60'000));
  app.add_option("--snowflake-node", snowflake_node,
                 "Node number 0..1023 in user ids (default: hash of host name)")
      ->envname("SNOWFLAKE_NODE")
      ->check(CLI::Range(-1, 1023));
}

Result<std::unique_ptr<Service>> Service::create(asio::io_context& io, const Config& config) {
  auto peers = Peers::resolve(config.peers, config.kafka.partitions);
  if (!peers) return peers.error();
  const auto node = config.snowflake_node >= 0 ? static_cast<std::uint16_t>(config.snowflake_node)
                                               : node_from_hostname(current_hostname());
  auto watch = kafka::PartitionWatch::start({.brokers = config.kafka.brokers,
                                             .topic = config.kafka.topic,
                                             .client_id = "gateway-partitions",
                                             .extra = config.kafka.properties,
                                             .interval = config.partition_refresh});
  if (!watch) return watch.error();
  std::unique_ptr<Service> service(new Service(io, config, std::move(*peers), node, std::move(*watch)));
  auto tracking = OrderTracking::create(io, config.kafka, *service->watch_, service->peers_);
  if (!tracking) return tracking.error();
  service->tracking_ = std::move(*tracking);
  return service;
}

Service::Service(asio::io_context& io, const Config& config, Peers peers, std::uint16_t node,
                 std::unique_ptr<kafka::PartitionWatch> watch)
    : config_(config),
      watch_(std::move(watch)),
      peers_(std::move(peers)),
      factory_(node),
      client_(io, config.client),
      server_(io, config.http),
      console_(io, config.kafka, *watch_, peers_) {
  add_probe_routes(server_, kName, always_ready);
  server_.route(http::verb::post, "/submit-order",
                [this](HttpRequest request) { return submit_order(std::move(request)); });
  server_.route(http::verb::get, "/orders/*",
                [this](HttpRequest request) { return tracking_->answer(std::move(request)); });
  console_.add_routes(server_);
}

Status Service::start() {
  if (auto status = server_.start(); !status) return status;
  log::info("gateway listening", {{"port", server_.port()}, {"order_url", config_.peers.order}});
  return Ok{};
}

asio::awaitable<void> Service::drain() {
  console_.stop();  // viewers' streams are not requests in flight: they end now
  co_await server_.shutdown(config_.common.shutdown_timeout);
}

HttpResponse order_instance_failed(int partition, const UserId& user_id, const Error& error) {
  const bool maybe_stored = error.code == Errc::outcome_unknown;
  nlohmann::json body = {
      {"error", to_string(error.code)},
      {"message",
       "order service for partition " + std::to_string(partition) +
           (maybe_stored ? " took the order but gave no answer; it may be stored: " : " failed: ") +
           error.message},
      {"outcome", maybe_stored ? "unknown" : "not_written"},
      {"user_id", user_id.value},
  };
  // Replace, not throw: a message may quote a peer's bytes cut mid-character.
  return HttpResponse::json(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                            http_status(error.code));
}

int Service::accepted_partitions() { return peers_.cover(watch_->serving(config_.kafka.partitions)); }

asio::awaitable<HttpResponse> Service::submit_order(HttpRequest request) {
  auto partition = requested_partition(request, accepted_partitions());
  if (!partition) co_return HttpResponse::from_error(partition.error());
  const Url& url = peers_.order[*partition];
  const OrderRequest order = factory_.make();
  auto answer = co_await client_.post(url, to_json(order), "application/json");
  if (!answer) {
    log::error(
        "order instance failed",
        {{"partition", *partition}, {"user_id", order.user_id.value}, {"error", answer.error().message}});
    co_return order_instance_failed(*partition, order.user_id, answer.error());
  }
  if (answer->status == 200) {
    log::info(answer->body);  // the seed's gateway logs the order as its message
    co_return HttpResponse::json(std::move(answer->body));
  }
  log::warn("order instance refused",
            {{"partition", *partition}, {"status", answer->status}, {"body", answer->body}});
  // 503 (not stored, retry later) and 504 (may be stored) are the order service's own, precise answers,
  // naming the order: the client should see exactly those.
  if (answer->status == 503 || answer->status == 504)
    co_return HttpResponse::json(std::move(answer->body), answer->status);
  co_return order_instance_failed(
      *partition, order.user_id,
      make_error(Errc::upstream_failed,
                 "answered " + std::to_string(answer->status) + ": " + answer->body.substr(0, 200)));
}

}  // namespace kd::gateway
