#include "common/kafka/client_events.hpp"

#include <nlohmann/json.hpp>

#include "common/kafka/security.hpp"
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

std::string error_cause(const std::string& detail) {
  std::string cause = detail;
  // In front, as many as there are: a log line's "[thrd:<broker>]: ", then the broker's name.
  while (true) {
    const auto colon = cause.find(": ");
    if (colon == std::string::npos) break;
    const std::string_view head(cause.data(), colon);
    const bool thread = head.starts_with("[thrd:") && head.ends_with("]");
    // "sasl_ssl://host:9093/1", or a plaintext broker's "host:9092/bootstrap": no space, a port and a slash.
    const bool broker = head.find(' ') == std::string_view::npos &&
                        head.find(':') != std::string_view::npos && head.find('/') != std::string_view::npos;
    if (!thread && !broker) break;
    cause.erase(0, colon + 2);
  }
  // "(after 337ms in state AUTH_REQ…)" at the end.
  if (const auto after = cause.rfind(" (after "); after != std::string::npos && cause.back() == ')') {
    cause.erase(after);
  }
  return cause;
}

LogGate& error_log_gate() {
  static LogGate gate(kErrorRepeatAfter);
  return gate;
}

Status ClientEvents::attach(RdKafka::Conf& conf) {
  if (auto status = set_properties(conf, {{"statistics.interval.ms", "1000"}}); !status) return status;
  std::string reason;
  if (conf.set("event_cb", static_cast<RdKafka::EventCb*>(this), reason) != RdKafka::Conf::CONF_OK ||
      conf.set("ssl_cert_verify_cb", static_cast<RdKafka::SslCertificateVerifyCb*>(this), reason) !=
          RdKafka::Conf::CONF_OK) {
    return make_error(Errc::internal, "Kafka client callbacks: " + reason);
  }
  return Ok{};
}

bool ClientEvents::ssl_cert_verify_cb(const std::string&, int32_t, int* x509_error, int depth,
                                      const char* der, size_t size, std::string& errstr) {
  if (certificate_verdict(*x509_error, depth, der, size, errstr)) return true;
  std::lock_guard lock(mutex_);
  refused_certificate_ = errstr;
  return false;
}

std::optional<std::string> ClientEvents::unreachable_reason() const {
  if (up_.load()) return std::nullopt;
  std::lock_guard lock(mutex_);
  if (problem_.empty()) return "no Kafka broker reachable";
  return "no Kafka broker reachable: " + problem_;
}

std::optional<std::string> ClientEvents::fatal_error() const {
  std::lock_guard lock(mutex_);
  if (fatal_.empty()) return std::nullopt;
  return fatal_;
}

void ClientEvents::note_problem(const std::string& detail) {
  std::lock_guard lock(mutex_);
  // librdkafka follows a refused certificate with "certificate verify failed: broker certificate could not
  // be verified, verify that ssl.ca.location is correctly configured…" whatever the reason was.
  if (!refused_certificate_.empty() && detail.find("certificate verify failed") != std::string::npos) {
    problem_ = "the broker's certificate was refused: " + refused_certificate_;
  } else {
    problem_ = detail;
  }
  if (detail.empty()) refused_certificate_.clear();
}

void ClientEvents::event_cb(RdKafka::Event& event) {
  // One line per cause (error_log_gate); `repeats_not_logged` says how many were held back before it.
  const auto log_once = [this](log::Level level, const std::string& cause, const std::string& kind,
                               const std::string& what) {
    // A connection cut by our own client's destruction (the id reader's short-lived consumer) is not news.
    if (cause.find("handle destroyed") != std::string::npos) return;
    long suppressed = 0;
    if (!error_log_gate().admit(cause, std::chrono::steady_clock::now(), suppressed)) return;
    log::write(level, "kafka",
               {{"client", client_}, {kind, what}, {"detail", cause}, {"repeats_not_logged", suppressed}});
  };
  switch (event.type()) {
    case RdKafka::Event::EVENT_STATS:
      if (any_broker_up(event.str())) {
        if (!up_.exchange(true)) {
          note_problem({});
          error_log_gate().reset();
        }
      } else {
        up_.store(false);
      }
      break;
    case RdKafka::Event::EVENT_ERROR: {
      const std::string cause = error_cause(event.str());
      if (event.fatal()) {
        bool first = false;
        {
          std::lock_guard lock(mutex_);
          first = fatal_.empty();
          if (first) fatal_ = cause.empty() ? RdKafka::err2str(event.err()) : cause;
        }
        if (first) {
          log::error("kafka client failed fatally",
                     {{"client", client_}, {"error", RdKafka::err2str(event.err())}, {"detail", cause}});
          if (on_fatal_) on_fatal_(cause);
        }
        break;
      }
      if (event.err() == RdKafka::ERR__ALL_BROKERS_DOWN) {
        up_.store(false);
      } else {
        note_problem(cause);
      }
      log_once(log::Level::warn, cause, "error", RdKafka::err2str(event.err()));
      break;
    }
    case RdKafka::Event::EVENT_LOG:
      if (event.severity() <= RdKafka::Event::EVENT_SEVERITY_WARNING) {
        const auto level =
            event.severity() <= RdKafka::Event::EVENT_SEVERITY_ERROR ? log::Level::error : log::Level::warn;
        log_once(level, error_cause(event.str()), "facility", event.fac());
      }
      break;
    default:
      break;
  }
}

}  // namespace kd::kafka
