// The HTTP server's connection accounting and its accept backoff, without sockets.
#include "common/http/connection_limit.hpp"

#include <gtest/gtest.h>

#include <cerrno>

namespace kd {
namespace {

using namespace std::chrono_literals;
using Verdict = ConnectionLimit::Verdict;

TEST(ConnectionLimit, AdmitsUpToTheLimitThenRefusesWhileNoneIsIdleLongEnough) {
  ConnectionLimit limit(2, 1000ms);
  const auto t0 = ConnectionLimit::Clock::time_point{} + 1h;
  EXPECT_EQ(limit.on_arrival(t0).verdict, Verdict::admit);
  limit.opened(t0);
  EXPECT_EQ(limit.on_arrival(t0).verdict, Verdict::admit);
  limit.opened(t0 + 10ms);
  EXPECT_EQ(limit.open(), 2u);
  // Both idle, but for less than a second: neither has had a fair chance to send its request.
  EXPECT_EQ(limit.on_arrival(t0 + 500ms).verdict, Verdict::refuse);
}

TEST(ConnectionLimit, AtTheLimitTheLongestIdleMakesRoom) {
  ConnectionLimit limit(3, 1000ms);
  const auto t0 = ConnectionLimit::Clock::time_point{} + 1h;
  const auto a = limit.opened(t0);
  const auto b = limit.opened(t0 + 1ms);
  const auto c = limit.opened(t0 + 2ms);
  limit.busy(a);            // a request on a: not to be closed
  limit.busy(b);            // b answers one, then waits for the next from t0 + 5 ms
  limit.idle(b, t0 + 5ms);  // now c is the longest idle
  auto decision = limit.on_arrival(t0 + 2s);
  EXPECT_EQ(decision.verdict, Verdict::evict_then_admit);
  EXPECT_EQ(decision.evict, c);
  EXPECT_TRUE(limit.evicted(c));
  EXPECT_FALSE(limit.closed(c)) << "its own close later must not count it twice";
  limit.opened(t0 + 2s);
  EXPECT_EQ(limit.open(), 3u);
  decision = limit.on_arrival(t0 + 2s);
  EXPECT_EQ(decision.verdict, Verdict::evict_then_admit);
  EXPECT_EQ(decision.evict, b);
}

TEST(ConnectionLimit, BusyConnectionsAreNeverClosedToMakeRoom) {
  ConnectionLimit limit(2, 1000ms);
  const auto t0 = ConnectionLimit::Clock::time_point{} + 1h;
  const auto a = limit.opened(t0);
  const auto b = limit.opened(t0);
  limit.busy(a);
  limit.busy(b);
  EXPECT_EQ(limit.idle_count(), 0u);
  EXPECT_EQ(limit.on_arrival(t0 + 1h).verdict, Verdict::refuse);
  EXPECT_FALSE(limit.evictable(t0 + 1h));
  EXPECT_TRUE(limit.closed(a));
  EXPECT_EQ(limit.on_arrival(t0 + 1h).verdict, Verdict::admit);
}

TEST(ConnectionLimit, EvictableOnlyAfterItsIdleTime) {
  ConnectionLimit limit(10, 1000ms);
  const auto t0 = ConnectionLimit::Clock::time_point{} + 1h;
  const auto a = limit.opened(t0);
  EXPECT_FALSE(limit.evictable(t0 + 999ms));
  EXPECT_EQ(limit.evictable(t0 + 1000ms), a);
  limit.busy(a);
  limit.idle(a, t0 + 1500ms);  // idle again: its time starts over
  EXPECT_FALSE(limit.evictable(t0 + 2000ms));
  EXPECT_EQ(limit.evictable(t0 + 2500ms), a);
}

boost::system::error_code system_error(int code) { return {code, boost::system::system_category()}; }

TEST(AcceptBackoff, OutOfDescriptorsPausesLongerEachTimeUpToASecondAndStartsOverAfterASuccess) {
  AcceptBackoff backoff;
  EXPECT_TRUE(AcceptBackoff::exhausted(system_error(EMFILE)));
  EXPECT_TRUE(AcceptBackoff::exhausted(system_error(ENFILE)));
  std::vector<long> pauses;
  for (int n = 0; n < 9; ++n) pauses.push_back(backoff.failed(system_error(EMFILE)).value().count());
  EXPECT_EQ(pauses, (std::vector<long>{10, 20, 40, 80, 160, 320, 640, 1000, 1000}));
  backoff.succeeded();
  EXPECT_EQ(backoff.failed(system_error(ENFILE)), 10ms);
}

TEST(AcceptBackoff, AConnectionsOwnFailureIsRetriedAtOnceAnyOtherPauses) {
  AcceptBackoff backoff;
  EXPECT_FALSE(backoff.failed(system_error(ECONNABORTED)));
  EXPECT_FALSE(backoff.failed(system_error(EPROTO)));
  EXPECT_EQ(backoff.failed(system_error(ENOBUFS)), 10ms);         // out of memory for sockets: pause too
  EXPECT_FALSE(AcceptBackoff::exhausted(system_error(ENOBUFS)));  // but closing a connection frees no fd
  EXPECT_EQ(backoff.failed(system_error(ENOMEM)), 20ms);
}

}  // namespace
}  // namespace kd
