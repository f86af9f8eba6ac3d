#include "common/kafka/dead_letters.hpp"

#include <thread>

#include "common/log.hpp"
#include "common/metrics.hpp"

namespace kd::kafka {

Result<std::unique_ptr<DeadLetters>> DeadLetters::create(const DeadLetterOptions& options) {
  auto producer = Producer::create({.brokers = options.brokers,
                                    .client_id = options.consumer + "-dead-letters",
                                    .delivery_timeout = options.attempt_timeout,
                                    .linger_ms = 0,
                                    .extra = options.extra});
  if (!producer) return producer.error();
  return std::unique_ptr<DeadLetters>(new DeadLetters(options, std::move(*producer)));
}

bool DeadLetters::send(std::string_view source_topic, const Record& record, std::string_view reason,
                       std::stop_token stop) {
  const std::string partition = std::to_string(record.partition);
  const std::string offset = std::to_string(record.offset);
  const std::string key = std::string(source_topic) + "/" + partition + "/" + offset;
  OutgoingRecord letter{.topic = options_.topic, .key = key, .value = record.value};
  letter.headers = {{dead_letter_header::source_topic, source_topic},
                    {dead_letter_header::source_partition, partition},
                    {dead_letter_header::source_offset, offset},
                    {dead_letter_header::consumer, options_.consumer},
                    {dead_letter_header::error, reason}};
  if (record.key) letter.headers.emplace_back(dead_letter_header::source_key, *record.key);

  for (int attempt = 1;; ++attempt) {
    // Each attempt is bounded by the producer's delivery timeout, so a stop request is seen in time.
    auto delivery = producer_->async_produce(letter, asio::use_future).get();
    if (delivery) {
      metrics::registry().counter("dead_letters_total", "Records sent to the dead-letter topic").inc();
      log::warn("record dead-lettered", {{"topic", std::string(source_topic)},
                                         {"partition", record.partition},
                                         {"offset", record.offset},
                                         {"dead_letter_topic", options_.topic},
                                         {"error", std::string(reason)}});
      return true;
    }
    // "May have been stored" is as good as stored for a retry: a second letter with the same key is
    // harmless, a missing one is not.
    log::error("cannot write dead letter, will retry", {{"dead_letter_topic", options_.topic},
                                                        {"partition", record.partition},
                                                        {"offset", record.offset},
                                                        {"attempt", attempt},
                                                        {"error", delivery.error().message}});
    for (auto waited = std::chrono::milliseconds(0); waited < options_.retry_backoff;
         waited += std::chrono::milliseconds(50)) {
      if (stop.stop_requested()) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
}

}  // namespace kd::kafka
