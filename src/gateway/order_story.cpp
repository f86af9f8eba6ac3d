#include "gateway/order_story.hpp"

#include <nlohmann/json.hpp>

namespace kd::gateway {
namespace {

using nlohmann::json;

json optional_number(const std::optional<std::int64_t>& value) {
  return value ? json(*value) : json(nullptr);
}

json stage_json(const StageAnswer& stage) {
  if (!stage.progress) return {{"by", stage.by}, {"done", nullptr}, {"error", stage.error}};
  return {{"by", stage.by},
          {"done", stage.progress->done},
          {"at_ms", optional_number(stage.progress->at_ms)},
          {"by_ms", optional_number(stage.progress->by_ms)}};
}

std::optional<std::int64_t> optional_field(const json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer()) throw std::invalid_argument(std::string(name) + " is not a whole number");
  return it->get<std::int64_t>();
}

}  // namespace

Result<consumer::Progress> parse_progress(std::string_view body) {
  const json parsed = json::parse(body.begin(), body.end(), nullptr, false);
  try {
    if (!parsed.is_object() || !parsed.contains("done") || !parsed["done"].is_boolean()) {
      throw std::invalid_argument("no \"done\"");
    }
    consumer::Progress progress;
    progress.done = parsed["done"].get<bool>();
    progress.at_ms = optional_field(parsed, "at_ms");
    progress.by_ms = optional_field(parsed, "by_ms");
    progress.next = optional_field(parsed, "durable").value_or(0);
    return progress;
  } catch (const std::exception& e) {
    return make_error(Errc::upstream_failed, std::string("unexpected progress answer (") + e.what() +
                                                 "): " + std::string(body.substr(0, 120)));
  }
}

std::string story_json(const Placement& placement, const StageAnswer& shipped, const StageAnswer& counted,
                       const LookupCost& cost) {
  const auto& order = placement.order;
  return json{{"order_id", order.order_id.value},
              {"partition", placement.partition},
              {"placed",
               {{"by", "order-" + std::to_string(placement.partition)},
                {"partition", placement.partition},
                {"offset", placement.offset},
                {"written_ms", placement.written_ms},
                {"time", order.time},
                {"money", order.money},
                {"user_id", order.user_id.value}}},
              {"shipped", stage_json(shipped)},
              {"counted", stage_json(counted)},
              {"lookup", {{"reads", cost.reads}, {"records", cost.records}}}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

Error order_not_found(std::int64_t order_id, int partitions) {
  const auto node = decode_snowflake(order_id).node;
  if (node >= partitions) {
    return make_error(Errc::not_found, "no order " + std::to_string(order_id) + ": its node " +
                                           std::to_string(node) + " is no order instance (partitions 0 to " +
                                           std::to_string(partitions - 1) + ")");
  }
  return make_error(Errc::not_found, "no order " + std::to_string(order_id) + " in partition " +
                                         std::to_string(node) + ": never written, or deleted by retention");
}

}  // namespace kd::gateway
