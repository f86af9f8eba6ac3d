// One log line per cause, not one per repeat: a failure that repeats on every retry (librdkafka reporting a
// refused connection for every broker and through two paths, an accept loop meeting EMFILE each time it
// tries again) is logged the first time it is seen and then once per `repeat_after`; the count of the
// repeats held back goes with the next line of that cause.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace kd {

class LogGate {
 public:
  static constexpr std::size_t kMaxCauses = 256;  // causes remembered; more, and the gate starts afresh

  explicit LogGate(std::chrono::steady_clock::duration repeat_after) : repeat_after_(repeat_after) {}

  // True if `cause` should be logged now; `suppressed` is then how many were held back since last time.
  // Any thread.
  bool admit(const std::string& cause, std::chrono::steady_clock::time_point now, long& suppressed);
  // The trouble is over: the next failure is news, whatever it is.
  void reset();

 private:
  struct Seen {
    std::chrono::steady_clock::time_point logged;
    long held_back = 0;
  };
  std::chrono::steady_clock::duration repeat_after_;
  std::mutex mutex_;
  std::unordered_map<std::string, Seen> causes_;
};

}  // namespace kd
