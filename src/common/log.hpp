// Structured logging in zerolog's shape, one JSON object a line on stdout:
//   {"level":"info","time":"2021-12-07T16:32:55+08:00","message":"…","order_id":"…"}
// Lines are rendered on the caller's thread (cheap) and written by one background thread, so a request
// never waits for stdout. When the queue is full, callers wait rather than drop: these lines are the
// audit trail the seed's verification reads.
#pragma once

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string_view>
#include <utility>

namespace kd::log {

enum class Level { debug, info, warn, error };

struct Options {
  Level level = Level::info;
  bool async = true;
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
