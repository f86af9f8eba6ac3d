// Malformed HTTP requests against the gateway and an order instance, sent as raw bytes over a socket so
// that they can be what no well-behaved client sends: truncated, trickled, oversized, mislabelled, with
// bad partitions or bad order JSON. Each row gets the right 4xx with a JSON message that says what was
// wrong (or, where no answer can reach anyone, a closed connection); the services stay up after every
// row; and nothing reaches Kafka, which one valid order at the end shows the set-up could have done.
#include <librdkafka/rdkafkacpp.h>

#include <nlohmann/json.hpp>

#include "cluster_fixture.hpp"
#include "gateway/gateway_service.hpp"
#include "order/order_service.hpp"

namespace kd::test {
namespace {

using nlohmann::json;
using namespace std::string_literals;  // "…"s keeps the NUL bytes some rows need

// Timeouts short enough for the slow-sender rows to take about a second each. The body limit stays at
// the production default: the deep-nesting rows must be tried at the size a real instance accepts.
HttpServerOptions server_options(std::uint16_t port) {
  HttpServerOptions options;
  options.listen = "127.0.0.1:" + std::to_string(port);
  options.body_limit = 64 * 1024;
  options.request_timeout = 1000ms;
  options.idle_timeout = 2000ms;
  return options;
}

// The gateway finds order-N at port <prefix>N, so the three instances need three free ports in a row.
std::string free_port_prefix() {
  asio::io_context io;
  for (int prefix = 2400; prefix < 2500; ++prefix) {
    bool all_free = true;
    for (int partition = 0; partition < 3 && all_free; ++partition) {
      tcp::acceptor probe(io);
      boost::system::error_code ec;
      probe.open(tcp::v4(), ec);
      if (!ec)
        probe.bind({asio::ip::make_address("127.0.0.1"), static_cast<std::uint16_t>(prefix * 10 + partition)},
                   ec);
      all_free = !ec;
    }
    if (all_free) return std::to_string(prefix);
  }
  ADD_FAILURE() << "no three free ports in a row in 24000..24999";
  return "2400";
}

// The high watermark of each partition: how many records were ever written to it.
std::vector<std::int64_t> end_offsets(const std::string& topic) {
  std::string error;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  conf->set("bootstrap.servers", brokers(), error);
  conf->set("group.id", "it-watermarks-" + topic, error);
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), error));
  std::vector<std::int64_t> ends;
  if (!consumer) {
    ADD_FAILURE() << error;
    return ends;
  }
  for (int partition = 0; partition < 3; ++partition) {
    std::int64_t low = -1, high = -1;
    const auto err = consumer->query_watermark_offsets(topic, partition, &low, &high, 10'000);
    EXPECT_EQ(err, RdKafka::ERR_NO_ERROR) << "partition " << partition << ": " << RdKafka::err2str(err);
    ends.push_back(high);
  }
  consumer->close();
  return ends;
}

// ---------------------------------------------------------------- a client that sends anything

enum class Then {
  read,        // wait for the answer
  half_close,  // shut down our sending side (the request can never be completed), then wait
  close,       // hang up at once: nobody is left to answer
};

struct Send {
  std::string bytes;
  Then then = Then::read;
  // Above zero: after the first `trickle_from` bytes, one byte at a time with this pause, until everything
  // is sent or the server answers.
  std::chrono::milliseconds trickle{0};
  std::size_t trickle_from = 0;
};

struct Answer {
  bool responded = false;  // a whole HTTP response arrived
  unsigned status = 0;
  std::string body, allow, connection;
  std::size_t extra_bytes = 0;  // bytes after the response: a body sent to HEAD, or garbage
  bool closed = false;          // no response, and the server closed the connection
  std::string ended;            // how it ended when no response came
  std::chrono::milliseconds took{0};
};

