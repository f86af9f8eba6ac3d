#include "common/kafka/partition_watch.hpp"

#include <algorithm>

#include "common/log.hpp"

namespace kd::kafka {

void bind_partition_watch_options(CLI::App& app, std::chrono::milliseconds& interval) {
  app.add_option_function<int>(
         "--partition-refresh-ms", [&interval](int ms) { interval = std::chrono::milliseconds(ms); },
         "How often the topic's partition count is read from Kafka, to take up regions added while running "
         "(default " +
             std::to_string(kDefaultPartitionRefresh.count()) + ")")
      ->envname("PARTITION_REFRESH_MS")
      ->check(CLI::Range(100, 3'600'000));
}

Result<std::unique_ptr<PartitionWatch>> PartitionWatch::start(const PartitionWatchOptions& options) {
  std::unique_ptr<PartitionWatch> watch(new PartitionWatch(options));
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  const Properties ours = {
      {"bootstrap.servers", options.brokers},
      {"client.id", options.client_id},
      {"reconnect.backoff.max.ms", "1000"},
      // Asking for the metadata of a topic that does not exist must not create it with the brokers'
      // defaults (a producer's default is to allow it).
      {"allow.auto.create.topics", "false"},
  };
  if (auto status = set_properties(*conf, ours); !status) return status.error();
  if (auto status = set_properties(*conf, options.extra); !status) return status.error();
  watch->events_ = std::make_unique<ClientEvents>(options.client_id);
  if (auto status = watch->events_->attach(*conf); !status) return status.error();
  std::string reason;
  // A producer handle that never produces: the lightest client that can ask for metadata.
  watch->handle_.reset(RdKafka::Producer::create(conf.get(), reason));
  if (!watch->handle_) return make_error(Errc::bad_request, "cannot create Kafka metadata client: " + reason);
  watch->thread_ = std::jthread([raw = watch.get()](std::stop_token stop) { raw->run(stop); });
  return watch;
}

PartitionWatch::~PartitionWatch() {
  thread_.request_stop();
  if (thread_.joinable()) thread_.join();
}

void PartitionWatch::run(std::stop_token stop) {
  bool failing = false;
  while (!stop.stop_requested()) {
    const auto count = read_count();
    handle_->poll(0);  // serves the client's log and error events
    if (!count) {
      if (!failing) {
        // librdkafka's own reason (a refused password, an untrusted certificate) says more than "timed out".
        log::warn("cannot read the topic's partition count; keeping the last known",
                  {{"topic", options_.topic},
                   {"partitions", partitions()},
                   {"error", count.error().message},
                   {"reason", events_->unreachable_reason().value_or("")}});
      }
      failing = true;
    } else {
      if (failing) log::info("the topic's partition count is read again", {{"topic", options_.topic}});
      failing = false;
      const int before = partitions();
      if (*count > before) {
        partitions_.store(*count, std::memory_order_release);
        log::info("topic partitions",
                  {{"topic", options_.topic}, {"partitions", *count}, {"before", before}});
      }
    }
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, stop, options_.interval, [] { return false; });
  }
}

Result<int> PartitionWatch::read_count() const {
  // Short enough that a stop waits little for it; a slow answer is asked again next interval.
  const int timeout_ms = static_cast<int>(std::min<std::int64_t>(options_.interval.count(), 2'000));
  std::string reason;
  std::unique_ptr<RdKafka::Topic> topic(
      RdKafka::Topic::create(handle_.get(), options_.topic, nullptr, reason));
  if (!topic) return make_error(Errc::config, "topic " + options_.topic + ": " + reason);
  RdKafka::Metadata* raw = nullptr;
  const auto code = handle_->metadata(false, topic.get(), &raw, timeout_ms);
  std::unique_ptr<RdKafka::Metadata> metadata(raw);
  if (code != RdKafka::ERR_NO_ERROR) {
    return make_error(Errc::unavailable,
                      "metadata of topic " + options_.topic + ": " + RdKafka::err2str(code));
  }
  for (const auto* entry : *metadata->topics()) {
    if (entry->topic() != options_.topic) continue;
    if (entry->err() == RdKafka::ERR_UNKNOWN_TOPIC_OR_PART) return -1;
    return static_cast<int>(entry->partitions()->size());
  }
  return -1;
}

}  // namespace kd::kafka
