#include "common/runtime.hpp"

#include <csignal>

namespace kd {

void run_until_signal(asio::io_context& io, std::function<asio::awaitable<void>()> on_signal) {
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int signal_number) {
    if (ec) return;
    log::info("shutting down", {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          co_await on_signal();
          io.stop();
        },
        asio::detached);
  });
  auto keep_running = asio::make_work_guard(io);
  io.run();
}

}  // namespace kd
