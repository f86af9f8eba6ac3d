// What a consumer does with the orders it reads, apart from Kafka and HTTP: the warehouse ships, the
// shop's figures count. ConsumerLoop calls a handler on its one thread, after it has decided what each
// record is (a first copy, a copy, not an order), so a handler sees each order once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/order.hpp"
#include "common/result.hpp"

namespace kd::consumer {

class Handler {
 public:
  virtual ~Handler() = default;

  // The first copy of an order at this partition and offset.
  virtual void on_order(int partition, std::int64_t offset, const Order& order) = 0;
  // A record that held no order; it is in the dead-letter topic already.
  virtual void on_rejected(int partition, std::int64_t offset) = 0;
  // Everything handled so far is durable: now act on it where acting twice would show (the warehouse
  // announces its shipments here, so a crash before the save never announced what a restart redoes).
  virtual void on_durable() {}

  // The handler's own state, saved in the same transaction as the positions it includes, and given
  // back to restore() on the next start (empty when nothing was ever saved).
  virtual std::string snapshot() const = 0;
  virtual Status restore(std::string_view snapshot) = 0;
};

}  // namespace kd::consumer
