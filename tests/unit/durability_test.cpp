// Issue 11: the topic's durability, judged from the settings Kafka reports (a pure function), and the order
// service's view of it across readings (not ready and 503 while the topic cannot keep the promise of a 200).
#include "common/kafka/durability.hpp"

#include <gtest/gtest.h>

#include "order/durability_watch.hpp"

namespace kd {
namespace {

using kafka::DurabilityRequirement;
using kafka::DurabilityVerdict;
using kafka::TopicDurability;

constexpr const char* kBrokers = "127.0.0.1:9092,127.0.0.1:9093";

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(Durability, TwoReplicasAndTwoInSyncKeepThePromise) {
  const auto judged = kafka::judge_durability({"order", {2, 2, 2}, 2, true}, {}, kBrokers);
  EXPECT_EQ(judged.verdict, DurabilityVerdict::ok);
  EXPECT_EQ(judged.summary, "replication 2, min.insync.replicas 2 (set on the topic)");
  EXPECT_TRUE(judged.problem.empty());
  // More is fine too: three copies, two of them in sync for an acknowledgement.
  EXPECT_EQ(kafka::judge_durability({"order", {3, 3, 3}, 2, false}, {}, kBrokers).verdict,
            DurabilityVerdict::ok);
}

// The hole: min.insync.replicas=1 (here the brokers' default, as on a cluster whose topic was made by hand)
// lets acks=all succeed on one broker, whatever the replication.
TEST(Durability, OneInSyncReplicaIsWeakAndTheMessageNamesSettingFoundRequiredAndFix) {
  const auto judged = kafka::judge_durability({"order", {2, 2, 2}, 1, false}, {}, kBrokers);
  EXPECT_EQ(judged.verdict, DurabilityVerdict::weak);
  EXPECT_EQ(judged.summary, "replication 2, min.insync.replicas 1 (the brokers' default)");
  EXPECT_TRUE(
      contains(judged.problem, "min.insync.replicas is 1 (the brokers' default), at least 2 is required"))
      << judged.problem;
  EXPECT_TRUE(contains(judged.problem,
                       "kafka-configs.sh --bootstrap-server 127.0.0.1:9092 --alter --entity-type topics "
                       "--entity-name order --add-config min.insync.replicas=2"))
      << judged.problem;
  EXPECT_FALSE(contains(judged.problem, "replication is")) << judged.problem;
}

TEST(Durability, OneReplicaIsWeakNamingThePartitionsAndBothShortfallsAreReported) {
  const auto judged = kafka::judge_durability({"order", {2, 1, 1}, 1, true}, {}, kBrokers);
  EXPECT_EQ(judged.verdict, DurabilityVerdict::weak);
  EXPECT_EQ(judged.summary, "replication 1 to 2, min.insync.replicas 1 (set on the topic)");
  EXPECT_TRUE(contains(judged.problem, "replication is 1 (partitions 1, 2), at least 2 is required"))
      << judged.problem;
  EXPECT_TRUE(contains(judged.problem, "kafka-reassign-partitions.sh")) << judged.problem;
  EXPECT_TRUE(contains(judged.problem, "min.insync.replicas is 1")) << judged.problem;
  EXPECT_TRUE(contains(judged.problem, "KAFKA_MIN_INSYNC_REPLICAS=1")) << judged.problem;  // the dev way out
}

TEST(Durability, MoreInSyncReplicasThanReplicasMeansNoWriteSucceeds) {
  const auto judged = kafka::judge_durability({"order", {2, 2, 2}, 3, true}, {}, kBrokers);
  EXPECT_EQ(judged.verdict, DurabilityVerdict::unwritable);
  EXPECT_TRUE(contains(judged.problem, "every acks=all write fails")) << judged.problem;
  EXPECT_TRUE(contains(judged.problem, "--add-config min.insync.replicas=2")) << judged.problem;
}

// A single-broker development cluster says so in one place: the requirement 1 and 1, warned about.
TEST(Durability, ASingleCopyRequirementAcceptsOneCopyAndIsWarnedAbout) {
  const DurabilityRequirement single{1, 1};
  EXPECT_EQ(kafka::judge_durability({"order", {1, 1, 1}, 1, true}, single, kBrokers).verdict,
            DurabilityVerdict::ok);
  const auto warning = kafka::single_copy_warning(single);
  ASSERT_TRUE(warning);
  EXPECT_TRUE(contains(*warning, "a 200 may mean a single copy")) << *warning;
  EXPECT_FALSE(kafka::single_copy_warning({}));
}

TEST(DurabilityStatus, NotReadyUntilReadThenByVerdictAndRecoversWhenFixed) {
  order::DurabilityStatus status("order", {}, kBrokers);
  ASSERT_TRUE(status.refusal());
  EXPECT_TRUE(contains(*status.refusal(), "checking the replication")) << *status.refusal();
  EXPECT_FALSE(status.settled());

  // Kafka cannot answer yet: still refused, with the cause.
  auto change = status.record(make_error(Errc::unavailable, "Local: Timed out"));
  ASSERT_TRUE(change);
  EXPECT_TRUE(contains(*status.refusal(), "Local: Timed out")) << *status.refusal();
  EXPECT_FALSE(status.settled());

  change = status.record(TopicDurability{"order", {2, 2, 2}, 1, false});
  ASSERT_TRUE(change);
  EXPECT_TRUE(change->warning);
  ASSERT_TRUE(status.refusal());
  EXPECT_TRUE(contains(*status.refusal(), "cannot keep the promise of a 200")) << *status.refusal();
  EXPECT_TRUE(contains(*status.refusal(), "min.insync.replicas is 1")) << *status.refusal();
  EXPECT_FALSE(status.record(TopicDurability{"order", {2, 2, 2}, 1, false})) << "unchanged: logged once";

  // A failed reading keeps the verdict: a timeout says nothing about the topic.
  EXPECT_FALSE(status.record(make_error(Errc::unavailable, "Local: Timed out")));
  EXPECT_TRUE(status.refusal());

  change = status.record(TopicDurability{"order", {2, 2, 2}, 2, true});  // kafka-configs.sh --alter
  ASSERT_TRUE(change);
  EXPECT_FALSE(change->warning);
  EXPECT_FALSE(status.refusal());
  EXPECT_FALSE(status.record(make_error(Errc::unavailable, "Local: Timed out")));
  EXPECT_FALSE(status.refusal());
}

TEST(DurabilityStatus, NoRightToDescribeTheTopicIsLoggedNotHeldAgainstReadiness) {
  order::DurabilityStatus status("order", {}, kBrokers);
  const auto change = status.record(make_error(Errc::bad_request, "Broker: Topic authorization failed"));
  ASSERT_TRUE(change);
  EXPECT_TRUE(change->warning);
  EXPECT_FALSE(status.refusal());
  EXPECT_TRUE(status.settled());
}

}  // namespace
}  // namespace kd
