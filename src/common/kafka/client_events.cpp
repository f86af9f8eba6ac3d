#include "common/kafka/client_events.hpp"

#include <nlohmann/json.hpp>

#include "common/log.hpp"

namespace kd::kafka {

bool any_broker_up(const std::string& statistics_json) {
  const auto stats = nlohmann::json::parse(statistics_json, nullptr, false);
  if (stats.is_discarded() || !stats.contains("brokers") || !stats["brokers"].is_object()) return false;
  for (const auto& [name, broker] : stats["brokers"].items()) {
    // nodeid -1 is the bootstrap placeholder, not a broker of the cluster.
    if (broker.value("nodeid", -1) >= 0 && broker.value("state", "") == "UP") return true;
  }
  return false;
}

void ClientEvents::event_cb(RdKafka::Event& event) {
  switch (event.type()) {
    case RdKafka::Event::EVENT_STATS:
      up_.store(any_broker_up(event.str()));
      break;
    case RdKafka::Event::EVENT_ERROR:
      if (event.err() == RdKafka::ERR__ALL_BROKERS_DOWN) up_.store(false);
      log::warn("kafka",
                {{"client", client_}, {"error", RdKafka::err2str(event.err())}, {"detail", event.str()}});
      break;
    case RdKafka::Event::EVENT_LOG:
      if (event.severity() <= RdKafka::Event::EVENT_SEVERITY_ERROR) {
        log::error("kafka", {{"client", client_}, {"facility", event.fac()}, {"detail", event.str()}});
      } else if (event.severity() <= RdKafka::Event::EVENT_SEVERITY_WARNING) {
        log::warn("kafka", {{"client", client_}, {"facility", event.fac()}, {"detail", event.str()}});
      }
      break;
    default:
      break;
  }
}

}  // namespace kd::kafka
