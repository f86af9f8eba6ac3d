// The window of newest order ids that lets consumers act on an order once when Kafka holds it twice.
#include <gtest/gtest.h>

#include <string>

#include "common/recent_ids.hpp"

namespace kd {
namespace {

TEST(RecentIds, RecognisesARepeatWithinTheWindow) {
  RecentIds recent(3);
  EXPECT_TRUE(recent.insert("2124040789515309056"));
  EXPECT_TRUE(recent.insert("2124040789733412864"));
  EXPECT_FALSE(recent.insert("2124040789515309056"));
  EXPECT_EQ(recent.size(), 2u);
}

TEST(RecentIds, ForgetsTheOldestBeyondItsCapacity) {
  RecentIds recent(2);
  EXPECT_TRUE(recent.insert("1"));
  EXPECT_TRUE(recent.insert("2"));
  EXPECT_TRUE(recent.insert("3"));  // "1" leaves the window
  EXPECT_FALSE(recent.contains("1"));
  EXPECT_TRUE(recent.contains("2"));
  EXPECT_TRUE(recent.insert("1"));
  EXPECT_EQ(recent.size(), 2u);
}

TEST(RecentIds, NumericAndOtherIdsNeverMeet) {
  RecentIds recent(10);
  EXPECT_TRUE(recent.insert("7"));
  EXPECT_TRUE(recent.insert("07")) << "not the canonical spelling of 7, so another id";
  EXPECT_TRUE(recent.insert("abc"));
  EXPECT_FALSE(recent.insert("abc"));
  EXPECT_TRUE(recent.insert("9223372036854775808")) << "2^63 does not fit the numeric half";
  EXPECT_FALSE(recent.insert("9223372036854775808"));
  EXPECT_TRUE(recent.insert("18446744073709551616")) << "beyond 64 bits";
  EXPECT_TRUE(recent.insert(""));
  EXPECT_FALSE(recent.insert(""));
}

TEST(RecentIds, ZeroCapacityRemembersNothing) {
  RecentIds recent(0);
  EXPECT_TRUE(recent.insert("1"));
  EXPECT_TRUE(recent.insert("1"));
}

}  // namespace
}  // namespace kd
