// When a producer that lingers only when busy lets writes leave (common/kafka/send_pacer.hpp).
#include "common/kafka/send_pacer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <vector>

namespace kd::kafka {
namespace {

using namespace std::chrono_literals;
using Clock = SendPacer::Clock;

const Clock::time_point t0 = Clock::time_point{} + 1h;

TEST(SendPacer, AWriteBegunWithNothingInFlightLeavesAtOnceWithTheWritesBegunBesideIt) {
  SendPacer pacer(1ms);
  const auto first = pacer.arrive(t0, false);
  EXPECT_TRUE(first.starts_batch);
  EXPECT_EQ(first.due, t0);
  EXPECT_TRUE(pacer.batch_due(t0));
  // Begun in the same turn (before the batch has left): joins it, and does not start another.
  const auto second = pacer.arrive(t0, true);
  EXPECT_FALSE(second.starts_batch);
  EXPECT_EQ(second.due, t0);
}

TEST(SendPacer, AWriteBegunWhileOthersAreInFlightWaitsOneLingerForCompany) {
  SendPacer pacer(1ms);
  const auto first = pacer.arrive(t0, true);
  EXPECT_TRUE(first.starts_batch);
  EXPECT_EQ(first.due, t0 + 1ms);
  const auto second = pacer.arrive(t0 + 500us, true);
  EXPECT_FALSE(second.starts_batch);
  EXPECT_EQ(second.due, t0 + 1ms);
  EXPECT_FALSE(pacer.batch_due(t0 + 999us));
  EXPECT_TRUE(pacer.batch_due(t0 + 1ms));

  pacer.batch_sent();
  EXPECT_FALSE(pacer.batch_waiting());
  EXPECT_EQ(pacer.arrive(t0 + 1200us, true).due, t0 + 2200us);
}

TEST(SendPacer, ABatchSentEarlyByAFlushLeavesNothingForALateTimer) {
  SendPacer pacer(1ms);
  pacer.arrive(t0, true);  // due t0 + 1 ms
  pacer.batch_sent();      // a flush sent it early
  EXPECT_FALSE(pacer.batch_due(t0 + 1ms));
  EXPECT_EQ(pacer.arrive(t0 + 300us, false).due, t0 + 300us);
}

// The whole policy against a broker that acknowledges each batch `ack` after it leaves: writes begun every
// `gap` for 200 ms, each batch sent when due. Returns {batches, the median wait}.
std::pair<int, Clock::duration> run(Clock::duration linger, Clock::duration gap, Clock::duration ack) {
  SendPacer pacer(linger);
  int batches = 0;
  std::vector<Clock::duration> waits;
  std::vector<Clock::time_point> waiting;
  std::optional<Clock::time_point> due;
  std::deque<Clock::time_point> acks;  // when each batch in flight is acknowledged
  const auto advance = [&](Clock::time_point now) {
    while (!acks.empty() && acks.front() <= now) acks.pop_front();
    if (due && *due <= now) {
      pacer.batch_sent();
      for (auto begun : waiting) waits.push_back(*due - begun);
      waiting.clear();
      acks.push_back(*due + ack);
      ++batches;
      due.reset();
    }
  };
  for (auto now = t0; now < t0 + 200ms; now += gap) {
    advance(now);
    const auto decision = pacer.arrive(now, !acks.empty());
    if (decision.starts_batch) due = decision.due;
    waiting.push_back(now);
    advance(now);  // due now: sent once this turn's writes are in
  }
  advance(t0 + 1h);
  std::nth_element(waits.begin(), waits.begin() + waits.size() / 2, waits.end());
  return {batches, waits[waits.size() / 2]};
}

TEST(SendPacer, AQuietShopsWritesNeverWaitAndABusyOnesShareOneRequestPerLinger) {
  // 200 writes/s, acknowledged in 2 ms: nothing is in flight when the next comes, so none waits.
  const auto [quiet_batches, quiet_wait] = run(1ms, 5ms, 2ms);
  EXPECT_EQ(quiet_batches, 40);
  EXPECT_EQ(quiet_wait, Clock::duration::zero());
  // 10,000 writes/s: always something in flight, so batches of about a linger's writes, as librdkafka's
  // linger.ms makes them.
  const auto [busy_batches, busy_wait] = run(1ms, 100us, 2ms);
  EXPECT_GE(busy_batches, 180);
  EXPECT_LE(busy_batches, 201);
  EXPECT_GT(busy_wait, Clock::duration::zero());
  EXPECT_LE(busy_wait, 1ms);
}

}  // namespace
}  // namespace kd::kafka
