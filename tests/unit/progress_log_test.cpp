// How far a consumer has got and since when: what the order tracking asks the warehouse and statistics.
#include "common/consumer/progress_log.hpp"

#include <gtest/gtest.h>

namespace kd::consumer {
namespace {

TEST(ProgressLog, AnOffsetIsDoneWhenASaveHasPassedItAndTheMarkSaysWhen) {
  ProgressLog log;
  log.started(0, 0, 1000);
  log.advanced(0, 10, 2000);  // offsets 0..9 durable at 2000
  log.advanced(0, 25, 3000);  // 10..24 at 3000
  EXPECT_EQ(log.when(0, 0).at_ms, 2000);
  EXPECT_EQ(log.when(0, 9).at_ms, 2000);
  EXPECT_EQ(log.when(0, 10).at_ms, 3000);
  EXPECT_EQ(log.when(0, 24).at_ms, 3000);
  EXPECT_TRUE(log.when(0, 24).done);
  const auto pending = log.when(0, 25);
  EXPECT_FALSE(pending.done);
  EXPECT_FALSE(pending.at_ms);
  EXPECT_EQ(pending.next, 25);
  EXPECT_EQ(log.positions().at(0), 25);
}

TEST(ProgressLog, WhatAnEarlierRunHandledIsDoneAtATimeNoLongerKnown) {
  ProgressLog log;
  log.started(1, 100, 5000);  // restarted on a state that had handled 0..99
  log.advanced(1, 120, 6000);
  const auto old = log.when(1, 42);
  EXPECT_TRUE(old.done);
  EXPECT_FALSE(old.at_ms);
  EXPECT_EQ(old.by_ms, 5000) << "done by the time this run started";
  EXPECT_EQ(log.when(1, 110).at_ms, 6000);
}

TEST(ProgressLog, MarksAreBoundedAndTheOldestBecomeABound) {
  ProgressLog log(3);
  log.started(0, 0, 0);
  for (int i = 1; i <= 10; ++i) log.advanced(0, i * 10, i * 1000);  // ten saves, three remembered
  EXPECT_EQ(log.when(0, 95).at_ms, 10'000);
  EXPECT_EQ(log.when(0, 75).at_ms, 8'000);
  const auto forgotten = log.when(0, 5);
  EXPECT_TRUE(forgotten.done);
  EXPECT_FALSE(forgotten.at_ms);
  EXPECT_EQ(forgotten.by_ms, 7'000) << "durable by the newest mark let go";
}

TEST(ProgressLog, APositionThatDoesNotMoveAddsNoMarkAndPartitionsAreApart) {
  ProgressLog log(2);
  log.started(0, 0, 0);
  log.started(2, 0, 0);
  log.advanced(0, 5, 100);
  log.advanced(0, 5, 200);  // a save of another partition's progress
  log.advanced(2, 7, 300);
  EXPECT_EQ(log.when(0, 4).at_ms, 100);
  EXPECT_EQ(log.when(2, 6).at_ms, 300);
  EXPECT_FALSE(log.when(1, 0).done) << "a partition this consumer does not have";
}

}  // namespace
}  // namespace kd::consumer
