// Structured logging in zerolog's shape, one JSON object a line on stdout:
//   {"level":"info","time":"2021-12-07T16:32:55+08:00","message":"…","order_id":"…"}
// Lines are written on the caller's thread into a 64 KB stdio buffer, emptied every second, on warnings,
// and when full. Callers wait for stdout rather than drop a line: these lines are the audit trail the
// seed's verification reads. (A background writer thread, `async`, measured costlier: a futex wake per
// line took a fifth of a consumer's CPU and an eighth of the gateway's.)
#pragma once

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string_view>
#include <utility>

namespace kd::log {

enum class Level { debug, info, warn, error };

struct Options {
  Level level = Level::info;
  bool async = false;  // hand lines to a writer thread (spdlog's async logger, 4096 lines queued)
};

// Call once at start-up, before any other thread logs; shutdown() flushes and stops the writer.
void init(const Options& options = {});
void shutdown();

// Parse "debug", "info", "warn", "error"; false if the word is none of these.
bool parse_level(std::string_view word, Level& level);

using Fields = std::initializer_list<std::pair<std::string_view, nlohmann::json>>;

void write(Level level, std::string_view message, Fields fields = {});

inline void debug(std::string_view message, Fields fields = {}) { write(Level::debug, message, fields); }
inline void info(std::string_view message, Fields fields = {}) { write(Level::info, message, fields); }
inline void warn(std::string_view message, Fields fields = {}) { write(Level::warn, message, fields); }
inline void error(std::string_view message, Fields fields = {}) { write(Level::error, message, fields); }

// RFC 3339 with the local UTC offset, to the second, as zerolog prints it ("Z" for UTC).
std::string rfc3339(std::time_t seconds);

}  // namespace kd::log
