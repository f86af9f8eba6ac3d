#include "common/kafka/client_config.hpp"

#include "common/kafka/security.hpp"

namespace kd::kafka {

Status set_properties(RdKafka::Conf& conf, const Properties& properties) {
  std::string reason;
  for (const auto& [key, value] : properties) {
    if (conf.set(key, value, reason) != RdKafka::Conf::CONF_OK) {
      const std::string shown = is_secret_property(key) ? "(secret)" : value;
      return make_error(Errc::config, "Kafka setting " + key + "=" + shown + ": " + reason);
    }
  }
  return Ok{};
}

Result<std::pair<std::string, std::string>> parse_property(const std::string& text) {
  const auto equals = text.find('=');
  if (equals == std::string::npos || equals == 0) {
    return make_error(Errc::config, "Kafka setting '" + text + "' must look like key=value");
  }
  return std::make_pair(text.substr(0, equals), text.substr(equals + 1));
}

}  // namespace kd::kafka
