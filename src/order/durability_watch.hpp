// The order service's view of its topic's durability (issue 11). A 200 promises that the order is on at
// least two brokers; a topic with replication 1 or min.insync.replicas=1 (made by hand, or by a tool other
// than ours) lets acks=all succeed on one copy. The service reads the topic's real settings at start and
// then every DURABILITY_CHECK_MS, and while they cannot keep the promise it refuses orders (503) and is not
// ready, with the reason; it recovers by itself once someone fixes the topic. Pure: fed readings, no I/O.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/kafka/durability.hpp"
#include "common/published.hpp"
#include "common/result.hpp"

namespace kd::order {

class DurabilityStatus {
 public:
  DurabilityStatus(std::string topic, kafka::DurabilityRequirement required, std::string brokers);

  // What a reading changed, for one log line; nullopt when nothing did (a check every 30 s logs nothing).
  struct Change {
    bool warning = false;
    std::string message;
    std::string detail;
  };
  // One reading of the topic's settings. A failed reading keeps the last verdict: a broker that times out
  // once says nothing about the topic. A refusal to describe it (no DescribeConfigs right on the topic) is
  // logged and not held against readiness: the admin tool, which has the right, checks it too.
  std::optional<Change> record(const Result<kafka::TopicDurability>& reading);

  // Why orders must not be taken now; nullopt once a reading showed the topic keeps the promise (or could
  // not be made for want of a right). Any thread.
  std::optional<std::string> refusal() const { return *refusal_.get(); }
  // Whether a verdict was reached: until then the next check comes sooner.
  bool settled() const { return settled_; }

 private:
  std::string topic_;
  kafka::DurabilityRequirement required_;
  std::string brokers_;
  bool settled_ = false;  // the checking thread's own
  std::string last_;      // the last logged state, so that only changes are logged
  Published<std::optional<std::string>> refusal_;
};

}  // namespace kd::order
