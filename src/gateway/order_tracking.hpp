// GET /orders/{order_id}: finds the order in Kafka (order_locator) on a thread of its own, asks the
// warehouse of its partition and statistics whether they have passed its offset, and answers its story
// (order_story). Nothing about orders is kept: each answer is read fresh.
#pragma once

#include <memory>

#include "common/http/client.hpp"
#include "common/http/server.hpp"
#include "common/kafka/partition_watch.hpp"
#include "common/kafka/reader.hpp"
#include "common/kafka/settings.hpp"
#include "gateway/order_story.hpp"
#include "gateway/peers.hpp"

namespace kd::gateway {

class OrderTracking {
 public:
  // `watch` (which must outlive this) says how many partitions there are now: regions added while running.
  static Result<std::unique_ptr<OrderTracking>> create(asio::io_context& io, const KafkaSettings& kafka,
                                                       const kafka::PartitionWatch& watch,
                                                       const Peers& peers);
  ~OrderTracking();

  // The answer to GET /orders/{order_id}: 200 with the story, 400 for an id that is not one, 404 for an
  // order not in Kafka, 503 while Kafka cannot be read.
  asio::awaitable<HttpResponse> answer(HttpRequest request);
  // Finds an order (on the lookup thread); the benchmark and the console's search use it too.
  asio::awaitable<Result<Located>> locate(std::int64_t order_id);

 private:
  OrderTracking(asio::io_context& io, const KafkaSettings& kafka, const kafka::PartitionWatch& watch,
                const Peers& peers);
  asio::awaitable<StageAnswer> ask(std::string by, const Url& url, int partition, std::int64_t offset);
  // On the lookup thread.
  Result<Located> locate_now(std::int64_t order_id);

  KafkaSettings kafka_;
  const kafka::PartitionWatch& watch_;
  Peers peers_;  // the io thread's
  std::unique_ptr<kafka::TopicReader>
      reader_;                    // made by the first lookup: a gateway nobody asks reads nothing
  asio::thread_pool lookups_{1};  // blocking Kafka reads, one at a time, off the io thread
  HttpClient client_;             // short timeouts: a consumer that is down must not hold the answer
};

}  // namespace kd::gateway
