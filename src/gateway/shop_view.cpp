#include "gateway/shop_view.hpp"

#include <nlohmann/json.hpp>

namespace kd::gateway {
namespace {

using nlohmann::json;

json optional_number(const std::optional<std::int64_t>& value) {
  return value ? json(*value) : json(nullptr);
}

json row_json(const PlacedRecord& placed, const std::optional<std::int64_t>& shipped,
              const std::optional<std::int64_t>& counted) {
  return {{"order_id", placed.order.order_id.value},
          {"partition", placed.partition},
          {"offset", placed.offset},
          {"written_ms", placed.written_ms},
          {"money", placed.order.money},
          {"user_id", placed.order.user_id.value},
          {"shipped_ms", optional_number(shipped)},
          {"counted_ms", optional_number(counted)}};
}

json health_json(const std::map<std::string, Health>& all, const std::string& instance) {
  const auto it = all.find(instance);
  if (it == all.end())
    return {{"instance", instance}, {"reachable", nullptr}, {"ready", nullptr}, {"reason", ""}};
  return {{"instance", instance},
          {"reachable", it->second.reachable},
          {"ready", it->second.ready},
          {"reason", it->second.reason}};
}

}  // namespace

std::optional<ConsumerPositions> parse_positions(std::string_view body) {
  const json parsed = json::parse(body.begin(), body.end(), nullptr, false);
  if (!parsed.is_object() || !parsed.contains("partitions") || !parsed["partitions"].is_array())
    return std::nullopt;
  ConsumerPositions positions;
  for (const auto& item : parsed["partitions"]) {
    if (!item.is_object() || !item.value("partition", json()).is_number_integer()) return std::nullopt;
    const int partition = item["partition"].get<int>();
    if (item.contains("durable") && item["durable"].is_number_integer())
      positions.durable[partition] = item["durable"].get<std::int64_t>();
    if (item.contains("lag") && item["lag"].is_number_integer())
      positions.lag[partition] = item["lag"].get<std::int64_t>();
  }
  return positions;
}

ShopView::ShopView(int partitions, std::size_t feed_size)
    : partitions_(partitions), feed_size_(feed_size), regions_(static_cast<std::size_t>(partitions)) {
  for (int partition = 0; partition < partitions; ++partition)
    regions_[partition].name = "partition-" + std::to_string(partition);
}

void ShopView::placed(const std::vector<PlacedRecord>& records) {
  for (const auto& record : records) {
    if (record.partition < 0 || record.partition >= partitions_) continue;
    feed_.push_back(Row{record, std::nullopt, std::nullopt, true});
  }
  while (feed_.size() > feed_size_) feed_.pop_front();
}

void ShopView::counted_per_second(const std::map<std::int64_t, std::vector<std::int64_t>>& counts) {
  for (const auto& [second, per_partition] : counts) {
    auto& slot = per_second_[second];
    slot.resize(static_cast<std::size_t>(partitions_), 0);
    for (std::size_t p = 0; p < per_partition.size() && p < slot.size(); ++p) slot[p] += per_partition[p];
  }
}

void ShopView::health(const std::string& instance, Health health) { health_[instance] = std::move(health); }

// A row is marked when a poll first sees the consumer's position past it: the time is the console's, within
// a poll of the moment (the feed's first rows, read back when the console starts, get the time of the first
// poll). The order's own story (GET /orders/{id}) has the consumer's time.
void ShopView::mark(Row& row, std::int64_t now_ms) {
  const auto& region = regions_[row.placed.partition];
  if (!row.shipped_ms && region.shipped_through && *region.shipped_through > row.placed.offset) {
    row.shipped_ms = now_ms;
    row.changed = true;
  }
  if (!row.counted_ms && region.counted_through && *region.counted_through > row.placed.offset) {
    row.counted_ms = now_ms;
    row.changed = true;
  }
}

void ShopView::positions(std::optional<int> warehouse, const ConsumerPositions& positions,
                         std::int64_t now_ms) {
  for (const auto& [partition, next] : positions.durable) {
    if (partition < 0 || partition >= partitions_) continue;
    if (warehouse && partition != *warehouse) continue;
    auto& region = regions_[partition];
    (warehouse ? region.shipped_through : region.counted_through) = next;
    const auto lag = positions.lag.find(partition);
    (warehouse ? region.warehouse_lag : region.statistics_lag) =
        lag == positions.lag.end() ? std::nullopt : std::optional<std::int64_t>(lag->second);
  }
  for (auto& row : feed_) mark(row, now_ms);
}

bool ShopView::figures(std::string_view stats_json) {
  const json parsed = json::parse(stats_json.begin(), stats_json.end(), nullptr, false);
  if (!parsed.is_object() || !parsed.contains("regions") || !parsed["regions"].is_array()) return false;
  for (const auto& region : parsed["regions"]) {
    if (!region.is_object() || !region.value("partition", json()).is_number_integer()) continue;
    const int partition = region["partition"].get<int>();
    if (partition < 0 || partition >= partitions_) continue;
    auto& mine = regions_[partition];
    if (region.contains("region") && region["region"].is_string())
      mine.name = region["region"].get<std::string>();
    if (region.contains("orders") && region["orders"].is_number_integer())
      mine.orders = region["orders"].get<std::int64_t>();
    if (region.contains("revenue") && region["revenue"].is_number_integer())
      mine.revenue = region["revenue"].get<std::int64_t>();
  }
  if (parsed.contains("total") && parsed["total"].is_object()) {
    total_orders_ = parsed["total"].value("orders", total_orders_);
    total_revenue_ = parsed["total"].value("revenue", total_revenue_);
  }
  return true;
}

std::string ShopView::status_json(std::int64_t now_ms) const {
  const std::int64_t now_s = now_ms / 1000;
  // The last complete seconds: the current one is still filling.
  const std::int64_t first = now_s - kChartSeconds;
  json series = json::array();
  for (int partition = 0; partition < partitions_; ++partition) {
    json counts = json::array();
    for (std::int64_t second = first; second < now_s; ++second) {
      const auto it = per_second_.find(second);
      counts.push_back(it == per_second_.end() ? 0 : it->second[static_cast<std::size_t>(partition)]);
    }
    series.push_back(std::move(counts));
  }
  json regions = json::array();
  for (int partition = 0; partition < partitions_; ++partition) {
    const auto& region = regions_[partition];
    const auto last = per_second_.find(now_s - 1);
    regions.push_back(
        {{"partition", partition},
         {"name", region.name},
         {"orders", region.orders},
         {"revenue", region.revenue},
         {"rate", last == per_second_.end() ? 0 : last->second[static_cast<std::size_t>(partition)]},
         {"order", health_json(health_, "order-" + std::to_string(partition))},
         {"repository", health_json(health_, "repository-" + std::to_string(partition))},
         {"warehouse_lag", optional_number(region.warehouse_lag)},
         {"statistics_lag", optional_number(region.statistics_lag)},
         {"shipped_through", optional_number(region.shipped_through)},
         {"counted_through", optional_number(region.counted_through)}});
  }
  return json{{"regions", regions},
              {"statistics", health_json(health_, "statistics")},
              {"total", {{"orders", total_orders_}, {"revenue", total_revenue_}}},
              {"chart", {{"start", first}, {"series", series}}}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<std::string> ShopView::update(std::int64_t now_ms) {
  // Seconds older than the chart are forgotten: memory stays the chart's size.
  per_second_.erase(per_second_.begin(), per_second_.lower_bound(now_ms / 1000 - kChartSeconds));
  json rows = json::array();
  for (auto& row : feed_) {
    if (!row.changed) continue;
    rows.push_back(row_json(row.placed, row.shipped_ms, row.counted_ms));
    row.changed = false;
  }
  auto status = status_json(now_ms);
  const bool status_changed = status != last_status_;
  if (rows.empty() && !status_changed) return std::nullopt;
  json out = {{"rows", rows}};
  if (status_changed) {
    out["status"] = json::parse(status);
    last_status_ = std::move(status);
  }
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string ShopView::snapshot(std::int64_t now_ms) const {
  json rows = json::array();
  for (const auto& row : feed_) rows.push_back(row_json(row.placed, row.shipped_ms, row.counted_ms));
  return json{{"rows", rows}, {"status", json::parse(status_json(now_ms))}}.dump(
      -1, ' ', false, json::error_handler_t::replace);
}

}  // namespace kd::gateway
