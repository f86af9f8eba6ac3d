// Drives a handler through ConsumerState and StateStore the way ConsumerLoop does, without Kafka: each
// record is examined, acted on once, marked handled; save() makes it durable. For the domain classes'
// tests of shipping and counting once across copies, restarts, gaps and recreated topics.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "common/consumer/consumer_state.hpp"
#include "common/consumer/handler.hpp"
#include "common/consumer/state_store.hpp"
#include "common/order.hpp"

namespace kd::testing_support {

inline std::string order_record(std::int64_t id, std::int64_t money = 81) {
  return to_json(Order{1638865975, UserId{"1468136426238382080"}, money, OrderId{std::to_string(id)}});
}

class ConsumerDriver {
 public:
  ConsumerDriver(const std::filesystem::path& state, consumer::Handler& handler, std::int64_t window = 100)
      : handler_(handler), state_(window) {
    auto store = consumer::StateStore::open(state, "order");
    EXPECT_TRUE(store.ok()) << store.error().message;
    if (!store) return;
    store_ = std::move(*store);
    auto saved = store_->load();
    EXPECT_TRUE(saved.ok()) << saved.error().message;
    for (const auto& [partition, position] : saved->positions) {
      state_.restore(partition, position, saved->windows[partition]);
    }
    EXPECT_TRUE(handler_.restore(saved->handler_state).ok());
  }

  // What the loop would do with the record; the verdict for the test to look at.
  consumer::Examined feed(int partition, std::int64_t offset, const std::string& value) {
    auto order = parse_order(value);
    const std::string_view id = order ? std::string_view(order->order_id.value) : std::string_view();
    const auto seen = state_.examine(partition, offset, value, order ? &id : nullptr);
    if (seen.fit == consumer::OffsetFit::fingerprint) {
      state_.verified(partition);
      return seen;
    }
    if (seen.fit == consumer::OffsetFit::foreign) return seen;  // the loop stops here
    if (!order) {
      handler_.on_rejected(partition, offset);
    } else if (seen.sighting == consumer::Sighting::first) {
      handler_.on_order(partition, offset, *order);
    }
    state_.handled(partition, offset, seen);
    return seen;
  }

  void save() {
    ASSERT_TRUE(store_->save(state_.take_changes(), handler_.snapshot()).ok());
    handler_.on_durable();
  }

  consumer::ConsumerState& state() { return state_; }

 private:
  consumer::Handler& handler_;
  consumer::ConsumerState state_;
  std::unique_ptr<consumer::StateStore> store_;
};

}  // namespace kd::testing_support
