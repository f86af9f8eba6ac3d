#include "common/order.hpp"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "common/json_text.hpp"

namespace kd {
namespace {

using nlohmann::json;

// Non-throwing dump: a record's value may hold bytes that are not UTF-8, and a log line must still be valid.
std::string dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

// nlohmann's reason without its "[json.exception.parse_error.101] " prefix, and short: it quotes the
// token it stopped at, which may be most of the body.
std::string parse_failure(const json::exception& e) {
  std::string_view what = e.what();
  if (const auto end = what.find("] ");
      what.starts_with("[json.exception.") && end != std::string_view::npos) {
    what.remove_prefix(end + 2);
  }
  return std::string(what.substr(0, 200));
}

Result<std::int64_t> integer_field(const json& object, const char* name, std::int64_t min, std::int64_t max) {
  const auto it = object.find(name);
  if (it == object.end()) return make_error(Errc::bad_request, std::string("missing field '") + name + "'");
  std::int64_t value = 0;
  if (it->is_number_unsigned()) {
    const auto raw = it->get<std::uint64_t>();
    if (raw > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return make_error(Errc::bad_request, std::string("field '") + name + "' is out of range");
    }
    value = static_cast<std::int64_t>(raw);
  } else if (it->is_number_integer()) {
    value = it->get<std::int64_t>();
  } else {
    return make_error(Errc::bad_request, std::string("field '") + name + "' must be an integer");
  }
  if (value < min || value > max) {
    return make_error(Errc::bad_request, std::string("field '") + name + "' must be between " +
                                             std::to_string(min) + " and " + std::to_string(max));
  }
  return value;
}

// Snowflakes are signed 64-bit: a longer id is nobody's, and a reader parsing it as a number would fail.
constexpr std::string_view kMaxId = "9223372036854775807";

// Ids travel as decimal strings: a snowflake does not fit a JavaScript number, which is why the seed
// quotes them.
Result<std::string> id_field(const json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end()) return make_error(Errc::bad_request, std::string("missing field '") + name + "'");
  if (!it->is_string())
    return make_error(Errc::bad_request, std::string("field '") + name + "' must be a string");
  const auto& text = it->get_ref<const std::string&>();
  const bool digits =
      !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  const bool fits = text.size() < kMaxId.size() || (text.size() == kMaxId.size() && text <= kMaxId);
  if (!digits || !fits) {
    return make_error(Errc::bad_request, std::string("field '") + name + "' must be a decimal id from 0 to " +
                                             std::string(kMaxId));
  }
  return text;
}

constexpr std::int64_t kMaxTime = std::numeric_limits<std::int64_t>::max();

Result<OrderRequest> request_fields(const json& object) {
  auto time = integer_field(object, "time", 1, kMaxTime);
  if (!time) return time.error();
  auto user_id = id_field(object, "user_id");
  if (!user_id) return user_id.error();
  auto money = integer_field(object, "money", kMinMoney, kMaxMoney);
  if (!money) return money.error();
  return OrderRequest{*time, UserId{std::move(*user_id)}, *money};
}

// The shape our own to_json writes, read without building a DOM (consumers read one per record): keys
// in that order, no spaces, integers without sign or leading zero, ids of digits. Anything else, valid
// or not, is left to the strict path (nullopt), so both paths agree wherever this one answers.
class CanonicalReader {
 public:
  explicit CanonicalReader(std::string_view text) : rest_(text) {}

  bool literal(std::string_view expected) {
    if (!rest_.starts_with(expected)) return false;
    rest_.remove_prefix(expected.size());
    return true;
  }

  std::optional<std::int64_t> integer(std::int64_t min, std::int64_t max) {
    const auto digits = leading_digits();
    if (digits.empty() || digits.size() > 18 || digits.front() == '0')
      return std::nullopt;  // 18: no overflow
    std::int64_t value = 0;
    for (const char c : digits) value = value * 10 + (c - '0');
    rest_.remove_prefix(digits.size());
    if (value < min || value > max) return std::nullopt;
    return value;
  }

  std::optional<std::string> id() {
    if (!literal("\"")) return std::nullopt;
    const auto digits = leading_digits();
    if (digits.empty() || digits.size() > kMaxId.size() ||
        (digits.size() == kMaxId.size() && digits > kMaxId)) {
      return std::nullopt;
    }
    rest_.remove_prefix(digits.size());
    if (!literal("\"")) return std::nullopt;
    return std::string(digits);
  }

  bool at_end() const { return rest_.empty(); }

