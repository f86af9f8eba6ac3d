#include "common/order.hpp"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

namespace kd {
namespace {

using nlohmann::json;

// Non-throwing dump: a record's value may hold bytes that are not UTF-8, and a log line must still be valid.
std::string dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

// nlohmann's reason without its "[json.exception.parse_error.101] " prefix, and short: it quotes the
// token it stopped at, which may be most of the body.
std::string parse_failure(const json::exception& e) {
  std::string_view what = e.what();
  if (const auto end = what.find("] "); what.starts_with("[json.exception.") && end != std::string_view::npos) {
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
    return make_error(Errc::bad_request, std::string("field '") + name + "' must be between " + std::to_string(min) +
                                             " and " + std::to_string(max));
  }
  return value;
}

// Ids travel as decimal strings: a snowflake does not fit a JavaScript number, which is why the seed
// quotes them.
Result<std::string> id_field(const json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end()) return make_error(Errc::bad_request, std::string("missing field '") + name + "'");
  if (!it->is_string()) return make_error(Errc::bad_request, std::string("field '") + name + "' must be a string");
  const auto& text = it->get_ref<const std::string&>();
  // Snowflakes are signed 64-bit: a longer id is nobody's, and a reader parsing it as a number would fail.
  constexpr std::string_view kMaxId = "9223372036854775807";
  const bool digits =
      !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  const bool fits = text.size() < kMaxId.size() || (text.size() == kMaxId.size() && text <= kMaxId);
  if (!digits || !fits) {
    return make_error(Errc::bad_request,
                      std::string("field '") + name + "' must be a decimal id from 0 to " + std::string(kMaxId));
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
  auto object = parse_json_object(body);
  if (!object) return object.error();
  return request_fields(*object);
}

Result<Order> parse_order(std::string_view payload) {
  auto object = parse_json_object(payload);
  if (!object) return object.error();
  auto request = request_fields(*object);
  if (!request) return request.error();
  auto order_id = id_field(*object, "order_id");
  if (!order_id) return order_id.error();
  return Order{request->time, std::move(request->user_id), request->money, OrderId{std::move(*order_id)}};
}

std::string consumed_record_json(const std::optional<std::string_view>& key, std::int64_t offset, int partition,
                                 std::string_view value) {
  json line = {{"key", nullptr}, {"offset", offset}, {"partition", partition}, {"value", std::string(value)}};
  if (key) line["key"] = std::string(*key);
  return dump(line);
}

}  // namespace kd
