// librdkafka's events for any of our clients: its log lines and errors become our JSON log lines (not
// raw "%3|…" lines on stderr), and its statistics say whether a broker is up, which is what readiness
// needs to know, with the last error saying why not (a wrong password, an untrusted certificate, …).
#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "common/kafka/client_config.hpp"
#include "common/log_gate.hpp"

namespace kd::kafka {

class ClientEvents final : public RdKafka::EventCb, public RdKafka::SslCertificateVerifyCb {
 public:
  // `on_fatal` is called once, on librdkafka's thread, if the client hits a fatal error (an idempotent
  // producer whose sequence the broker no longer accepts): every later write fails, and only a new client
  // mends it.
  explicit ClientEvents(std::string client, std::function<void(const std::string&)> on_fatal = {})
      : client_(std::move(client)), on_fatal_(std::move(on_fatal)) {}

  // Makes librdkafka deliver what this class reads (statistics every second, events, certificate verdicts)
  // to this object, which must outlive the client made from `conf`.
  Status attach(RdKafka::Conf& conf);

  void event_cb(RdKafka::Event& event) override;
  // Keeps OpenSSL's verdict on each broker certificate, and names a refusal (expired, host name mismatch,
  // unknown issuer); librdkafka alone says only "broker certificate could not be verified".
  bool ssl_cert_verify_cb(const std::string& broker_name, int32_t broker_id, int* x509_error, int depth,
                          const char* der, size_t size, std::string& errstr) override;
  // False until librdkafka's statistics show a broker in state UP, and again while none is.
  bool brokers_up() const { return up_.load(); }
  // Why no broker is up, for readiness: nullopt while one is; else "no Kafka broker reachable", followed by
  // the last error librdkafka gave (without the broker's address), if any.
  std::optional<std::string> unreachable_reason() const;
  // The fatal error's description, once there was one.
  std::optional<std::string> fatal_error() const;

 private:
  void note_problem(const std::string& detail);

  std::string client_;
  std::function<void(const std::string&)> on_fatal_;
  std::atomic<bool> up_{false};
  mutable std::mutex mutex_;
  std::string problem_;              // guarded by mutex_; cleared when a broker is up
  std::string refused_certificate_;  // guarded by mutex_: why the last broker certificate was refused
  std::string fatal_;                // guarded by mutex_
};

// Whether librdkafka's statistics JSON shows at least one real broker in state "UP".
bool any_broker_up(const std::string& statistics_json);

// What an error or log line of librdkafka says, without what repeats it: the broker's address in front
// ("sasl_ssl://10.0.0.1:9093/bootstrap: ") and the timing and suppression note at the end ("(after 3ms in
// state AUTH_REQ, 1 identical error(s) suppressed)"). One failing cause gives one text for all brokers.
std::string error_cause(const std::string& detail);

// librdkafka reports a failing connection again on every retry, for every broker, and through two paths (a
// log line and an error): one cause is logged once per `kErrorRepeatAfter` per process, the first time it
// is seen. Reset when a broker is up again.
inline constexpr std::chrono::seconds kErrorRepeatAfter{300};
LogGate& error_log_gate();

}  // namespace kd::kafka
