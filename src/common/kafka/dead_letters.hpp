// The dead-letter topic: where a consumer puts a record it cannot use (not an order), with where it came
// from and why, so consumption goes on and nothing is dropped silently. A consumer gives up a record's
// position only after Kafka has acknowledged its dead letter.
#pragma once

#include <chrono>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>

#include "common/kafka/client_config.hpp"
#include "common/kafka/consumer.hpp"
#include "common/kafka/producer.hpp"
#include "common/result.hpp"

namespace kd::kafka {

// The headers a dead letter carries; its key is "<topic>/<partition>/<offset>" of the original, so a
// record dead-lettered twice (a crash between the letter and the consumer's own record of it) is easy to
// recognise, and its value is the original value, byte for byte.
namespace dead_letter_header {
inline constexpr std::string_view source_topic = "kd.source.topic";
inline constexpr std::string_view source_partition = "kd.source.partition";
inline constexpr std::string_view source_offset = "kd.source.offset";
inline constexpr std::string_view source_key = "kd.source.key";  // only when the original had a key
inline constexpr std::string_view consumer = "kd.consumer";
inline constexpr std::string_view error = "kd.error";
}  // namespace dead_letter_header

struct DeadLetterOptions {
  std::string brokers;
  std::string topic;     // the dead-letter topic
  std::string consumer;  // who could not use the record, e.g. "repository-0"
  Properties extra;
  std::chrono::milliseconds attempt_timeout{5'000};
  std::chrono::milliseconds retry_backoff{1'000};
};

class DeadLetters {
 public:
  static Result<std::unique_ptr<DeadLetters>> create(const DeadLetterOptions& options);

  // Writes the dead letter and blocks until Kafka has it (acks=all), trying again while Kafka cannot
  // take it. False only if `stop` was requested first: then the record must stay unconsumed.
  bool send(std::string_view source_topic, const Record& record, std::string_view reason,
            std::stop_token stop);
  const std::string& topic() const { return options_.topic; }

 private:
  DeadLetters(DeadLetterOptions options, std::unique_ptr<Producer> producer)
      : options_(std::move(options)), producer_(std::move(producer)) {}
  DeadLetterOptions options_;
  std::unique_ptr<Producer> producer_;
};

}  // namespace kd::kafka
