#include "common/json_text.hpp"

#include <nlohmann/json.hpp>

namespace kd::json_text {

void append_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto start = out.size();
  out.reserve(start + text.size() + text.size() / 4 + 2);
  out += '"';
  std::size_t plain_from = 0;  // runs of bytes that need no escaping are appended in one go
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte >= 0x20 && byte != '"' && byte != '\\' && byte < 0x80) continue;
    if (byte >= 0x80) {  // UTF-8 needs validating and, if broken, replacing: nlohmann does both
      out.resize(start);
      out += nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      return;
    }
    out.append(text, plain_from, i - plain_from);
    plain_from = i + 1;
    switch (byte) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += "\\u00";
        out += kHex[byte >> 4];
        out += kHex[byte & 0xf];
    }
  }
  out.append(text, plain_from, text.size() - plain_from);
  out += '"';
}

}  // namespace kd::json_text
