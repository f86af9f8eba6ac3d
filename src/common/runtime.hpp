// How every service runs: parse its configuration, build it, serve on one io thread until SIGTERM or
// SIGINT, drain within the grace period, then tear down in reverse order of construction.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/config.hpp"
#include "common/log.hpp"
#include "common/net.hpp"
#include "common/result.hpp"

namespace kd {

// A service is created from its Config (which names bind_options(CLI::App&) and `common`), started,
// drained on a signal (an awaitable run on the io thread), then destroyed.
template <class Service>
concept RunnableService = requires(asio::io_context& io, typename Service::Config& config, Service& service) {
  { Service::kName } -> std::convertible_to<const char*>;
  config.bind_options(std::declval<CLI::App&>());
  { Service::create(io, config) } -> std::same_as<Result<std::unique_ptr<Service>>>;
  { service.start() } -> std::same_as<Status>;
  { service.drain() } -> std::same_as<asio::awaitable<void>>;
};

// glibc gives each thread that allocates an arena of its own (up to 8 per core), and what librdkafka's broker
// threads free stays in theirs: two arenas took statistics catching up 1,000,000 orders from 64-69 to 55-57
// MB at the same speed, and changed nothing in the pipeline's throughput or latency (bench/README.md). A
// MALLOC_ARENA_MAX in the environment still decides. Called first by run_service, before any thread exists.
void limit_malloc_arenas();

// Runs the io loop on the calling thread until `on_signal` (started by SIGINT/SIGTERM, or by
// stop_with_failure) completes.
void run_until_signal(asio::io_context& io, std::function<asio::awaitable<void>()> on_signal);

// For a condition no retry mends (a consumer's state is of a topic that was recreated): shut down as on
// SIGTERM, then exit with status 1, so the orchestrator shows a failing pod and its last error line.
// Callable from any thread. Outside run_service (the in-process tests) it only logs and records it.
void stop_with_failure(std::string_view reason);
bool stopped_with_failure();

template <RunnableService Service>
int run_service(int argc, const char* const* argv) {
  limit_malloc_arenas();
  typename Service::Config config;
  CLI::App app{std::string("kafka-demo ") + Service::kName, Service::kName};
  config.bind_options(app);
  if (auto exit_code = parse_command_line(app, argc, argv)) return *exit_code;

  log::init(config.common.log);
  int exit_code = 0;
  {
    asio::io_context io(1);  // one io thread: sessions need no strands (see HttpServer)
    auto service = Service::create(io, config);
    Status started = service ? (*service)->start() : Status(service.error());
    if (!started) {
      log::error(std::string(Service::kName) + " cannot start: " + started.error().message);
      exit_code = 1;
    } else {
      run_until_signal(io, [&] { return (*service)->drain(); });
      if (stopped_with_failure()) exit_code = 1;
    }
  }  // the service is destroyed here, before the io_context it uses
  // The last line: how the process ends (the SIGTERM fault test looks for it, with status 0).
  log::info("stopped", {{"service", Service::kName}, {"exit_status", exit_code}});
  log::shutdown();
  return exit_code;
}

}  // namespace kd
