// The load itself: closed loop (N connections, each sends its next request when the answer arrives) or
// open loop (request i starts at t0 + i/R; latency from that intended start, so a stalled server is
// charged for every request it delayed, queued ones included). One io thread drives everything.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <fstream>
#include <memory>
#include <optional>
#include <vector>

#include "common/net.hpp"
#include "tools/load/options.hpp"
#include "tools/load/stats.hpp"

namespace kd::load {

class Runner {
 public:
  Runner(asio::io_context& io, Options options, tcp::endpoint endpoint);
  ~Runner();

  // Runs until the measured duration or request count is done and every answer is in, or until
  // stop(). Throws only if --record cannot be opened.
  asio::awaitable<void> run();
  // Stop issuing; requests on the wire finish (each within its timeout), queued ones are dropped.
  void stop();
  Summary& summary() { return summary_; }

 private:
  struct Connection;
  struct Waiter;
  using Clock = std::chrono::steady_clock;

  asio::awaitable<void> closed_worker_on(Connection& connection);
  asio::awaitable<void> open_dispatcher();
  asio::awaitable<void> open_request(std::uint64_t seq, Clock::time_point intended);
  asio::awaitable<Connection*> acquire();
  void release(Connection* connection);
  asio::awaitable<Outcome> exchange(Connection& connection, std::uint64_t seq);
  // Next request number in the closed loop, or none when issuing is over.
  std::optional<std::uint64_t> next_closed(Clock::time_point now);
  bool counted(Clock::time_point intended) const { return intended >= measure_start_; }
  void complete(std::uint64_t seq, Clock::time_point intended, const Outcome& outcome);
  void finish_one();

  asio::io_context& io_;
  Options options_;
  tcp::endpoint endpoint_;
  std::vector<std::string> requests_;  // serialised requests: one per partition, or one fixed
  Summary summary_;
  std::ofstream record_;
  std::vector<char> record_buffer_;

  Clock::time_point start_;
  Clock::time_point measure_start_;
  std::optional<Clock::time_point> issue_end_;  // duration mode
  Clock::time_point last_completion_;
  std::chrono::system_clock::time_point wall_start_;
  std::uint64_t next_seq_ = 0;
  std::uint64_t counted_issued_ = 0;
  bool stopping_ = false;
  int active_ = 0;  // workers (closed) or request coroutines and the dispatcher (open)
  std::unique_ptr<asio::steady_timer> done_;      // cancelled when active_ reaches 0
  std::unique_ptr<asio::steady_timer> dispatch_;  // the open loop's schedule timer

  std::vector<std::unique_ptr<Connection>> connections_;
  std::vector<Connection*> idle_;
  std::deque<Waiter*> waiters_;
  int peak_connections_ = 0;
};

}  // namespace kd::load
