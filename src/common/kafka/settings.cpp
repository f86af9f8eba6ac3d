#include "common/kafka/settings.hpp"

namespace kd::kafka {

void bind_client_options(CLI::App& app, KafkaSettings& kafka) {
  app.add_option("--brokers", kafka.brokers, "Kafka bootstrap servers, comma-separated")
      ->envname("KAFKA_BROKERS")
      ->capture_default_str();
  app.add_option("--topic", kafka.topic, "Topic the orders go to")
      ->envname("KAFKA_TOPIC")
      ->capture_default_str();
  app.add_option("--partitions", kafka.partitions, "Partitions of the topic: one per region")
      ->envname("KAFKA_PARTITIONS")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--dead-letter-topic", kafka.dead_letter_topic,
                 "Topic for records that are not orders (default: the topic's name + \".dlq\")")
      ->envname("KAFKA_DEAD_LETTER_TOPIC");
  app.add_option_function<std::vector<std::string>>(
         "--kafka-property",
         [&kafka](const std::vector<std::string>& items) {
           for (const auto& item : items) {
             auto pair = parse_property(item);
             if (!pair) throw CLI::ValidationError("--kafka-property", pair.error().message);
             if (is_secret_property(pair->first)) {
               // Named, never echoed: the value is the secret.
               throw CLI::ValidationError("--kafka-property",
                                          pair->first +
                                              " holds a secret, which ps and kubectl describe would show "
                                              "here: give it in a file (KAFKA_SASL_PASSWORD_FILE, "
                                              "KAFKA_KEY_PASSWORD_FILE)");
             }
             kafka.properties[pair->first] = pair->second;
           }
         },
         "Extra librdkafka setting key=value (repeatable; KAFKA_PROPERTIES takes them space-separated)")
      ->envname("KAFKA_PROPERTIES")
      ->delimiter(' ');

  auto& security = kafka.security;
  app.add_option("--kafka-security-protocol", security.protocol,
                 "How clients talk to Kafka: plaintext, ssl, sasl_plaintext or sasl_ssl")
      ->envname("KAFKA_SECURITY_PROTOCOL")
      ->capture_default_str();
  app.add_option("--kafka-ca-file", security.ca_file,
                 "PEM file of the CA(s) to trust (default: the system's)")
      ->envname("KAFKA_CA_FILE");
  app.add_option("--kafka-cert-file", security.cert_file, "PEM client certificate, for mutual TLS")
      ->envname("KAFKA_CERT_FILE");
  app.add_option("--kafka-key-file", security.key_file, "PEM private key of the client certificate")
      ->envname("KAFKA_KEY_FILE");
  app.add_option("--kafka-key-password-file", security.key_password_file,
                 "File holding the password of an encrypted client key")
      ->envname("KAFKA_KEY_PASSWORD_FILE");
  app.add_option("--kafka-sasl-mechanism", security.sasl_mechanism,
                 "SASL mechanism: SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN")
      ->envname("KAFKA_SASL_MECHANISM");
  app.add_option("--kafka-sasl-username", security.sasl_username, "SASL user name")
      ->envname("KAFKA_SASL_USERNAME");
  app.add_option("--kafka-sasl-password-file", security.sasl_password_file,
                 "File holding the SASL password (a mounted Secret; never a flag or variable)")
      ->envname("KAFKA_SASL_PASSWORD_FILE");
  app.final_callback([&kafka] {
    if (auto status = apply_security(kafka); !status) {
      throw CLI::ValidationError("Kafka security", status.error().message);
    }
  });
}

Status apply_security(KafkaSettings& kafka) {
  // Untouched, they leave the extra properties alone: a cluster set up through KAFKA_PROPERTIES still works.
  if (kafka.security == SecuritySettings{}) return Ok{};
  auto secured = security_properties(kafka.security);
  if (!secured) return secured.error();
  for (const auto& [key, value] : kafka.properties) {
    if (is_security_property(key)) {
      return make_error(Errc::config, key +
                                          " is given in KAFKA_PROPERTIES and by the KAFKA_SECURITY_PROTOCOL, "
                                          "KAFKA_*_FILE and KAFKA_SASL_* settings: give it one way");
    }
    (*secured)[key] = value;
  }
  kafka.properties = std::move(*secured);
  return Ok{};
}

void bind_producer_options(CLI::App& app, ProducerSettings& producer) {
  app.add_option_function<int>(
         "--delivery-timeout-ms",
         [&producer](int ms) { producer.delivery_timeout = std::chrono::milliseconds(ms); },
         "Longest wait for Kafka to acknowledge a write before answering 503 (default 5000)")
      ->envname("DELIVERY_TIMEOUT_MS")
      ->check(CLI::Range(100, 300'000));
  app.add_option("--linger-ms", producer.linger_ms, "How long the producer waits to fill a batch")
      ->envname("PRODUCER_LINGER_MS")
      ->check(CLI::Range(0, 1000))
      ->capture_default_str();
  app.add_option_function<std::string>(
         "--linger-when",
         [&producer](const std::string& when) {
           producer.linger_when = when == to_string(LingerWhen::busy) ? LingerWhen::busy : LingerWhen::always;
         },
         "busy: a write begun while nothing is in flight and none was begun for 5 ms goes at once, by a "
         "second Kafka handle that does not linger; always: every batch waits the linger")
      ->envname("PRODUCER_LINGER_WHEN")
      ->check(CLI::IsMember({"always", "busy"}))
      ->default_str(to_string(kDefaultLingerWhen));
}

}  // namespace kd::kafka
