#include "gateway/order_tracking.hpp"

#include "common/log.hpp"

namespace kd::gateway {

Result<std::unique_ptr<OrderTracking>> OrderTracking::create(asio::io_context& io, const KafkaSettings& kafka,
                                                             const kafka::PartitionWatch& watch,
                                                             const Peers& peers) {
  return std::unique_ptr<OrderTracking>(new OrderTracking(io, kafka, watch, peers));
}

OrderTracking::OrderTracking(asio::io_context& io, const KafkaSettings& kafka,
                             const kafka::PartitionWatch& watch, const Peers& peers)
    : kafka_(kafka),
      watch_(watch),
      peers_(peers),
      client_(io, {.connect_timeout = std::chrono::milliseconds(500),
                   .request_timeout = std::chrono::milliseconds(2000)}) {}

OrderTracking::~OrderTracking() { lookups_.join(); }

asio::awaitable<Result<Located>> OrderTracking::locate(std::int64_t order_id) {
  // co_spawn wants a default-constructible value; Result has none.
  auto found = co_await asio::co_spawn(
      lookups_,
      [this, order_id]() -> asio::awaitable<std::optional<Result<Located>>> {
        co_return locate_now(order_id);
      },
      asio::use_awaitable);
  co_return std::move(*found);
}

Result<Located> OrderTracking::locate_now(std::int64_t order_id) {
  if (!reader_) {
    auto reader = kafka::TopicReader::create({.brokers = kafka_.brokers,
                                              .topic = kafka_.topic,
                                              .client_id = "gateway-lookups",
                                              .extra = kafka_.properties});
    if (!reader) return reader.error();
    reader_ = std::move(*reader);
  }
  return locate_order(*reader_, order_id, watch_.serving(kafka_.partitions));
}

asio::awaitable<StageAnswer> OrderTracking::ask(std::string by, const Url& url, int partition,
                                                std::int64_t offset) {
  StageAnswer stage{std::move(by), std::nullopt, {}};
  auto reply =
      co_await client_.get(url, "/progress/" + std::to_string(partition) + "/" + std::to_string(offset));
  if (!reply) {
    stage.error = reply.error().message;
  } else if (reply->status != 200) {
    stage.error = "answered " + std::to_string(reply->status) + ": " + reply->body.substr(0, 200);
  } else if (auto progress = parse_progress(reply->body); !progress) {
    stage.error = progress.error().message;
  } else {
    stage.progress = *progress;
  }
  co_return stage;
}

asio::awaitable<HttpResponse> OrderTracking::answer(HttpRequest request) {
  const std::string_view id_text = std::string_view(request.path).substr(std::string_view("/orders/").size());
  const auto order_id = parse_snowflake(id_text);
  if (!order_id) {
    co_return HttpResponse::from_error(
        make_error(Errc::bad_request, "order id: " + order_id.error().message));
  }
  auto located = co_await locate(*order_id);
  if (!located) {
    log::warn("order lookup failed", {{"order_id", *order_id}, {"error", located.error().message}});
    co_return HttpResponse::from_error(located.error());
  }
  const int partitions = peers_.cover(watch_.serving(kafka_.partitions));
  if (!located->placement) co_return HttpResponse::from_error(order_not_found(*order_id, partitions));
  const Placement& placed = *located->placement;
  if (placed.partition >= partitions) {  // a partition whose warehouse URL the template cannot make
    co_return HttpResponse::from_error(order_not_found(*order_id, partitions));
  }
  const auto shipped = co_await ask("repository-" + std::to_string(placed.partition),
                                    peers_.repository[placed.partition], placed.partition, placed.offset);
  const auto counted = co_await ask("statistics", peers_.statistics, placed.partition, placed.offset);
  co_return HttpResponse::json(story_json(placed, shipped, counted, located->cost));
}

}  // namespace kd::gateway
