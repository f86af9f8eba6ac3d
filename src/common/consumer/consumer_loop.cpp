#include "common/consumer/consumer_loop.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "common/http/server.hpp"
#include "common/log.hpp"
#include "common/order.hpp"
#include "common/runtime.hpp"

namespace kd::consumer {
namespace {

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void bind_consumer_options(CLI::App& app, ConsumerSettings& settings) {
  app.add_option("--state-dir", settings.state_dir,
                 "Directory of the consumer's state (a volume in Kubernetes)")
      ->envname("STATE_DIR")
      ->capture_default_str();
  app.add_option("--group-id", settings.group_id, "Consumer group the offsets are committed under")
      ->envname("CONSUMER_GROUP")
      ->capture_default_str();
  app.add_option("--batch-size", settings.batch_size, "Most records handled per poll")
      ->envname("CONSUMER_BATCH_SIZE")
      ->check(CLI::Range(1, 100'000))
      ->capture_default_str();
  app.add_option(
         "--dedupe-window", settings.dedupe_window,
         "Newest records per partition whose order ids are remembered, to act once on an order Kafka holds "
         "twice (memory and state grow with it: about 40 bytes a record)")
      ->envname("DEDUPE_WINDOW")
      ->check(CLI::Range(0, 10'000'000))
      ->capture_default_str();
  app.add_option_function<int>(
         "--commit-interval-ms",
         [&settings](int ms) { settings.commit_interval = std::chrono::milliseconds(ms); },
         "Least time between offset commits to the group; the last is committed on stop (default 200)")
      ->envname("COMMIT_INTERVAL_MS")
      ->check(CLI::Range(0, 60'000));
}

Result<std::unique_ptr<ConsumerLoop>> ConsumerLoop::create(const KafkaSettings& kafka,
                                                           const ConsumerSettings& settings, LoopSpec spec,
                                                           Handler& handler) {
  std::unique_ptr<ConsumerLoop> loop(new ConsumerLoop(kafka, settings, std::move(spec), handler));
  auto store = StateStore::open(settings.state_dir / (loop->spec_.state_name + ".db"), kafka.topic);
  if (!store) return store.error();
  loop->store_ = std::move(*store);
  auto saved = loop->store_->load();
  if (!saved) return saved.error();
  for (const auto& [partition, position] : saved->positions) {
    loop->state_.restore(partition, position, std::move(saved->windows[partition]));
    // Partitions added to the topic before a restart: read again from where the state stands, whatever
    // the configured count says.
    if (loop->spec_.follow_topic) loop->track(partition);
  }
  if (auto status = handler.restore(saved->handler_state); !status) {
    return make_error(Errc::storage, loop->store_->path().string() + ": " + status.error().message);
  }
  auto consumer = kafka::Consumer::create({.brokers = kafka.brokers,
                                           .group_id = settings.group_id,
                                           .client_id = loop->spec_.client_id,
                                           .topic = kafka.topic,
                                           .extra = kafka.properties});
  if (!consumer) return consumer.error();
  loop->consumer_ = std::move(*consumer);
  auto dead_letters = kafka::DeadLetters::create({.brokers = kafka.brokers,
                                                  .topic = kafka.dead_letters(),
                                                  .consumer = loop->spec_.client_id,
                                                  .extra = kafka.properties});
  if (!dead_letters) return dead_letters.error();
  loop->dead_letters_ = std::move(*dead_letters);
  if (loop->spec_.follow_topic) {
    auto watch = kafka::PartitionWatch::start({.brokers = kafka.brokers,
                                               .topic = kafka.topic,
                                               .client_id = loop->spec_.client_id + "-partitions",
                                               .extra = kafka.properties,
                                               .interval = loop->spec_.partition_refresh});
    if (!watch) return watch.error();
    loop->watch_ = std::move(*watch);
  }
  loop->publish();
  loop->lag_gauge_ =
      kafka::register_lag_gauge(*loop->consumer_, [loop = loop.get()] { return loop->positions(); });
  return loop;
}

ConsumerLoop::ConsumerLoop(const KafkaSettings& kafka, const ConsumerSettings& settings, LoopSpec spec,
                           Handler& handler)
    : kafka_(kafka),
      settings_(settings),
      spec_(std::move(spec)),
      handler_(handler),
      state_(settings.dedupe_window) {
  // Registered up front, so every series exists (at zero) from the first scrape: alerts see a rise.
  const auto partitions = std::move(spec_.partitions);
  spec_.partitions.clear();
  for (const int partition : partitions) track(partition);
  auto& registry = metrics::registry();
  distance_gauge_ = registry.gauge(
      "dedupe_copy_distance_max",
      "Largest distance in records between two copies of an order (size DEDUPE_WINDOW above it)", [this] {
        std::vector<std::pair<metrics::Labels, double>> out;
        std::lock_guard lock(metrics_mutex_);
        for (const auto& [partition, m] : metrics_) {
          out.push_back({{{"partition", std::to_string(partition)}},
                         static_cast<double>(m.largest_copy_distance.load(std::memory_order_relaxed))});
        }
        return out;
      });
}

void ConsumerLoop::track(int partition) {
  if (metrics_.contains(partition)) return;
  auto& registry = metrics::registry();
  const metrics::Labels labels = {{"partition", std::to_string(partition)}};
  // Looked up before taking metrics_mutex_: a scrape holds the registry's lock while it reads the distance
  // gauge, which takes metrics_mutex_; the other order would deadlock the I/O thread with this one.
  PartitionMetrics fresh;
  fresh.consumed = &registry.counter("kafka_messages_consumed_total", "Records consumed", labels);
  fresh.duplicates = &registry.counter("orders_duplicate_total",
                                       "Copies of an order already handled, not acted on again", labels);
  fresh.older_than_window =
      &registry.counter("orders_older_than_window_total",
                        "Orders whose id is older than every id in the dedupe window: a "
                        "copy from beyond it, or a clock stepped back",
                        labels);
  fresh.conflicts =
      &registry.counter("order_id_conflicts_total",
                        "Records holding another order under an id already used (dead-lettered)", labels);
  fresh.gaps = &registry.counter("kafka_offset_gaps_total",
                                 "Times records were missing before the next one read", labels);
  fresh.gap_records =
      &registry.counter("kafka_offset_gap_records_total", "Records missing (deleted before handled)", labels);
  {
    std::lock_guard lock(metrics_mutex_);
    auto& m = metrics_[partition];
    m.consumed = fresh.consumed;
    m.duplicates = fresh.duplicates;
    m.older_than_window = fresh.older_than_window;
    m.conflicts = fresh.conflicts;
    m.gaps = fresh.gaps;
    m.gap_records = fresh.gap_records;
  }
  spec_.partitions.insert(std::upper_bound(spec_.partitions.begin(), spec_.partitions.end(), partition),
                          partition);
  partition_count_.store(static_cast<int>(spec_.partitions.size()), std::memory_order_release);
}

ConsumerLoop::~ConsumerLoop() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
  if (consumer_) consumer_->close();
}

void ConsumerLoop::start() {
  thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

asio::awaitable<void> ConsumerLoop::stop(std::chrono::milliseconds timeout) {
  thread_.request_stop();  // the thread finishes its batch, saves and commits, then ends
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!finished_ && std::chrono::steady_clock::now() < deadline) {
    timer.expires_after(std::chrono::milliseconds(10));
    co_await timer.async_wait(asio::use_awaitable);
  }
  if (!finished_)
    log::warn("consumer did not finish within the shutdown timeout", {{"client", spec_.client_id}});
}

std::optional<std::string> ConsumerLoop::not_ready_reason() const {
  if (refused_) return *refusal_.get();
  if (store_failing_) return "cannot save the state in " + store_->path().string();
  if (!consuming_) return "not consuming yet";
  if (auto unreachable = consumer_->unreachable_reason()) return unreachable;
  return std::nullopt;
}

void ConsumerLoop::run(std::stop_token stop) {
  if (assign_start(stop)) {
    consuming_ = true;
    while (!stop.stop_requested() && !refused_) {
      if (!save(/*now=*/false)) {
        // A full or failing disk: handle nothing more until the last batch is durable (not ready meanwhile).
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        continue;
      }
      const auto batch = consumer_->poll(settings_.batch_size, std::chrono::milliseconds(100));
      if (!batch.empty() && handle(batch, stop) && spec_.save_interval.count() == 0) save(/*now=*/true);
      commit(/*now=*/false);
      if (watch_) take_new_partitions();
    }
    consuming_ = false;
    // Within the shutdown timeout: a failing store gets a few more tries, then a restart reads again.
    for (int attempt = 0; attempt < 5 && !save(/*now=*/true); ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    commit(/*now=*/true);
    log_final_positions();
  }
  finished_ = true;
}

bool ConsumerLoop::assign_start(std::stop_token stop) {
  kafka::Positions start;
  std::map<std::string, std::string> from;  // for the log line
  std::vector<int> without_state;
  for (const int partition : spec_.partitions) {
    if (const auto offset = state_.resume_offset(partition)) {
      start[partition] = *offset;
      from[std::to_string(partition)] = "state, at " + std::to_string(*offset);
    } else {
      start[partition] = kafka::kFromBeginning;
      from[std::to_string(partition)] = "beginning";
      without_state.push_back(partition);
    }
  }
  // A new volume of a warehouse: the group's committed offset says what was shipped before.
  while (spec_.resume_from_group_offset && !without_state.empty()) {
    if (stop.stop_requested()) return false;
    auto committed = consumer_->committed(without_state, std::chrono::seconds(5));
    if (!committed) {
      log::warn("cannot read the committed offset yet", {{"error", committed.error().message}});
      continue;
    }
    for (const auto& [partition, offset] : *committed) {
      start[partition] = offset;
      from[std::to_string(partition)] = "group's committed offset, at " + std::to_string(offset);
    }
    break;
  }
  // Durable so far: the saved position (reading resumes one record earlier, to check the fingerprint), else
  // where reading starts.
  for (const auto& [partition, offset] : start) {
    const auto saved = state_.position(partition);
    progress_.started(partition, saved ? saved->next : std::max<std::int64_t>(offset, 0), unix_ms());
    reading_from_[partition] = std::max<std::int64_t>(offset, 0);
  }
  if (auto status = consumer_->assign(start); !status) {
    // Never a live process that does no work: let the orchestrator start it again.
    log::error("cannot assign the partitions, stopping", {{"error", status.error().message}});
    std::abort();
  }
  log::info("consuming", {{"client", spec_.client_id},
                          {"topic", kafka_.topic},
                          {"from", from},
                          {"state", store_->path().string()}});
  publish();
  return true;
}

void ConsumerLoop::take_new_partitions() {
  const int count = watch_->partitions();
  kafka::Positions start;
  std::map<std::string, std::string> from;  // for the log line
  for (int partition = 0; partition < count; ++partition) {
    if (metrics_.contains(partition)) continue;
    // From the beginning, never the end: the new region may have taken orders before this loop noticed.
    const auto offset = state_.resume_offset(partition);
    start[partition] = offset.value_or(kafka::kFromBeginning);
    from[std::to_string(partition)] = offset ? "state, at " + std::to_string(*offset) : "beginning";
  }
  if (start.empty()) return;
  if (auto status = consumer_->add(start); !status) {
    // Local bookkeeping in librdkafka that failed: as for the first assignment, never run without working.
    log::error("cannot assign the new partitions, stopping", {{"error", status.error().message}});
    std::abort();
  }
  for (const auto& [partition, offset] : start) {
    track(partition);
    const auto saved = state_.position(partition);
    progress_.started(partition, saved ? saved->next : std::max<std::int64_t>(offset, 0), unix_ms());
    reading_from_[partition] = std::max<std::int64_t>(offset, 0);
  }
  log::info("consuming new partitions", {{"client", spec_.client_id},
                                         {"topic", kafka_.topic},
                                         {"from", from},
                                         {"partitions", partition_count()}});
  publish();
  if (spec_.after_batch) spec_.after_batch();
}

bool ConsumerLoop::handle(const kafka::RecordBatch& batch, std::stop_token stop) {
  bool complete = true;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const kafka::Record record = batch[i];
    const int partition = record.partition;
    auto order = parse_order(record.value);
    const std::string_view order_id = order ? std::string_view(order->order_id.value) : std::string_view();
    const std::string_view* id = order ? &order_id : nullptr;
    const Examined seen = state_.examine(partition, record.offset, record.value, id);
    if (seen.fit == OffsetFit::fingerprint) {
      state_.verified(partition);  // handled before the restart: only proves the topic is the same
      continue;
    }
    if (seen.fit == OffsetFit::foreign) {
      refuse_foreign_topic(partition, seen.expected, record.offset);
      complete = false;
      break;
    }
    if (seen.fit == OffsetFit::gap) report_gap(partition, seen.expected, record.offset);
    log::info(consumed_record_json(record.key, record.offset, partition, record.value));
    auto& m = metrics_.at(partition);

    if (!order) {
      log::error("record is not an order",
                 {{"partition", partition}, {"offset", record.offset}, {"error", order.error().message}});
      // Stopping while Kafka cannot take the letter leaves this record unhandled: read again after a restart.
      before_waiting();
      if (!dead_letters_->send(kafka_.topic, record, order.error().message, stop)) {
        complete = false;
        break;
      }
      handler_.on_rejected(partition, record.offset);
    } else if (seen.sighting == Sighting::copy) {
      const std::int64_t distance = record.offset - seen.first_offset;
      log::warn("order already handled", {{"order_id", order_id},
                                          {"partition", partition},
                                          {"offset", record.offset},
                                          {"first_offset", seen.first_offset},
                                          {"distance", distance}});
      m.duplicates->inc();
      if (distance > m.largest_copy_distance.load(std::memory_order_relaxed)) {
        m.largest_copy_distance.store(distance, std::memory_order_relaxed);
      }
    } else if (seen.sighting == Sighting::conflict) {
      const std::string reason = "order id " + std::string(order_id) +
                                 " already names another order, at offset " +
                                 std::to_string(seen.first_offset);
      log::error("two different orders under one order id", {{"order_id", order_id},
                                                             {"partition", partition},
                                                             {"offset", record.offset},
                                                             {"first_offset", seen.first_offset}});
      m.conflicts->inc();
      before_waiting();
      if (!dead_letters_->send(kafka_.topic, record, reason, stop)) {
        complete = false;
        break;
      }
    } else {
      if (seen.older_than_window) {
        log::warn(
            "order id older than the dedupe window: a copy from beyond it is acted on again, or a clock "
            "stepped back; raise DEDUPE_WINDOW if copies are this far apart",
            {{"order_id", order_id},
             {"partition", partition},
             {"offset", record.offset},
             {"window_oldest_offset", seen.window_oldest_offset},
             {"window_records", state_.window_records()}});
        m.older_than_window->inc();
      }
      handler_.on_order(partition, record.offset, *order);
    }
    state_.handled(partition, record.offset, seen);
    m.consumed->inc();
  }
  publish();
  if (spec_.after_batch) spec_.after_batch();
  return complete;
}

void ConsumerLoop::before_waiting() {
  // A dead letter may wait long for Kafka: what was handled before it is published, and, where every batch
  // is saved (the warehouse), saved and acted on now rather than after the wait.
  publish();
  if (spec_.after_batch) spec_.after_batch();
  if (spec_.save_interval.count() == 0) save(/*now=*/true);
}

void ConsumerLoop::report_gap(int partition, std::int64_t expected, std::int64_t offset) {
  log::error(
      "records missing before the next one read: deleted by retention before they were handled, or the "
      "topic was recreated",
      {{"topic", kafka_.topic},
       {"partition", partition},
       {"missing_from", expected},
       {"missing_to", offset - 1},
       {"records", offset - expected}});
  auto& m = metrics_.at(partition);
  m.gaps->inc();
  m.gap_records->inc(static_cast<std::uint64_t>(offset - expected));
}

void ConsumerLoop::refuse_foreign_topic(int partition, std::int64_t expected, std::int64_t offset) {
  // The state's positions and window are of a topic that no longer exists: resuming would skip or repeat
  // orders of the new one. An operator decides (move the state away to start the partition over).
  const std::string reason =
      "partition " + std::to_string(partition) + " of topic " + kafka_.topic + " is not the one the state " +
      store_->path().string() +
      " was saved from (it was deleted and recreated, or truncated): expected offset " +
      std::to_string(expected) + ", read " + std::to_string(offset) +
      "; move the state file away to start over";
  log::error("the topic is not the one this state was saved from; stopping",
             {{"topic", kafka_.topic},
              {"partition", partition},
              {"expected_offset", expected},
              {"read_offset", offset},
              {"state", store_->path().string()}});
  refusal_.set(reason);
  refused_ = true;
  stop_with_failure(reason);
}

bool ConsumerLoop::save(bool now) {
  if (!unsaved_) {
    if (!state_.has_changes()) return true;
    if (!now && std::chrono::steady_clock::now() - last_save_ < spec_.save_interval) return true;
    unsaved_ = state_.take_changes();
    unsaved_snapshot_ = handler_.snapshot();
  }
  if (auto status = store_->save(*unsaved_, unsaved_snapshot_); !status) {
    if (!store_failing_.exchange(true)) {
      log::error("cannot save the state; consuming nothing until it can (not ready meanwhile)",
                 {{"error", status.error().message}});
    }
    return false;
  }
  if (store_failing_.exchange(false))
    log::info("the state is saved again", {{"state", store_->path().string()}});
  const auto saved_ms = unix_ms();
  for (const auto& [partition, position] : unsaved_->positions) {
    uncommitted_[partition] = position.next;
    progress_.advanced(partition, position.next, saved_ms);
  }
  unsaved_.reset();
  last_save_ = std::chrono::steady_clock::now();
  handler_.on_durable();
  return true;
}

void ConsumerLoop::log_final_positions() {
  // What a clean stop left behind, for a person and for the SIGTERM fault test, which compares it with the
  // saved state: a stop that was a kill leaves no such line.
  const bool saved = !unsaved_ && !state_.has_changes();
  const bool committed = uncommitted_.empty();
  nlohmann::json positions = nlohmann::json::object();
  for (const int partition : spec_.partitions) {
    const auto position = state_.position(partition);
    positions[std::to_string(partition)] = position ? position->next : 0;
  }
  log::write(saved && committed ? log::Level::info : log::Level::error,
             saved && committed ? "stopped consuming: state saved and offsets committed"
                                : "stopped consuming without saving or committing everything",
             {{"client", spec_.client_id},
              {"state_saved", saved},
              {"offsets_committed", committed},
              {"positions", positions}});
}

void ConsumerLoop::commit(bool now) {
  if (uncommitted_.empty()) return;
  const auto time = std::chrono::steady_clock::now();
  if (!now && time - last_commit_ < settings_.commit_interval) return;
  if (auto status = consumer_->commit(uncommitted_); !status) {
    log::warn("offset commit failed; the state still holds the positions",
              {{"error", status.error().message}});
    return;  // tried again after the interval
  }
  uncommitted_.clear();
  last_commit_ = time;
}

void ConsumerLoop::publish() {
  kafka::Positions next;
  for (const int partition : spec_.partitions) {
    const auto position = state_.position(partition);
    const auto from = reading_from_.find(partition);
    next[partition] = position ? position->next : from != reading_from_.end() ? from->second : 0;
  }
  positions_.set(std::move(next));
}

}  // namespace kd::consumer

namespace kd::consumer {
namespace {

// "/progress/P/O" -> (P, O); none unless both are whole numbers.
std::optional<std::pair<int, std::int64_t>> progress_target(std::string_view path) {
  constexpr std::string_view prefix = "/progress/";
  if (!path.starts_with(prefix)) return std::nullopt;
  path.remove_prefix(prefix.size());
  const auto slash = path.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  int partition = -1;
  std::int64_t offset = -1;
  const auto p = path.substr(0, slash);
  const auto o = path.substr(slash + 1);
  const auto [p_end, p_ec] = std::from_chars(p.data(), p.data() + p.size(), partition);
  const auto [o_end, o_ec] = std::from_chars(o.data(), o.data() + o.size(), offset);
  if (p.empty() || o.empty() || p_ec != std::errc{} || o_ec != std::errc{} || p_end != p.data() + p.size() ||
      o_end != o.data() + o.size() || partition < 0 || offset < 0) {
    return std::nullopt;
  }
  return std::make_pair(partition, offset);
}

}  // namespace

void add_progress_routes(HttpServer& server, const ConsumerLoop& loop) {
  server.route(http::verb::get, "/positions", [&loop](HttpRequest) -> asio::awaitable<HttpResponse> {
    const auto handled = loop.positions();
    const auto durable = loop.progress().positions();
    const auto lag = loop.lag();
    nlohmann::json partitions = nlohmann::json::array();
    for (const auto& [partition, next] : handled) {
      const auto d = durable.find(partition);
      const auto l = lag.find(partition);
      partitions.push_back(
          {{"partition", partition},
           {"next", next},
           {"durable", d == durable.end() ? nlohmann::json(nullptr) : nlohmann::json(d->second)},
           {"lag", l == lag.end() ? nlohmann::json(nullptr) : nlohmann::json(l->second)}});
    }
    co_return HttpResponse::json(nlohmann::json{{"partitions", partitions}}.dump());
  });
  server.route(http::verb::get, "/progress/*", [&loop](HttpRequest request) -> asio::awaitable<HttpResponse> {
    const auto target = progress_target(request.path);
    if (!target || !loop.positions().contains(target->first)) {
      co_return HttpResponse::from_error(make_error(
          Errc::bad_request, "ask /progress/PARTITION/OFFSET for a partition this service consumes"));
    }
    const auto [partition, offset] = *target;
    const auto progress = loop.progress().when(partition, offset);
    auto optional = [](const std::optional<std::int64_t>& v) {
      return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
    };
    co_return HttpResponse::json(nlohmann::json{
        {"partition", partition},
        {"offset", offset},
        {"done", progress.done},
        {"at_ms", optional(progress.at_ms)},
        {"by_ms", optional(progress.by_ms)},
        {"durable", progress.next}}.dump());
  });
}

}  // namespace kd::consumer
