// Hot-path JSON text: what every consumed record costs, written without building nlohmann values.
// Each function gives byte for byte what the nlohmann path gives (the unit tests and the order-record
// fuzzer compare them); anything unusual takes the nlohmann path itself.
#pragma once

#include <string>
#include <string_view>

namespace kd::json_text {

// Appends `text` as a JSON string literal, quotes included, as nlohmann's dump does with the replace
// error handler: \" \\ \b \f \n \r \t, other control bytes as \u00xx, bytes that are not UTF-8 as U+FFFD.
void append_string(std::string& out, std::string_view text);

inline std::string quoted(std::string_view text) {
  std::string out;
  append_string(out, text);
  return out;
}

}  // namespace kd::json_text
