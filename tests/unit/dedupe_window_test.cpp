// The dedupe window's compact index, against a plain map as the model.
#include "common/consumer/dedupe_window.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace kd::consumer {
namespace {

TEST(OrderKey, CanonicalIdsAreTheirNumberOthersAreHashedApart) {
  EXPECT_EQ(order_key("1468136426238382080"), 1468136426238382080u);
  EXPECT_EQ(order_key("0"), 0u);
  EXPECT_GE(order_key("07"), std::uint64_t{1} << 63) << "\"07\" is another id than \"7\"";
  EXPECT_NE(order_key("07"), order_key("7"));
  EXPECT_GE(order_key("9223372036854775808"), std::uint64_t{1} << 63);
}

TEST(ValueDigest, IsStableAcrossRuns) {
  // Saved in the state: a change of hash would make every copy after an upgrade look like a conflict.
  EXPECT_EQ(value_digest(""), 0x2D06800538D394C2ull);
  EXPECT_NE(value_digest("a"), value_digest("b"));
}

TEST(DedupeWindow, FindsWhatItHoldsAndForgetsBelowTheEviction) {
  DedupeWindow window;
  EXPECT_EQ(window.find(1), nullptr);
  window.push({10, 1, 100});
  window.push({11, 2, 200});
  window.push({15, 3, 300});
  ASSERT_NE(window.find(2), nullptr);
  EXPECT_EQ(*window.find(2), (DedupeWindow::Entry{11, 2, 200}));
  EXPECT_EQ(window.oldest()->offset, 10);
  window.evict_before(12);
  EXPECT_EQ(window.find(1), nullptr);
  EXPECT_EQ(window.find(2), nullptr);
  ASSERT_NE(window.find(3), nullptr);
  EXPECT_EQ(window.size(), 1u);
  window.evict_before(100);
  EXPECT_EQ(window.size(), 0u);
  EXPECT_EQ(window.oldest(), nullptr);
}

// Random pushes and evictions, many growths and wrap-arounds of the probe runs, checked against a map.
TEST(DedupeWindow, AgreesWithAMapOverAMillionOperations) {
  std::mt19937_64 random(42);
  DedupeWindow window;
  std::map<std::uint64_t, DedupeWindow::Entry> model;
  std::int64_t offset = 0;
  std::int64_t evicted_below = 0;
  for (int step = 0; step < 1'000'000; ++step) {
    // Keys from a small range collide often; some repeat after their eviction.
    const std::uint64_t key = random() % 50'000;
    if (random() % 5 != 0) {
      ++offset;
      if (model.contains(key)) {
        ASSERT_NE(window.find(key), nullptr);
        ASSERT_EQ(*window.find(key), model[key]);
      } else {
        ASSERT_EQ(window.find(key), nullptr) << "step " << step;
        const DedupeWindow::Entry entry{offset, key, random()};
        window.push(entry);
        model[key] = entry;
      }
    } else {
      evicted_below = std::max(evicted_below, offset - static_cast<std::int64_t>(random() % 20'000));
      window.evict_before(evicted_below);
      std::erase_if(model, [&](const auto& item) { return item.second.offset < evicted_below; });
    }
    ASSERT_EQ(window.size(), model.size());
  }
  for (const auto& [key, entry] : model) ASSERT_EQ(*window.find(key), entry);
}

}  // namespace
}  // namespace kd::consumer
