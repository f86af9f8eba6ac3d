// The gateway's reading of a client's request (POST /submit-order): requested_partition and the form
// decoding under it.
// Input: "<Content-Type>\n<query string>\n<body>": the text up to the first newline is the Content-Type
// header, the text up to the second the query string (after '?'), the rest the body (newlines and all).
// An input with fewer newlines has an empty query and body, or an empty body.
// Properties: a partition read is in [0, partitions), and the number of partitions only bounds it (3 and
// 1000 agree on every request that names 0, 1 or 2); an error is 400, or 415 for a body in a format the
// gateway does not read; form encoding then decoding gives back any bytes, also as a field's value.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "gateway/order_form.hpp"

namespace {

// application/x-www-form-urlencoded, as a browser writes it; the oracle for form_decode.
std::string form_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '*') {
      out += c;
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += hex[byte >> 4];
      out += hex[byte & 0xF];
    }
  }
  return out;
}

std::string_view take_line(std::string_view& rest) {
  const auto newline = rest.find('\n');
  const auto line = rest.substr(0, newline);
  rest = newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kd;
  std::string_view rest = fuzz::as_text(data, size);
  HttpRequest request;
  request.method = http::verb::post;
  request.path = "/submit-order";
  request.content_type = std::string(take_line(rest));
  request.query = std::string(take_line(rest));
  request.body = std::string(rest);

  const auto three = gateway::requested_partition(request, 3);
  const auto many = gateway::requested_partition(request, 1000);
  if (three) {
    FUZZ_CHECK(*three >= 0 && *three < 3);
    FUZZ_CHECK(many.ok() && *many == *three);
  } else {
    const auto code = three.error().code;
    FUZZ_CHECK(code == Errc::bad_request || code == Errc::unsupported_media_type);
    FUZZ_CHECK(!three.error().message.empty());
    FUZZ_CHECK(code != Errc::unsupported_media_type || !request.body.empty());
    FUZZ_CHECK(!many.ok() || *many >= 3);
    if (!many.ok()) FUZZ_CHECK(many.error().code == code);
  }

  FUZZ_CHECK(gateway::form_decode(form_encode(request.body)) == request.body);
  const std::string form = "a=1&" + form_encode(request.query) + "=" + form_encode(request.body) + "&b";
  const auto value = gateway::form_value(form, request.query);
  // The first field of that name wins: "a" and "b" come before and after it.
  if (request.query == "a") {
    FUZZ_CHECK(value == "1");
  } else {
    FUZZ_CHECK(value == request.body);
  }
  if (const auto decoded = gateway::form_decode(request.body)) {
    FUZZ_CHECK(gateway::form_decode(form_encode(*decoded)) == *decoded);
  }
  return 0;
}
