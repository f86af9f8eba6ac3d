// What the fuzz targets share: a check that stays on in every build and ends the run the way libFuzzer
// records (abort: a deadly signal, so the input is saved as a crash artifact), and the input as text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace kd::fuzz {

[[noreturn]] inline void check_failed(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: property does not hold: %s\n", file, line, condition);
  std::abort();
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Plain digits, 1 to 20 of them: what the order parsers promise about every id they accept.
inline bool is_decimal_id(std::string_view text) {
  if (text.empty() || text.size() > 20) return false;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace kd::fuzz

// A property of the code under test; a failure is a finding, like a sanitizer report.
#define FUZZ_CHECK(condition) \
  ((condition) ? static_cast<void>(0) : ::kd::fuzz::check_failed(#condition, __FILE__, __LINE__))
