#include "common/http/server.hpp"

#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <array>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/log.hpp"
#include "common/metrics.hpp"

namespace kd {
namespace {

using namespace std::chrono_literals;

// Request line and headers together (Beast's default); beyond it, 431.
constexpr std::uint32_t kHeaderLimit = 8 * 1024;

// Descriptors a service needs besides its HTTP connections: Kafka clients (a socket per broker and
// wake-up pipes), the gateway's connections to the order instances, state and log files.
constexpr std::uint64_t kSpareFiles = 128;
// 503s written at once, each lingering at most kRefusalLinger for the request the client sent (already in
// our receive buffer for any real client); a flood beyond it is closed unanswered.
constexpr int kMostRefusing = 1024;
constexpr auto kRefusalLinger = 100ms;
// A connection that has served a request (a client's keep-alive, an ingress's pool) waits this long idle
// before it may be closed to make room, on top of ConnectionLimit's second: a flood of connections that
// never send anything gives way first. Measured: evictable after one second, the load generator's pooled
// connections met 7 closes in 1,177 requests during a 10,000-connection flood.
constexpr auto kKeptAliveSpared = 10s;

// Process-wide, like the request metrics: one series whatever the number of servers (in-process tests).
struct ConnectionMetrics {
  std::atomic<std::int64_t> open{0};
  metrics::Counter& refused = metrics::registry().counter(
      "http_connections_refused_total", "Connections answered 503 and closed at the connection limit");
  metrics::Counter& evicted = metrics::registry().counter(
      "http_connections_evicted_total",
      "Idle connections closed to make room for a new one at the limit, or to free a file descriptor");
  metrics::Counter& accept_failures = metrics::registry().counter(
      "http_accept_failures_total",
      "Accepts that failed for want of a resource (EMFILE, ENFILE), each a pause");
  metrics::GaugeRegistration gauge = metrics::registry().gauge(
      "http_connections_open", "Open HTTP connections (idle, busy or streaming)", [this] {
        return std::vector<std::pair<metrics::Labels, double>>{{{}, static_cast<double>(open.load())}};
      });
};

ConnectionMetrics& connection_metrics() {
  static ConnectionMetrics instance;
  return instance;
}

std::string error_body(Errc code, std::string_view message) {
  return nlohmann::json{{"error", to_string(code)}, {"message", message}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

HttpResponse HttpResponse::from_error(const Error& error) {
  return json(error_body(error.code, error.message), http_status(error.code));
}

struct HttpServer::Session {
  Session(tcp::socket socket, ConnectionLimit::Id id) : stream(std::move(socket)), id(id) {}
  beast::tcp_stream stream;
  ConnectionLimit::Id id;
  bool served = false;            // answered a request: a keep-alive connection now
  std::uint64_t wait_number = 0;  // which wait for a request the spare timer belongs to
  bool waiting = false;
  bool busy = false;  // between reading a request's first byte and writing its answer
  // Which read the request-timeout timer belongs to, so that a timer that fired just as its read
  // completed cannot cancel a later one.
  std::uint64_t read_number = 0;
  bool reading = false;
  bool timed_out = false;
  bool streaming = false;  // handed to a StreamWriter: stop() closes it
};

HttpServer::HttpServer(asio::io_context& io, HttpServerOptions options)
    : io_(io), options_(std::move(options)), acceptor_(io), limit_(options_.max_connections) {
  connection_metrics();  // every series from the first scrape, at zero
  http::response<http::string_body> refusal{http::status::service_unavailable, 11};
  refusal.set(http::field::server, "kafka-demo");
  refusal.set(http::field::content_type, "application/json");
  refusal.set(http::field::retry_after, "1");
  refusal.keep_alive(false);  // Connection: close
  refusal.body() = error_body(Errc::unavailable, "too many connections: every one of the " +
                                                     std::to_string(options_.max_connections) +
                                                     " this server takes is busy; try again");
  refusal.prepare_payload();
  std::ostringstream bytes;
  bytes << refusal;
  refusal_ = bytes.str();
}

HttpServer::~HttpServer() = default;

void HttpServer::route(http::verb method, const std::string& path, HttpHandler handler) {
  routes_[path][method] = std::move(handler);
}

Status HttpServer::start() {
  auto endpoint = parse_listen_address(options_.listen);
  if (!endpoint) return endpoint.error();
  boost::system::error_code ec;
  acceptor_.open(endpoint->protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(*endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return make_error(Errc::unavailable, "cannot listen on " + options_.listen + ": " + ec.message());
  port_ = acceptor_.local_endpoint().port();
  if (const auto files = raise_open_files_limit(); files < options_.max_connections + kSpareFiles) {
    log::warn(
        "the open-files limit is below the connection limit: connections beyond it meet EMFILE (accepting "
        "pauses) rather than a 503; raise the limit (ulimit -n, LimitNOFILE) or lower HTTP_MAX_CONNECTIONS",
        {{"open_files_limit", files}, {"max_connections", options_.max_connections}});
  }
  asio::co_spawn(io_, accept_loop(), asio::detached);
  return Ok{};
}

void HttpServer::stop() {
  stopping_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  if (accept_pause_) accept_pause_->cancel();
  // Idle connections are closed now; busy ones close after their answer (serve() checks stopping_).
  for (auto& [raw, weak] : sessions_) {
    if (auto session = weak.lock(); session && (!session->busy || session->streaming))
      session->stream.socket().close(ignored);
  }
}

asio::awaitable<bool> HttpServer::shutdown(std::chrono::milliseconds grace) {
  stop();
  asio::steady_timer timer(io_);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (in_flight_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    timer.expires_after(10ms);
    co_await timer.async_wait(asio::use_awaitable);
  }
  co_return in_flight_.load() == 0;
}

std::uint64_t raise_open_files_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;  // an unlimited hard limit cannot be had
  }
  return limit.rlim_cur;
}

void bind_server_options(CLI::App& app, HttpServerOptions& http, const std::string& default_listen) {
  http.listen = default_listen;
  app.add_option("--listen", http.listen, "host:port the HTTP API listens on")
      ->envname("LISTEN")
      ->capture_default_str();
  app.add_option("--body-limit", http.body_limit, "Largest request body in bytes; larger gets 413")
      ->envname("HTTP_BODY_LIMIT")
      ->check(CLI::Range(std::size_t{64}, std::size_t{16} << 20))
      ->capture_default_str();
  app.add_option_function<int>(
         "--request-timeout-ms", [&http](int ms) { http.request_timeout = std::chrono::milliseconds(ms); },
         "Longest time to receive one request from its first byte (default 10000)")
      ->envname("HTTP_REQUEST_TIMEOUT_MS")
      ->check(CLI::Range(100, 600'000));
  app.add_option_function<int>(
         "--idle-timeout-ms", [&http](int ms) { http.idle_timeout = std::chrono::milliseconds(ms); },
         "Longest time a keep-alive connection may sit idle (default 60000)")
      ->envname("HTTP_IDLE_TIMEOUT_MS")
      ->check(CLI::Range(100, 3'600'000));
  app.add_option("--max-connections", http.max_connections,
                 "Open connections at most; at the limit the longest-idle one is closed to make room, else a "
                 "new one gets 503")
      ->envname("HTTP_MAX_CONNECTIONS")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}))
      ->capture_default_str();
}

void add_probe_routes(HttpServer& server, std::string name, NotReadyReason not_ready) {
  server.route(http::verb::get, "/",
               [name](HttpRequest) -> asio::awaitable<HttpResponse> { co_return HttpResponse::text(name); });
  server.route(http::verb::get, "/healthz", [](HttpRequest) -> asio::awaitable<HttpResponse> {
    co_return HttpResponse::json(R"({"status":"ok"})");
  });
  server.route(http::verb::get, "/metrics", [](HttpRequest) -> asio::awaitable<HttpResponse> {
    co_return HttpResponse{200, metrics::registry().render(), "text/plain; version=0.0.4; charset=utf-8", {}};
  });
  server.route(http::verb::get, "/readyz",
               [not_ready = std::move(not_ready)](HttpRequest) -> asio::awaitable<HttpResponse> {
                 const auto reason = not_ready();
                 if (!reason) co_return HttpResponse::json(R"({"status":"ready"})");
                 co_return HttpResponse::json(
                     nlohmann::json{{"status", "not ready"}, {"reason", *reason}}.dump(), 503);
               });
}

asio::awaitable<void> HttpServer::accept_loop() {
  while (!stopping_) {
    boost::system::error_code ec;
    tcp::socket socket = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (stopping_ || ec == asio::error::operation_aborted) break;
      co_await after_accept_failed(ec);
      continue;
    }
    backoff_.succeeded();
    admit(std::move(socket));
  }
}

asio::awaitable<void> HttpServer::after_accept_failed(const boost::system::error_code& ec) {
  const auto pause = backoff_.failed(ec);
  if (!pause) {
    log::debug("accept failed", {{"error", ec.message()}});  // that connection's own failure
    co_return;
  }
  connection_metrics().accept_failures.inc();
  const auto now = std::chrono::steady_clock::now();
  if (AcceptBackoff::exhausted(ec)) {
    // An idle connection's descriptor is worth less than a new client's: the accept after this one succeeds.
    if (const auto victim = limit_.evictable(now)) {
      evict(*victim);
      co_return;
    }
  }
  long suppressed = 0;
  if (log_gate_.admit("accept: " + ec.message(), now, suppressed)) {
    log::warn("cannot accept connections; pausing accepts, then trying again",
              {{"error", ec.message()},
               {"open_connections", limit_.open()},
               {"pause_ms", pause->count()},
               {"repeats_not_logged", suppressed}});
  }
  // Ended early when a connection closes (forget()): that frees a descriptor.
  accept_pause_.emplace(io_, *pause);
  boost::system::error_code ignored;
  co_await accept_pause_->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  accept_pause_.reset();
}

void HttpServer::admit(tcp::socket socket) {
  const auto now = std::chrono::steady_clock::now();
  auto& metrics = connection_metrics();
  const auto decision = limit_.on_arrival(now);
  boost::system::error_code ec;
  if (decision.verdict == ConnectionLimit::Verdict::refuse) {
    metrics.refused.inc();
    long suppressed = 0;
    if (log_gate_.admit("connection limit", now, suppressed)) {
      log::warn("connection limit reached and no connection idle long enough to close: new ones get 503",
                {{"max_connections", options_.max_connections}, {"repeats_not_logged", suppressed}});
    }
    if (refusing_ >= kMostRefusing) {
      socket.close(ec);  // a flood beyond what we answer: closed at once
      return;
    }
    asio::co_spawn(io_, refuse(std::move(socket)), asio::detached);
    return;
  }
  if (decision.verdict == ConnectionLimit::Verdict::evict_then_admit) evict(decision.evict);
  socket.set_option(tcp::no_delay(true), ec);  // small answers must not wait for Nagle
  auto session = std::make_shared<Session>(std::move(socket), limit_.opened(now));
  ++metrics.open;
  sessions_[session->id] = session;
  asio::co_spawn(io_, serve(session), asio::detached);
}

asio::awaitable<void> HttpServer::refuse(tcp::socket socket) {
  ++refusing_;
  beast::tcp_stream stream(std::move(socket));
  stream.expires_after(kRefusalLinger);  // for the write and the linger together
  boost::system::error_code ec;
  co_await asio::async_write(stream, asio::buffer(refusal_), asio::redirect_error(asio::use_awaitable, ec));
  if (!ec) stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  std::array<char, 1024> sink;
  while (!ec) {
    co_await stream.async_read_some(asio::buffer(sink), asio::redirect_error(asio::use_awaitable, ec));
  }
  stream.close();
  --refusing_;
}

void HttpServer::evict(ConnectionLimit::Id id) {
  if (!limit_.evicted(id)) return;
  auto& metrics = connection_metrics();
  metrics.evicted.inc();
  --metrics.open;
  const auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  if (auto session = it->second.lock()) {
    boost::system::error_code ignored;
    session->stream.socket().close(ignored);  // its wait for a request ends; serve() then finishes
  }
  sessions_.erase(it);
}

void HttpServer::forget(ConnectionLimit::Id id) {
  sessions_.erase(id);
  if (limit_.closed(id)) --connection_metrics().open;
  if (accept_pause_) accept_pause_->cancel();  // a descriptor is free: accept again now
}

asio::awaitable<void> HttpServer::serve(std::shared_ptr<Session> session) {
  beast::flat_buffer buffer;
  boost::system::error_code ec;
  while (!stopping_) {
    if (!co_await wait_for_request(session, buffer)) break;
    session->busy = true;
    http::request_parser<http::string_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(options_.body_limit);
    co_await read_request(session, buffer, parser, ec);

    // Labels for the request metrics: only known routes and methods, so a scan of random paths or
    // invented methods cannot grow them.
    Exchange exchange;
    const auto began = std::chrono::steady_clock::now();
    if (ec) {
      auto answer = answer_read_error(ec, *session);
      if (!answer) break;  // nothing to answer: the peer went away, or the server is stopping
      exchange.answer = std::move(*answer);
    } else if (auto host = check_host(parser.get()); !host) {
      exchange.answer = HttpResponse::from_error(host.error());
    } else {
      auto message = parser.release();
      exchange.version = message.version();
      exchange.keep_alive = message.keep_alive();
      exchange.head = message.method() == http::verb::head;
      HttpRequest request = to_request(message);
      if (const auto* pattern = match(request.path)) exchange.route = *pattern;
      exchange.method = std::string(http::to_string(request.method));
      ++in_flight_;
      exchange.answer = co_await dispatch(std::move(request), std::string(message.method_string()));
      --in_flight_;
    }
    if (exchange.answer.stream && !exchange.head) {
      // Recorded when it begins: a stream's length says how long a viewer watched, not how fast we answered.
      record(exchange.route, exchange.method, exchange.answer.status,
             std::chrono::steady_clock::now() - began);
      co_await stream_answer(session, exchange);
      break;
    }
    const bool keep_alive = co_await write_answer(session, exchange, ec);
    session->busy = false;
    session->served = true;
    record(exchange.route, exchange.method, exchange.answer.status, std::chrono::steady_clock::now() - began);
    if (ec || !keep_alive) break;
  }
  co_await close_gracefully(session);
}

// Waits for the first byte of the next request under the idle timeout; the request itself is then read
// under the (shorter) request timeout, so a slow sender cannot hold a connection open forever.
asio::awaitable<bool> HttpServer::wait_for_request(const std::shared_ptr<Session>& session,
                                                   beast::flat_buffer& buffer) {
  if (buffer.size() > 0) {  // the next request's first bytes came with the last one
    limit_.busy(session->id);
    co_return true;
  }
  // From when it may be closed to make room: at once for a new connection, after kKeptAliveSpared for one
  // that has served a request (busy in the limit's eyes until then).
  asio::steady_timer spare(io_, kKeptAliveSpared);
  if (!session->served) {
    limit_.idle(session->id, std::chrono::steady_clock::now());
  } else {
    const auto number = ++session->wait_number;
    session->waiting = true;
    spare.async_wait([this, session, number](boost::system::error_code wait_ec) {
      if (wait_ec || !session->waiting || session->wait_number != number) return;
      limit_.idle(session->id, std::chrono::steady_clock::now());
    });
  }
  boost::system::error_code ec;
  session->stream.expires_after(options_.idle_timeout);
  const auto n = co_await session->stream.async_read_some(buffer.prepare(4096),
                                                          asio::redirect_error(asio::use_awaitable, ec));
  session->waiting = false;
  spare.cancel();
  if (ec) co_return false;
  // Read at once (the request was already there) but resumed only after stop() or making room closed the
  // connection as idle: handling it would act on a request whose answer has nowhere to go (an order
  // written that its client never hears of). Dropped unhandled, as a request that came a moment later.
  if (!session->stream.socket().is_open()) co_return false;
  limit_.busy(session->id);
  buffer.commit(n);
  co_return true;
}

std::optional<HttpResponse> HttpServer::answer_read_error(const boost::system::error_code& ec,
                                                          const Session& session) const {
  if (ec == http::error::body_limit) {
    return HttpResponse::from_error(
        make_error(Errc::payload_too_large,
                   "request body is larger than " + std::to_string(options_.body_limit) + " bytes"));
  }
  if (ec == http::error::header_limit) {
    return HttpResponse::from_error(
        make_error(Errc::header_too_large,
                   "request line and headers are larger than " + std::to_string(kHeaderLimit) + " bytes"));
  }
  if (ec == asio::error::operation_aborted && session.timed_out) {
    return HttpResponse::from_error(
        make_error(Errc::request_timeout, "request was not received within " +
                                              std::to_string(options_.request_timeout.count()) +
                                              " ms of its first byte"));
  }
  if (ec == http::error::partial_message) {
    // The client shut down its side mid-request; it may still read the answer.
    return HttpResponse::from_error(
        make_error(Errc::bad_request,
                   "request ended before it was complete (headers cut off, or a body shorter than its "
                   "Content-Length)"));
  }
  if (ec == beast::error::timeout || ec == http::error::end_of_stream || ec == asio::error::eof ||
      ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
    return std::nullopt;
  }
  return HttpResponse::from_error(make_error(Errc::bad_request, "malformed HTTP request: " + ec.message()));
}

HttpRequest HttpServer::to_request(http::request<http::string_body>& message) {
  HttpRequest request;
  request.method = message.method();
  const std::string_view target(message.target().data(), message.target().size());
  const auto question = target.find('?');
  request.path = std::string(target.substr(0, question));
  if (question != std::string_view::npos) request.query = std::string(target.substr(question + 1));
  request.content_type = std::string(message[http::field::content_type]);
  request.body = std::move(message.body());
  return request;
}

asio::awaitable<bool> HttpServer::write_answer(const std::shared_ptr<Session>& session, Exchange& exchange,
                                               boost::system::error_code& ec) {
  HttpResponse& answer = exchange.answer;
  http::response<http::string_body> response{static_cast<http::status>(answer.status), exchange.version};
  response.set(http::field::server, "kafka-demo");
  response.set(http::field::content_type, answer.content_type);
  if (!answer.allow.empty()) response.set(http::field::allow, answer.allow);
  for (const auto& [field, value] : answer.headers) response.set(field, value);
  response.keep_alive(exchange.keep_alive && !stopping_);
  response.body() = std::move(answer.body);
  response.prepare_payload();
  session->stream.expires_after(options_.request_timeout);
  if (exchange.head) {
    // The answer to HEAD has no body, whatever its Content-Length says: bytes after the header would be
    // read as the start of the next response.
    http::response_serializer<http::string_body> serializer(response);
    co_await http::async_write_header(session->stream, serializer,
                                      asio::redirect_error(asio::use_awaitable, ec));
  } else {
    co_await http::async_write(session->stream, response, asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return response.keep_alive();
}

// Close in stages (RFC 9112, 9.6): stop sending, then read and drop what the client still sends, for a
// second at most. Closing at once with unread bytes (the rest of a body over the limit, a slow sender's
// next byte) makes the kernel answer them with a reset: the client's send fails (curl then reports
// "broken pipe", not our 413) and its TCP may drop the answer unread.
asio::awaitable<void> HttpServer::close_gracefully(std::shared_ptr<Session> session) {
  limit_.busy(session->id);  // closing anyway: no use closing it to make room
  boost::system::error_code ec;
  session->stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (!ec) {
    std::array<char, 16 * 1024> sink;
    session->stream.expires_after(std::min<std::chrono::milliseconds>(options_.request_timeout, 1000ms));
    while (!ec && !stopping_) {
      co_await session->stream.async_read_some(asio::buffer(sink),
                                               asio::redirect_error(asio::use_awaitable, ec));
    }
  }
  session->stream.close();
  forget(session->id);
}

asio::awaitable<void> HttpServer::read_request(std::shared_ptr<Session> session, beast::flat_buffer& buffer,
                                               http::request_parser<http::string_body>& parser,
                                               boost::system::error_code& ec) {
  // The request timeout cancels the read instead of closing the socket (as the stream's own expiry
  // would), so a client that is too slow can still be told so with a 408.
  session->stream.expires_never();
  session->timed_out = false;
  session->reading = true;
  const auto number = ++session->read_number;
  asio::steady_timer deadline(io_, options_.request_timeout);
  deadline.async_wait([session, number](boost::system::error_code wait_ec) {
    if (wait_ec || !session->reading || session->read_number != number) return;
    session->timed_out = true;
    boost::system::error_code ignored;
    session->stream.socket().cancel(ignored);
  });
  co_await http::async_read(session->stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  session->reading = false;
  deadline.cancel();
}

Status HttpServer::check_host(const http::request<http::string_body>& message) {
  // RFC 9112, 3.2: an HTTP/1.1 request has exactly one Host; any request has at most one.
  const auto hosts = message.count(http::field::host);
  if (hosts > 1 || (hosts == 0 && message.version() >= 11)) {
    return make_error(Errc::bad_request,
                      "an HTTP/1.1 request needs exactly one Host header, got " + std::to_string(hosts));
  }
  return Ok{};
}

void HttpServer::record(const std::string& route, const std::string& method, unsigned status,
                        std::chrono::steady_clock::duration took) {
  auto& metrics = metrics::registry();
  metrics
      .counter("http_requests_total", "HTTP requests answered, by route, method and status",
               {{"route", route}, {"method", method}, {"status", std::to_string(status)}})
      .inc();
  metrics
      .histogram("http_request_duration_seconds", "Time from a request's first byte to its answer written",
                 {{"route", route}})
      .observe(std::chrono::duration<double>(took).count());
}

const std::string* HttpServer::match(const std::string& path) const {
  if (const auto exact = routes_.find(path); exact != routes_.end()) return &exact->first;
  const std::string* best = nullptr;
  for (const auto& [pattern, handlers] : routes_) {
    if (!pattern.ends_with("/*")) continue;
    const std::string_view prefix(pattern.data(), pattern.size() - 1);  // keeps the '/'
    if (path.starts_with(prefix) && (!best || pattern.size() > best->size())) best = &pattern;
  }
  return best;
}

asio::awaitable<void> HttpServer::stream_answer(const std::shared_ptr<Session>& session, Exchange& exchange) {
  HttpResponse& answer = exchange.answer;
  http::response<http::empty_body> response{static_cast<http::status>(answer.status), exchange.version};
  response.set(http::field::server, "kafka-demo");
  response.set(http::field::content_type, answer.content_type);
  for (const auto& [field, value] : answer.headers) response.set(field, value);
  response.keep_alive(false);  // the body ends when the connection does: no length, no chunks
  boost::system::error_code ec;
  session->streaming = true;
  session->stream.expires_after(options_.request_timeout);
  http::response_serializer<http::empty_body> serializer(response);
  co_await http::async_write_header(session->stream, serializer,
                                    asio::redirect_error(asio::use_awaitable, ec));
  session->stream.expires_never();
  if (!ec && !stopping_) co_await answer.stream(session->stream);
}

asio::awaitable<HttpResponse> HttpServer::dispatch(HttpRequest request, std::string method_text) {
  const std::string* pattern = match(request.path);
  const auto route = pattern ? routes_.find(*pattern) : routes_.end();
  if (route == routes_.end()) {
    co_return HttpResponse::from_error(make_error(Errc::not_found, "no such path: " + request.path));
  }
  const auto handler = route->second.find(request.method);
  if (handler == route->second.end()) {
    auto answer = HttpResponse::from_error(
        make_error(Errc::method_not_allowed, method_text + " is not allowed on " + request.path));
    for (const auto& [verb, unused] : route->second) {
      answer.allow += (answer.allow.empty() ? "" : ", ") + std::string(http::to_string(verb));
    }
    co_return answer;
  }
  try {
    co_return co_await handler->second(std::move(request));
  } catch (const std::exception& e) {
    log::error("handler failed", {{"path", route->first}, {"error", e.what()}});
    co_return HttpResponse::from_error(make_error(Errc::internal, "internal error"));
  }
}

}  // namespace kd
