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
             kafka.properties[pair->first] = pair->second;
           }
         },
         "Extra librdkafka setting key=value (repeatable; KAFKA_PROPERTIES takes them space-separated)")
      ->envname("KAFKA_PROPERTIES")
      ->delimiter(' ');
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
}

}  // namespace kd::kafka
