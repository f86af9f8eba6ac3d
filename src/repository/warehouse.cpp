#include "repository/warehouse.hpp"

#include <nlohmann/json.hpp>

namespace kd::repository {

void Warehouse::on_order(int partition, std::int64_t offset, const Order& order) {
  undispatched_.push_back({order.order_id, partition, offset});
  ++shipped_;
}

void Warehouse::on_durable() {
  if (undispatched_.empty()) return;
  dispatch_(undispatched_);
  undispatched_.clear();
}

std::string Warehouse::snapshot() const { return nlohmann::json{{"shipped", shipped_}}.dump(); }

Status Warehouse::restore(std::string_view snapshot) {
  undispatched_.clear();
  if (snapshot.empty()) {
    shipped_ = 0;
    return Ok{};
  }
  const auto parsed = nlohmann::json::parse(snapshot.begin(), snapshot.end(), nullptr, false);
  if (!parsed.is_object() || !parsed.contains("shipped") || !parsed["shipped"].is_number_integer() ||
      parsed["shipped"].get<std::int64_t>() < 0) {
    return make_error(Errc::storage,
                      "the warehouse's state is malformed: " + std::string(snapshot.substr(0, 64)));
  }
  shipped_ = parsed["shipped"].get<std::int64_t>();
  return Ok{};
}

}  // namespace kd::repository
