#include "common/kafka/security.hpp"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <array>
#include <fstream>
#include <memory>
#include <sstream>

namespace kd::kafka {
namespace {

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Deleter {
  void operator()(X509* cert) const { X509_free(cert); }
};
using Bio = std::unique_ptr<BIO, BioDeleter>;
using Certificate = std::unique_ptr<X509, X509Deleter>;

Error config_error(std::string message) { return make_error(Errc::config, std::move(message)); }

std::string time_text(const ASN1_TIME* time) {
  Bio out(BIO_new(BIO_s_mem()));
  if (!out || ASN1_TIME_print(out.get(), time) != 1) return "?";
  char* data = nullptr;
  const long size = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

Status readable(const std::string& path, std::string_view what) {
  std::ifstream file(path);
  if (!file) return config_error(std::string(what) + " " + path + " cannot be read");
  return Ok{};
}

}  // namespace

bool is_secret_property(std::string_view key) {
  static constexpr std::array kSecrets = {
      "sasl.password", "ssl.key.password",        "ssl.keystore.password",          "ssl.key.pem",
      "ssl_key",       "sasl.oauthbearer.config", "sasl.oauthbearer.client.secret",
  };
  for (const char* secret : kSecrets) {
    if (key == secret) return true;
  }
  return false;
}

bool is_security_property(std::string_view key) {
  static constexpr std::array kOwned = {
      "security.protocol", "ssl.ca.location", "ssl.certificate.location",
      "ssl.key.location",  "sasl.mechanisms", "sasl.mechanism",
      "sasl.username",     "sasl.password",   "ssl.key.password",
  };
  for (const char* owned : kOwned) {
    if (key == owned) return true;
  }
  return false;
}

Result<std::string> read_secret_file(const std::string& path, std::string_view what) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return config_error(std::string(what) + " " + path + " cannot be read");
  std::ostringstream content;
  content << file.rdbuf();
  std::string secret = content.str();
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (secret.empty()) return config_error(std::string(what) + " " + path + " is empty");
  if (secret.find('\n') != std::string::npos) {
    return config_error(std::string(what) + " " + path + " holds more than one line");
  }
  return secret;
}

Status check_certificate_file(const std::string& path, std::string_view what,
                              std::chrono::system_clock::time_point now) {
  Bio file(BIO_new_file(path.c_str(), "r"));
  if (!file) return config_error(std::string(what) + " " + path + " cannot be read");
  Certificate cert(PEM_read_bio_X509(file.get(), nullptr, nullptr, nullptr));
  if (!cert) return config_error(std::string(what) + " " + path + " holds no PEM certificate");
  std::time_t at = std::chrono::system_clock::to_time_t(now);
  if (X509_cmp_time(X509_get0_notAfter(cert.get()), &at) < 0) {
    return config_error(std::string(what) + " " + path + ": the certificate expired on " +
                        time_text(X509_get0_notAfter(cert.get())));
  }
  if (X509_cmp_time(X509_get0_notBefore(cert.get()), &at) > 0) {
    return config_error(std::string(what) + " " + path + ": the certificate is not valid before " +
                        time_text(X509_get0_notBefore(cert.get())));
  }
  return Ok{};
}

bool certificate_verdict(int x509_error, int depth, const char* der, std::size_t size, std::string& reason) {
  if (x509_error == 0) return true;
  std::string subject = "a certificate that does not parse";
  const auto* bytes = reinterpret_cast<const unsigned char*>(der);
  if (Certificate cert(d2i_X509(nullptr, &bytes, static_cast<long>(size))); cert) {
    char name[256];
    X509_NAME_oneline(X509_get_subject_name(cert.get()), name, sizeof name);
    subject = name;
  }
  reason = std::string(X509_verify_cert_error_string(x509_error)) + " (" + subject + ", depth " +
           std::to_string(depth) + ")";
  return false;
}

Result<Properties> security_properties(const SecuritySettings& settings) {
  const std::string& protocol = settings.protocol;
  if (protocol != "plaintext" && protocol != "ssl" && protocol != "sasl_plaintext" &&
      protocol != "sasl_ssl") {
    return config_error("KAFKA_SECURITY_PROTOCOL must be plaintext, ssl, sasl_plaintext or sasl_ssl, not '" +
                        protocol + "'");
  }
  Properties properties{{"security.protocol", protocol}};
  if (settings.uses_tls()) {
    if (!settings.ca_file.empty()) {
      // The CA is checked like a client certificate: an expired CA fails every handshake later, less clearly.
      if (auto status = check_certificate_file(settings.ca_file, "KAFKA_CA_FILE"); !status)
        return status.error();
      properties["ssl.ca.location"] = settings.ca_file;
    }
    if (settings.cert_file.empty() != settings.key_file.empty()) {
      return config_error("mutual TLS needs both KAFKA_CERT_FILE and KAFKA_KEY_FILE");
    }
    if (!settings.cert_file.empty()) {
      if (auto status = check_certificate_file(settings.cert_file, "KAFKA_CERT_FILE"); !status) {
        return status.error();
      }
      if (auto status = readable(settings.key_file, "KAFKA_KEY_FILE"); !status) return status.error();
      properties["ssl.certificate.location"] = settings.cert_file;
      properties["ssl.key.location"] = settings.key_file;
      if (!settings.key_password_file.empty()) {
        auto password = read_secret_file(settings.key_password_file, "KAFKA_KEY_PASSWORD_FILE");
        if (!password) return password.error();
        properties["ssl.key.password"] = std::move(*password);
      }
    }
  } else if (!settings.ca_file.empty() || !settings.cert_file.empty() || !settings.key_file.empty()) {
    return config_error(
        "KAFKA_CA_FILE, KAFKA_CERT_FILE and KAFKA_KEY_FILE need KAFKA_SECURITY_PROTOCOL ssl or "
        "sasl_ssl, not " +
        protocol);
  }
  if (settings.uses_sasl()) {
    const std::string& mechanism = settings.sasl_mechanism;
    if (mechanism != "SCRAM-SHA-512" && mechanism != "SCRAM-SHA-256" && mechanism != "PLAIN") {
      return config_error(protocol + " needs KAFKA_SASL_MECHANISM SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN" +
                          (mechanism.empty() ? std::string() : ", not '" + mechanism + "'"));
    }
    if (settings.sasl_username.empty()) return config_error(protocol + " needs KAFKA_SASL_USERNAME");
    if (settings.sasl_password_file.empty()) {
      return config_error(protocol +
                          " needs KAFKA_SASL_PASSWORD_FILE (the password is read from a file only)");
    }
    auto password = read_secret_file(settings.sasl_password_file, "KAFKA_SASL_PASSWORD_FILE");
    if (!password) return password.error();
    properties["sasl.mechanisms"] = mechanism;
    properties["sasl.username"] = settings.sasl_username;
    properties["sasl.password"] = std::move(*password);
  } else if (!settings.sasl_mechanism.empty() || !settings.sasl_username.empty() ||
             !settings.sasl_password_file.empty()) {
    return config_error(
        "KAFKA_SASL_* settings need KAFKA_SECURITY_PROTOCOL sasl_ssl or sasl_plaintext, not " + protocol);
  }
  return properties;
}

}  // namespace kd::kafka
