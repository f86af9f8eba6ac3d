#include "tools/load/runner.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace kd::load {
namespace {

std::string serialise(const Options& options, const std::optional<std::string>& body) {
  std::string text =
      std::string(http::to_string(options.method)) + " " + options.target.target + " HTTP/1.1\r\n";
  text += "Host: " + options.target.authority() + "\r\n";
  text += "User-Agent: kafka-demo-load\r\n";
  if (body) {
    text += "Content-Type: " + options.content_type + "\r\n";
    text += "Content-Length: " + std::to_string(body->size()) + "\r\n";
  }
  text += "\r\n";
  if (body) text += *body;
  return text;
}

}  // namespace

struct Runner::Connection {
  std::optional<beast::tcp_stream> stream;  // empty while closed; a fresh one for every connect
  beast::flat_buffer buffer;
  Clock::time_point idle_since{};

  // A kept-alive connection its server may have closed while it sat idle (ours close one idle for
  // HTTP_IDLE_TIMEOUT_MS, 60 s): written to, its request meets the close and ends unanswered ("read: end of
  // stream" in microseconds: 145 of them in the chaos soak, where a fault's burst grew the open loop's pool
  // and a later one reached its oldest connections). So one idle for long, or one whose peer has already
  // closed it (a peek finds the end of the stream), connects afresh instead.
  bool reusable(Clock::time_point now) {
    if (now - idle_since > std::chrono::seconds(10)) return false;
    char byte = 0;
    const auto n = ::recv(stream->socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
};

// A request waiting for a connection (open loop, all --max-connections busy). Lives in its coroutine's
// frame; release() hands it a connection and cancels its timer, stop() cancels it with none.
struct Runner::Waiter {
  explicit Waiter(asio::io_context& io) : timer(io, asio::steady_timer::time_point::max()) {}
  asio::steady_timer timer;
  Connection* connection = nullptr;
};

Runner::Runner(asio::io_context& io, Options options, tcp::endpoint endpoint)
    : io_(io), options_(std::move(options)), endpoint_(std::move(endpoint)) {
  if (options_.body) {
    requests_.push_back(serialise(options_, options_.body));
  } else if (options_.rotates_partitions()) {
    for (int p = 0; p < options_.partitions; ++p)
      requests_.push_back(serialise(options_, partition_body(p, options_.partitions)));
  } else {
    requests_.push_back(serialise(options_, std::nullopt));  // GET without a body
  }
}

Runner::~Runner() = default;

void Runner::stop() {
  if (stopping_) return;
  stopping_ = true;
  if (dispatch_) dispatch_->cancel();
  // Queued requests were never sent: drop them (not counted), so the run ends with what is on the wire.
  while (!waiters_.empty()) {
    Waiter* waiter = waiters_.front();
    waiters_.pop_front();
    waiter->connection = nullptr;
    waiter->timer.cancel();
  }
}

asio::awaitable<void> Runner::run() {
  if (!options_.record_path.empty()) {
    record_buffer_.resize(1 << 20);
    record_.rdbuf()->pubsetbuf(record_buffer_.data(), static_cast<std::streamsize>(record_buffer_.size()));
    record_.open(options_.record_path, std::ios::out | std::ios::trunc);
    if (!record_) throw std::runtime_error("cannot write " + options_.record_path);
  }
  done_ = std::make_unique<asio::steady_timer>(io_, asio::steady_timer::time_point::max());

  const int initial =
      options_.open_loop() ? (options_.connections_given ? options_.connections : 0) : options_.connections;
  for (int i = 0; i < initial; ++i) connections_.push_back(std::make_unique<Connection>());
  if (options_.open_loop()) {
    // Pre-opened connections (--connections in open loop) are connected before t0, so the first
    // requests do not pay for it; a failure here is left for the request that uses it.
    for (auto& connection : connections_) {
      boost::system::error_code ec;
      connection->stream.emplace(io_);
      connection->stream->expires_after(options_.timeout);
      co_await connection->stream->async_connect(endpoint_, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        connection->stream.reset();
      } else {
        connection->stream->socket().set_option(tcp::no_delay(true), ec);
        connection->stream->expires_never();
      }
      connection->idle_since = Clock::now();
      idle_.push_back(connection.get());
    }
    peak_connections_ = static_cast<int>(connections_.size());
  }

  start_ = Clock::now();
  wall_start_ = std::chrono::system_clock::now();
  measure_start_ = start_ + options_.warmup;
  if (options_.duration) issue_end_ = measure_start_ + *options_.duration;
  last_completion_ = measure_start_;

  if (options_.open_loop()) {
    dispatch_ = std::make_unique<asio::steady_timer>(io_);
    ++active_;
    asio::co_spawn(io_, open_dispatcher(), asio::detached);
  } else {
    for (auto& connection : connections_) {
      ++active_;
      asio::co_spawn(io_, closed_worker_on(*connection), asio::detached);
    }
  }
  if (active_ > 0) {
    boost::system::error_code ec;
    co_await done_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  for (auto& connection : connections_) {
    if (connection->stream) connection->stream->close();
  }
  summary_.open_loop = options_.open_loop();
  summary_.connections = options_.open_loop() ? peak_connections_ : options_.connections;
  summary_.rate = options_.rate;
  summary_.duration_s =
      summary_.requests > 0 ? std::chrono::duration<double>(last_completion_ - measure_start_).count() : 0.0;
  if (record_.is_open()) record_.flush();
}

std::optional<std::uint64_t> Runner::next_closed(Clock::time_point now) {
  if (stopping_) return std::nullopt;
  const bool measuring = now >= measure_start_;
  if (issue_end_ && now >= *issue_end_) return std::nullopt;
  if (options_.requests && measuring && counted_issued_ >= *options_.requests) return std::nullopt;
  if (measuring) ++counted_issued_;
  return next_seq_++;
}

asio::awaitable<void> Runner::closed_worker_on(Connection& connection) {
  while (true) {
    const auto intended = Clock::now();
    const auto seq = next_closed(intended);
    if (!seq) break;
    auto outcome = co_await exchange(connection, *seq);
    complete(*seq, intended, outcome);
  }
  finish_one();
}

asio::awaitable<void> Runner::open_dispatcher() {
  const double rate = *options_.rate;
  while (!stopping_) {
    if (options_.requests && counted_issued_ >= *options_.requests) break;
    const auto intended = start_ + intended_offset(next_seq_, rate);
    if (issue_end_ && intended >= *issue_end_) break;
    if (intended > Clock::now()) {
      boost::system::error_code ec;
      dispatch_->expires_at(intended);
      co_await dispatch_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (stopping_) break;
    }
    const std::uint64_t seq = next_seq_++;
    if (counted(intended)) ++counted_issued_;
    ++active_;
    asio::co_spawn(io_, open_request(seq, intended), asio::detached);
  }
  finish_one();
}

asio::awaitable<void> Runner::open_request(std::uint64_t seq, Clock::time_point intended) {
  Connection* connection = co_await acquire();
  if (connection != nullptr) {
    auto outcome = co_await exchange(*connection, seq);
    release(connection);
    complete(seq, intended, outcome);
  }
  finish_one();
}

asio::awaitable<Runner::Connection*> Runner::acquire() {
  if (!idle_.empty()) {
    Connection* connection = idle_.back();
    idle_.pop_back();
    if (connection->stream && !connection->reusable(Clock::now())) {
      connection->stream.reset();
      connection->buffer.clear();
    }
    co_return connection;
  }
  if (static_cast<int>(connections_.size()) < options_.max_connections) {
    connections_.push_back(std::make_unique<Connection>());
    peak_connections_ = std::max(peak_connections_, static_cast<int>(connections_.size()));
    co_return connections_.back().get();
  }
  Waiter waiter(io_);
  waiters_.push_back(&waiter);
  boost::system::error_code ec;
  co_await waiter.timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  co_return waiter.connection;
}

void Runner::release(Connection* connection) {
  if (!waiters_.empty()) {
    Waiter* waiter = waiters_.front();
    waiters_.pop_front();
    waiter->connection = connection;
    waiter->timer.cancel();
    return;
  }
  connection->idle_since = Clock::now();
  idle_.push_back(connection);
}

asio::awaitable<Outcome> Runner::exchange(Connection& connection, std::uint64_t seq) {
  const auto deadline = Clock::now() + options_.timeout;
  const auto fail = [&connection](const boost::system::error_code& ec, std::string_view step) {
    connection.stream.reset();  // closes the socket; the next request connects afresh
    connection.buffer.clear();
    return Outcome{0, std::string(step) + ": " + (ec == beast::error::timeout ? "timeout" : ec.message())};
  };
  boost::system::error_code ec;
  if (!connection.stream) {
    connection.stream.emplace(io_);
    connection.buffer.clear();
    connection.stream->expires_at(deadline);
    co_await connection.stream->async_connect(endpoint_, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return fail(ec, "connect");
    connection.stream->socket().set_option(tcp::no_delay(true), ec);
  }
  const std::string& request = requests_[requests_.size() == 1 ? 0 : seq % requests_.size()];
  connection.stream->expires_at(deadline);
  co_await asio::async_write(*connection.stream, asio::buffer(request),
                             asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return fail(ec, "write");
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  co_await http::async_read(*connection.stream, connection.buffer, parser,
                            asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return fail(ec, "read");
  auto& response = parser.get();
  Outcome outcome{response.result_int(), std::move(response.body())};
  if (!response.keep_alive()) {
    connection.stream.reset();
    connection.buffer.clear();
  } else {
    connection.stream->expires_never();
  }
  co_return outcome;
}

void Runner::complete(std::uint64_t seq, Clock::time_point intended, const Outcome& outcome) {
  if (!counted(intended)) return;
  const auto now = Clock::now();
  const auto latency_us = std::chrono::duration_cast<std::chrono::microseconds>(now - intended).count();
  summary_.count(outcome, latency_us);
  last_completion_ = std::max(last_completion_, now);
  if (record_.is_open()) {
    std::optional<int> partition;
    if (options_.rotates_partitions() && !options_.body)
      partition = static_cast<int>(seq % options_.partitions);
    std::optional<std::int64_t> start_us;
    if (options_.record_start) {
      start_us = std::chrono::duration_cast<std::chrono::microseconds>(
                     (wall_start_ +
                      std::chrono::duration_cast<std::chrono::system_clock::duration>(intended - start_))
                         .time_since_epoch())
                     .count();
    }
    record_ << record_line(seq, partition, outcome, latency_us, start_us) << '\n';
  }
}

void Runner::finish_one() {
  if (--active_ == 0 && done_) done_->cancel();
}

}  // namespace kd::load
