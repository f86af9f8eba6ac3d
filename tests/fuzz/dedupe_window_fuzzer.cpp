// The consumers' dedupe window: a hand-written open-addressing index over a deque (dedupe_window.hpp),
// the one data structure of ours that decides whether an order is acted on.
// Input: a program of operations, two bytes each: push (an order key from a small range, so keys collide
// and return after their eviction) or evict (the window start moves forward by up to 255 offsets).
// Properties: after every operation the window holds exactly what a std::map model holds, finds each of
// its keys with its entry, and finds no key the model lacks.
#include <cstddef>
#include <cstdint>
#include <map>

#include "common/consumer/dedupe_window.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using kd::consumer::DedupeWindow;
  DedupeWindow window;
  std::map<std::uint64_t, DedupeWindow::Entry> model;
  std::int64_t offset = 0;
  std::int64_t start = 0;
  for (std::size_t at = 0; at + 1 < size; at += 2) {
    const std::uint8_t op = data[at];
    const std::uint8_t arg = data[at + 1];
    if (op & 1) {
      start = std::min(offset, start + arg);
      window.evict_before(start);
      std::erase_if(model, [&](const auto& item) { return item.second.offset < start; });
    } else {
      ++offset;
      // Keys spread over the whole 64-bit range by the op byte, so the hash's high bits matter too.
      const std::uint64_t key = (static_cast<std::uint64_t>(op) << 56) | arg;
      const DedupeWindow::Entry* found = window.find(key);
      const auto it = model.find(key);
      FUZZ_CHECK((found != nullptr) == (it != model.end()));
      if (found == nullptr) {
        const DedupeWindow::Entry entry{offset, key, static_cast<std::uint64_t>(at)};
        window.push(entry);
        model[key] = entry;
      } else {
        FUZZ_CHECK(*found == it->second);
      }
    }
    FUZZ_CHECK(window.size() == model.size());
  }
  for (const auto& [key, entry] : model) {
    const DedupeWindow::Entry* found = window.find(key);
    FUZZ_CHECK(found != nullptr && *found == entry);
  }
  return 0;
}
