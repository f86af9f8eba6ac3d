// The warehouse of one region: ships each order of its partition once. A plain class the consumer loop
// drives; shipping is announced only after the loop has made the shipment durable, so a crash never
// announces what a restart would ship again.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/consumer/handler.hpp"
#include "common/ids.hpp"

namespace kd::repository {

struct Shipment {
  OrderId order_id;
  int partition = 0;
  std::int64_t offset = 0;
  friend bool operator==(const Shipment&, const Shipment&) = default;
};

class Warehouse final : public consumer::Handler {
 public:
  // `dispatch` announces durable shipments (the "shipped" log lines, the counter).
  using Dispatch = std::function<void(const std::vector<Shipment>&)>;
  explicit Warehouse(Dispatch dispatch) : dispatch_(std::move(dispatch)) {}

  void on_order(int partition, std::int64_t offset, const Order& order) override;
  void on_rejected(int, std::int64_t) override {}
  void on_durable() override;
  // {"shipped":N}
  std::string snapshot() const override;
  Status restore(std::string_view snapshot) override;

  // Orders shipped over the warehouse's whole life.
  std::int64_t shipped() const { return shipped_; }

 private:
  Dispatch dispatch_;
  std::int64_t shipped_ = 0;
  std::vector<Shipment> undispatched_;  // handled, not yet durable
};

}  // namespace kd::repository
