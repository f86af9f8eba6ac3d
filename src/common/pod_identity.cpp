#include "common/pod_identity.hpp"

#include <unistd.h>

#include <array>
#include <charconv>

namespace kd {

std::optional<int> ordinal_from_name(std::string_view name) {
  const auto dash = name.rfind('-');
  if (dash == std::string_view::npos) return std::nullopt;
  const std::string_view digits = name.substr(dash + 1);
  if (digits.empty() || digits.size() > 9) return std::nullopt;
  int ordinal = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), ordinal);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  return ordinal;
}

Result<int> resolve_partition(const std::string& pod_name, const std::string& hostname, int partitions) {
  const bool from_pod_name = !pod_name.empty();
  const std::string& name = from_pod_name ? pod_name : hostname;
  const char* source = from_pod_name ? "POD_NAME" : "the host name";
  const auto ordinal = ordinal_from_name(name);
  if (!ordinal) {
    return make_error(Errc::config, std::string("cannot tell this instance's partition: ") + source + " '" +
                                        name + "' does not end in -<number> (like order-0)");
  }
  if (*ordinal >= partitions) {
    return make_error(Errc::config, std::string(source) + " '" + name + "' gives partition " +
                                        std::to_string(*ordinal) + ", but the topic has only " +
                                        std::to_string(partitions) + " partitions (0.." +
                                        std::to_string(partitions - 1) + ")");
  }
  return *ordinal;
}

std::string current_hostname() {
  std::array<char, 256> buffer{};
  if (gethostname(buffer.data(), buffer.size() - 1) != 0) return {};
  return buffer.data();
}

}  // namespace kd
