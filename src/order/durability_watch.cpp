#include "order/durability_watch.hpp"

namespace kd::order {

DurabilityStatus::DurabilityStatus(std::string topic, kafka::DurabilityRequirement required,
                                   std::string brokers)
    : topic_(std::move(topic)),
      required_(required),
      brokers_(std::move(brokers)),
      refusal_("checking the replication and min.insync.replicas of topic " + topic_) {}

std::optional<DurabilityStatus::Change> DurabilityStatus::record(
    const Result<kafka::TopicDurability>& reading) {
  Change change;
  std::string state;
  if (!reading && reading.error().code == Errc::bad_request) {
    settled_ = true;
    refusal_.set(std::nullopt);
    state = "unverifiable";
    change = {true, "cannot check the durability of topic " + topic_ + "; taking orders unchecked",
              reading.error().message};
  } else if (!reading) {
    if (settled_) return std::nullopt;  // keep the verdict
    refusal_.set("cannot read the replication and min.insync.replicas of topic " + topic_ +
                 " yet: " + reading.error().message);
    state = "unknown: " + reading.error().message;
    change = {true, "cannot read the durability of topic " + topic_ + " yet; orders get 503 until then",
              reading.error().message};
  } else {
    settled_ = true;
    const auto judgement = kafka::judge_durability(*reading, required_, brokers_);
    if (judgement.verdict == kafka::DurabilityVerdict::ok) {
      refusal_.set(std::nullopt);
      state = "ok: " + judgement.summary;
      change = {false, "topic " + topic_ + " keeps the promise of a 200", judgement.summary};
    } else {
      refusal_.set("topic " + topic_ + " cannot keep the promise of a 200 (" + judgement.summary +
                   "), so orders get 503: " + judgement.problem);
      state = "refused: " + judgement.summary;
      change = {true,
                "topic " + topic_ + " cannot keep the promise of a 200; orders get 503 until it is fixed",
                judgement.problem};
    }
  }
  if (state == last_) return std::nullopt;
  last_ = state;
  return change;
}

}  // namespace kd::order
