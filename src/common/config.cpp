#include "common/config.hpp"

#include <iostream>

namespace kd {

void bind_kafka_options(CLI::App& app, KafkaSettings& kafka) {
  app.add_option("--brokers", kafka.brokers, "Kafka bootstrap servers, comma-separated")
      ->envname("KAFKA_BROKERS")
      ->capture_default_str();
  app.add_option("--topic", kafka.topic, "Topic the orders go to")->envname("KAFKA_TOPIC")->capture_default_str();
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
             auto pair = kafka::parse_property(item);
             if (!pair) throw CLI::ValidationError("--kafka-property", pair.error().message);
             kafka.properties[pair->first] = pair->second;
           }
         },
         "Extra librdkafka setting key=value (repeatable; KAFKA_PROPERTIES takes them space-separated)")
      ->envname("KAFKA_PROPERTIES")
      ->delimiter(' ');
}

void bind_common_options(CLI::App& app, CommonSettings& common) {
  app.add_option_function<std::string>(
         "--log-level",
         [&common](const std::string& word) {
           if (!log::parse_level(word, common.log.level)) {
             throw CLI::ValidationError("--log-level", "must be debug, info, warn or error");
           }
         },
         "Lowest level logged: debug, info, warn, error (default info)")
      ->envname("LOG_LEVEL");
  app.add_option_function<int>(
         "--shutdown-timeout-ms",
         [&common](int ms) { common.shutdown_timeout = std::chrono::milliseconds(ms); },
         "How long a SIGTERM may take to drain work (default 20000)")
      ->envname("SHUTDOWN_TIMEOUT_MS")
      ->check(CLI::Range(0, 600'000));
  app.add_option("--pod-name", common.pod_name, "This instance's StatefulSet pod name (default: the host name)")
      ->envname("POD_NAME");
}

void bind_http_options(CLI::App& app, HttpServerOptions& http, const std::string& default_listen) {
  http.listen = default_listen;
  app.add_option("--listen", http.listen, "host:port the HTTP API listens on")->envname("LISTEN")->capture_default_str();
  app.add_option("--body-limit", http.body_limit, "Largest request body in bytes; larger gets 413")
      ->envname("HTTP_BODY_LIMIT")
      ->check(CLI::Range(std::size_t{64}, std::size_t{16} << 20))
      ->capture_default_str();
  app.add_option_function<int>(
         "--request-timeout-ms", [&http](int ms) { http.request_timeout = std::chrono::milliseconds(ms); },
         "Longest time to receive one request from its first byte (default 10000)")
      ->envname("HTTP_REQUEST_TIMEOUT_MS")
      ->check(CLI::Range(100, 600'000));
  app.add_option_function<int>(
         "--idle-timeout-ms", [&http](int ms) { http.idle_timeout = std::chrono::milliseconds(ms); },
         "Longest time a keep-alive connection may sit idle (default 60000)")
      ->envname("HTTP_IDLE_TIMEOUT_MS")
      ->check(CLI::Range(100, 3'600'000));
}

std::optional<int> parse_command_line(CLI::App& app, int argc, const char* const* argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::ParseError& error) {
    std::string message = error.what();
    // CLI11 names the flag; a value from the environment is easier to find by its variable's name.
    for (const CLI::Option* option : app.get_options()) {
      const auto& names = option->get_lnames();
      if (!option->get_envname().empty() && !names.empty() && message.find("--" + names.front()) != std::string::npos) {
        message += " (flag --" + names.front() + ", environment variable " + option->get_envname() + ")";
        break;
      }
    }
    std::cerr << app.get_name() << ": " << message << "\n(run with --help for every setting)\n";
    return 2;
  }
  return std::nullopt;
}

}  // namespace kd
