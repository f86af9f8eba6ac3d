#include "order/last_order_id.hpp"

#include <librdkafka/rdkafka.h>

#include <thread>

#include "common/ids.hpp"
#include "common/kafka/consumer.hpp"
#include "common/order.hpp"

namespace kd::order {

std::optional<std::int64_t> largest_order_id(const std::vector<std::string>& values, int node) {
  std::optional<std::int64_t> largest;
  for (const auto& value : values) {
    auto order = parse_order(value);
    if (!order) continue;
    std::int64_t id = 0;
    try {
      id = std::stoll(order->order_id.value);
    } catch (const std::exception&) {
      continue;  // parse_order admits ids up to 2^63-1 only; nothing else gets here
    }
    if (decode_snowflake(id).node != node) continue;
    if (!largest || id > *largest) largest = id;
  }
  return largest;
}

std::int64_t clock_floor_ms(std::int64_t order_id) { return decode_snowflake(order_id).unix_ms + 1; }

Result<std::vector<std::string>> read_newest_records(const KafkaSettings& kafka, int partition, int count,
                                                     std::chrono::milliseconds timeout) {
  auto consumer = kafka::Consumer::create({.brokers = kafka.brokers,
                                           .group_id = "order-" + std::to_string(partition) + "-newest-ids",
                                           .client_id = "order-" + std::to_string(partition) + "-newest-ids",
                                           .topic = kafka.topic,
                                           .extra = kafka.properties});
  if (!consumer) return consumer.error();
  // librdkafka's logical offset "count records before the end" (RD_KAFKA_OFFSET_TAIL); nothing is committed.
  if (auto status = (*consumer)->assign({{partition, std::int64_t{RD_KAFKA_OFFSET_TAIL(count)}}}); !status) {
    return status.error();
  }
  std::vector<std::string> values;
  std::int64_t next = 0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto batch = (*consumer)->poll(static_cast<std::size_t>(count), std::chrono::milliseconds(100));
    for (std::size_t i = 0; i < batch.size(); ++i) {
      values.emplace_back(batch[i].value);
      next = batch[i].offset + 1;
    }
    // At the end once the watermarks of a fetch say nothing is left after `next`.
    const auto lag = (*consumer)->lag({{partition, next}});
    if (const auto it = lag.find(partition); it != lag.end() && it->second == 0) return values;
  }
  return make_error(Errc::unavailable, "cannot read the newest records of " + kafka.topic + "/" +
                                           std::to_string(partition) + " within " +
                                           std::to_string(timeout.count()) + " ms");
}

}  // namespace kd::order
