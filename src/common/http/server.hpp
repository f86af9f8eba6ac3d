// An asynchronous HTTP/1.1 server on Boost.Beast: keep-alive, bounded bodies, idle and request timeouts,
// exact-path routing with 404/405, and a graceful stop that lets requests in flight finish.
//
// Threading: the server and its handlers run on one io_context driven by a single thread (see
// run_service in runtime.hpp), so sessions need no strands; work from other threads comes back through
// asio::post.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/http/connection_limit.hpp"
#include "common/http/listen_address.hpp"
#include "common/http/media_type.hpp"
#include "common/log_gate.hpp"
#include "common/net.hpp"
#include "common/result.hpp"

namespace CLI {
class App;
}

namespace kd {

struct HttpRequest {
  http::verb method = http::verb::get;
  std::string path;   // target before '?'
  std::string query;  // target after '?', undecoded
  std::string content_type;
  std::string body;
};

// A body written over time (Server-Sent Events): the server sends the status line and headers without a
// length, then hands the connection to the writer until it returns, and closes it. The writer owns its
// timeouts (the stream never expires on its own) and ends when a write fails or the server stops (stop()
// closes the socket).
using StreamWriter = std::function<asio::awaitable<void>(beast::tcp_stream&)>;

struct HttpResponse {
  unsigned status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::string allow;                                         // the Allow header of a 405
  std::vector<std::pair<std::string, std::string>> headers;  // more headers (Cache-Control, Location)
  StreamWriter stream;                                       // set: `body` is ignored, see StreamWriter

