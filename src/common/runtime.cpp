#include "common/runtime.hpp"

#include <malloc.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <mutex>

namespace kd {
namespace {

std::atomic<bool> failed{false};
std::mutex shutdown_mutex;
std::function<void(std::string_view)> request_shutdown;  // while run_until_signal runs

}  // namespace

void limit_malloc_arenas() {
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) mallopt(M_ARENA_MAX, 2);
}

void run_until_signal(asio::io_context& io, std::function<asio::awaitable<void>()> on_signal) {
  bool draining = false;  // the io thread's own
  auto drain = [&](std::string_view why) {
    if (std::exchange(draining, true)) return;
    log::info("shutting down", {{"cause", why}});
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          co_await on_signal();
          io.stop();
        },
        asio::detached);
  };
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int signal_number) {
    if (!ec) drain(signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
  });
  {
    std::lock_guard lock(shutdown_mutex);
    request_shutdown = [&](std::string_view) { asio::post(io, [&] { drain("failure"); }); };
  }
  auto keep_running = asio::make_work_guard(io);
  io.run();
  std::lock_guard lock(shutdown_mutex);
  request_shutdown = nullptr;
}

void stop_with_failure(std::string_view reason) {
  failed = true;
  log::error("stopping with a failure", {{"reason", reason}});
  std::lock_guard lock(shutdown_mutex);
  if (request_shutdown) request_shutdown(reason);
}

bool stopped_with_failure() { return failed; }

}  // namespace kd
