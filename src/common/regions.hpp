// The shop's regions: one per partition (陕北 = 0, 关中 = 1, 陕南 = 2 by default).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace kd {

inline constexpr std::string_view kDefaultRegions = "陕北,关中,陕南";

class RegionNames {
 public:
  // Comma-separated names, in partition order. Names must be non-empty and distinct.
  static Result<RegionNames> parse(std::string_view comma_separated);

  // A partition beyond the configured names still gets a stable name, so figures are never dropped.
  std::string name(int partition) const;
  std::size_t size() const { return names_.size(); }

 private:
  explicit RegionNames(std::vector<std::string> names) : names_(std::move(names)) {}
  std::vector<std::string> names_;
};

}  // namespace kd