Answer exchange(std::uint16_t port, const Send& send, bool head = false) {
  asio::io_context io;
  Answer answer;
  const auto began = std::chrono::steady_clock::now();
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        beast::tcp_stream stream(co_await asio::this_coro::executor);
        boost::system::error_code ec;
        const auto on_error = [&ec] { return asio::redirect_error(asio::use_awaitable, ec); };
        stream.expires_after(10s);
        co_await stream.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), on_error());
        if (ec) {
          answer.ended = "connect: " + ec.message();
          co_return;
        }
        if (send.trickle.count() > 0) {
          const std::string_view bytes = send.bytes;
          co_await asio::async_write(stream, asio::buffer(bytes.substr(0, send.trickle_from)), on_error());
          asio::steady_timer pause(stream.get_executor());
          for (const char& byte : bytes.substr(send.trickle_from)) {
            if (stream.socket().available(ec) > 0 || ec) break;  // the server has answered already
            co_await asio::async_write(stream, asio::buffer(&byte, 1), on_error());
            if (ec) break;
            pause.expires_after(send.trickle);
            co_await pause.async_wait(on_error());
          }
        } else {
          // May fail when the server answers early (413) and closes; its answer can still be read.
          co_await asio::async_write(stream, asio::buffer(send.bytes), on_error());
        }
        if (send.then == Then::close) {
          stream.socket().close(ec);
          answer.ended = "client hung up";
          co_return;
        }
        if (send.then == Then::half_close) stream.socket().shutdown(tcp::socket::shutdown_send, ec);
        beast::flat_buffer buffer;
        http::response_parser<http::string_body> parser;
        parser.skip(head);
        parser.body_limit(1 << 20);
        stream.expires_after(10s);
        co_await http::async_read(stream, buffer, parser, on_error());
        answer.took =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - began);
        if (ec) {
          answer.ended = ec.message();
          answer.closed = ec == http::error::end_of_stream || ec == asio::error::eof ||
                          ec == asio::error::connection_reset || ec == asio::error::broken_pipe;
          co_return;
        }
        const auto& message = parser.get();
        answer.responded = true;
        answer.status = message.result_int();
        answer.body = message.body();
        answer.allow = std::string(message[http::field::allow]);
        answer.connection = std::string(message[http::field::connection]);
        // Whatever follows the response is a protocol error; give it a moment to arrive.
        asio::steady_timer settle(stream.get_executor(), 50ms);
        co_await settle.async_wait(on_error());
        answer.extra_bytes = buffer.size() + stream.socket().available(ec);
      },
      asio::detached);
  io.run();
  return answer;
}

// ---------------------------------------------------------------- requests

std::string request(std::string_view method, std::string_view target, std::string_view content_type,
                    std::string_view body, std::string_view extra_headers = {}) {
  std::string out = std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (!content_type.empty()) out += "Content-Type: " + std::string(content_type) + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += extra_headers;
  out += "\r\n";
  out += body;
  return out;
}

std::string form(std::string_view body) {
  return request("POST", "/submit-order", "application/x-www-form-urlencoded", body);
}
std::string query(std::string_view query_string) {
  return request("POST", "/submit-order?" + std::string(query_string), "", "");
}
std::string json_post(std::string_view body) {
  return request("POST", "/submit-order", "application/json", body);
}
std::string get(std::string_view target) { return request("GET", target, "", ""); }

// A gateway body of {"partition": <value>}; an order body with one field replaced.
std::string partition_json(std::string_view value) {
  return json_post(R"({"partition":)" + std::string(value) + "}");
}
std::string order_with(std::string_view money, std::string_view time = "1638865975",
                       std::string_view user_id = R"("1468136425655373824")") {
  return json_post(R"({"money":)" + std::string(money) + R"(,"time":)" + std::string(time) +
                   R"(,"user_id":)" + std::string(user_id) + "}");
}

// The headers at once, then the body a byte at a time.
Send body_trickled(std::string bytes, std::chrono::milliseconds pause) {
  const auto body_at = bytes.find("\r\n\r\n") + 4;
  return {std::move(bytes), Then::read, pause, body_at};
}

