// The command line of kafka-demo-load, parsed into plain values. Pure: no I/O, so the unit tests can
// drive it. The CLI is a contract other scripts code against (bench/, the fault tests): keep it stable.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/http/client.hpp"
#include "common/net.hpp"
#include "common/result.hpp"

namespace kd::load {

struct Options {
  std::string url;
  Url target;
  int partitions = 3;
  std::optional<std::string> body;  // given: every request carries it, no partition rotation
  std::string content_type = "application/x-www-form-urlencoded";
  http::verb method = http::verb::post;
  int connections = 64;
  bool connections_given = false;
  std::optional<double> rate;  // given: open loop
  int max_connections = 1024;
  std::optional<std::chrono::nanoseconds> duration;  // exactly one of duration and requests is set
  std::optional<std::uint64_t> requests;
  std::chrono::nanoseconds warmup{0};  // none unless asked: callers that reconcile every answer get them all
  std::chrono::milliseconds timeout{15'000};
  std::string record_path;
  bool record_start = false;  // add "start_us" (intended start, µs since the epoch) to recorded lines

  bool open_loop() const { return rate.has_value(); }
  // Whether request bodies rotate "partition=<i mod partitions>".
  bool rotates_partitions() const { return !body && method != http::verb::get; }
};

// "10s", "250ms", "1.5s", "2" (seconds). Negative or malformed: an error.
Result<std::chrono::nanoseconds> parse_duration(std::string_view text);

// What parse_options() says besides Options: print help and exit 0, or a usage error (exit 2).
struct Usage {
  int exit_code;
  std::string text;
};

// args excludes the program name. Either Options or the text to print and the exit code.
std::variant<Options, Usage> parse_options(const std::vector<std::string>& args);

}  // namespace kd::load
