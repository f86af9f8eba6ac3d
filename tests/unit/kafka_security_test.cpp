// The Kafka security settings (issue 15): what librdkafka is given for each protocol, what is refused before
// connecting and with which message, and that no message ever carries a secret.
#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <cstdio>
#include <fstream>

#include "common/config.hpp"
#include "common/kafka/client_events.hpp"
#include "common/kafka/security.hpp"
#include "common/kafka/settings.hpp"
#include "temp_dir.hpp"

namespace kd::kafka {
namespace {

using testing_support::TempDir;

constexpr const char* kPassword = "s3cret-Pa55word";

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// A self-signed certificate valid from now + `from_days` to now + `to_days`, written as PEM.
void write_certificate(const std::filesystem::path& path, long from_days, long to_days) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  ASSERT_NE(key, nullptr);
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), from_days * 86400);
  X509_gmtime_adj(X509_getm_notAfter(cert), to_days * 86400);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("test"), -1, -1,
                             0);
  X509_set_issuer_name(cert, name);
  ASSERT_GT(X509_sign(cert, key, EVP_sha256()), 0);
  FILE* out = std::fopen(path.c_str(), "w");
  ASSERT_NE(out, nullptr);
  PEM_write_X509(out, cert);
  std::fclose(out);
  X509_free(cert);
  EVP_PKEY_free(key);
}

struct Files {
  TempDir dir;
  std::string ca = (dir / "ca.pem").string();
  std::string cert = (dir / "client.pem").string();
  std::string key = (dir / "client.key").string();
  std::string password = (dir / "password").string();
  Files() {
    write_certificate(ca, -1, 365);
    write_certificate(cert, -1, 365);
    write_file(key, "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----\n");
    write_file(password, std::string(kPassword) + "\n");
  }
};

std::string message_of(const Result<Properties>& result) {
  return result ? std::string() : result.error().message;
}

TEST(SecurityProperties, PlaintextSaysSoAndNothingElse) {
  auto properties = security_properties({});
  ASSERT_TRUE(properties);
  EXPECT_EQ(*properties, (Properties{{"security.protocol", "plaintext"}}));
}

TEST(SecurityProperties, SaslSslReadsThePasswordFromItsFile) {
  Files files;
  SecuritySettings settings{.protocol = "sasl_ssl",
                            .ca_file = files.ca,
                            .sasl_mechanism = "SCRAM-SHA-512",
                            .sasl_username = "shop",
                            .sasl_password_file = files.password};
  auto properties = security_properties(settings);
  ASSERT_TRUE(properties) << message_of(properties);
  EXPECT_EQ(properties->at("security.protocol"), "sasl_ssl");
  EXPECT_EQ(properties->at("ssl.ca.location"), files.ca);
  EXPECT_EQ(properties->at("sasl.mechanisms"), "SCRAM-SHA-512");
  EXPECT_EQ(properties->at("sasl.username"), "shop");
  EXPECT_EQ(properties->at("sasl.password"), kPassword);  // without the file's line break
}

TEST(SecurityProperties, MutualTlsNeedsCertificateAndKey) {
  Files files;
  SecuritySettings settings{
      .protocol = "ssl", .ca_file = files.ca, .cert_file = files.cert, .key_file = files.key};
  auto properties = security_properties(settings);
  ASSERT_TRUE(properties) << message_of(properties);
  EXPECT_EQ(properties->at("ssl.certificate.location"), files.cert);
  EXPECT_EQ(properties->at("ssl.key.location"), files.key);
  EXPECT_EQ(properties->count("sasl.mechanisms"), 0u);

  settings.key_file.clear();
  EXPECT_NE(message_of(security_properties(settings)).find("both KAFKA_CERT_FILE and KAFKA_KEY_FILE"),
            std::string::npos);
}

TEST(SecurityProperties, RefusesWhatCannotWork) {
  Files files;
  const auto refused = [](const SecuritySettings& settings, const std::string& expected) {
    auto properties = security_properties(settings);
    ASSERT_FALSE(properties) << "accepted, expected: " << expected;
    EXPECT_EQ(properties.error().code, Errc::config);
    EXPECT_NE(properties.error().message.find(expected), std::string::npos) << properties.error().message;
  };
  refused({.protocol = "tls"}, "must be plaintext, ssl, sasl_plaintext or sasl_ssl");
  refused({.protocol = "sasl_ssl", .sasl_username = "shop", .sasl_password_file = files.password},
          "needs KAFKA_SASL_MECHANISM");
  refused({.protocol = "sasl_ssl",
           .sasl_mechanism = "GSSAPI",
           .sasl_username = "shop",
           .sasl_password_file = files.password},
          "not 'GSSAPI'");
  refused({.protocol = "sasl_ssl", .sasl_mechanism = "SCRAM-SHA-256", .sasl_password_file = files.password},
          "needs KAFKA_SASL_USERNAME");
  refused({.protocol = "sasl_ssl", .sasl_mechanism = "SCRAM-SHA-256", .sasl_username = "shop"},
          "needs KAFKA_SASL_PASSWORD_FILE");
  refused({.protocol = "sasl_ssl",
           .sasl_mechanism = "SCRAM-SHA-256",
           .sasl_username = "shop",
           .sasl_password_file = files.dir.path() / "missing"},
          "KAFKA_SASL_PASSWORD_FILE " + (files.dir.path() / "missing").string() + " cannot be read");
  refused({.protocol = "plaintext", .ca_file = files.ca}, "need KAFKA_SECURITY_PROTOCOL ssl or sasl_ssl");
  refused({.protocol = "ssl", .sasl_username = "shop"},
          "need KAFKA_SECURITY_PROTOCOL sasl_ssl or sasl_plaintext");
  refused({.protocol = "ssl", .ca_file = files.key}, "holds no PEM certificate");
}

