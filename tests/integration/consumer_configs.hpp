// The consumers as the integration tests run them in-process: a warehouse and statistics on a test topic,
// each with its own state directory and group, listening on a free port; and their figures as JSON.
#pragma once

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "cluster_fixture.hpp"
#include "repository/repository_service.hpp"
#include "statistics/statistics_service.hpp"

namespace kd::test {

inline repository::Config repository_config(const std::string& topic, int partition,
                                            const std::filesystem::path& state) {
  repository::Config config;
  config.common.pod_name = "repository-" + std::to_string(partition);
  config.kafka.brokers = brokers();
  config.kafka.topic = topic;
  config.http.listen = "127.0.0.1:0";
  config.consumer.state_dir = state;
  config.consumer.group_id = "repository-" + topic;
  return config;
}

inline statistics::Config statistics_config(const std::string& topic, const std::filesystem::path& state) {
  statistics::Config config;
  config.kafka.brokers = brokers();
  config.kafka.topic = topic;
  config.http.listen = "127.0.0.1:0";
  config.consumer.state_dir = state;
  config.consumer.group_id = "statistics-" + topic;
  config.checkpoint_interval = std::chrono::milliseconds(50);
  return config;
}

inline nlohmann::json shipments(Running<repository::Service>& warehouse) {
  return nlohmann::json::parse(call(http::verb::get, warehouse->port(), "/shipments").body);
}

inline nlohmann::json stats(Running<statistics::Service>& service) {
  return nlohmann::json::parse(call(http::verb::get, service->port(), "/stats").body);
}

}  // namespace kd::test
