// What the console shows, kept by the gateway for all its viewers at once: the shop's map (each instance's
// health and readiness), each region's figures, orders per second and consumer lag, and a feed of the
// latest orders, each filled in as it moves (placed -> shipped -> counted). A plain class on the io
// thread: the console's glue feeds it what the tail reader and the polls bring, and sends what update()
// returns to every viewer.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/order.hpp"

namespace kd::gateway {

struct Health {
  bool reachable = false;  // it answered at all
  bool ready = false;      // /readyz said 200
  std::string reason;      // why not ready (its /readyz answer, or the transport error)
  friend bool operator==(const Health&, const Health&) = default;
};

struct PlacedRecord {
  int partition = 0;
  std::int64_t offset = 0;
  std::int64_t written_ms = 0;
  Order order;
};

// A consumer's /positions: partition -> durable position and lag.
struct ConsumerPositions {
  std::map<int, std::int64_t> durable;
  std::map<int, std::int64_t> lag;
};

// GET /positions of a consumer (consumer_loop.hpp): {"partitions":[{"partition":0,"durable":12,"lag":0,…}]}.
// None if the body is not that.
std::optional<ConsumerPositions> parse_positions(std::string_view body);

class ShopView {
 public:
  static constexpr int kChartSeconds = 60;
  explicit ShopView(int partitions, std::size_t feed_size = 30);

  // The tail reader's records (orders only), and how many orders each partition took in each second.
  void placed(const std::vector<PlacedRecord>& records);
  void counted_per_second(const std::map<std::int64_t, std::vector<std::int64_t>>& counts);
  // "order-0", "repository-2", "statistics".
  void health(const std::string& instance, Health health);
  // A warehouse's (partition) or statistics' (nullopt) positions; rows whose offset they passed are marked
  // shipped or counted at `now_ms`.
  void positions(std::optional<int> warehouse, const ConsumerPositions& positions, std::int64_t now_ms);
  // statistics' GET /stats answer: region names and figures. False if it is not one.
  bool figures(std::string_view stats_json);

  // {"rows":[…changed feed rows…],"status":{…}} with what changed since the last call ("status" only when it
  // differs), or none when nothing did. `now_ms` moves the chart's window.
  std::optional<std::string> update(std::int64_t now_ms);
  // Everything, for a viewer that just arrived: {"rows":[…all…],"status":{…}}.
  std::string snapshot(std::int64_t now_ms) const;

 private:
  struct Row {
    PlacedRecord placed;
    std::optional<std::int64_t> shipped_ms;
    std::optional<std::int64_t> counted_ms;
    bool changed = true;
  };
  struct Region {
    std::string name;
    std::int64_t orders = 0;
    std::int64_t revenue = 0;
    std::optional<std::int64_t> warehouse_lag;
    std::optional<std::int64_t> statistics_lag;
    std::optional<std::int64_t> shipped_through;  // the warehouse's durable position
    std::optional<std::int64_t> counted_through;  // statistics' durable position of this partition
  };
  std::string status_json(std::int64_t now_ms) const;
  void mark(Row& row, std::int64_t now_ms);

  int partitions_;
  std::size_t feed_size_;
  std::deque<Row> feed_;  // newest last
  std::vector<Region> regions_;
  std::map<std::string, Health> health_;
  std::map<std::int64_t, std::vector<std::int64_t>> per_second_;  // unix second -> orders per partition
  std::int64_t total_orders_ = 0;
  std::int64_t total_revenue_ = 0;
  std::string last_status_;
};

}  // namespace kd::gateway
