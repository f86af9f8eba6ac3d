// The warehouse of one region: consumes only its own partition, ships each order once, and commits the
// partition's offset after the shipment is on disk.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>

#include "common/config.hpp"
#include "common/http/server.hpp"
#include "common/kafka/consumer.hpp"
#include "common/kafka/dead_letters.hpp"
#include "common/metrics.hpp"
#include "repository/shipment_ledger.hpp"

namespace kd::repository {

struct Config {
  CommonSettings common;
  KafkaSettings kafka;
  HttpServerOptions http;
  std::filesystem::path state_dir = "/tmp/kafka-demo";
  std::string group_id = "repository";
  std::size_t batch_size = 500;
  // Commits are for a new volume's fallback and lag monitoring (the ledger holds the position), and each
  // is a write the brokers replicate: one per batch cost the brokers 4x the CPU per order under load.
  std::chrono::milliseconds commit_interval{200};

  void bind_options(CLI::App& app);
};

class Service {
 public:
  using Config = repository::Config;
  static constexpr const char* kName = "repository";

  static Result<std::unique_ptr<Service>> create(asio::io_context& io, const Config& config);
  ~Service();
  Status start();
  asio::awaitable<void> drain();
  int partition() const { return partition_; }
  std::uint16_t port() const { return server_.port(); }

 private:
  Service(asio::io_context& io, const Config& config, int partition, std::unique_ptr<ShipmentLedger> ledger,
          std::unique_ptr<kafka::Consumer> consumer, std::unique_ptr<kafka::DeadLetters> dead_letters);
  // Finds where to start (ledger, else the group's committed offset, else the beginning) and assigns the
  // partition; retries while the brokers cannot answer. False if stopped first.
  bool assign_start(std::stop_token stop);
  void consume(std::stop_token stop);
  void ship(const kafka::RecordBatch& batch, std::stop_token stop);
  // Commits the ledger's position if it moved and `commit_interval` has passed since the last commit (or
  // now, if `now`). Consumer thread only.
  void commit(bool now);
  std::string shipments_json();

  Config config_;
  int partition_;
  std::mutex ledger_mutex_;  // the consumer thread writes, GET /shipments reads
  std::unique_ptr<ShipmentLedger> ledger_;
  std::unique_ptr<kafka::Consumer> consumer_;
  std::unique_ptr<kafka::DeadLetters> dead_letters_;
  std::atomic<bool> consuming_{false};
  std::optional<std::int64_t> uncommitted_;  // the ledger's next offset, not yet committed
  std::chrono::steady_clock::time_point last_commit_{};
  HttpServer server_;
  metrics::GaugeRegistration lag_gauge_;
  std::jthread consumer_thread_;  // last: joined first, while everything it uses still exists
};

}  // namespace kd::repository
