#include "repository/repository_service.hpp"

#include <nlohmann/json.hpp>

#include "common/log.hpp"
#include "common/metrics.hpp"
#include "common/order.hpp"
#include "common/pod_identity.hpp"

namespace kd::repository {

void Config::bind_options(CLI::App& app) {
  bind_common_options(app, common);
  bind_kafka_options(app, kafka);
  bind_http_options(app, http, "");  // empty: 127.0.0.1:(8110 + partition)
  app.add_option("--state-dir", state_dir, "Directory of the shipment ledger (a volume in Kubernetes)")
      ->envname("STATE_DIR")
      ->capture_default_str();
  app.add_option("--group-id", group_id, "Consumer group the offsets are committed under")
      ->envname("CONSUMER_GROUP")
      ->capture_default_str();
  app.add_option("--batch-size", batch_size, "Most records handled per poll")
      ->envname("CONSUMER_BATCH_SIZE")
      ->check(CLI::Range(1, 100'000))
      ->capture_default_str();
  app.add_option_function<int>(
         "--commit-interval-ms", [this](int ms) { commit_interval = std::chrono::milliseconds(ms); },
         "Least time between offset commits; the last is committed on stop (default 200)")
      ->envname("COMMIT_INTERVAL_MS")
      ->check(CLI::Range(0, 60'000));
}

Result<std::unique_ptr<Service>> Service::create(asio::io_context& io, const Config& config) {
  auto partition = resolve_partition(config.common.pod_name, current_hostname(), config.kafka.partitions);
  if (!partition) return partition.error();
  Config resolved = config;
  if (resolved.http.listen.empty()) resolved.http.listen = "127.0.0.1:" + std::to_string(8110 + *partition);
  // Named by topic and partition: a state directory reused for another topic never lends it a position.
  auto ledger = ShipmentLedger::open(config.state_dir / ("repository-" + config.kafka.topic + "-" +
                                                         std::to_string(*partition) + ".ledger"));
  if (!ledger) return ledger.error();
  auto consumer = kafka::Consumer::create({.brokers = config.kafka.brokers,
                                           .group_id = config.group_id,
                                           .client_id = "repository-" + std::to_string(*partition),
                                           .topic = config.kafka.topic,
                                           .extra = config.kafka.properties});
  if (!consumer) return consumer.error();
  auto dead_letters = kafka::DeadLetters::create({.brokers = config.kafka.brokers,
                                                  .topic = config.kafka.dead_letters(),
                                                  .consumer = "repository-" + std::to_string(*partition),
                                                  .extra = config.kafka.properties});
  if (!dead_letters) return dead_letters.error();
  return std::unique_ptr<Service>(new Service(io, resolved, *partition, std::move(*ledger), std::move(*consumer),
                                              std::move(*dead_letters)));
}

Service::Service(asio::io_context& io, const Config& config, int partition, std::unique_ptr<ShipmentLedger> ledger,
                 std::unique_ptr<kafka::Consumer> consumer, std::unique_ptr<kafka::DeadLetters> dead_letters)
    : config_(config), partition_(partition), ledger_(std::move(ledger)), consumer_(std::move(consumer)),
      dead_letters_(std::move(dead_letters)), server_(io, config.http) {
  add_probe_routes(server_, kName, [this] { return consuming_.load() && consumer_->brokers_reachable(); });
  server_.route(http::verb::get, "/shipments", [this](HttpRequest) -> asio::awaitable<HttpResponse> {
    co_return HttpResponse::json(shipments_json());
  });
  lag_gauge_ = kafka::register_lag_gauge(*consumer_, [this] {
    std::lock_guard lock(ledger_mutex_);
    return kafka::Positions{{partition_, ledger_->next_offset().value_or(0)}};
  });
}

Service::~Service() {
  consumer_thread_.request_stop();
  if (consumer_thread_.joinable()) consumer_thread_.join();
  consumer_->close();
}

Status Service::start() {
  // HTTP first: the process is live (and not ready) while the consumer thread finds where to start,
  // which needs the brokers.
  if (auto status = server_.start(); !status) return status;
  consumer_thread_ = std::jthread([this](std::stop_token stop) {
    if (assign_start(stop)) consume(stop);
  });
  log::info("repository started", {{"partition", partition_}, {"topic", config_.kafka.topic}, {"port", server_.port()}});
  return Ok{};
}

bool Service::assign_start(std::stop_token stop) {
  // The ledger knows exactly what was shipped; the group's committed offset is only the fallback for a
  // warehouse whose volume is new, and the beginning for one whose group never committed.
  std::int64_t start = kafka::kFromBeginning;
  if (ledger_->next_offset()) {
    start = *ledger_->next_offset();
  } else {
    while (true) {
      if (stop.stop_requested()) return false;
      auto committed = consumer_->committed({partition_}, std::chrono::seconds(5));
      if (committed) {
        if (const auto it = committed->find(partition_); it != committed->end()) start = it->second;
        break;
      }
      log::warn("cannot read the committed offset yet", {{"error", committed.error().message}});
    }
  }
  if (auto status = consumer_->assign({{partition_, start}}); !status) {
    // Never a live process that does no work: let the orchestrator start it again.
    log::error("cannot assign the partition, stopping", {{"error", status.error().message}});
    std::abort();
  }
  log::info("repository consuming", {{"partition", partition_},
                                     {"from", start == kafka::kFromBeginning ? "beginning" : std::to_string(start)},
                                     {"position_from", ledger_->next_offset() ? "ledger" : "group's committed offset"}});
  return true;
}

asio::awaitable<void> Service::drain() {
  co_await server_.shutdown(config_.common.shutdown_timeout);
  consumer_thread_.request_stop();  // the thread finishes its batch, syncs and commits, then ends
}

void Service::consume(std::stop_token stop) {
  consuming_ = true;
  while (!stop.stop_requested()) {
    const auto batch = consumer_->poll(config_.batch_size, std::chrono::milliseconds(100));
    if (!batch.empty()) ship(batch, stop);
    commit(/*now=*/false);
  }
  commit(/*now=*/true);
  consuming_ = false;
}

void Service::commit(bool now) {
  if (!uncommitted_) return;
  const auto time = std::chrono::steady_clock::now();
  if (!now && time - last_commit_ < config_.commit_interval) return;
  if (auto status = consumer_->commit({{partition_, *uncommitted_}}); !status) {
    log::warn("offset commit failed; the ledger still holds the position", {{"error", status.error().message}});
    return;  // tried again after the interval
  }
  uncommitted_.reset();
  last_commit_ = time;
}

void Service::ship(const kafka::RecordBatch& batch, std::stop_token stop) {
  std::vector<std::pair<kafka::Record, OrderId>> shipped;
  std::size_t handled = 0;
  for (; handled < batch.size(); ++handled) {
    const kafka::Record record = batch[handled];
    log::info(consumed_record_json(record.key, record.offset, record.partition, record.value));
    auto order = parse_order(record.value);
    if (!order) {
      log::error("record is not an order", {{"partition", record.partition}, {"offset", record.offset},
                                            {"error", order.error().message}});
      // Not under the lock: the letter waits for Kafka. Stopping first leaves this record and the rest
      // of the batch unrecorded, so the next start reads them again.
      if (!dead_letters_->send(config_.kafka.topic, record, order.error().message, stop)) break;
      std::lock_guard lock(ledger_mutex_);
      ledger_->record_skipped(record.offset);
      continue;
    }
    std::lock_guard lock(ledger_mutex_);
    if (ledger_->contains(order->order_id)) {
      log::warn("order already shipped", {{"order_id", order->order_id.value}, {"offset", record.offset}});
      ledger_->record_skipped(record.offset);
    } else {
      ledger_->record_shipped(record.offset, order->order_id);
      shipped.emplace_back(record, std::move(order->order_id));
    }
  }
  std::unique_lock lock(ledger_mutex_);
  // Durable first, then announced, then committed: a crash at any point resumes from the ledger.
  if (auto status = ledger_->sync(); !status) {
    // Without a durable ledger a restart could ship twice; stop here and let the orchestrator restart us.
    log::error("cannot record shipments, stopping", {{"error", status.error().message}});
    std::abort();
  }
  const std::optional<std::int64_t> next = ledger_->next_offset();
  lock.unlock();
  auto& metrics = metrics::registry();
  metrics.counter("kafka_messages_consumed_total", "Records consumed", {{"partition", std::to_string(partition_)}})
      .inc(handled);
  metrics.counter("orders_shipped_total", "Orders shipped (each once)").inc(shipped.size());
  // "at_us": when it shipped, to the microsecond ("time" is to the second, as zerolog's), for end-to-end
  // latency measured from the logs (the benchmark).
  const auto at_us = std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
  for (const auto& [record, order_id] : shipped) {
    log::info("shipped", {{"order_id", order_id.value}, {"partition", record.partition}, {"offset", record.offset},
                          {"at_us", at_us}});
  }
  if (next) uncommitted_ = *next;  // none if stopped before the first record of a new ledger
}

std::string Service::shipments_json() {
  std::lock_guard lock(ledger_mutex_);
  const auto next = ledger_->next_offset();
  return nlohmann::json{{"partition", partition_},
                        {"shipped", ledger_->shipped()},
                        {"next_offset", next ? nlohmann::json(*next) : nlohmann::json(nullptr)}}
      .dump();
}

}  // namespace kd::repository
