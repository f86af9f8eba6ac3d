// kafka-demo-produce-bench: the benchmark's Kafka ceiling, and the producer of the statistics catch-up
// backlog. Writes real orders (the order service's JSON, so consumers count them) with the order
// service's producer: kd::kafka::Producer with the same options (idempotent, acks=all, linger, delivery
// timeout, extra properties), one producer per partition as there is one order instance per partition,
// all completing on one io thread as in the service. --window bounds the writes in flight: the ceiling
// takes a large one, the pipeline has at most its HTTP concurrency. --rate makes it an open loop instead:
// write i starts at t0 + i/rate whatever the acknowledgements do, and its latency counts from that planned
// start, as kafka-demo-load counts the pipeline's, so the two compare at the same rate. Prints one JSON line.
#include <algorithm>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>

#include "common/config.hpp"
#include "common/kafka/producer.hpp"
#include "common/kafka/settings.hpp"
#include "common/order.hpp"

namespace kd {
namespace {

struct Config {
  KafkaSettings kafka;
  CommonSettings common;
  kafka::ProducerSettings
      producer;  // the order service's settings and defaults: the ceiling is the pipeline's
  std::uint64_t messages = 200'000;
  int window = 50'000;
  double rate = 0;  // writes per second, open loop; 0: as fast as the window allows

