#include "order/order_service.hpp"

#include <nlohmann/json.hpp>

#include "common/local_ports.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "common/pod_identity.hpp"
#include "common/runtime.hpp"
#include "order/last_order_id.hpp"

namespace kd::order {

void Config::bind_options(CLI::App& app) {
  bind_common_options(app, common);
  kafka::bind_client_options(app, kafka);
  // Empty: 127.0.0.1 on the partition's local port (local_ports.hpp), so order-0..2 can share a laptop.
  bind_server_options(app, http, "");
  kafka::bind_producer_options(app, producer);
  kafka::bind_durability_options(app, durability);
  app.add_option_function<int>(
         "--durability-check-ms", [this](int ms) { durability_check = std::chrono::milliseconds(ms); },
         "How often the topic's replication and min.insync.replicas are read again (default 30000)")
      ->envname("DURABILITY_CHECK_MS")
      ->check(CLI::Range(100, 3'600'000));
}

Result<Order> make_order(const HttpRequest& request, SnowflakeGenerator& ids) {
  if (!request.content_type.empty() && !has_media_type(request.content_type, "application/json")) {
    return make_error(Errc::unsupported_media_type,
                      "send the order as application/json, not " + request.content_type);
  }
  auto order_request = parse_order_request(request.body);
  if (!order_request) return order_request.error();
  return Order{order_request->time, std::move(order_request->user_id), order_request->money,
               OrderId{ids.next_string()}};
}

HttpResponse order_not_written(const Order& order, const Error& error) {
  const bool maybe_stored = error.code == Errc::outcome_unknown;
  nlohmann::json body = {
      {"error", to_string(error.code)},
      {"message", maybe_stored
                      ? "Kafka did not confirm the order in time; it may still be stored, look it up by "
                        "order_id before ordering again: " +
                            error.message
                      : "order was not written, retry later: " + error.message},
      {"outcome", maybe_stored ? "unknown" : "not_written"},
      {"order_id", order.order_id.value},
      {"user_id", order.user_id.value},
  };
  // Replace, not throw: a message may quote a peer's bytes cut mid-character.
  return HttpResponse::json(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                            http_status(error.code));
}

Result<std::unique_ptr<Service>> Service::create(asio::io_context& io, const Config& config) {
  auto partition = resolve_partition(config.common.pod_name, current_hostname(), config.kafka.partitions);
  if (!partition) return partition.error();
  Config resolved = config;
  if (resolved.http.listen.empty()) resolved.http.listen = local_listen(local_ports::kOrderBase + *partition);
  auto producer = kafka::Producer::create({.brokers = config.kafka.brokers,
                                           .client_id = "order-" + std::to_string(*partition),
                                           .delivery_timeout = config.producer.delivery_timeout,
                                           .linger_ms = config.producer.linger_ms,
                                           .linger_when = config.producer.linger_when,
                                           .extra = config.kafka.properties,
                                           // No write succeeds after a fatal error: exit (drained) so that
                                           // the orchestrator starts the instance again with a new producer.
                                           .on_fatal = [](const std::string& reason) {
                                             stop_with_failure("the Kafka producer failed fatally (" +
                                                               reason + "); restarting is the only cure");
                                           }});
  if (!producer) return producer.error();
  return std::unique_ptr<Service>(new Service(io, resolved, *partition, std::move(*producer)));
}

Service::Service(asio::io_context& io, const Config& config, int partition,
                 std::unique_ptr<kafka::Producer> producer)
    // Order ids take the partition as their snowflake node: instances never hand out the same id.
    : config_(config),
      partition_(partition),
      clock_floor_(std::make_shared<std::atomic<std::int64_t>>(0)),
      ids_(static_cast<std::uint16_t>(partition),
           [floor = clock_floor_] { return std::max(SnowflakeGenerator::system_clock_ms(), floor->load()); }),
      producer_(std::move(producer)),
      produce_errors_(
          metrics::registry().counter("kafka_produce_errors_total", "Orders Kafka did not acknowledge")),
      produce_seconds_(metrics::registry().histogram(
          "kafka_produce_duration_seconds", "Time from writing an order to Kafka's acknowledgement")),
      server_(io, config.http),
      durability_(config.kafka.topic, config.durability, config.kafka.brokers) {
  add_probe_routes(server_, kName, [this]() -> std::optional<std::string> {
    if (auto fatal = producer_->fatal_error()) return "the Kafka producer failed fatally: " + *fatal;
    // Kafka's refusal first: it is why the ids cannot be read either, and what a person must fix.
    if (auto unreachable = producer_->unreachable_reason()) return unreachable;
    if (!ids_secured_ && !partition_known_) {
      return "reading the metadata of topic " + config_.kafka.topic + ", which must have partition " +
             std::to_string(partition_) + " (kafka-demo-admin grow-topic adds it)";
    }
    if (!ids_secured_) return "reading the newest order ids of partition " + std::to_string(partition_);
    return durability_.refusal();
  });
  queue_gauge_ = metrics::registry().gauge("kafka_producer_queue_length",
                                           "Writes waiting for Kafka's acknowledgement", [this] {
                                             return std::vector<std::pair<metrics::Labels, double>>{
                                                 {{}, static_cast<double>(producer_->pending())}};
                                           });
  server_.route(http::verb::post, "/submit-order",
                [this](HttpRequest request) { return submit_order(std::move(request)); });
}

Status Service::start() {
  // Not fatal: with Kafka down at start the instance still starts, answers 503 and reports not ready. A
  // second at most here, where nothing is served yet (not even /healthz); the retries wait longer.
  const auto first_try = std::min(config_.producer.delivery_timeout, std::chrono::milliseconds(1000));
  if (!secure_ids(first_try)) {
    id_reader_ = std::jthread([this](std::stop_token stop) {
      while (!stop.stop_requested() && !secure_ids(config_.producer.delivery_timeout)) {
        for (int i = 0; i < 10 && !stop.stop_requested(); ++i)
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
  }
  if (auto warning = kafka::single_copy_warning(config_.durability)) log::warn(*warning);
  // The first verdict before serving, as for the ids: a ready instance takes orders at once. Then in the
  // background: within a second while there is none, every durability_check after.
  if (ids_secured_) check_durability();
  durability_watch_ = std::jthread([this](std::stop_token stop) {
    while (!stop.stop_requested()) {
      const auto wait = durability_.settled() ? config_.durability_check : std::chrono::milliseconds(1000);
      const auto until = std::chrono::steady_clock::now() + wait;
      while (!stop.stop_requested() && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      // Once Kafka answers (the ids were read): before, readiness already says why, and a check would only
      // add a second line about the same unreachable brokers.
      if (ids_secured_ && !stop.stop_requested()) check_durability();
    }
  });
  if (auto status = server_.start(); !status) return status;
  log::info("order listening",
            {{"port", server_.port()}, {"partition", partition_}, {"topic", config_.kafka.topic}});
  return Ok{};
}

bool Service::secure_ids(std::chrono::milliseconds timeout) {
  // Retried every second: a line when the reason changes, not at every try.
  const auto waiting = [this](const char* message, const std::string& reason) {
    if (reason != id_reader_error_) {
      id_reader_error_ = reason;
      log::warn(message, {{"error", reason}});
    }
    return false;
  };
  // A new region's instance may start before its partition is added, and a broker may still answer with
  // the metadata of before: wait until this producer knows the partition, or every order would fail.
  // The metadata request also connects to the leaders, so the first order does not pay for it.
  auto partitions = producer_->warm_up(config_.kafka.topic, timeout);
  if (!partitions)
    return waiting("kafka not reachable yet; orders get 503 until then", partitions.error().message);
  partition_known_ = *partitions > partition_;
  if (!partition_known_) {
    return waiting("partition not in the topic yet; orders get 503 until then",
                   "topic " + config_.kafka.topic + " has " + std::to_string(*partitions) +
                       " partitions, so no partition " + std::to_string(partition_));
  }
  // 100 records: the newest id of this instance is among the last few it wrote, whatever Kafka holds after
  // them (copies, a record that is not an order).
  auto newest = read_newest_records(config_.kafka, partition_, 100, timeout);
  if (!newest)
    return waiting("cannot read the newest order ids yet; orders get 503 until then", newest.error().message);
  if (const auto largest = largest_order_id(*newest, partition_)) {
    const std::int64_t floor = clock_floor_ms(*largest);
    clock_floor_->store(floor);
    const std::int64_t behind = floor - SnowflakeGenerator::system_clock_ms();
    if (behind > 0) {
      log::warn("the clock is behind the newest order id of this partition; new ids continue after it",
                {{"newest_order_id", std::to_string(*largest)}, {"clock_behind_ms", behind}});
    }
  }
  ids_secured_ = true;
  return true;
}

void Service::check_durability() {
  // A second while there is no verdict yet (the first check runs in start(), before anything is served).
  const auto timeout = durability_.settled()
                           ? config_.producer.delivery_timeout
                           : std::min(config_.producer.delivery_timeout, std::chrono::milliseconds(1000));
  const auto change = durability_.record(producer_->describe_durability(config_.kafka.topic, timeout));
  if (!change) return;
  if (change->warning) {
    log::warn(change->message, {{"topic", config_.kafka.topic}, {"reason", change->detail}});
  } else {
    log::info(change->message, {{"topic", config_.kafka.topic}, {"settings", change->detail}});
  }
}

asio::awaitable<void> Service::drain() {
  // Requests in flight are waiting for Kafka's acknowledgement; shutdown() lets them have it.
  co_await server_.shutdown(config_.common.shutdown_timeout);
  // Every request was answered by now; what is left is the rare write whose answer was abandoned.
  if (producer_->flush(config_.producer.delivery_timeout)) {
    log::info("producer flushed", {{"pending", producer_->pending()}});
  } else {
    log::error("producer not flushed within the delivery timeout", {{"pending", producer_->pending()}});
  }
}

asio::awaitable<HttpResponse> Service::submit_order(HttpRequest request) {
  if (!ids_secured_) {
    co_return HttpResponse::from_error(make_error(
        Errc::unavailable, "order ids are not safe yet (reading the newest ids of partition " +
                               std::to_string(partition_) +
                               " from Kafka, which must have it); nothing was written, retry later"));
  }
  // A 200 must mean the copies the guarantee names: not taken on a topic that cannot hold them.
  if (auto refusal = durability_.refusal()) {
    co_return HttpResponse::from_error(make_error(
        Errc::unavailable, "not taking orders: " + *refusal + "; nothing was written, retry later"));
  }
  if (auto fatal = producer_->fatal_error()) {
    co_return HttpResponse::from_error(
        make_error(Errc::unavailable, "this order instance's Kafka producer failed (" + *fatal +
                                          ") and it is restarting; nothing was written, retry later"));
  }
  auto order = make_order(request, ids_);
  if (!order) co_return HttpResponse::from_error(order.error());
  std::string payload = to_json(*order);
  const auto began = std::chrono::steady_clock::now();
  auto delivery =
      co_await producer_->async_produce(config_.kafka.topic, partition_, payload, asio::use_awaitable);
  produce_seconds_.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
  if (!delivery) {
    produce_errors_.inc();
    log::error("order not written",
               {{"order_id", order->order_id.value}, {"error", delivery.error().message}});
    co_return order_not_written(*order, delivery.error());
  }
  log::info(payload);  // the seed's order service logs the order as its message, once it is in Kafka
  co_return HttpResponse::json(std::move(payload));
}

}  // namespace kd::order
