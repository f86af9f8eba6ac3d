// kafka-demo-load: parse the command line, resolve the target, run the load on one io thread until it is
// done or SIGINT/SIGTERM stops it, then print one JSON summary. Exit 2 only for usage errors.
#include <csignal>
#include <iostream>

#include "tools/load/runner.hpp"

int main(int argc, char** argv) {
  using namespace kd;
  auto parsed = load::parse_options(std::vector<std::string>(argv + 1, argv + argc));
  if (auto* usage = std::get_if<load::Usage>(&parsed)) {
    (usage->exit_code == 0 ? std::cout : std::cerr) << usage->text;
    return usage->exit_code;
  }
  auto& options = std::get<load::Options>(parsed);
  asio::io_context io(1);
  boost::system::error_code ec;
  const auto endpoints = tcp::resolver(io).resolve(options.target.host, options.target.port, ec);
  if (ec || endpoints.empty()) {
    std::cerr << "kafka-demo-load: cannot resolve " << options.target.host << ": " << ec.message() << "\n";
    return 2;
  }
  load::Runner runner(io, options, endpoints.begin()->endpoint());
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code wait_ec, int) {
    if (!wait_ec) runner.stop();
  });
  int exit_code = 0;
  asio::co_spawn(io, runner.run(), [&](std::exception_ptr error) {
    signals.cancel();
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      std::cerr << "kafka-demo-load: " << e.what() << "\n";
      exit_code = 2;
    }
  });
  io.run();
  if (exit_code == 0) std::cout << runner.summary().to_json() << std::endl;
  return exit_code;
}
