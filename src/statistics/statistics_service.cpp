#include "statistics/statistics_service.hpp"

#include "common/log.hpp"
#include "common/metrics.hpp"
#include "common/order.hpp"

namespace kd::statistics {

void Config::bind_options(CLI::App& app) {
  bind_common_options(app, common);
  bind_kafka_options(app, kafka);
  bind_http_options(app, http, "127.0.0.1:8090");
  app.add_option("--regions", regions, "Region names of partitions 0, 1, 2…, comma-separated")
      ->envname("REGIONS")
      ->capture_default_str();
  app.add_option("--state-dir", state_dir, "Directory of the figures checkpoint (a volume in Kubernetes)")
      ->envname("STATE_DIR")
      ->capture_default_str();
  app.add_option("--group-id", group_id, "Consumer group the offsets are committed under (for lag monitoring)")
      ->envname("CONSUMER_GROUP")
      ->capture_default_str();
  app.add_option("--batch-size", batch_size, "Most records handled per poll")
      ->envname("CONSUMER_BATCH_SIZE")
      ->check(CLI::Range(1, 100'000))
      ->capture_default_str();
  app.add_option_function<int>(
         "--checkpoint-interval-ms", [this](int ms) { checkpoint_interval = std::chrono::milliseconds(ms); },
         "How often figures and positions are saved together (default 200)")
      ->envname("CHECKPOINT_INTERVAL_MS")
      ->check(CLI::Range(0, 60'000));
}

// Named by topic: a state directory reused for another topic never lends it figures or positions.
std::filesystem::path checkpoint_path(const Config& config) {
  return config.state_dir / ("statistics-" + config.kafka.topic + ".checkpoint");
}

Result<std::unique_ptr<Service>> Service::create(asio::io_context& io, const Config& config) {
  auto regions = RegionNames::parse(config.regions);
  if (!regions) return make_error(Errc::bad_request, "--regions: " + regions.error().message);
  auto saved = load_checkpoint(checkpoint_path(config));
  if (!saved) return saved.error();
  auto consumer = kafka::Consumer::create({.brokers = config.kafka.brokers,
                                           .group_id = config.group_id,
                                           .client_id = "statistics",
                                           .topic = config.kafka.topic,
                                           .extra = config.kafka.properties});
  if (!consumer) return consumer.error();
  return std::unique_ptr<Service>(
      new Service(io, config, std::move(*regions), saved->value_or(Checkpoint{}), std::move(*consumer)));
}

Service::Service(asio::io_context& io, const Config& config, RegionNames regions, Checkpoint checkpoint,
                 std::unique_ptr<kafka::Consumer> consumer)
    : config_(config), regions_(std::move(regions)), checkpoint_path_(checkpoint_path(config)),
      state_(std::move(checkpoint)), consumer_(std::move(consumer)), server_(io, config.http) {
  add_probe_routes(server_, kName, [this] { return consuming_.load() && consumer_->brokers_reachable(); });
  server_.route(http::verb::get, "/stats", [this](HttpRequest) -> asio::awaitable<HttpResponse> {
    std::lock_guard lock(state_mutex_);
    co_return HttpResponse::json(state_.figures.to_json(regions_, config_.kafka.partitions));
  });
  lag_gauge_ = kafka::register_lag_gauge(*consumer_, [this] {
    kafka::Positions next;
    std::lock_guard lock(state_mutex_);
    for (int partition = 0; partition < config_.kafka.partitions; ++partition) {
      const auto it = state_.next.find(partition);
      next[partition] = it == state_.next.end() ? 0 : it->second;
    }
    return next;
  });
}

Service::~Service() {
  consumer_thread_.request_stop();
  if (consumer_thread_.joinable()) consumer_thread_.join();
  consumer_->close();
}

Status Service::start() {
  // Figures without a checkpoint start at zero, so their partitions are read from the beginning;
  // the group's committed offsets are for lag monitoring only and never decide where counting starts.
  kafka::Positions start;
  for (int partition = 0; partition < config_.kafka.partitions; ++partition) {
    const auto saved = state_.next.find(partition);
    start[partition] = saved == state_.next.end() ? kafka::kFromBeginning : saved->second;
  }
  if (auto status = consumer_->assign(start); !status) return status;
  if (auto status = server_.start(); !status) return status;
  consumer_thread_ = std::jthread([this](std::stop_token stop) { consume(stop); });
  log::info("statistics consuming", {{"partitions", config_.kafka.partitions},
                                     {"topic", config_.kafka.topic},
                                     {"counted_orders", state_.figures.total().orders},
                                     {"port", server_.port()}});
  return Ok{};
}

asio::awaitable<void> Service::drain() {
  co_await server_.shutdown(config_.common.shutdown_timeout);
  consumer_thread_.request_stop();  // the thread saves a last checkpoint and commits, then ends
}

void Service::consume(std::stop_token stop) {
  consuming_ = true;
  auto last_checkpoint = std::chrono::steady_clock::now();
  bool dirty = false;
  while (!stop.stop_requested()) {
    const auto batch = consumer_->poll(config_.batch_size, std::chrono::milliseconds(100));
    if (!batch.empty()) {
      count(batch);
      dirty = true;
    }
    if (dirty && std::chrono::steady_clock::now() - last_checkpoint >= config_.checkpoint_interval) {
      checkpoint();
      dirty = false;
      last_checkpoint = std::chrono::steady_clock::now();
    }
  }
  if (dirty) checkpoint();
  consuming_ = false;
}

void Service::count(const kafka::RecordBatch& batch) {
  std::map<int, std::uint64_t> consumed;  // per partition, for the metrics after the lock
  std::unique_lock lock(state_mutex_);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const kafka::Record record = batch[i];
    log::info(consumed_record_json(record.key, record.offset, record.partition, record.value));
    if (auto order = parse_order(record.value)) {
      state_.figures.count(record.partition, *order);
    } else {
      log::error("record is not an order", {{"partition", record.partition}, {"offset", record.offset},
                                            {"error", order.error().message}});
      state_.figures.reject(record.partition);
    }
    state_.next[record.partition] = record.offset + 1;
    ++consumed[record.partition];
  }
  lock.unlock();
  for (const auto& [partition, count] : consumed) {
    metrics::registry()
        .counter("kafka_messages_consumed_total", "Records consumed", {{"partition", std::to_string(partition)}})
        .inc(count);
  }
}

void Service::checkpoint() {
  Checkpoint snapshot;
  {
    std::lock_guard lock(state_mutex_);
    snapshot = state_;
  }
  if (auto status = save_checkpoint(checkpoint_path_, snapshot); !status) {
    // Figures since the last checkpoint would be lost or double counted after a crash: stop instead.
    log::error("cannot save checkpoint, stopping", {{"error", status.error().message}});
    std::abort();
  }
  if (auto status = consumer_->commit(snapshot.next); !status) {
    log::warn("offset commit failed; the checkpoint still holds the positions", {{"error", status.error().message}});
  }
}

}  // namespace kd::statistics
