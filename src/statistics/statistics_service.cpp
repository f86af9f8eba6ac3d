#include "statistics/statistics_service.hpp"

#include "common/local_ports.hpp"
#include "common/log.hpp"

namespace kd::statistics {

void Config::bind_options(CLI::App& app) {
  bind_common_options(app, common);
  kafka::bind_client_options(app, kafka);
  bind_server_options(app, http, local_listen(local_ports::kStatistics));
  consumer::bind_consumer_options(app, consumer);
  app.add_option("--regions", regions, "Region names of partitions 0, 1, 2…, comma-separated")
      ->envname("REGIONS")
      ->capture_default_str();
  app.add_option_function<int>(
         "--checkpoint-interval-ms", [this](int ms) { checkpoint_interval = std::chrono::milliseconds(ms); },
         "How often figures and positions are saved together (default 200)")
      ->envname("CHECKPOINT_INTERVAL_MS")
      ->check(CLI::Range(0, 60'000));
  kafka::bind_partition_watch_options(app, partition_refresh);
}

Result<std::unique_ptr<Service>> Service::create(asio::io_context& io, const Config& config) {
  auto regions = RegionNames::parse(config.regions);
  if (!regions) return make_error(Errc::config, "--regions: " + regions.error().message);
  std::unique_ptr<Service> service(new Service(io, config, std::move(*regions)));
  std::vector<int> partitions;
  for (int partition = 0; partition < config.kafka.partitions; ++partition) partitions.push_back(partition);
  // Figures without saved state start at zero, so their partitions are read from the beginning: the
  // group's committed offsets are for lag monitoring only and never decide where counting starts. The same
  // holds for partitions added to the topic while running (new regions), which the loop takes up itself.
  auto loop =
      consumer::ConsumerLoop::create(config.kafka, config.consumer,
                                     {.client_id = "statistics",
                                      .state_name = "statistics-" + config.kafka.topic,
                                      .partitions = std::move(partitions),
                                      .follow_topic = true,
                                      .partition_refresh = config.partition_refresh,
                                      .save_interval = config.checkpoint_interval,
                                      .after_batch = [service = service.get()] { service->publish_stats(); }},
                                     service->figures_);
  if (!loop) return loop.error();
  service->loop_ = std::move(*loop);
  consumer::add_progress_routes(service->server_, *service->loop_);
  service->publish_stats();
  return service;
}

void Service::publish_stats() {
  stats_json_.set(figures_.to_json(regions_, std::max(config_.kafka.partitions, loop_->partition_count())));
}

Service::Service(asio::io_context& io, const Config& config, RegionNames regions)
    : config_(config), regions_(std::move(regions)), server_(io, config.http) {
  add_probe_routes(server_, kName, [this] { return loop_->not_ready_reason(); });
  server_.route(http::verb::get, "/stats", [this](HttpRequest) -> asio::awaitable<HttpResponse> {
    co_return HttpResponse::json(*stats_json_.get());
  });
}

Status Service::start() {
  if (auto status = server_.start(); !status) return status;
  log::info("statistics started", {{"partitions", loop_->partition_count()},
                                   {"topic", config_.kafka.topic},
                                   {"counted_orders", figures_.total().orders},
                                   {"port", server_.port()}});
  loop_->start();  // from here figures_ belong to the consumer thread
  return Ok{};
}

asio::awaitable<void> Service::drain() {
  co_await server_.shutdown(config_.common.shutdown_timeout);
  co_await loop_->stop(config_.common.shutdown_timeout);  // saves the figures and commits, then returns
}

}  // namespace kd::statistics