TEST(SecurityProperties, AnEmptyOrMultiLinePasswordFileIsRefused) {
  TempDir dir;
  write_file(dir / "empty", "\n");
  write_file(dir / "two", "one\ntwo\n");
  EXPECT_NE(read_secret_file((dir / "empty").string(), "X").error().message.find("is empty"),
            std::string::npos);
  EXPECT_NE(read_secret_file((dir / "two").string(), "X").error().message.find("more than one line"),
            std::string::npos);
  write_file(dir / "crlf", "pw\r\n");
  EXPECT_EQ(*read_secret_file((dir / "crlf").string(), "X"), "pw");
}

TEST(CertificateFile, ExpiredAndNotYetValidAreNamed) {
  TempDir dir;
  write_certificate(dir / "old.pem", -30, -1);
  write_certificate(dir / "future.pem", 2, 30);
  write_certificate(dir / "good.pem", -1, 1);
  auto old = check_certificate_file((dir / "old.pem").string(), "KAFKA_CERT_FILE");
  ASSERT_FALSE(old);
  EXPECT_NE(old.error().message.find("the certificate expired on"), std::string::npos) << old.error().message;
  auto future = check_certificate_file((dir / "future.pem").string(), "KAFKA_CERT_FILE");
  ASSERT_FALSE(future);
  EXPECT_NE(future.error().message.find("not valid before"), std::string::npos) << future.error().message;
  EXPECT_TRUE(check_certificate_file((dir / "good.pem").string(), "KAFKA_CERT_FILE"));
}

TEST(CertificateVerdict, KeepsOpenSslsAndNamesARefusal) {
  std::string reason;
  EXPECT_TRUE(certificate_verdict(0, 0, nullptr, 0, reason));
  EXPECT_TRUE(reason.empty());
  EXPECT_FALSE(certificate_verdict(X509_V_ERR_CERT_HAS_EXPIRED, 0, "", 0, reason));
  EXPECT_EQ(reason, "certificate has expired (a certificate that does not parse, depth 0)");
  EXPECT_FALSE(certificate_verdict(X509_V_ERR_HOSTNAME_MISMATCH, 0, "", 0, reason));
  EXPECT_NE(reason.find("mismatch"), std::string::npos) << reason;
}

TEST(SecretProperties, AreKnown) {
  EXPECT_TRUE(is_secret_property("sasl.password"));
  EXPECT_TRUE(is_secret_property("ssl.key.password"));
  EXPECT_TRUE(is_secret_property("ssl.key.pem"));
  EXPECT_FALSE(is_secret_property("sasl.username"));
  EXPECT_FALSE(is_secret_property("linger.ms"));
}

// The settings as the services read them: flags and environment, then the final check.
struct Parsed {
  KafkaSettings kafka;
  std::optional<int> exit_code;
  std::string errors;
};

Parsed parse(std::vector<std::string> args) {
  Parsed parsed;
  CLI::App app{"test", "test"};
  kafka::bind_client_options(app, parsed.kafka);
  args.insert(args.begin(), "test");
  std::vector<const char*> argv;
  for (const auto& arg : args) argv.push_back(arg.c_str());
  ::testing::internal::CaptureStderr();
  parsed.exit_code = parse_command_line(app, static_cast<int>(argv.size()), argv.data());
  parsed.errors = ::testing::internal::GetCapturedStderr();
  return parsed;
}

TEST(SecuritySettings, MergeIntoTheClientsProperties) {
  Files files;
  auto parsed = parse({"--kafka-security-protocol", "sasl_ssl", "--kafka-ca-file", files.ca,
                       "--kafka-sasl-mechanism", "SCRAM-SHA-256", "--kafka-sasl-username", "shop",
                       "--kafka-sasl-password-file", files.password, "--kafka-property", "linger.ms=2"});
  ASSERT_FALSE(parsed.exit_code) << parsed.errors;
  EXPECT_EQ(parsed.kafka.properties.at("sasl.password"), kPassword);
  EXPECT_EQ(parsed.kafka.properties.at("linger.ms"), "2");
  EXPECT_EQ(parsed.kafka.properties.at("security.protocol"), "sasl_ssl");
}

TEST(SecuritySettings, UntouchedTheyLeaveKafkaPropertiesAlone) {
  auto parsed =
      parse({"--kafka-property", "security.protocol=ssl", "--kafka-property", "ssl.ca.location=/ca"});
  ASSERT_FALSE(parsed.exit_code) << parsed.errors;
  EXPECT_EQ(parsed.kafka.properties, (Properties{{"security.protocol", "ssl"}, {"ssl.ca.location", "/ca"}}));
}

