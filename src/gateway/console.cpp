#include "gateway/console.hpp"

#include <librdkafka/rdkafka.h>

#include "common/kafka/consumer.hpp"
#include "common/log.hpp"
#include "gateway/console_assets.hpp"

namespace kd::gateway {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kFeedSize = 30;
// Ticks of 500 ms: a queue of 64 events is half a minute a viewer may fall behind before it is dropped.
constexpr std::size_t kMaxQueued = 64;
constexpr auto kTick = 500ms;
constexpr auto kPoll = 500ms;
constexpr auto kWriteTimeout = 10s;
constexpr auto kHeartbeat = 15s;
// After the last viewer leaves, the reader and the polls run on a little: a page reloaded comes back to
// them warm.
constexpr auto kLinger = 10s;

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Console::Console(asio::io_context& io, const KafkaSettings& kafka, const kafka::PartitionWatch& watch,
                 const Peers& peers)
    : io_(io),
      kafka_(kafka),
      watch_(watch),
      peers_(peers),
      partitions_(kafka.partitions),
      client_(io, {.connect_timeout = 300ms, .request_timeout = 2000ms, .max_idle_per_host = 4}),
      view_(kafka.partitions, kFeedSize),
      fanout_(kMaxQueued),
      heartbeat_(std::make_shared<const std::string>(": keep-alive\n\n")),
      dropped_(metrics::registry().counter("console_viewers_dropped_total",
                                           "Console viewers dropped for reading their events too slowly")) {
  viewers_gauge_ = metrics::registry().gauge("console_viewers", "Open console event streams", [this] {
    return std::vector<std::pair<metrics::Labels, double>>{{{}, static_cast<double>(viewers_.load())}};
  });
  tail_ = std::jthread([this](std::stop_token stop) { tail(stop); });
}

Console::~Console() = default;

void Console::add_routes(HttpServer& server) {
  server.route(http::verb::get, "/console", [](HttpRequest) -> asio::awaitable<HttpResponse> {
    co_return HttpResponse::redirect("/console/");
  });
  server.route(http::verb::get, "/console/*", [](HttpRequest request) -> asio::awaitable<HttpResponse> {
    std::string_view name = std::string_view(request.path).substr(std::string_view("/console/").size());
    if (name.empty()) name = "index.html";
    const ConsoleAsset* asset = find_console_asset(name);
    if (!asset)
      co_return HttpResponse::from_error(make_error(Errc::not_found, "no such path: " + request.path));
    HttpResponse answer{200, std::string(asset->body), std::string(asset->content_type), {}, {}, {}};
    // Vite names every asset by its content's hash: it never changes under its name. The page itself
    // names them, so it is always asked again.
    answer.headers.emplace_back(
        "Cache-Control", name.starts_with("assets/") ? "public, max-age=31536000, immutable" : "no-cache");
    co_return answer;
  });
  server.route(http::verb::get, "/console/events", [this](HttpRequest) -> asio::awaitable<HttpResponse> {
    HttpResponse answer{200, {}, "text/event-stream", {}, {}, {}};
    answer.headers.emplace_back("Cache-Control", "no-store");
    answer.headers.emplace_back("X-Accel-Buffering",
                                "no");  // nginx-based ingresses: do not buffer the stream
    answer.stream = [this](beast::tcp_stream& stream) { return watch(stream); };
    co_return answer;
  });
}

void Console::stop() {
  stopping_ = true;
  active_ = false;
  for (const auto& viewer : fanout_.all()) {
    if (viewer->on_drop) viewer->on_drop();
    viewer->wake.cancel();
  }
}

void Console::activate() {
  if (active_) return;
  active_ = true;
  const auto generation = ++generation_;
  const int partitions = peers_.cover(watch_.serving(kafka_.partitions));
  partitions_ = partitions;
  view_ = ShopView(partitions, kFeedSize);
  {
    std::lock_guard lock(inbox_.mutex);
    inbox_.records.clear();
    inbox_.per_second.clear();
  }
  asio::co_spawn(io_, tick(generation), asio::detached);
  for (int partition = 0; partition < partitions; ++partition) {
    asio::co_spawn(io_,
                   poll(generation, "order-" + std::to_string(partition), peers_.order[partition], partition,
                        false, false),
                   asio::detached);
    asio::co_spawn(io_,
                   poll(generation, "repository-" + std::to_string(partition), peers_.repository[partition],
                        partition, true, false),
                   asio::detached);
  }
  asio::co_spawn(io_, poll(generation, "statistics", peers_.statistics, std::nullopt, true, true),
                 asio::detached);
  log::info("console active: reading the topic's tail and polling the services");
}

asio::awaitable<void> Console::watch(beast::tcp_stream& stream) {
  if (stopping_) co_return;
  activate();
  auto viewer = fanout_.join(io_.get_executor(), make_event("snapshot", view_.snapshot(unix_ms())));
  ++viewers_;
  viewer->on_drop = [&stream] {
    boost::system::error_code ignored;
    stream.socket().close(ignored);
  };
  boost::system::error_code ec;
  while (!viewer->dropped && !stopping_) {
    if (viewer->queue.empty()) {
      viewer->wake.expires_after(kHeartbeat);
      co_await viewer->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      // Expired, not woken: a comment line keeps proxies from closing an idle stream, and finds a viewer
      // gone.
      if (!ec) viewer->queue.push_back(heartbeat_);
      continue;
    }
    const Event event = viewer->queue.front();
    viewer->queue.pop_front();
    stream.expires_after(kWriteTimeout);
    co_await asio::async_write(stream, asio::buffer(*event), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
  }
  if (viewer->dropped) dropped_.inc();
  fanout_.leave(viewer);
  --viewers_;
  if (fanout_.viewers() == 0) idle_since_ = std::chrono::steady_clock::now();
}

asio::awaitable<void> Console::tick(std::uint64_t generation) {
  asio::steady_timer timer(io_);
  while (current(generation)) {
    timer.expires_after(kTick);
    co_await timer.async_wait(asio::use_awaitable);
    if (!current(generation)) break;
    if (fanout_.viewers() == 0 && std::chrono::steady_clock::now() - idle_since_ > kLinger) {
      active_ = false;
      log::info("console idle: no viewers");
      break;
    }
    // A region added while watching: over again with every partition, and a snapshot that replaces what
    // each viewer shows.
    if (peers_.cover(watch_.serving(kafka_.partitions)) > partitions_) {
      active_ = false;
      activate();
      fanout_.publish(make_event("snapshot", view_.snapshot(unix_ms())));
      break;
    }
    std::vector<PlacedRecord> records;
    std::map<std::int64_t, std::vector<std::int64_t>> per_second;
    {
      std::lock_guard lock(inbox_.mutex);
      records.swap(inbox_.records);
      per_second.swap(inbox_.per_second);
    }
    view_.placed(records);
    view_.counted_per_second(per_second);
    if (auto update = view_.update(unix_ms())) fanout_.publish(make_event("update", *update));
  }
}

asio::awaitable<void> Console::poll(std::uint64_t generation, std::string instance, Url url,
                                    std::optional<int> partition, bool consumer, bool figures) {
  asio::steady_timer timer(io_);
  while (current(generation)) {
    Health health;
    if (auto reply = co_await client_.get(url, "/readyz"); !reply) {
      health.reason = reply.error().message;
    } else {
      health.reachable = true;
      health.ready = reply->status == 200;
      if (!health.ready) {
        const auto parsed = nlohmann::json::parse(reply->body, nullptr, false);
        health.reason = parsed.is_object() && parsed.value("reason", nlohmann::json()).is_string()
                            ? parsed["reason"].get<std::string>()
                            : "answered " + std::to_string(reply->status);
      }
    }
    if (!current(generation)) break;
    const bool reachable = health.reachable;
    view_.health(instance, std::move(health));
    if (reachable && consumer) {
      if (auto reply = co_await client_.get(url, "/positions"); reply && reply->status == 200) {
        if (auto positions = parse_positions(reply->body); positions && current(generation)) {
          view_.positions(figures ? std::nullopt : partition, *positions, unix_ms());
        }
      }
    }
    if (reachable && figures) {
      if (auto reply = co_await client_.get(url, "/stats");
          reply && reply->status == 200 && current(generation)) {
        view_.figures(reply->body);
      }
    }
    timer.expires_after(kPoll);
    co_await timer.async_wait(asio::use_awaitable);
  }
}

// The tail reader: while the console is active, the newest records of every partition (the last few first,
// so the feed starts filled), parsed here and left in the inbox for the next tick. Its own Kafka consumer,
// created when the console becomes active and closed when it goes idle, on this thread: the io thread never
// waits for Kafka.
void Console::tail(std::stop_token stop) {
  std::unique_ptr<kafka::Consumer> consumer;
  int assigned = 0;  // partitions the consumer reads
  while (!stop.stop_requested()) {
    if (!active_) {
      if (consumer) {
        consumer->close();
        consumer.reset();
      }
      std::this_thread::sleep_for(100ms);
      continue;
    }
    if (!consumer) {
      // Fetches wait for 64 KB or 500 ms (a tick): under load the brokers answer this reader a few times a
      // second instead of as often as the pipeline's consumers, which need every record at once.
      auto extra = kafka_.properties;
      extra.try_emplace("fetch.wait.max.ms", "500");
      extra.try_emplace("fetch.min.bytes", "65536");
      auto created = kafka::Consumer::create({.brokers = kafka_.brokers,
                                              .group_id = "gateway-console",
                                              .client_id = "gateway-console",
                                              .topic = kafka_.topic,
                                              .extra = std::move(extra)});
      if (!created) {
        log::warn("console cannot read the topic", {{"error", created.error().message}});
        std::this_thread::sleep_for(1s);
        continue;
      }
      consumer = std::move(*created);
      assigned = 0;
    }
    // The partitions shown: all of them at first, and those of a region added while watching.
    if (const int shown = partitions_; shown > assigned) {
      kafka::Positions start;
      for (int partition = assigned; partition < shown; ++partition)
        start[partition] = RD_KAFKA_OFFSET_TAIL(static_cast<std::int64_t>(kFeedSize));
      if (auto status = assigned == 0 ? consumer->assign(start) : consumer->add(start); !status) {
        log::warn("console cannot read the topic", {{"error", status.error().message}});
        consumer.reset();
        std::this_thread::sleep_for(1s);
        continue;
      }
      assigned = shown;
    }
    const auto batch = consumer->poll(1000, 100ms);
    if (batch.empty()) continue;
    std::vector<PlacedRecord> records;
    std::map<std::int64_t, std::vector<std::int64_t>> per_second;
    // The feed shows the newest few: under load, the rest are only counted (per second, records of the
    // topic, whatever they hold), never parsed.
    const std::size_t first_shown = batch.size() > kFeedSize ? batch.size() - kFeedSize : 0;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const kafka::Record record = batch[i];
      if (record.partition >= assigned) continue;
      auto& counts = per_second[record.timestamp_ms / 1000];
      counts.resize(static_cast<std::size_t>(assigned), 0);
      ++counts[static_cast<std::size_t>(record.partition)];
      if (i < first_shown) continue;
      if (auto order = parse_order(record.value)) {
        records.push_back({record.partition, record.offset, record.timestamp_ms, std::move(*order)});
      }
    }
    std::lock_guard lock(inbox_.mutex);
    for (auto& record : records) inbox_.records.push_back(std::move(record));
    if (inbox_.records.size() > kFeedSize)
      inbox_.records.erase(inbox_.records.begin(), inbox_.records.end() - kFeedSize);
    for (const auto& [second, counts] : per_second) {
      auto& slot = inbox_.per_second[second];
      slot.resize(counts.size(), 0);
      for (std::size_t p = 0; p < counts.size(); ++p) slot[p] += counts[p];
    }
  }
}

}  // namespace kd::gateway
