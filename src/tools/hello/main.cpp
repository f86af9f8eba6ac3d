// kafka-demo-hello: the HTTP ceiling of the benchmark. The services' own HTTP stack (kd::HttpServer on
// one io thread, started by kd::run_service with the same logging, metrics and signal handling), with a
// handler that does nothing: POST/GET /submit-order answer a fixed order-sized JSON body at once, so
// the same load (wrk and its Lua script, kafka-demo-load) can drive it and the pipeline alike.
#include "common/http/server.hpp"
#include "common/runtime.hpp"

namespace kd::hello {

struct Config {
  CommonSettings common;
  HttpServerOptions http;
  void bind_options(CLI::App& app) {
    bind_common_options(app, common);
    bind_server_options(app, http, "127.0.0.1:8079");
  }
};

class Service {
 public:
  using Config = hello::Config;
  static constexpr const char* kName = "hello";

  static Result<std::unique_ptr<Service>> create(asio::io_context& io, const Config& config) {
    return std::make_unique<Service>(io, config);
  }
  Service(asio::io_context& io, const Config& config) : config_(config), server_(io, config.http) {
    add_probe_routes(server_, kName, always_ready);
    // The size of a real answer of the order service, so both sides move the same bytes.
    const auto answer = [](HttpRequest) -> asio::awaitable<HttpResponse> {
      co_return HttpResponse::json(
          R"({"money":81,"order_id":"2124016654655422464","time":1638865975,"user_id":"2124016654483456000"})");
    };
    server_.route(http::verb::post, "/submit-order", answer);
    server_.route(http::verb::get, "/submit-order", answer);
  }
  Status start() { return server_.start(); }
  asio::awaitable<void> drain() { co_await server_.shutdown(config_.common.shutdown_timeout); }

 private:
  Config config_;
  HttpServer server_;
};

}  // namespace kd::hello

int main(int argc, char** argv) { return kd::run_service<kd::hello::Service>(argc, argv); }