TEST(SecuritySettings, OneSettingGivenBothWaysIsRefused) {
  Files files;
  auto parsed = parse({"--kafka-security-protocol", "ssl", "--kafka-ca-file", files.ca, "--kafka-property",
                       "ssl.ca.location=/elsewhere"});
  ASSERT_EQ(parsed.exit_code, 2);
  EXPECT_NE(parsed.errors.find("ssl.ca.location is given in KAFKA_PROPERTIES and by"), std::string::npos)
      << parsed.errors;
}

TEST(SecuritySettings, ASecretAsAPropertyIsRefusedWithoutEchoingIt) {
  auto parsed = parse({"--kafka-property", std::string("sasl.password=") + kPassword});
  ASSERT_EQ(parsed.exit_code, 2);
  EXPECT_NE(parsed.errors.find("sasl.password holds a secret"), std::string::npos) << parsed.errors;
  EXPECT_EQ(parsed.errors.find(kPassword), std::string::npos) << parsed.errors;
}

TEST(SecuritySettings, ABadFileStopsTheProgramNamingTheSetting) {
  Files files;
  auto parsed = parse({"--kafka-security-protocol", "sasl_ssl", "--kafka-sasl-mechanism", "SCRAM-SHA-512",
                       "--kafka-sasl-username", "shop", "--kafka-sasl-password-file", "/nonexistent/pw"});
  ASSERT_EQ(parsed.exit_code, 2);
  EXPECT_NE(parsed.errors.find("KAFKA_SASL_PASSWORD_FILE /nonexistent/pw cannot be read"), std::string::npos)
      << parsed.errors;
}

TEST(ErrorCause, DropsTheBrokerAndTheTiming) {
  EXPECT_EQ(
      error_cause("sasl_ssl://127.0.0.1:39142/bootstrap: SASL authentication error: Authentication failed "
                  "(after 337ms in state AUTH_REQ, 1 identical error(s) suppressed)"),
      "SASL authentication error: Authentication failed");
  EXPECT_EQ(error_cause("ssl://kafka-1.example:9093/1: SSL handshake failed: certificate verify failed "
                        "(after 45ms in state SSL_HANDSHAKE)"),
            "SSL handshake failed: certificate verify failed");
  EXPECT_EQ(
      error_cause("[thrd:sasl_ssl://127.0.0.1:39143/bootstrap]: sasl_ssl://127.0.0.1:39143/bootstrap: SASL "
                  "authentication error: Authentication failed"),
      "SASL authentication error: Authentication failed");
  EXPECT_EQ(
      error_cause("127.0.0.1:39144/bootstrap: Disconnected while requesting ApiVersion: might be caused by "
                  "incorrect security.protocol configuration (connecting to a SSL listener?)"),
      "Disconnected while requesting ApiVersion: might be caused by incorrect security.protocol "
      "configuration "
      "(connecting to a SSL listener?)");
  EXPECT_EQ(error_cause("3/3 brokers are down"), "3/3 brokers are down");
  EXPECT_EQ(error_cause("Receive failed: error:0A000412:SSL routines::sslv3 alert bad certificate"),
            "Receive failed: error:0A000412:SSL routines::sslv3 alert bad certificate");
}

TEST(LogGate, OneLinePerCauseUntilItIsOldOrReset) {
  LogGate gate(kErrorRepeatAfter);
  const auto t0 = std::chrono::steady_clock::now();
  long suppressed = -1;
  EXPECT_TRUE(gate.admit("bad password", t0, suppressed));
  EXPECT_EQ(suppressed, 0);
  EXPECT_FALSE(gate.admit("bad password", t0 + std::chrono::seconds(1), suppressed));
  EXPECT_FALSE(gate.admit("bad password", t0 + std::chrono::seconds(2), suppressed));
  EXPECT_TRUE(gate.admit("untrusted certificate", t0 + std::chrono::seconds(2), suppressed));
  EXPECT_TRUE(gate.admit("bad password", t0 + kErrorRepeatAfter + std::chrono::seconds(1), suppressed));
  EXPECT_EQ(suppressed, 2);
  gate.reset();  // a broker is up again
  EXPECT_TRUE(gate.admit("bad password", t0 + kErrorRepeatAfter + std::chrono::seconds(2), suppressed));
}

TEST(LogGate, RemembersABoundedNumberOfCauses) {
  LogGate gate(kErrorRepeatAfter);
  const auto t0 = std::chrono::steady_clock::now();
  long suppressed = 0;
  EXPECT_TRUE(gate.admit("cause 0", t0, suppressed));
  for (std::size_t n = 1; n <= LogGate::kMaxCauses; ++n) {
    gate.admit("cause " + std::to_string(n), t0, suppressed);
  }
  // The 257th distinct cause started the gate afresh: the first is news again.
  EXPECT_TRUE(gate.admit("cause 0", t0, suppressed));
}

}  // namespace
}  // namespace kd::kafka
