// How our Kafka clients reach a secured cluster (issue 15): TLS with the CA to trust, a client certificate
// for mutual TLS, SASL/SCRAM with a password read from a file. A password or key never travels in a flag or
// an environment variable, where `ps` and `kubectl describe` show it, and never appears in a log line or an
// error message: errors name the setting and the file, not what is in it.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/kafka/client_config.hpp"
#include "common/result.hpp"

namespace kd::kafka {

struct SecuritySettings {
  std::string protocol = "plaintext";  // plaintext, ssl, sasl_plaintext, sasl_ssl (librdkafka's words)
  std::string ca_file;                 // PEM CA bundle to trust; empty: the system's CAs
  std::string cert_file;               // PEM client certificate, for mutual TLS
  std::string key_file;                // its PEM private key
  std::string key_password_file;       // only for an encrypted key
  std::string sasl_mechanism;          // SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN
  std::string sasl_username;
  std::string sasl_password_file;  // e.g. a mounted Kubernetes Secret

  bool operator==(const SecuritySettings&) const = default;
  bool uses_tls() const { return protocol == "ssl" || protocol == "sasl_ssl"; }
  bool uses_sasl() const { return protocol == "sasl_plaintext" || protocol == "sasl_ssl"; }
};

// The librdkafka properties these settings mean, with each secret read from its file now. Checks what can
// be checked before connecting: a known protocol and mechanism, settings that belong together, readable
// files, certificates that parse and are within their validity period. Errors are Errc::config.
Result<Properties> security_properties(const SecuritySettings& settings);

// librdkafka settings whose values are secrets: refused as --kafka-property (use the *_FILE settings) and
// never printed.
bool is_secret_property(std::string_view key);

// The librdkafka settings our security settings own: giving one both ways would leave it unclear which wins.
bool is_security_property(std::string_view key);

// A secret file's content without its trailing line break (a `kubectl create secret --from-file` keeps what
// the editor wrote). Errors name the file only.
Result<std::string> read_secret_file(const std::string& path, std::string_view what);

// Whether a PEM certificate file holds a certificate valid at `now`; the error says why not (unreadable,
// not a certificate, expired on …, not valid before …).
Status check_certificate_file(const std::string& path, std::string_view what,
                              std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// OpenSSL's verdict on one certificate of a broker's chain (`x509_error`, 0 if it passed), as librdkafka's
// verification callback hands it over: true if it passed; else `reason` names the refusal and the
// certificate ("certificate has expired (CN=kafka-0, depth 0)").
bool certificate_verdict(int x509_error, int depth, const char* der, std::size_t size, std::string& reason);

}  // namespace kd::kafka