 private:
  std::string_view leading_digits() const {
    std::size_t n = 0;
    while (n < rest_.size() && rest_[n] >= '0' && rest_[n] <= '9') ++n;
    return rest_.substr(0, n);
  }
  std::string_view rest_;
};

std::optional<Order> read_canonical_order(std::string_view text) {
  CanonicalReader in(text);
  if (!in.literal(R"({"money":)")) return std::nullopt;
  const auto money = in.integer(kMinMoney, kMaxMoney);
  if (!money || !in.literal(R"(,"order_id":)")) return std::nullopt;
  auto order_id = in.id();
  if (!order_id || !in.literal(R"(,"time":)")) return std::nullopt;
  const auto time = in.integer(1, kMaxTime);
  if (!time || !in.literal(R"(,"user_id":)")) return std::nullopt;
  auto user_id = in.id();
  if (!user_id || !in.literal("}") || !in.at_end()) return std::nullopt;
  return Order{*time, UserId{std::move(*user_id)}, *money, OrderId{std::move(*order_id)}};
}

std::optional<OrderRequest> read_canonical_request(std::string_view text) {
  CanonicalReader in(text);
  if (!in.literal(R"({"money":)")) return std::nullopt;
  const auto money = in.integer(kMinMoney, kMaxMoney);
  if (!money || !in.literal(R"(,"time":)")) return std::nullopt;
  const auto time = in.integer(1, kMaxTime);
  if (!time || !in.literal(R"(,"user_id":)")) return std::nullopt;
  auto user_id = in.id();
  if (!user_id || !in.literal("}") || !in.at_end()) return std::nullopt;
  return OrderRequest{*time, UserId{std::move(*user_id)}, *money};
}

}  // namespace

Result<json> parse_json_object(std::string_view body) {
  if (const auto nul = body.find('\0'); nul != std::string_view::npos) {
    return make_error(Errc::bad_request, "body is not valid JSON: NUL byte at offset " + std::to_string(nul));
  }
  std::vector<std::set<std::string>> keys;  // those seen so far in each object being read
  std::optional<std::string> duplicate;
  const json::parser_callback_t track_keys = [&](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) {
      keys.emplace_back();
    } else if (event == json::parse_event_t::object_end) {
      keys.pop_back();
    } else if (event == json::parse_event_t::key && !keys.back().insert(parsed.get<std::string>()).second &&
               !duplicate) {
      duplicate = parsed.get<std::string>().substr(0, 64);
    }
    return true;
  };
  json parsed;
  try {
    parsed = json::parse(body.begin(), body.end(), track_keys);
  } catch (const json::exception& e) {
    return make_error(Errc::bad_request, "body is not valid JSON: " + parse_failure(e));
  }
  if (duplicate) return make_error(Errc::bad_request, "body has a duplicate key '" + *duplicate + "'");
  if (!parsed.is_object()) return make_error(Errc::bad_request, "body must be a JSON object");
  return parsed;
}

std::string to_json(const OrderRequest& request) {
  return dump(json{{"money", request.money}, {"time", request.time}, {"user_id", request.user_id.value}});
}

std::string to_json(const Order& order) {
  return dump(json{{"money", order.money},
                   {"order_id", order.order_id.value},
                   {"time", order.time},
                   {"user_id", order.user_id.value}});
}

Result<OrderRequest> parse_order_request(std::string_view body) {
  if (auto canonical = read_canonical_request(body)) return std::move(*canonical);
  auto object = parse_json_object(body);
  if (!object) return object.error();
  return request_fields(*object);
}

Result<Order> parse_order(std::string_view payload) {
  if (auto canonical = read_canonical_order(payload)) return std::move(*canonical);
  auto object = parse_json_object(payload);
  if (!object) return object.error();
  auto request = request_fields(*object);
  if (!request) return request.error();
  auto order_id = id_field(*object, "order_id");
  if (!order_id) return order_id.error();
  return Order{request->time, std::move(request->user_id), request->money, OrderId{std::move(*order_id)}};
}

std::string consumed_record_json(const std::optional<std::string_view>& key, std::int64_t offset,
                                 int partition, std::string_view value) {
  // Written directly (this runs for every record a consumer reads); the same text nlohmann would dump.
  std::string line;
  line.reserve(64 + value.size() + value.size() / 4);
  line += "{\"key\":";
  if (key) {
    json_text::append_string(line, *key);
  } else {
    line += "null";
  }
  line += ",\"offset\":";
  line += std::to_string(offset);
  line += ",\"partition\":";
  line += std::to_string(partition);
  line += ",\"value\":";
  json_text::append_string(line, value);
  line += '}';
  return line;
}

}  // namespace kd
