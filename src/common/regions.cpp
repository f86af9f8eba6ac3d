#include "common/regions.hpp"

#include <algorithm>

namespace kd {

Result<RegionNames> RegionNames::parse(std::string_view comma_separated) {
  std::vector<std::string> names;
  std::size_t start = 0;
  while (true) {
    const auto comma = comma_separated.find(',', start);
    const auto part = comma_separated.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    const auto first = part.find_first_not_of(' ');
    const auto last = part.find_last_not_of(' ');
    if (first == std::string_view::npos) return make_error(Errc::config, "region names must not be empty");
    std::string name(part.substr(first, last - first + 1));
    if (std::find(names.begin(), names.end(), name) != names.end()) {
      return make_error(Errc::config, "region name '" + name + "' is given twice");
    }
    names.push_back(std::move(name));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return RegionNames(std::move(names));
}

std::string RegionNames::name(int partition) const {
  if (partition >= 0 && static_cast<std::size_t>(partition) < names_.size()) return names_[partition];
  return "partition-" + std::to_string(partition);
}

}  // namespace kd
