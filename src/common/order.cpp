#include "common/order.hpp"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>

namespace kd {
namespace {

using nlohmann::json;

// Non-throwing dump: a record's value may hold bytes that are not UTF-8, and a log line must still be valid.
std::string dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

Result<json> parse_object(std::string_view text) {
  json parsed = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return make_error(Errc::bad_request, "body is not valid JSON");
  if (!parsed.is_object()) return make_error(Errc::bad_request, "body must be a JSON object");
  return parsed;
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
  const bool digits = !text.empty() && text.size() <= 20 &&
                      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits) return make_error(Errc::bad_request, std::string("field '") + name + "' must be a decimal id");
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
  auto object = parse_object(body);
  if (!object) return object.error();
  return request_fields(*object);
}

Result<Order> parse_order(std::string_view payload) {
  auto object = parse_object(payload);
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
