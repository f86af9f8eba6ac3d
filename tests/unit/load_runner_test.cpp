// kafka-demo-load's connection handling against a server of the test's own on loopback.
#include <gtest/gtest.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/beast/http.hpp>
#include <variant>

#include "tools/load/options.hpp"
#include "tools/load/runner.hpp"

namespace kd::load {
namespace {

// Answers one request on each connection with a keep-alive 200, then closes the connection, as a server
// does with a connection that stayed idle past its timeout. Counts the connections it accepted.
class OneAnswerServer {
 public:
  explicit OneAnswerServer(asio::io_context& io)
      : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    asio::co_spawn(io, accept_loop(), asio::detached);
  }
  tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }
  int accepted() const { return accepted_; }
  void close() { acceptor_.close(); }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      boost::system::error_code ec;
      auto socket = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      ++accepted_;
      asio::co_spawn(acceptor_.get_executor(), answer_once(std::move(socket)), asio::detached);
    }
  }

  static asio::awaitable<void> answer_once(tcp::socket socket) {
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    boost::system::error_code ec;
    co_await http::async_read(socket, buffer, request, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    http::response<http::string_body> response{http::status::ok, 11};
    response.keep_alive(true);
    response.body() = R"({"order_id":"1"})";
    response.prepare_payload();
    co_await http::async_write(socket, response, asio::redirect_error(asio::use_awaitable, ec));
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
  }

  tcp::acceptor acceptor_;
  int accepted_ = 0;
};

// The soak's 145 unanswered requests ("read: end of stream"): a kept-alive connection the server had closed
// was written to again. A connection whose peer has closed it is replaced before it is used.
TEST(LoadRunner, AConnectionClosedByTheServerWhileIdleIsNotReused) {
  asio::io_context io(1);
  OneAnswerServer server(io);
  auto parsed = parse_options(
      {"--url", "http://127.0.0.1:" + std::to_string(server.endpoint().port()) + "/submit-order", "--rate",
       "10", "--requests", "4", "--max-connections", "1", "--timeout-ms", "2000"});
  ASSERT_TRUE(std::holds_alternative<Options>(parsed));
  Runner runner(io, std::get<Options>(parsed), server.endpoint());
  bool finished = false;
  asio::co_spawn(io, runner.run(), [&](std::exception_ptr) {
    finished = true;
    server.close();
  });
  io.run_for(std::chrono::seconds(10));

  ASSERT_TRUE(finished);
  EXPECT_EQ(runner.summary().requests, 4u);
  EXPECT_EQ(runner.summary().ok, 4u) << runner.summary().to_json();
  EXPECT_EQ(runner.summary().transport_errors, 0u) << runner.summary().to_json();
  EXPECT_EQ(server.accepted(), 4);  // one connection an answer: each was closed before its next use
}

}  // namespace
}  // namespace kd::load