  static HttpResponse json(std::string body, unsigned status = 200) {
    return {status, std::move(body), "application/json", {}};
  }
  static HttpResponse text(std::string body, unsigned status = 200) {
    return {status, std::move(body), "text/plain; charset=utf-8", {}};
  }
  static HttpResponse redirect(std::string location) {
    return {301, {}, "text/plain; charset=utf-8", {}, {{"Location", std::move(location)}}};
  }
  // {"error":"bad_request","message":"…"} with the status that error maps to.
  static HttpResponse from_error(const Error& error);
};

using HttpHandler = std::function<asio::awaitable<HttpResponse>(HttpRequest)>;

struct HttpServerOptions {
  std::string listen = "127.0.0.1:8080";              // host:port; port 0 picks a free one
  std::size_t body_limit = 64 * 1024;                 // larger bodies get 413
  std::chrono::milliseconds idle_timeout{60'000};     // keep-alive connection with no request: closed
  std::chrono::milliseconds request_timeout{10'000};  // from a request's first byte to its last: else 408
  // Open connections at most; at the limit the longest-idle one makes room, else a new one gets 503 (see
  // ConnectionLimit). Each costs a file descriptor and about 10 KiB while idle.
  std::size_t max_connections = 1024;
};

class HttpServer {
 public:
  HttpServer(asio::io_context& io, HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // `path` is exact, or ends in "/*" for every path under it ("/orders/*" takes "/orders/123"; the
  // handler reads the rest from request.path). An exact route wins, then the longest prefix.
  void route(http::verb method, const std::string& path, HttpHandler handler);

  // Binds and starts accepting. An address in use or a bad listen string is an error, not an exception.
  Status start();
  // Stops accepting and closes idle connections; a request in flight is answered, then its connection
  // closes. Call on the io thread (or post it there).
  void stop();
  // stop(), then wait (on the io thread) until requests in flight are answered or the grace period ends.
  // True if everything was answered.
  asio::awaitable<bool> shutdown(std::chrono::milliseconds grace);
  // Requests received but not yet answered. Safe from any thread.
  int in_flight() const { return in_flight_.load(); }
  std::uint16_t port() const { return port_; }

 private:
  struct Session;
  // One request and its answer on a connection, as the metrics and the answer's framing need them.
  struct Exchange {
    HttpResponse answer;
    unsigned version = 11;
    bool keep_alive = false;
    bool head = false;
    std::string route = "unmatched";
    std::string method = "-";
  };
  asio::awaitable<void> accept_loop();
  // After a failed accept: frees a descriptor by closing the longest-idle connection, or pauses (logged
  // once per cause, not per try) until the backoff ends or a connection closes.
  asio::awaitable<void> after_accept_failed(const boost::system::error_code& ec);
  // Takes a new connection in, making room or refusing it at the limit.
  void admit(tcp::socket socket);
  // A 503 at once, without reading the request (a silent client would hold us for as long as it likes),
  // then a short wait for what the client sends, so that its request does not make our close a reset.
  asio::awaitable<void> refuse(tcp::socket socket);
  // Closes a connection to make room for another or to free its descriptor.
  void evict(ConnectionLimit::Id id);
  void forget(ConnectionLimit::Id id);
  // A connection's life: wait, read, answer, write, again while kept alive; then close.
  asio::awaitable<void> serve(std::shared_ptr<Session> session);
  // False when the connection idled out or closed before a next request began.
  asio::awaitable<bool> wait_for_request(const std::shared_ptr<Session>& session, beast::flat_buffer& buffer);
  // The answer to a request that could not be read (413, 431, 408, 400), or none when the peer is gone.
  std::optional<HttpResponse> answer_read_error(const boost::system::error_code& ec,
                                                const Session& session) const;
  static HttpRequest to_request(http::request<http::string_body>& message);
  // Writes the answer; true if the connection stays open for another request.
  asio::awaitable<bool> write_answer(const std::shared_ptr<Session>& session, Exchange& exchange,
                                     boost::system::error_code& ec);
  asio::awaitable<void> close_gracefully(std::shared_ptr<Session> session);
  // One request into `parser`; `ec` is operation_aborted with session->timed_out set when the request
  // timeout ran out first.
  asio::awaitable<void> read_request(std::shared_ptr<Session> session, beast::flat_buffer& buffer,
                                     http::request_parser<http::string_body>& parser,
                                     boost::system::error_code& ec);
  static Status check_host(const http::request<http::string_body>& message);
  // `method_text` is the method as sent, for the 405 message (an unknown method has no verb of its own).
  asio::awaitable<HttpResponse> dispatch(HttpRequest request, std::string method_text);
  // The route pattern that takes `path`, or none.
  const std::string* match(const std::string& path) const;
  // Sends the header of a streamed answer, then runs its writer.
  asio::awaitable<void> stream_answer(const std::shared_ptr<Session>& session, Exchange& exchange);
  static void record(const std::string& route, const std::string& method, unsigned status,
                     std::chrono::steady_clock::duration took);

  asio::io_context& io_;
  HttpServerOptions options_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  bool stopping_ = false;
  std::atomic<int> in_flight_{0};
  std::map<std::string, std::map<http::verb, HttpHandler>> routes_;
  std::map<ConnectionLimit::Id, std::weak_ptr<Session>> sessions_;
  ConnectionLimit limit_;
  AcceptBackoff backoff_;
  std::string refusal_;                             // the 503's bytes, whole
  int refusing_ = 0;                                // 503s being written
  std::optional<asio::steady_timer> accept_pause_;  // while the accept loop waits out a failure
  LogGate log_gate_{std::chrono::minutes(5)};
};

// The routes every service has: GET / answers the service's name (the seed's probe), GET /healthz
// answers while the process works (liveness), GET /readyz answers 200 when `not_ready` has no reason,
// else 503 with the reason (readiness), GET /metrics the Prometheus metrics.
using NotReadyReason = std::function<std::optional<std::string>()>;
void add_probe_routes(HttpServer& server, std::string name, NotReadyReason not_ready);
inline std::optional<std::string> always_ready() { return std::nullopt; }

// Raises the soft limit on open files to the hard limit, as the Go runtime does at start: the soft limit
// is often 1,024 (systemd's default for services, and what containerd 2 gives containers), well below the
// connections a server is configured for, while the hard limit is usually far higher. Returns the soft
// limit now in force.
std::uint64_t raise_open_files_limit();

// --listen, --body-limit, the timeouts and the connection limit, as flags and environment variables;
// `default_listen` empty lets the service choose (127.0.0.1 on its partition's local port).
void bind_server_options(CLI::App& app, HttpServerOptions& http, const std::string& default_listen);

}  // namespace kd
