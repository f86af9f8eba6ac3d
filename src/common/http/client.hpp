// An asynchronous HTTP/1.1 client with a keep-alive pool per host, for the gateway's calls to the order
// instances (and the console's to every service). Same threading rule as HttpServer: one io thread.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/net.hpp"
#include "common/result.hpp"

namespace kd {

struct Url {
  std::string host;
  std::string port;    // "80" when the URL names none
  std::string target;  // path and query, "/" at least
  std::string authority() const { return host + ":" + port; }
  static Result<Url> parse(std::string_view text);  // http:// only
};

struct ClientResponse {
  unsigned status = 0;
  std::string body;
};

struct HttpClientOptions {
  std::chrono::milliseconds connect_timeout{1'000};   // resolve + TCP connect
  std::chrono::milliseconds request_timeout{10'000};  // write the request, read the whole answer
  // Idle pooled connections older than this are not reused. Keep it below the peer's idle timeout so
  // the peer is never the one closing a connection we are about to use.
  std::chrono::milliseconds idle_ttl{20'000};
  std::size_t max_idle_per_host = 128;
};

class HttpClient {
 public:
  HttpClient(asio::io_context& io, HttpClientOptions options);
  ~HttpClient();

  // POSTs body and returns whatever status the peer answered. Errors are transport failures only:
  // upstream_failed when the request certainly did not reach the peer (cannot resolve or connect),
  // outcome_unknown once it may have (the connection broke, or no answer within the timeout: the peer
  // may have acted on it, so it is never resent).
  asio::awaitable<Result<ClientResponse>> post(const Url& url, std::string body, std::string content_type);
  // GETs `target` (path and query) from the URL's host; the same errors as post().
  asio::awaitable<Result<ClientResponse>> get(const Url& url, std::string target);

  std::size_t idle_connections() const;

 private:
  struct Connection;
  using ConnectionPtr = std::unique_ptr<Connection>;

  ConnectionPtr take_idle(const std::string& authority);
  void give_back(const std::string& authority, ConnectionPtr connection);
  asio::awaitable<Result<ConnectionPtr>> connect(const Url& url);
  asio::awaitable<Result<ClientResponse>> send(const Url& url, http::request<http::string_body> request);

  asio::io_context& io_;
  HttpClientOptions options_;
  std::map<std::string, std::vector<ConnectionPtr>> idle_;
};

}  // namespace kd
