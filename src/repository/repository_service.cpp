#include "repository/repository_service.hpp"

#include <nlohmann/json.hpp>

#include "common/local_ports.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "common/pod_identity.hpp"

namespace kd::repository {
namespace {

// Each durable shipment is announced with a "shipped" line. "at_us" says when, to the microsecond ("time"
// is to the second, as zerolog's), for end-to-end latency measured from the logs (the benchmark).
void announce(const std::vector<Shipment>& shipments) {
  static auto& shipped = metrics::registry().counter("orders_shipped_total", "Orders shipped (each once)");
  const auto at_us = std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  for (const auto& shipment : shipments) {
    log::info("shipped", {{"order_id", shipment.order_id.value},
                          {"partition", shipment.partition},
                          {"offset", shipment.offset},
                          {"at_us", at_us}});
  }
  shipped.inc(shipments.size());
}

}  // namespace

void Config::bind_options(CLI::App& app) {
  bind_common_options(app, common);
  kafka::bind_client_options(app, kafka);
  bind_server_options(app, http, "");  // empty: 127.0.0.1 on the partition's local port
  consumer::bind_consumer_options(app, consumer);
}

Result<std::unique_ptr<Service>> Service::create(asio::io_context& io, const Config& config) {
  auto partition = resolve_partition(config.common.pod_name, current_hostname(), config.kafka.partitions);
  if (!partition) return partition.error();
  Config resolved = config;
  if (resolved.http.listen.empty())
    resolved.http.listen = local_listen(local_ports::kRepositoryBase + *partition);
  std::unique_ptr<Service> service(new Service(io, resolved, *partition));
  // Named by topic and partition: a state directory reused for another topic never lends it a position.
  // Where no state exists (a new volume), the group's committed offset says what was shipped before.
  auto loop = consumer::ConsumerLoop::create(
      config.kafka, config.consumer,
      {.client_id = "repository-" + std::to_string(*partition),
       .state_name = "repository-" + config.kafka.topic + "-" + std::to_string(*partition),
       .partitions = {*partition},
       .resume_from_group_offset = true,
       .save_interval = std::chrono::milliseconds(0),  // durable before shipped: after every batch
       .after_batch = [service = service.get()] { service->publish(); }},
      service->warehouse_);
  if (!loop) return loop.error();
  service->loop_ = std::move(*loop);
  consumer::add_progress_routes(service->server_, *service->loop_);
  service->publish();
  return service;
}

Service::Service(asio::io_context& io, const Config& config, int partition)
    : config_(config), partition_(partition), warehouse_(announce), server_(io, config.http) {
  add_probe_routes(server_, kName, [this] { return loop_->not_ready_reason(); });
  server_.route(http::verb::get, "/shipments", [this](HttpRequest) -> asio::awaitable<HttpResponse> {
    co_return HttpResponse::json(*shipments_json_.get());
  });
}

void Service::publish() {
  const auto positions = loop_->positions();
  const auto next = positions.find(partition_);
  const bool started = next != positions.end() && next->second > 0;
  shipments_json_.set(
      nlohmann::json{{"partition", partition_},
                     {"shipped", warehouse_.shipped()},
                     {"next_offset", started ? nlohmann::json(next->second) : nlohmann::json(nullptr)}}
          .dump());
}

Status Service::start() {
  // HTTP first: the process is live (and not ready) while the loop finds where to start, which needs
  // the brokers.
  if (auto status = server_.start(); !status) return status;
  log::info("repository started", {{"partition", partition_},
                                   {"topic", config_.kafka.topic},
                                   {"port", server_.port()},
                                   {"shipped", warehouse_.shipped()}});
  loop_->start();  // from here warehouse_ belongs to the consumer thread
  return Ok{};
}

asio::awaitable<void> Service::drain() {
  co_await server_.shutdown(config_.common.shutdown_timeout);
  co_await loop_->stop(config_.common.shutdown_timeout);  // finishes its batch, saves and commits
}

}  // namespace kd::repository