std::string nested(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

std::string chunked(std::string_view target, std::string_view content_type, std::string_view chunks) {
  return "POST " + std::string(target) +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " + std::string(content_type) +
         "\r\nTransfer-Encoding: chunked\r\n\r\n" + std::string(chunks);
}

// ---------------------------------------------------------------- the table

enum class Target { gateway, order };

struct Row {
  std::string name;
  Target target;
  Send send;
  unsigned status;      // 0: the connection is closed without an answer
  std::string message;  // what the JSON message must contain
  std::string allow{};  // the Allow header of a 405
  bool head = false;    // the request was HEAD: no body may follow the answer
};

constexpr auto kGateway = Target::gateway;
constexpr auto kOrder = Target::order;
const std::string kPartitionRange = "partition must be a whole number from 0 to 2";
const std::string kValidOrder = R"({"money":81,"time":1638865975,"user_id":"1468136425655373824"})";

// Requests both services must refuse the same way: HTTP framing, limits, methods, time.
std::vector<Row> protocol_rows(Target t) {
  const std::string big(70'000, 'x');  // over the 64 KiB body limit
  std::string big_chunks;
  for (int i = 0; i < 20; ++i) big_chunks += "1000\r\n" + std::string(4096, 'x') + "\r\n";  // 80 KiB in all
  big_chunks += "0\r\n\r\n";
  return {
      // Request line and headers.
      {"not HTTP at all", t, {"this is not http\r\n\r\n"}, 400, "malformed HTTP request"},
      {"binary request line",
       t,
       {"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"s},
       400,
       "malformed HTTP request"},
      {"HTTP/2.0 version", t, {"GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n"}, 400, "malformed HTTP request"},
      {"no target", t, {"GET HTTP/1.1\r\nHost: x\r\n\r\n"}, 400, "malformed HTTP request"},
      {"header without colon",
       t,
       {"POST /submit-order HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"},
       400,
       "malformed HTTP request"},
      {"NUL byte in a header",
       t,
       {"POST /submit-order HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n"s},
       400,
       "malformed HTTP request"},
      {"NUL byte in the target",
       t,
       {"POST /submit-order\0 HTTP/1.1\r\nHost: x\r\n\r\n"s},
       400,
       "malformed HTTP request"},
      {"HTTP/1.1 without Host",
       t,
       {"POST /submit-order HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"},
       400,
       "Host"},
      {"two Host headers",
       t,
       {request("POST", "/submit-order", "application/json", "{}", "Host: other\r\n")},
       400,
       "Host"},
      {"Content-Length not a number",
       t,
       {"POST /submit-order HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n0123456789"},
       400,
       "malformed HTTP request"},
      {"negative Content-Length",
       t,
       {"POST /submit-order HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"},
       400,
       "malformed HTTP request"},
      {"two different Content-Lengths",
       t,
       {"POST /submit-order HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}"},
       400,
       "malformed HTTP request"},
      {"Content-Length and chunked together",
       t,
       {"POST /submit-order HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
        "0\r\n\r\n"},
       400,
       "malformed HTTP request"},
      {"bad chunk size",
       t,
       {chunked("/submit-order", "application/json", "zz\r\n{}\r\n0\r\n\r\n")},
       400,
       "malformed HTTP request"},
      {"Content-Length over 2^64",
       t,
       {"POST /submit-order HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n"},
       400,
       "malformed HTTP request"},
      // Limits.
      {"body over the limit", t, {json_post(big)}, 413, "larger than 65536 bytes"},
      {"Content-Length over the limit, no body sent",
       t,
       {"POST /submit-order HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
        "10000000\r\n\r\n"},
       413,
       "larger than 65536 bytes"},
      {"chunked body over the limit",
       t,
       {chunked("/submit-order", "application/json", big_chunks)},
       413,
       "larger than 65536 bytes"},
      {"header over the limit",
       t,
       {request("POST", "/submit-order", "application/json", "{}",
                "X-Padding: " + std::string(10'000, 'a') + "\r\n")},
       431,
       "larger than 8192 bytes"},
      {"target over the header limit",
       t,
       {request("POST", "/submit-order?" + std::string(10'000, 'a'), "", "")},
       431,
       "larger than 8192 bytes"},
      // Routes and methods.
      {"unknown path",
       t,
       {request("POST", "/no-such-path", "application/json", kValidOrder)},
       404,
       "no such path: /no-such-path"},
      {"trailing slash",
       t,
       {request("POST", "/submit-order/", "application/json", kValidOrder)},
       404,
       "no such path: /submit-order/"},
      {"GET on submit-order", t, {get("/submit-order")}, 405, "GET is not allowed on /submit-order", "POST"},
      {"PUT on submit-order",
       t,
       {request("PUT", "/submit-order", "application/json", kValidOrder)},
       405,
       "PUT is not allowed",
       "POST"},
      {"DELETE on /", t, {request("DELETE", "/", "", "")}, 405, "DELETE is not allowed on /", "GET"},
      {"POST on /healthz",
       t,
       {request("POST", "/healthz", "application/json", "{}")},
       405,
       "POST is not allowed",
       "GET"},
      {"unknown method",
       t,
       {request("BREW", "/submit-order", "application/json", kValidOrder)},
       405,
       "BREW is not allowed",
       "POST"},
      {"HEAD on submit-order",
       t,
       {request("HEAD", "/submit-order", "", "")},
       405,
       "HEAD is not allowed",
       "POST",
       /*head=*/true},
      // Truncated and slow requests. Started but not finished within the request timeout: 408 and
      // Connection: close, so the client knows nothing was done (a bare close would leave it guessing
      // whether the order was stored). Never started: closed at the idle timeout, there is nothing to answer.
      {"body shorter than Content-Length, then half-close",
       t,
       {request("POST", "/submit-order", "application/json", kValidOrder).substr(0, 120), Then::half_close},
       400,
       "ended before"},
      {"headers cut off, then half-close",
       t,
       {"POST /submit-order HTTP/1.1\r\nHost: x\r\nContent-Le", Then::half_close},
       400,
       "ended before"},
      {"body shorter than Content-Length, then hang up",
       t,
       {request("POST", "/submit-order", "application/json", kValidOrder).substr(0, 120), Then::close},
       0,
       ""},
      {"body shorter than Content-Length, then wait",
       t,
       {request("POST", "/submit-order", "application/json", kValidOrder).substr(0, 120)},
       408,
       "not received within 1000 ms"},
      {"headers trickled slower than the request timeout",
       t,
       {json_post(kValidOrder), Then::read, 100ms},
       408,
       "not received within 1000 ms"},
      {"body trickled slower than the request timeout", t,
       body_trickled(request("POST", "/submit-order", "application/json", kValidOrder), 100ms), 408,
       "not received within 1000 ms"},
      {"connection that never sends a byte", t, {""}, 0, ""},
  };
}

std::vector<Row> gateway_rows() {
  const std::string deep = nested(32'000);
  std::vector<Row> rows = {
      // Partitions in a form body, as curl -d sends them.
      {"partition -1", kGateway, {form("partition=-1")}, 400, kPartitionRange + ", got '-1'"},
      {"partition 3 of 3", kGateway, {form("partition=3")}, 400, "got '3'"},
      {"partition 1.0", kGateway, {form("partition=1.0")}, 400, "got '1.0'"},
      {"partition ' 1'", kGateway, {form("partition=%201")}, 400, "got ' 1'"},
      {"partition '1 '", kGateway, {form("partition=1+")}, 400, "got '1 '"},
      {"partition 0x1", kGateway, {form("partition=0x1")}, 400, "got '0x1'"},
      {"partition abc", kGateway, {form("partition=abc")}, 400, "got 'abc'"},
      {"partition empty", kGateway, {form("partition=")}, 400, "got ''"},
      {"partition without =", kGateway, {form("partition")}, 400, "got ''"},
      {"partition missing from the form", kGateway, {form("region=1")}, 400, "missing 'partition'"},
      {"empty body, no query", kGateway, {form("")}, 400, "missing 'partition'"},
      {"partition twice", kGateway, {form("partition=1&partition=2")}, 400, "more than once"},
      {"partition twice, same value", kGateway, {form("partition=1&partition=1")}, 400, "more than once"},
      {"partition 99999999999999999999",
       kGateway,
       {form("partition=99999999999999999999")},
       400,
       "got '99999999999999999999'"},
      {"partition non-ASCII (一)", kGateway, {form("partition=%E4%B8%80")}, 400, "got '一'"},
      {"partition raw UTF-8 (一)", kGateway, {form("partition=一")}, 400, "got '一'"},
      {"partition invalid UTF-8", kGateway, {form("partition=\xff")}, 400, kPartitionRange},
      {"partition NUL", kGateway, {form("partition=%00")}, 400, kPartitionRange},
      {"partition broken escape",
       kGateway,
       {form("partition=%zz")},
       400,
       "partition in the form body is not valid form encoding: '%zz'"},
      {"partition in the query out of range", kGateway, {query("partition=7")}, 400, "got '7'"},
      {"partition in the query twice", kGateway, {query("partition=0&partition=1")}, 400, "more than once"},
      {"partition in the query not a number", kGateway, {query("partition=abc")}, 400, "got 'abc'"},
      // Partitions in a JSON body.
      {"JSON partition -1", kGateway, {partition_json("-1")}, 400, "got '-1'"},
      {"JSON partition 3", kGateway, {partition_json("3")}, 400, "got '3'"},
      {"JSON partition 1.0", kGateway, {partition_json("1.0")}, 400, "got '1.0'"},
      {"JSON partition 1e400", kGateway, {partition_json("1e400")}, 400, "not valid JSON"},
      {"JSON partition 2^63",
       kGateway,
       {partition_json("9223372036854775808")},
       400,
       "got '9223372036854775808'"},
      {"JSON partition 2^64-1",
       kGateway,
       {partition_json("18446744073709551615")},
       400,
       "got '18446744073709551615'"},
      {"JSON partition string '1.0'", kGateway, {partition_json(R"("1.0")")}, 400, "got '1.0'"},
      {"JSON partition string ' 1'", kGateway, {partition_json(R"(" 1")")}, 400, "got ' 1'"},
      {"JSON partition true", kGateway, {partition_json("true")}, 400, "got 'true'"},
      {"JSON partition null", kGateway, {partition_json("null")}, 400, "got 'null'"},
      {"JSON partition array", kGateway, {partition_json("[1]")}, 400, kPartitionRange + ", got an array"},
      {"JSON partition object",
       kGateway,
       {partition_json(R"({"n":1})")},
       400,
       kPartitionRange + ", got an object"},
      {"JSON partition deeply nested",
       kGateway,
       {partition_json(deep)},
       400,
       kPartitionRange + ", got an array"},
      {"JSON partition twice",
       kGateway,
       {json_post(R"({"partition":1,"partition":2})")},
       400,
       "duplicate key 'partition'"},
      {"JSON partition then NUL and more",
       kGateway,
       {json_post("{\"partition\":1}\0{\"partition\":2}"s)},
       400,
       "NUL byte at offset 15"},
      {"JSON without partition", kGateway, {json_post(R"({"p":1})")}, 400, "missing field 'partition'"},
      {"JSON array body", kGateway, {json_post("[1]")}, 400, "must be a JSON object"},
      {"JSON deeply nested body", kGateway, {json_post(deep)}, 400, "must be a JSON object"},
      {"JSON truncated", kGateway, {json_post(R"({"partition":)")}, 400, "not valid JSON"},
      {"JSON invalid UTF-8", kGateway, {json_post("{\"partition\":\"\xff\"}")}, 400, "not valid JSON"},
      {"JSON with a form body", kGateway, {json_post("partition=1")}, 400, "not valid JSON"},
      // Content types.
      {"text/plain body",
       kGateway,
       {request("POST", "/submit-order", "text/plain", "partition=1")},
       415,
       "not text/plain"},
      {"multipart body",
       kGateway,
       {request("POST", "/submit-order", "multipart/form-data; boundary=x",
                "--x\r\n\r\npartition=1\r\n--x--")},
       415,
       "not multipart/form-data"},
      {"application/jsonp body",
       kGateway,
       {request("POST", "/submit-order", "application/jsonp", "{\"partition\":1}")},
       415,
       "not application/jsonp"},
  };
  for (auto& row : protocol_rows(kGateway)) rows.push_back(std::move(row));
  return rows;
}

std::vector<Row> order_rows() {
  const std::string user = R"("user_id":"1468136425655373824")";
  return {
      // Not an order-shaped JSON document.
      {"form body labelled JSON", kOrder, {json_post("money=81")}, 400, "not valid JSON"},
      {"not JSON", kOrder, {json_post("{not json")}, 400, "not valid JSON"},
      {"empty body", kOrder, {json_post("")}, 400, "not valid JSON"},
      {"whitespace body", kOrder, {json_post("  \r\n ")}, 400, "not valid JSON"},
      {"truncated JSON", kOrder, {json_post(R"({"money":81,)")}, 400, "not valid JSON"},
      {"trailing garbage", kOrder, {json_post(kValidOrder + "x")}, 400, "not valid JSON"},
      {"two objects", kOrder, {json_post(kValidOrder + kValidOrder)}, 400, "not valid JSON"},
      {"comment", kOrder, {json_post("/* hi */" + kValidOrder)}, 400, "not valid JSON"},
      {"array", kOrder, {json_post("[" + kValidOrder + "]")}, 400, "must be a JSON object"},
      {"string", kOrder, {json_post(R"("order")")}, 400, "must be a JSON object"},
      {"deeply nested array", kOrder, {json_post(nested(32'000))}, 400, "must be a JSON object"},
      {"empty object", kOrder, {json_post("{}")}, 400, "missing field"},
      // Fields.
      {"missing money",
       kOrder,
       {json_post(R"({"time":1638865975,)" + user + "}")},
       400,
       "missing field 'money'"},
      {"missing time", kOrder, {json_post(R"({"money":81,)" + user + "}")}, 400, "missing field 'time'"},
      {"missing user_id",
       kOrder,
       {json_post(R"({"money":81,"time":1638865975})")},
       400,
       "missing field 'user_id'"},
      {"money as string", kOrder, {order_with(R"("81")")}, 400, "field 'money' must be an integer"},
      {"money negative", kOrder, {order_with("-5")}, 400, "field 'money' must be between 1 and 1000000"},
      {"money zero", kOrder, {order_with("0")}, 400, "field 'money' must be between 1 and 1000000"},
      {"money over the maximum",
       kOrder,
       {order_with("1000001")},
       400,
       "field 'money' must be between 1 and 1000000"},
      {"money float", kOrder, {order_with("81.5")}, 400, "field 'money' must be an integer"},
      {"money 81.0", kOrder, {order_with("81.0")}, 400, "field 'money' must be an integer"},
      {"money 1e400", kOrder, {order_with("1e400")}, 400, "not valid JSON: number overflow"},
      {"money 1e40", kOrder, {order_with("1e40")}, 400, "field 'money' must be an integer"},
      {"money 2^63", kOrder, {order_with("9223372036854775808")}, 400, "field 'money' is out of range"},
      {"money 2^64", kOrder, {order_with("18446744073709551616")}, 400, "field 'money' must be an integer"},
      {"money null", kOrder, {order_with("null")}, 400, "field 'money' must be an integer"},
      {"money true", kOrder, {order_with("true")}, 400, "field 'money' must be an integer"},
      {"money deeply nested", kOrder, {order_with(nested(32'000))}, 400, "field 'money' must be an integer"},
      {"user_id empty",
       kOrder,
       {order_with("81", "1638865975", R"("")")},
       400,
       "field 'user_id' must be a decimal id"},
      {"user_id a number",
       kOrder,
       {order_with("81", "1638865975", "1468136425655373824")},
       400,
       "field 'user_id' must be a string"},
      {"user_id null",
       kOrder,
       {order_with("81", "1638865975", "null")},
       400,
       "field 'user_id' must be a string"},
      {"user_id letters",
       kOrder,
       {order_with("81", "1638865975", R"("abc")")},
       400,
       "field 'user_id' must be a decimal id"},
      {"user_id over 2^63-1",
       kOrder,
       {order_with("81", "1638865975", R"("9223372036854775808")")},
       400,
       "field 'user_id' must be a decimal id from 0 to 9223372036854775807"},
      {"user_id 20 digits",
       kOrder,
       {order_with("81", "1638865975", R"("99999999999999999999")")},
       400,
       "field 'user_id' must be a decimal id"},
      {"user_id with escaped NUL",
       kOrder,
       {order_with("81", "1638865975", R"("1\u0000")")},
       400,
       "field 'user_id' must be a decimal id"},
      {"user_id invalid UTF-8",
       kOrder,
       {order_with("81", "1638865975", "\"1\xff\xfe\"")},
       400,
       "not valid JSON"},
      {"user_id lone surrogate",
       kOrder,
       {order_with("81", "1638865975", R"("\ud800")")},
       400,
       "not valid JSON"},
      {"raw NUL inside a string",
       kOrder,
       {order_with("81", "1638865975", "\"1\0\""s)},
       400,
       "not valid JSON"},
      {"NUL after the object", kOrder, {json_post(kValidOrder + "\0"s)}, 400, "NUL byte at offset 62"},
      {"NUL, then a second order",
       kOrder,
       {json_post(kValidOrder + "\0"s + kValidOrder)},
       400,
       "NUL byte at offset 62"},
      {"invalid UTF-8 in an extra field",
       kOrder,
       {json_post(R"({"money":81,"time":1638865975,"note":")"
                  "\xc3\x28"
                  R"(",)" +
                  user + "}")},
       400,
       "not valid JSON"},
      {"time as string",
       kOrder,
       {order_with("81", R"("1638865975")")},
       400,
       "field 'time' must be an integer"},
      {"time float", kOrder, {order_with("81", "1638865975.5")}, 400, "field 'time' must be an integer"},
      {"time object", kOrder, {order_with("81", "{}")}, 400, "field 'time' must be an integer"},
      {"time zero", kOrder, {order_with("81", "0")}, 400, "field 'time' must be between"},
      {"duplicate money",
       kOrder,
       {json_post(R"({"money":81,"money":82,"time":1638865975,)" + user + "}")},
       400,
       "duplicate key 'money'"},
      {"duplicate user_id",
       kOrder,
       {json_post(R"({"money":81,"time":1638865975,"user_id":"abc",)" + user + "}")},
       400,
       "duplicate key 'user_id'"},
      // Content types.
      {"text/plain",
       kOrder,
       {request("POST", "/submit-order", "text/plain", kValidOrder)},
       415,
       "send the order as application/json, not text/plain"},
      {"form content type",
       kOrder,
       {request("POST", "/submit-order", "application/x-www-form-urlencoded", "money=81")},
       415,
       "not application/x-www-form-urlencoded"},
  };
}

// ---------------------------------------------------------------- the services

class BadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    topic_ = fresh_topic("bad-input");
    const auto prefix = free_port_prefix();
    for (int partition = 0; partition < 3; ++partition) {
      order::Config config;
      config.common.pod_name = "order-" + std::to_string(partition);
      config.kafka.brokers = brokers();
      config.kafka.topic = topic_;
      config.http = server_options(static_cast<std::uint16_t>(std::stoi(prefix) * 10 + partition));
      orders_.push_back(std::make_unique<Running<order::Service>>(config));
      ASSERT_TRUE(orders_.back()->ok()) << orders_.back()->error();
    }
    gateway::Config config;
    config.http = server_options(0);
    config.kafka.brokers = brokers();  // the topic's partition count: a test never reads another cluster
    config.kafka.topic = topic_;
    config.peers.order = "http://127.0.0.1:" + prefix + "{partition}/submit-order";
    config.client.request_timeout = 8000ms;
    gateway_ = std::make_unique<Running<gateway::Service>>(config);
    ASSERT_TRUE(gateway_->ok()) << gateway_->error();
  }

  std::uint16_t port(Target target) {
    return target == kGateway ? (*gateway_)->port() : (*orders_[0])->port();
  }

  // Every row, then: nothing in Kafka, and a valid order through `target` still lands there.
  void run(const std::vector<Row>& rows, Target target, const std::string& valid_request,
           int valid_partition) {
    const auto began = std::chrono::steady_clock::now();
    for (const auto& row : rows) check(row);
    std::printf("%zu rows in %.1f s\n", rows.size(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());

    EXPECT_EQ(end_offsets(topic_), (std::vector<std::int64_t>{0, 0, 0}))
        << "a malformed request reached Kafka";
    const auto valid = exchange(port(target), {valid_request});
    ASSERT_TRUE(valid.responded) << valid.ended;
    EXPECT_EQ(valid.status, 200u) << valid.body;
    std::vector<std::int64_t> expected = {0, 0, 0};
    expected[valid_partition] = 1;
    EXPECT_EQ(end_offsets(topic_), expected) << "the valid order did not land where it should";
  }

  void check(const Row& row) {
    SCOPED_TRACE(row.name);
    const auto answer = exchange(port(row.target), row.send, row.head);
    if (row.status == 0) {
      EXPECT_FALSE(answer.responded) << row.name << ": answered " << answer.status << " " << answer.body;
      if (row.send.then != Then::close) {
        EXPECT_TRUE(answer.closed) << row.name << ": " << answer.ended;
      }
    } else if (!answer.responded) {
      ADD_FAILURE() << row.name << ": no answer (" << answer.ended << "), expected " << row.status;
    } else {
      EXPECT_EQ(answer.status, row.status) << row.name << ": " << answer.body;
      const auto error = json::parse(answer.body, nullptr, false);
      if (row.head) {
        EXPECT_TRUE(answer.body.empty()) << row.name;
      } else if (!error.is_object() || !error.contains("error") || !error.contains("message")) {
        ADD_FAILURE() << row.name << ": the answer is not a JSON error: " << answer.body;
      } else {
        EXPECT_EQ(error["error"], to_string_for(row.status)) << row.name << ": " << answer.body;
        const auto message = error["message"].get<std::string>();
        EXPECT_NE(message.find(row.message), std::string::npos)
            << row.name << ": '" << message << "' does not say '" << row.message << "'";
      }
      EXPECT_EQ(answer.allow, row.allow) << row.name;
      EXPECT_EQ(answer.extra_bytes, 0u) << row.name << ": bytes after the answer";
    }
    // The service is still up and answers on a fresh connection.
    const auto health = exchange(port(row.target), {get("/healthz")});
    EXPECT_EQ(health.status, 200u) << "after " << row.name << ": " << health.ended;
  }

  static std::string to_string_for(unsigned status) {
    switch (status) {
      case 400:
        return "bad_request";
      case 404:
        return "not_found";
      case 405:
        return "method_not_allowed";
      case 408:
        return "request_timeout";
      case 413:
        return "payload_too_large";
      case 415:
        return "unsupported_media_type";
      case 431:
        return "header_too_large";
    }
    return "?";
  }

  std::string topic_;
  std::vector<std::unique_ptr<Running<order::Service>>> orders_;
  std::unique_ptr<Running<gateway::Service>> gateway_;
};

TEST_F(BadInput, GatewayAnswersEachMalformedRequestWithTheRight4xxAndWritesNothing) {
  run(gateway_rows(), kGateway, form("partition=2"), 2);
}

TEST_F(BadInput, OrderAnswersEachMalformedRequestWithTheRight4xxAndWritesNothing) {
  auto rows = order_rows();
  for (auto& row : protocol_rows(kOrder)) rows.push_back(std::move(row));
  run(rows, kOrder, json_post(kValidOrder), 0);
}

}  // namespace
}  // namespace kd::test
