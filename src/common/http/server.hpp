// An asynchronous HTTP/1.1 server on Boost.Beast: keep-alive, bounded bodies, idle and request timeouts,
// exact-path routing with 404/405, and a graceful stop that lets requests in flight finish.
//
// Threading: the server and its handlers run on one io_context driven by a single thread (see
// ServiceRuntime), so sessions need no strands; work from other threads comes back through asio::post.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/net.hpp"
#include "common/result.hpp"

namespace kd {

struct HttpRequest {
  http::verb method = http::verb::get;
  std::string path;   // target before '?'
  std::string query;  // target after '?', undecoded
  std::string content_type;
  std::string body;
};

struct HttpResponse {
  unsigned status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::string allow;  // the Allow header of a 405

  static HttpResponse json(std::string body, unsigned status = 200) {
    return {status, std::move(body), "application/json", {}};
  }
  static HttpResponse text(std::string body, unsigned status = 200) {
    return {status, std::move(body), "text/plain; charset=utf-8", {}};
  }
  // {"error":"bad_request","message":"…"} with the status that error maps to.
  static HttpResponse from_error(const Error& error);
};

using HttpHandler = std::function<asio::awaitable<HttpResponse>(HttpRequest)>;

struct HttpServerOptions {
  std::string listen = "127.0.0.1:8080";                  // host:port; port 0 picks a free one
  std::size_t body_limit = 64 * 1024;                     // larger bodies get 413
  std::chrono::milliseconds idle_timeout{60'000};         // keep-alive connection with no request: closed
  std::chrono::milliseconds request_timeout{10'000};      // from a request's first byte to its last: else 408
};

class HttpServer {
 public:
  HttpServer(asio::io_context& io, HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

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
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(std::shared_ptr<Session> session);
  // One request into `parser`; `ec` is operation_aborted with session->timed_out set when the request
  // timeout ran out first.
  asio::awaitable<void> read_request(std::shared_ptr<Session> session, beast::flat_buffer& buffer,
                                     http::request_parser<http::string_body>& parser, boost::system::error_code& ec);
  static Status check_host(const http::request<http::string_body>& message);
  // `method_text` is the method as sent, for the 405 message (an unknown method has no verb of its own).
  asio::awaitable<HttpResponse> dispatch(HttpRequest request, std::string method_text);
  static void record(const std::string& route, const std::string& method, unsigned status,
                     std::chrono::steady_clock::duration took);

  asio::io_context& io_;
  HttpServerOptions options_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  bool stopping_ = false;
  std::atomic<int> in_flight_{0};
  std::map<std::string, std::map<http::verb, HttpHandler>> routes_;
  std::map<Session*, std::weak_ptr<Session>> sessions_;
};

// Whether a Content-Type header names this media type (lower case), ignoring case and parameters:
// "Application/JSON; charset=utf-8" is application/json, "application/jsonp" is not.
bool has_media_type(std::string_view content_type, std::string_view media_type);

// The routes every service has: GET / answers the service's name (the seed's probe), GET /healthz
// answers while the process works (liveness), GET /readyz answers 200 only when `ready` says the service
// can do its job, else 503 (readiness), GET /metrics the Prometheus metrics.
void add_probe_routes(HttpServer& server, std::string name, std::function<bool()> ready);

// "host:port" -> endpoint; the host must be a numeric address or "localhost"/"0.0.0.0".
Result<tcp::endpoint> parse_listen_address(const std::string& listen);

}  // namespace kd
