// librdkafka's events for any of our clients: its log lines and errors become our JSON log lines (not
// raw "%3|…" lines on stderr), and its statistics say whether a broker is up, which is what readiness
// needs to know.
#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <string>

#include "common/kafka/client_config.hpp"

namespace kd::kafka {

class ClientEvents final : public RdKafka::EventCb {
 public:
  explicit ClientEvents(std::string client) : client_(std::move(client)) {}

  // The settings that make librdkafka deliver what this class reads.
  static Properties settings() { return {{"statistics.interval.ms", "1000"}}; }

  void event_cb(RdKafka::Event& event) override;
  // False until librdkafka's statistics show a broker in state UP, and again while none is.
  bool brokers_up() const { return up_.load(); }

 private:
  std::string client_;
  std::atomic<bool> up_{false};
};

// Whether librdkafka's statistics JSON shows at least one real broker in state "UP".
bool any_broker_up(const std::string& statistics_json);

}  // namespace kd::kafka