  void bind_options(CLI::App& app) {
    bind_common_options(app, common);
    kafka::bind_client_options(app, kafka);
    kafka::bind_producer_options(app, producer);  // the order service's flags and variables
    app.add_option("--messages", messages, "Orders to write")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--window", window, "Closed loop: most writes in flight at once")
        ->check(CLI::Range(1, 100'000))
        ->capture_default_str();
    app.add_option("--rate", rate,
                   "Open loop: write i starts at t0 + i/R; its latency counts from then (default: closed, "
                   "as fast as --window allows)")
        ->check(CLI::PositiveNumber);
  }
};

struct Run {
  std::uint64_t sent = 0;
  std::uint64_t done = 0;
  std::uint64_t errors = 0;
  std::uint64_t bytes = 0;
  int in_flight = 0;
  std::string first_error;
  std::vector<std::int64_t> ack_us;
};

int run(const Config& config) {
  asio::io_context io(1);
  std::vector<std::unique_ptr<kafka::Producer>> producers;
  for (int partition = 0; partition < config.kafka.partitions; ++partition) {
    auto producer = kafka::Producer::create({.brokers = config.kafka.brokers,
                                             .client_id = "produce-bench-" + std::to_string(partition),
                                             .delivery_timeout = config.producer.delivery_timeout,
                                             .linger_ms = config.producer.linger_ms,
                                             .linger_when = config.producer.linger_when,
                                             .extra = config.kafka.properties});
    if (!producer) {
      std::cerr << "produce-bench: " << producer.error().message << "\n";
      return 1;
    }
    if (auto warm = (*producer)->warm_up(config.kafka.topic, std::chrono::seconds(10)); !warm) {
      std::cerr << "produce-bench: " << warm.error().message << "\n";
      return 1;
    }
    producers.push_back(std::move(*producer));
  }

  // Orders as the pipeline makes them: snowflake ids whose node is the partition (as each order instance's
  // are, so GET /orders/{id} finds them: the benchmark looks orders up in this backlog), money 1..999, time
  // now.
  SnowflakeGenerator user_ids(1000);
  std::vector<std::unique_ptr<SnowflakeGenerator>> order_ids;
  for (std::size_t partition = 0; partition < producers.size(); ++partition)
    order_ids.push_back(std::make_unique<SnowflakeGenerator>(static_cast<std::uint16_t>(partition)));
  std::mt19937_64 random(42);
  std::uniform_int_distribution<std::int64_t> money(1, 999);
  Run state;
  state.ack_us.reserve(config.messages);
  const auto began = std::chrono::steady_clock::now();
  auto finished = began;
  std::function<void()> pump;

  // Starts write number state.sent, whose latency counts from planned_start.
  const auto send_one = [&](std::chrono::steady_clock::time_point planned_start) {
    const int partition = static_cast<int>(state.sent % producers.size());
    const Order order{std::time(nullptr), UserId{user_ids.next_string()}, money(random),
                      OrderId{order_ids[partition]->next_string()}};
    const std::string payload = to_json(order);
    state.bytes += payload.size();
    ++state.sent;
    ++state.in_flight;
    producers[partition]->async_produce(
        config.kafka.topic, partition, payload,
        asio::bind_executor(io, [&, planned_start](Result<kafka::Delivery> result) {
          --state.in_flight;
          ++state.done;
          const auto now = std::chrono::steady_clock::now();
          state.ack_us.push_back(
              std::chrono::duration_cast<std::chrono::microseconds>(now - planned_start).count());
          if (!result) {
            if (state.errors++ == 0) state.first_error = result.error().message;
          }
          if (state.done == config.messages) {
            finished = now;
            io.stop();
          } else if (config.rate <= 0) {
            pump();
          }
        }));
  };
  // Closed: keeps the window full, refilled from each acknowledgement.
  pump = [&] {
    while (state.in_flight < config.window && state.sent < config.messages)
      send_one(std::chrono::steady_clock::now());
  };
  // Open: every write whose planned start has come, then sleeps until the next one's.
  asio::steady_timer pace(io);
  const auto planned = [&](std::uint64_t index) {
    return began + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                       std::chrono::duration<double>(static_cast<double>(index) / config.rate));
  };
  std::function<void()> pace_writes = [&] {
    const auto now = std::chrono::steady_clock::now();
    while (state.sent < config.messages && planned(state.sent) <= now) send_one(planned(state.sent));
    if (state.sent == config.messages) return;
    pace.expires_at(planned(state.sent));
    pace.async_wait([&](const std::error_code& error) {
      if (!error) pace_writes();
    });
  };
  asio::post(io, config.rate > 0 ? pace_writes : pump);
  auto guard = asio::make_work_guard(io);
  io.run();

  const double seconds = std::chrono::duration<double>(finished - began).count();
  std::sort(state.ack_us.begin(), state.ack_us.end());
  const auto pct = [&](double q) {
    if (state.ack_us.empty()) return 0.0;
    const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(state.ack_us.size())));
    return static_cast<double>(state.ack_us[std::max<std::size_t>(rank, 1) - 1]) / 1000.0;
  };
  nlohmann::ordered_json out;
  out["topic"] = config.kafka.topic;
  out["messages"] = state.done;
  out["errors"] = state.errors;
  if (state.errors > 0) out["first_error"] = state.first_error;
  out["producers"] = producers.size();
  out["window"] = config.window;
  out["linger_ms"] = config.producer.linger_ms;
  out["linger_when"] = kafka::to_string(config.producer.linger_when);
  out["bytes_per_msg"] =
      state.sent ? static_cast<double>(state.bytes) / static_cast<double>(state.sent) : 0.0;
  out["seconds"] = std::round(seconds * 1000) / 1000;
  out["msgs_per_s"] = seconds > 0 ? std::round(static_cast<double>(state.done) / seconds) : 0.0;
  out["ack_p50_ms"] = pct(0.5);
  out["ack_p99_ms"] = pct(0.99);
  out["ack_p999_ms"] = pct(0.999);
  if (config.rate > 0) out["rate"] = config.rate;
  std::cout << out.dump() << std::endl;
  return 0;
}

}  // namespace
}  // namespace kd

int main(int argc, char** argv) {
  kd::Config config;
  CLI::App app{"kafka-demo-produce-bench: produce-only throughput with the order service's producer",
               "kafka-demo-produce-bench"};
  config.bind_options(app);
  if (auto exit_code = kd::parse_command_line(app, argc, argv)) return *exit_code;
  kd::log::init(config.common.log);
  const int exit_code = kd::run(config);
  kd::log::shutdown();
  return exit_code;
}
