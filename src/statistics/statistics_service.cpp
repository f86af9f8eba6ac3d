#include "statistics/statistics_service.hpp"

#include <algorithm>

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
  app.add_option("--dedupe-window", dedupe_window,
                 "Newest order ids per partition remembered to count an order Kafka holds twice only once")
      ->envname("DEDUPE_WINDOW")
      ->check(CLI::Range(0, 10'000'000))
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
  auto dead_letters = kafka::DeadLetters::create({.brokers = config.kafka.brokers,
                                                  .topic = config.kafka.dead_letters(),
                                                  .consumer = "statistics",
                                                  .extra = config.kafka.properties});
  if (!dead_letters) return dead_letters.error();
  return std::unique_ptr<Service>(new Service(io, config, std::move(*regions), saved->value_or(Checkpoint{}),
                                              std::move(*consumer), std::move(*dead_letters)));
}

Service::Service(asio::io_context& io, const Config& config, RegionNames regions, Checkpoint checkpoint,
                 std::unique_ptr<kafka::Consumer> consumer, std::unique_ptr<kafka::DeadLetters> dead_letters)
    : config_(config), regions_(std::move(regions)), checkpoint_path_(checkpoint_path(config)),
      state_(std::move(checkpoint)), consumer_(std::move(consumer)), dead_letters_(std::move(dead_letters)),
      server_(io, config.http) {
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
  // A partition with a checkpoint starts up to a dedupe window before it: those records are only
  // remembered, not counted, so a copy of one of them just after the checkpoint is still recognised.
  kafka::Positions start;
  for (int partition = 0; partition < config_.kafka.partitions; ++partition) {
    recent_.emplace(partition, RecentIds(config_.dedupe_window));
    const auto saved = state_.next.find(partition);
    const auto window = static_cast<std::int64_t>(config_.dedupe_window);
    start[partition] = saved == state_.next.end() ? kafka::kFromBeginning : std::max<std::int64_t>(0, saved->second - window);
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
      count(batch, stop);
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

void Service::count(const kafka::RecordBatch& batch, std::stop_token stop) {
  std::map<int, std::uint64_t> consumed, duplicates;  // per partition, for the metrics after the lock
  std::unique_lock lock(state_mutex_);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const kafka::Record record = batch[i];
    auto& recent = recent_.at(record.partition);
    const auto next = state_.next.find(record.partition);
    if (next != state_.next.end() && record.offset < next->second) {
      // Counted before the last restart: only remembered, to know its copies.
      if (auto order = parse_order(record.value)) recent.insert(order->order_id.value);
      continue;
    }
    log::info(consumed_record_json(record.key, record.offset, record.partition, record.value));
    if (auto order = parse_order(record.value)) {
      if (recent.insert(order->order_id.value)) {
        state_.figures.count(record.partition, *order);
      } else {
        log::warn("order already counted", {{"order_id", order->order_id.value}, {"partition", record.partition},
                                            {"offset", record.offset}});
        ++duplicates[record.partition];
      }
    } else {
      log::error("record is not an order", {{"partition", record.partition}, {"offset", record.offset},
                                            {"error", order.error().message}});
      // The letter waits for Kafka, so not under the lock. Stopping first leaves the position at this
      // record: the next start reads it again.
      lock.unlock();
      const bool sent = dead_letters_->send(config_.kafka.topic, record, order.error().message, stop);
      lock.lock();
      if (!sent) break;
      state_.figures.reject(record.partition);
    }
    state_.next[record.partition] = record.offset + 1;
    ++consumed[record.partition];
  }
  lock.unlock();
  auto& metrics = metrics::registry();
  for (const auto& [partition, count] : consumed) {
    metrics.counter("kafka_messages_consumed_total", "Records consumed", {{"partition", std::to_string(partition)}})
        .inc(count);
  }
  for (const auto& [partition, count] : duplicates) {
    metrics.counter("orders_duplicate_total", "Copies of an order already counted, not counted again",
                    {{"partition", std::to_string(partition)}})
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
