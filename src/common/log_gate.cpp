#include "common/log_gate.hpp"

namespace kd {

bool LogGate::admit(const std::string& cause, std::chrono::steady_clock::time_point now, long& suppressed) {
  std::lock_guard lock(mutex_);
  // Bounded: a message that quotes something variable (an offset, a time) would otherwise add one each time.
  if (causes_.size() >= kMaxCauses && !causes_.contains(cause)) causes_.clear();
  auto [seen, fresh] = causes_.try_emplace(cause);
  if (!fresh && now - seen->second.logged < repeat_after_) {
    ++seen->second.held_back;
    return false;
  }
  suppressed = seen->second.held_back;
  seen->second = {now, 0};
  return true;
}

void LogGate::reset() {
  std::lock_guard lock(mutex_);
  causes_.clear();
}

}  // namespace kd
