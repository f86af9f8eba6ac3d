#include "tools/load/options.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>

namespace kd::load {

Result<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  const auto bad = [&] {
    return make_error(Errc::bad_request, "'" + std::string(text) + "' is not a duration (10s, 500ms)");
  };
  double scale = 1e9;
  std::string_view number = text;
  if (number.ends_with("ms")) {
    scale = 1e6;
    number.remove_suffix(2);
  } else if (number.ends_with("s")) {
    number.remove_suffix(1);
  }
  if (number.empty() || number.find_first_not_of("0123456789.") != std::string_view::npos) return bad();
  try {
    std::size_t used = 0;
    const double value = std::stod(std::string(number), &used);
    if (used != number.size() || !std::isfinite(value) || value < 0 || value * scale > 1e18) return bad();
    return std::chrono::nanoseconds(static_cast<std::int64_t>(std::llround(value * scale)));
  } catch (const std::exception&) {
    return bad();
  }
}

std::variant<Options, Usage> parse_options(const std::vector<std::string>& args) {
  Options options;
  std::string method = "POST";
  std::string duration;
  std::string warmup;
  std::string body;
  std::uint64_t requests = 0;
  double rate = 0;
  int timeout_ms = 15'000;

  CLI::App app{"kafka-demo-load: an HTTP load generator with honest latency accounting", "kafka-demo-load"};
  app.add_option("--url", options.url, "http://host:port/path to load")->required();
  app.add_option("--partitions", options.partitions,
                 "Body \"partition=<i mod N>\" form-urlencoded, round robin per request")
      ->check(CLI::Range(1, 100'000))
      ->capture_default_str();
  auto* body_option =
      app.add_option("--body", body, "Fixed body for every request instead (no partition rotation)");
  app.add_option("--content-type", options.content_type, "Content-Type of request bodies")
      ->capture_default_str();
  app.add_option("--method", method, "POST or GET")
      ->check(CLI::IsMember({"POST", "GET"}))
      ->capture_default_str();
  auto* connections_option =
      app.add_option(
             "--connections", options.connections,
             "Closed loop: keep-alive connections, each sends its next request when the answer arrives. "
             "Open loop: connections opened before the first request")
          ->check(CLI::Range(1, 100'000))
          ->capture_default_str();
  auto* rate_option =
      app.add_option("--rate", rate,
                     "Open loop: requests start at t0 + i/R whatever earlier answers do; latency "
                     "counts from the intended start")
          ->check(CLI::PositiveNumber);
  app.add_option("--max-connections", options.max_connections,
                 "Open loop: most connections; beyond them requests queue (and their wait counts)")
      ->check(CLI::Range(1, 100'000))
      ->capture_default_str();
  auto* duration_option =
      app.add_option("--duration", duration, "Measured time after the warm-up (10s, 500ms)");
  auto* requests_option = app.add_option("--requests", requests, "Measured requests after the warm-up")
                              ->check(CLI::PositiveNumber);
  duration_option->excludes(requests_option);
  app.add_option(
      "--warmup", warmup,
      "Requests started in this time are sent but neither counted nor recorded (e.g. 2s; default none)");
  app.add_option("--timeout-ms", timeout_ms, "Per request, connect included; a timeout is a transport error")
      ->check(CLI::Range(1, 3'600'000))
      ->capture_default_str();
  app.add_option("--record", options.record_path, "One JSON line per counted request, in completion order");
  app.add_flag("--record-start", options.record_start,
               "Recorded lines also carry \"start_us\": the intended start, microseconds since the epoch");

  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    return Usage{0, app.help()};
  } catch (const CLI::ParseError& error) {
    return Usage{2,
                 std::string("kafka-demo-load: ") + error.what() + "\n(run with --help for every option)\n"};
  }
  const auto usage_error = [](const std::string& message) {
    return Usage{2, "kafka-demo-load: " + message + "\n(run with --help for every option)\n"};
  };

  auto url = Url::parse(options.url);
  if (!url) return usage_error("--url: " + url.error().message);
  options.target = std::move(*url);
  options.method = method == "GET" ? http::verb::get : http::verb::post;
  if (body_option->count() > 0) options.body = body;
  options.connections_given = connections_option->count() > 0;
  if (rate_option->count() > 0) options.rate = rate;
  if (requests_option->count() > 0) {
    options.requests = requests;
  } else {
    auto parsed = parse_duration(duration.empty() ? "10s" : duration);
    if (!parsed) return usage_error("--duration: " + parsed.error().message);
    if (parsed->count() == 0) return usage_error("--duration must be above zero");
    options.duration = *parsed;
  }
  if (!warmup.empty()) {
    auto parsed = parse_duration(warmup);
    if (!parsed) return usage_error("--warmup: " + parsed.error().message);
    options.warmup = *parsed;
  }
  options.timeout = std::chrono::milliseconds(timeout_ms);
  if (options.open_loop() && options.connections_given) {
    options.connections = std::min(options.connections, options.max_connections);
  }
  return options;
}

}  // namespace kd::load
