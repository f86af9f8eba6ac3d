// One configuration schema for all services: every setting is a flag and an environment variable
// (the Kubernetes ConfigMap and downward API), with a default that works on a laptop. This file holds
// what every program has and the parsing; each module binds its own settings beside its code.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/log.hpp"

namespace kd {

struct CommonSettings {
  log::Options log;
  std::chrono::milliseconds shutdown_timeout{20'000};  // fits Kubernetes' default 30 s grace period
  std::string pod_name;                                // POD_NAME, from the downward API
};

// Each module binds its own settings: kafka::bind_client_options and kafka::bind_producer_options
// (common/kafka/settings.hpp), consumer::bind_consumer_options, bind_server_options (common/http).
void bind_common_options(CLI::App& app, CommonSettings& common);

// Parses flags and environment. Returns the exit code when the process should stop now: 0 after --help,
// 2 after a bad value (with a message naming the flag and its variable).
std::optional<int> parse_command_line(CLI::App& app, int argc, const char* const* argv);

}  // namespace kd
