#include "common/log.hpp"

#include <spdlog/async.h>
#include <spdlog/formatter.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <iostream>
#include <memory>

#include "common/json_text.hpp"

namespace kd::log {
namespace {

std::shared_ptr<spdlog::logger>& logger() {
  static std::shared_ptr<spdlog::logger> instance;
  return instance;
}

const char* level_word(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    case spdlog::level::err:
      return "error";
    default:
      return "info";
  }
}

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::debug:
      return spdlog::level::debug;
    case Level::info:
      return spdlog::level::info;
    case Level::warn:
      return spdlog::level::warn;
    case Level::error:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

// The payload spdlog carries is already the rendered tail of the object ("message":…, fields); this
// formatter adds the head. It runs on the single writer thread, so its cache needs no lock.
class ZerologFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto seconds = std::chrono::system_clock::to_time_t(msg.time);
    if (seconds != cached_second_) {
      cached_second_ = seconds;
      cached_time_ = rfc3339(seconds);
    }
    append(dest, R"({"level":")");
    append(dest, level_word(msg.level));
    append(dest, R"(","time":")");
    append(dest, cached_time_);
    append(dest, "\",");
    dest.append(msg.payload.begin(), msg.payload.end());
    append(dest, "}\n");
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<ZerologFormatter>(); }

 private:
  static void append(spdlog::memory_buf_t& dest, std::string_view text) {
    dest.append(text.data(), text.data() + text.size());
  }
  std::time_t cached_second_ = -1;
  std::string cached_time_;
};

}  // namespace

std::string rfc3339(std::time_t seconds) {
  std::tm local{};
  localtime_r(&seconds, &local);
  char buffer[40];
  const auto length = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &local);
  std::string text(buffer, length);
  const long offset = local.tm_gmtoff;
  if (offset == 0) return text + "Z";
  const long minutes = (offset < 0 ? -offset : offset) / 60;
  std::snprintf(buffer, sizeof buffer, "%c%02ld:%02ld", offset < 0 ? '-' : '+', minutes / 60, minutes % 60);
  return text + buffer;
}

bool parse_level(std::string_view word, Level& level) {
  if (word == "debug")
    level = Level::debug;
  else if (word == "info")
    level = Level::info;
  else if (word == "warn")
    level = Level::warn;
  else if (word == "error")
    level = Level::error;
  else
    return false;
  return true;
}

void init(const Options& options) {
  // Not spdlog's stdout sink: it flushes after every line, one write(2) per record (a fifth of a consumer's
  // CPU when catching up, measured with perf by the benchmark). std::cout goes through stdio's buffer,
  // emptied by the flushes below.
  static char stdout_buffer[1 << 16];
  std::setvbuf(stdout, stdout_buffer, _IOFBF, sizeof stdout_buffer);  // one write(2) per 64 KB
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(std::cout, /*force_flush=*/false);
  std::shared_ptr<spdlog::logger> instance;
  if (options.async) {
    spdlog::init_thread_pool(4096, 1);  // lines of ~300 bytes: about 2 MB queued at most
    instance = std::make_shared<spdlog::async_logger>("kd", sink, spdlog::thread_pool(),
                                                      spdlog::async_overflow_policy::block);
  } else {
    instance = std::make_shared<spdlog::logger>("kd", sink);
  }
  instance->set_formatter(std::make_unique<ZerologFormatter>());
  instance->set_level(to_spdlog(options.level));
  // Lines reach the pipe within a second (kubectl logs, the demo's verification), without a flush per line.
  instance->flush_on(spdlog::level::warn);
  spdlog::drop(instance->name());
  spdlog::register_logger(instance);  // flush_every only reaches registered loggers
  spdlog::flush_every(std::chrono::seconds(1));
  logger() = instance;
}

void shutdown() {
  if (auto& instance = logger()) instance->flush();
  spdlog::shutdown();
  logger().reset();
}

void write(Level level, std::string_view message, Fields fields) {
  auto& instance = logger();
  const auto spd_level = to_spdlog(level);
  if (!instance) {  // before init (or in unit tests): plain stderr, so nothing is silently lost
    std::fprintf(stderr, "%.*s\n", static_cast<int>(message.size()), message.data());
    return;
  }
  if (!instance->should_log(spd_level)) return;
  std::string tail = "\"message\":";
  json_text::append_string(tail, message);
  for (const auto& [name, value] : fields) {
    tail += ',';
    json_text::append_string(tail, name);
    tail += ':';
    tail += value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  instance->log(spd_level, spdlog::string_view_t(tail));  // as it is: no format string to parse
}

}  // namespace kd::log
