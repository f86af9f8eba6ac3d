#include "common/recent_ids.hpp"

#include <charconv>
#include <functional>

namespace kd {

std::uint64_t RecentIds::key(std::string_view id) {
  constexpr std::uint64_t kHashed = std::uint64_t{1} << 63;
  std::uint64_t number = 0;
  const auto [end, error] = std::from_chars(id.data(), id.data() + id.size(), number);
  const bool canonical = !id.empty() && (id.size() == 1 || id.front() != '0');  // "07" is not "7"
  if (canonical && error == std::errc{} && end == id.data() + id.size() && number < kHashed) return number;
  return std::hash<std::string_view>{}(id) | kHashed;
}

bool RecentIds::insert(std::string_view id) {
  if (capacity_ == 0) return true;
  const std::uint64_t k = key(id);
  if (!ids_.insert(k).second) return false;
  arrival_.push_back(k);
  if (arrival_.size() > capacity_) {
    ids_.erase(arrival_.front());
    arrival_.pop_front();
  }
  return true;
}

}  // namespace kd
