#include "gateway/order_form.hpp"

#include <cctype>
#include <charconv>
#include <chrono>
#include <nlohmann/json.hpp>

namespace kd::gateway {
namespace {

Error bad_partition_described(std::string_view got, int partitions) {
  return make_error(Errc::bad_request, "partition must be a whole number from 0 to " +
                                           std::to_string(partitions - 1) + ", got " + std::string(got));
}

Error bad_partition(std::string_view got, int partitions) {
  return bad_partition_described("'" + std::string(got.substr(0, 32)) + "'", partitions);
}

Result<int> parse_partition_text(std::string_view text, int partitions) {
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value < 0 ||
      value >= partitions) {
    return bad_partition(text, partitions);
  }
  return value;
}

Result<int> partition_from_json(std::string_view body, int partitions) {
  const auto parsed = parse_json_object(body);
  if (!parsed) return parsed.error();
  const auto it = parsed->find("partition");
  if (it == parsed->end()) return make_error(Errc::bad_request, "missing field 'partition'");
  if (it->is_number_unsigned()) {
    if (const auto value = it->get<std::uint64_t>(); value < static_cast<std::uint64_t>(partitions)) {
      return static_cast<int>(value);
    }
  }
  if (it->is_string()) return parse_partition_text(it->get_ref<const std::string&>(), partitions);
  // Containers are described, not printed: printing recurses as deep as they nest.
  if (it->is_array()) return bad_partition_described("an array", partitions);
  if (it->is_object()) return bad_partition_described("an object", partitions);
  return bad_partition(it->dump(), partitions);  // as sent: 18446744073709551615 is not -1
}

// The partition in a form-encoded string (a body or a query string), if it names one. Given twice, it is
// refused rather than guessed at: a proxy or a log reading the other copy would disagree with us.
Result<std::optional<int>> partition_from_form(std::string_view form, std::string_view where,
                                               int partitions) {
  std::optional<std::string_view> raw;
  while (!form.empty()) {
    const auto amp = form.find('&');
    const std::string_view pair = form.substr(0, amp);
    const auto equals = pair.find('=');
    if (form_decode(pair.substr(0, equals)) == "partition") {
      if (raw)
        return make_error(Errc::bad_request,
                          "partition is given more than once in the " + std::string(where));
      raw = equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1);
    }
    if (amp == std::string_view::npos) break;
    form.remove_prefix(amp + 1);
  }
  if (!raw) return std::optional<int>();
  const auto value = form_decode(*raw);
  if (!value) {
    return make_error(Errc::bad_request, "partition in the " + std::string(where) +
                                             " is not valid form encoding: '" +
                                             std::string(raw->substr(0, 32)) + "'");
  }
  auto partition = parse_partition_text(*value, partitions);
  if (!partition) return partition.error();
  return std::optional<int>(*partition);
}

}  // namespace

std::optional<std::string> form_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      if (i + 2 >= text.size() || !std::isxdigit(static_cast<unsigned char>(text[i + 1])) ||
          !std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
        return std::nullopt;
      }
      int value = 0;
      std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
      out += static_cast<char>(value);
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::optional<std::string> form_value(std::string_view form, std::string_view name) {
  while (!form.empty()) {
    const auto amp = form.find('&');
    const std::string_view pair = form.substr(0, amp);
    const auto equals = pair.find('=');
    if (form_decode(pair.substr(0, equals)) == name) {
      return equals == std::string_view::npos ? std::optional<std::string>("")
                                              : form_decode(pair.substr(equals + 1));
    }
    if (amp == std::string_view::npos) break;
    form.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

Result<int> requested_partition(const HttpRequest& request, int partitions) {
  if (!request.body.empty()) {
    if (has_media_type(request.content_type, "application/json")) {
      return partition_from_json(request.body, partitions);
    }
    // curl -d sends form encoding; a client that names no type gets the same reading.
    if (request.content_type.empty() ||
        has_media_type(request.content_type, "application/x-www-form-urlencoded")) {
      auto found = partition_from_form(request.body, "form body", partitions);
      if (!found) return found.error();
      if (*found) return **found;
    } else {
      return make_error(Errc::unsupported_media_type,
                        "send partition as a form field (application/x-www-form-urlencoded), JSON or a query "
                        "parameter, not " +
                            request.content_type);
    }
  }
  auto found = partition_from_form(request.query, "query string", partitions);
  if (!found) return found.error();
  if (*found) return **found;
  return make_error(Errc::bad_request, "missing 'partition': send partition=N (N from 0 to " +
                                           std::to_string(partitions - 1) + ") as a form field");
}

OrderRequestFactory::OrderRequestFactory(std::uint16_t node)
    : users_(node), random_(std::random_device{}()) {}

OrderRequest OrderRequestFactory::make() {
  using namespace std::chrono;
  const auto now = duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
  return OrderRequest{now, UserId{users_.next_string()}, money_(random_)};
}

}  // namespace kd::gateway
