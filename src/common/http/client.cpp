#include "common/http/client.hpp"

#include <sys/socket.h>

#include <cerrno>

namespace kd {

Result<Url> Url::parse(std::string_view text) {
  constexpr std::string_view scheme = "http://";
  if (text.substr(0, scheme.size()) != scheme) {
    return make_error(Errc::bad_request, "URL '" + std::string(text) + "' must start with http://");
  }
  std::string_view rest = text.substr(scheme.size());
  const auto slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  Url url;
  url.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  const auto colon = authority.rfind(':');
  if (colon == std::string_view::npos) {
    url.host = std::string(authority);
    url.port = "80";
  } else {
    url.host = std::string(authority.substr(0, colon));
    url.port = std::string(authority.substr(colon + 1));
  }
  if (url.host.empty() || url.port.empty() || url.port.find_first_not_of("0123456789") != std::string::npos) {
    return make_error(Errc::bad_request, "URL '" + std::string(text) + "' has no valid host:port");
  }
  return url;
}

struct HttpClient::Connection {
  explicit Connection(asio::io_context& io) : stream(io) {}
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  std::chrono::steady_clock::time_point idle_since;
};

HttpClient::HttpClient(asio::io_context& io, HttpClientOptions options) : io_(io), options_(options) {}
HttpClient::~HttpClient() = default;

std::size_t HttpClient::idle_connections() const {
  std::size_t count = 0;
  for (const auto& [authority, pool] : idle_) count += pool.size();
  return count;
}

namespace {

// An idle keep-alive connection is only worth reusing if the peer has not closed it (a restarted pod, a
// peer shutting down): a closed one reads as end-of-stream or an error at once, a live one has nothing
// to read. Checking before use is what makes it unnecessary to ever resend a request.
bool still_open(beast::tcp_stream& stream) {
  char byte;
  const auto received = ::recv(stream.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

HttpClient::ConnectionPtr HttpClient::take_idle(const std::string& authority) {
  auto& pool = idle_[authority];
  const auto now = std::chrono::steady_clock::now();
  while (!pool.empty()) {
    ConnectionPtr connection = std::move(pool.back());
    pool.pop_back();
    if (now - connection->idle_since < options_.idle_ttl && still_open(connection->stream)) return connection;
  }
  return nullptr;
}

void HttpClient::give_back(const std::string& authority, ConnectionPtr connection) {
  auto& pool = idle_[authority];
  if (pool.size() >= options_.max_idle_per_host) return;
  connection->idle_since = std::chrono::steady_clock::now();
  pool.push_back(std::move(connection));
}

asio::awaitable<Result<HttpClient::ConnectionPtr>> HttpClient::connect(const Url& url) {
  boost::system::error_code ec;
  tcp::resolver resolver(io_);
  auto connection = std::make_unique<Connection>(io_);
  // The timer of the stream bounds resolve and connect together; the resolver has no timeout of its own,
  // so it is cancelled by the same deadline.
  asio::steady_timer deadline(io_, options_.connect_timeout);
  deadline.async_wait([&resolver](boost::system::error_code wait_ec) {
    if (!wait_ec) resolver.cancel();
  });
  const auto endpoints =
      co_await resolver.async_resolve(url.host, url.port, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    deadline.cancel();
    co_return make_error(Errc::upstream_failed, "cannot resolve " + url.host + ": " + ec.message());
  }
  connection->stream.expires_at(deadline.expiry());
  deadline.cancel();
  co_await connection->stream.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    co_return make_error(Errc::upstream_failed, "cannot connect to " + url.authority() + ": " + ec.message());
  }
  connection->stream.socket().set_option(tcp::no_delay(true), ec);
  co_return std::move(connection);
}

asio::awaitable<Result<ClientResponse>> HttpClient::post(const Url& url, std::string body,
                                                         std::string content_type) {
  http::request<http::string_body> request{http::verb::post, url.target, 11};
  request.set(http::field::host, url.host);
  request.set(http::field::content_type, content_type);
  request.keep_alive(true);
  request.body() = std::move(body);
  request.prepare_payload();
  co_return co_await send(url, std::move(request));
}

asio::awaitable<Result<ClientResponse>> HttpClient::get(const Url& url, std::string target) {
  http::request<http::string_body> request{http::verb::get, target, 11};
  request.set(http::field::host, url.host);
  request.keep_alive(true);
  co_return co_await send(url, std::move(request));
}

asio::awaitable<Result<ClientResponse>> HttpClient::send(const Url& url,
                                                         http::request<http::string_body> request) {
  const std::string authority = url.authority();
  ConnectionPtr connection = take_idle(authority);
  if (!connection) {
    auto fresh = co_await connect(url);
    if (!fresh) co_return fresh.error();  // nothing was sent: the peer did no work
    connection = std::move(*fresh);
  }
  // From the first byte written, a failure cannot tell whether the peer acted on the request (it may have
  // stored an order and died before answering), so it is never resent: the caller learns the outcome is
  // unknown instead of risking the same order twice.
  boost::system::error_code ec;
  connection->stream.expires_after(options_.request_timeout);
  co_await http::async_write(connection->stream, request, asio::redirect_error(asio::use_awaitable, ec));
  http::response_parser<http::string_body> parser;
  parser.body_limit(1024 * 1024);
  if (!ec) {
    co_await http::async_read(connection->stream, connection->buffer, parser,
                              asio::redirect_error(asio::use_awaitable, ec));
  }
  if (ec) {
    const char* what = ec == beast::error::timeout ? "no answer in time from " : "request failed on ";
    co_return make_error(Errc::outcome_unknown, what + authority + ": " + ec.message());
  }
  auto response = parser.release();
  ClientResponse answer{response.result_int(), std::move(response.body())};
  if (response.keep_alive()) {
    connection->stream.expires_never();
    give_back(authority, std::move(connection));
  }
  co_return answer;
}

}  // namespace kd
