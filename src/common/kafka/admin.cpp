#include "common/kafka/admin.hpp"

#include <librdkafka/rdkafka.h>

#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>

#include "common/kafka/client_events.hpp"
#include "common/kafka/security.hpp"

namespace kd::kafka {
namespace {

// The C++ API has no Admin API; these RAII holders keep the C handles tidy.
struct KafkaDeleter {
  void operator()(rd_kafka_t* handle) const { rd_kafka_destroy(handle); }
};
struct QueueDeleter {
  void operator()(rd_kafka_queue_t* queue) const { rd_kafka_queue_destroy(queue); }
};
struct EventDeleter {
  void operator()(rd_kafka_event_t* event) const { rd_kafka_event_destroy(event); }
};
struct OptionsDeleter {
  void operator()(rd_kafka_AdminOptions_t* options) const { rd_kafka_AdminOptions_destroy(options); }
};
struct NewTopicDeleter {
  void operator()(rd_kafka_NewTopic_t* topic) const { rd_kafka_NewTopic_destroy(topic); }
};
struct DeleteTopicDeleter {
  void operator()(rd_kafka_DeleteTopic_t* topic) const { rd_kafka_DeleteTopic_destroy(topic); }
};
struct NewPartitionsDeleter {
  void operator()(rd_kafka_NewPartitions_t* partitions) const { rd_kafka_NewPartitions_destroy(partitions); }
};
struct TopicDeleter {
  void operator()(rd_kafka_topic_t* topic) const { rd_kafka_topic_destroy(topic); }
};
struct ConfigResourceDeleter {
  void operator()(rd_kafka_ConfigResource_t* resource) const { rd_kafka_ConfigResource_destroy(resource); }
};
struct MetadataDeleter {
  void operator()(const rd_kafka_metadata_t* metadata) const { rd_kafka_metadata_destroy(metadata); }
};

// A client handle, and what its connections last failed with: librdkafka retries a refused password or an
// untrusted certificate quietly until the request times out, and "timed out" alone would hide the cause.
class Handle {
 public:
  rd_kafka_t* get() const { return rk_.get(); }
  // The connections' last failure (librdkafka's words, without the broker's address); empty if none.
  std::string last_failure() const {
    std::lock_guard lock(watch_->mutex);
    return watch_->last_failure;
  }
  // `result`, with an error naming the last failure too.
  template <class T>
  Result<T> explain(Result<T> result) const {
    if (result || result.error().code != Errc::unavailable) return result;
    const std::string failure = last_failure();
    if (failure.empty()) return result;
    return make_error(result.error().code,
                      result.error().message + " (the brokers' last answer: " + failure + ")");
  }

 private:
  friend Result<Handle> connect(const std::string& brokers, const Properties& extra);
  struct Watch {
    std::mutex mutex;
    std::string last_failure;
  };
  // Called on librdkafka's threads (the default log.queue=false): keeps the failure, prints nothing, since
  // a connection retried for 30 s would print the same line dozens of times.
  static void on_log(const rd_kafka_t* rk, int level, const char* facility, const char* line) {
    if (level > 4 && std::string_view(facility) != "FAIL") return;
    auto* watch = static_cast<Watch*>(rd_kafka_opaque(rk));
    std::lock_guard lock(watch->mutex);
    watch->last_failure = error_cause(line);
  }
  // The certificate verdicts, named (see certificate_verdict).
  static int on_certificate(rd_kafka_t*, const char*, int32_t, int* x509_error, int depth, const char* der,
                            size_t size, char* errstr, size_t errstr_size, void*) {
    std::string reason;
    if (certificate_verdict(*x509_error, depth, der, size, reason)) return 1;
    std::snprintf(errstr, errstr_size, "%s", reason.c_str());
    return 0;
  }
  std::unique_ptr<Watch> watch_ = std::make_unique<Watch>();  // before rk_: librdkafka logs until rk_ is gone
  std::unique_ptr<rd_kafka_t, KafkaDeleter> rk_;
};

Result<Handle> connect(const std::string& brokers, const Properties& extra) {
  Handle handle;
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char reason[512];
  // log_level 6: on_log sees the failures librdkafka reports as notices ("might be caused by incorrect
  // security.protocol"), and prints none of it.
  Properties all = {{"bootstrap.servers", brokers}, {"client.id", "kafka-demo-admin"}, {"log_level", "6"}};
  for (const auto& [key, value] : extra) all[key] = value;
  for (const auto& [key, value] : all) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), reason, sizeof reason) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return make_error(Errc::bad_request, "Kafka setting " + key + ": " + reason);
    }
  }
  rd_kafka_conf_set_opaque(conf, handle.watch_.get());
  rd_kafka_conf_set_log_cb(conf, &Handle::on_log);
  rd_kafka_conf_set_ssl_cert_verify_cb(conf, &Handle::on_certificate);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, reason, sizeof reason);  // takes conf on success
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    return make_error(Errc::bad_request, std::string("cannot create Kafka client: ") + reason);
  }
  handle.rk_.reset(rk);
  return handle;
}

std::unique_ptr<rd_kafka_AdminOptions_t, OptionsDeleter> admin_options(rd_kafka_t* handle,
                                                                       rd_kafka_admin_op_t op,
                                                                       std::chrono::milliseconds timeout) {
  std::unique_ptr<rd_kafka_AdminOptions_t, OptionsDeleter> options(rd_kafka_AdminOptions_new(handle, op));
  char reason[256];
  rd_kafka_AdminOptions_set_request_timeout(options.get(), static_cast<int>(timeout.count()), reason,
                                            sizeof reason);
  rd_kafka_AdminOptions_set_operation_timeout(options.get(), static_cast<int>(timeout.count()), reason,
                                              sizeof reason);
  return options;
}

Error kafka_error(rd_kafka_resp_err_t code, const std::string& context, const char* detail = nullptr) {
  return make_error(Errc::unavailable,
                    context + ": " + (detail && *detail ? detail : rd_kafka_err2str(code)));
}

// Partition count, and whether every partition has a leader. Negative count: topic unknown.
struct TopicState {
  int partitions = -1;
  bool all_led = false;
};

Result<TopicState> topic_state(rd_kafka_t* handle, const std::string& topic,
                               std::chrono::milliseconds timeout) {
  std::unique_ptr<rd_kafka_topic_t, TopicDeleter> topic_handle(
      rd_kafka_topic_new(handle, topic.c_str(), nullptr));
  const rd_kafka_metadata_t* raw = nullptr;
  const auto code = rd_kafka_metadata(handle, 0, topic_handle.get(), &raw, static_cast<int>(timeout.count()));
  if (code != RD_KAFKA_RESP_ERR_NO_ERROR) return kafka_error(code, "cannot read metadata of topic " + topic);
  std::unique_ptr<const rd_kafka_metadata_t, MetadataDeleter> metadata(raw);
  TopicState state;
  for (int t = 0; t < metadata->topic_cnt; ++t) {
    const auto& entry = metadata->topics[t];
    if (topic != entry.topic || entry.err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) continue;
    state.partitions = entry.partition_cnt;
    state.all_led = entry.err == RD_KAFKA_RESP_ERR_NO_ERROR && entry.partition_cnt > 0;
    for (int p = 0; p < entry.partition_cnt; ++p) {
      if (entry.partitions[p].leader < 0 || entry.partitions[p].err != RD_KAFKA_RESP_ERR_NO_ERROR)
        state.all_led = false;
    }
  }
  return state;
}

using AdminEvent = std::unique_ptr<rd_kafka_event_t, EventDeleter>;

// The answer to the admin request sent on `queue` (its own timeout, and a second for the round trip), or an
// error naming what was asked: no answer, or the request's error.
Result<AdminEvent> await_answer(rd_kafka_queue_t* queue, std::chrono::milliseconds timeout,
                                const std::string& what) {
  AdminEvent event(rd_kafka_queue_poll(queue, static_cast<int>(timeout.count()) + 1000));
  if (!event) return make_error(Errc::unavailable, "Kafka did not answer the request to " + what);
  if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return kafka_error(rd_kafka_event_error(event.get()), "cannot " + what,
                       rd_kafka_event_error_string(event.get()));
  }
  return event;
}

using Clock = std::chrono::steady_clock;

// What is left until the deadline, but at least half a second: a last request still gets a fair chance.
std::chrono::milliseconds left_until(Clock::time_point deadline) {
  return std::max(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()),
                  std::chrono::milliseconds(500));
}

Error shrink_refused(const std::string& topic, int has, int asked) {
  const std::string count = std::to_string(has);
  return make_error(Errc::config,
                    "topic " + topic + " has " + count + " partitions; refusing to shrink it to " +
                        std::to_string(asked) +
                        ": Kafka cannot remove partitions, and each one holds a region's orders "
                        "(keep KAFKA_PARTITIONS, and the REGIONS names, at " +
                        count + " or more)");
}

// The topic's partition count (-1: the cluster has no such topic), asking again until the deadline while
// the cluster does not answer.
Result<int> read_partitions(rd_kafka_t* rk, const std::string& topic, Clock::time_point deadline) {
  while (true) {
    auto state = topic_state(rk, topic, left_until(deadline));
    if (state) return state->partitions;
    if (Clock::now() >= deadline) return state.error();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// Asks the cluster to give the topic `partitions` partitions in all. False: it already had them (another
// admin was quicker, or the metadata read before was stale: brokers learn of new partitions a moment apart).
Result<bool> add_partitions(rd_kafka_t* rk, const std::string& topic, int partitions,
                            std::chrono::milliseconds timeout) {
  char reason[512];
  std::unique_ptr<rd_kafka_NewPartitions_t, NewPartitionsDeleter> request(
      rd_kafka_NewPartitions_new(topic.c_str(), static_cast<size_t>(partitions), reason, sizeof reason));
  if (!request) return make_error(Errc::bad_request, "topic " + topic + ": " + reason);
  auto options = admin_options(rk, RD_KAFKA_ADMIN_OP_CREATEPARTITIONS, timeout);
  std::unique_ptr<rd_kafka_queue_t, QueueDeleter> queue(rd_kafka_queue_new(rk));
  rd_kafka_NewPartitions_t* requests[] = {request.get()};
  rd_kafka_CreatePartitions(rk, requests, 1, options.get(), queue.get());
  const std::string what = "add partitions to topic " + topic;
  auto event = await_answer(queue.get(), timeout, what);
  if (!event) return event.error();
  size_t count = 0;
  const auto** results =
      rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(event->get()), &count);
  const auto code = count == 1 ? rd_kafka_topic_result_error(results[0]) : RD_KAFKA_RESP_ERR_NO_ERROR;
  // INVALID_PARTITIONS: the topic has that many or more already; the caller's wait for the count tells which.
  if (code == RD_KAFKA_RESP_ERR_INVALID_PARTITIONS) return false;
  if (code != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return kafka_error(code, "cannot " + what, rd_kafka_topic_result_error_string(results[0]));
  }
  return true;
}

// Brings an existing topic that has `has` partitions to `partitions`: nothing to do, grown, or refused.
Result<TopicChange> grow_existing(rd_kafka_t* rk, const std::string& topic, int has, int partitions,
                                  Clock::time_point deadline) {
  if (has > partitions) return shrink_refused(topic, has, partitions);
  if (has == partitions) return TopicChange{TopicOutcome::already_existed, has};
  auto added = add_partitions(rk, topic, partitions, left_until(deadline));
  if (!added) return added.error();
  return *added ? TopicChange{TopicOutcome::grown, has}
                : TopicChange{TopicOutcome::already_existed, partitions};
}

// Creating and growing are asynchronous on the brokers: waits until the metadata shows the topic with
// `partitions` partitions, each with a leader. More than that is refused (someone grew it further).
Status await_leaders(rd_kafka_t* rk, const std::string& topic, int partitions, Clock::time_point deadline) {
  while (true) {
    auto state = topic_state(rk, topic, left_until(deadline));
    if (state && state->partitions > partitions) return shrink_refused(topic, state->partitions, partitions);
    if (state && state->partitions == partitions && state->all_led) return Ok{};
    if (Clock::now() >= deadline) {
      return make_error(Errc::unavailable, "topic " + topic + " has no leader for each of its " +
                                               std::to_string(partitions) + " partitions yet");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace

Result<TopicChange> ensure_topic(const std::string& brokers, const TopicSpec& spec, const Properties& extra,
                                 std::chrono::milliseconds timeout, IfFewer if_fewer) {
  auto handle = connect(brokers, extra);
  if (!handle) return handle.error();
  return handle->explain([&]() -> Result<TopicChange> {
    rd_kafka_t* rk = handle->get();
    const auto deadline = Clock::now() + timeout;

    char reason[512];
    std::unique_ptr<rd_kafka_NewTopic_t, NewTopicDeleter> topic(rd_kafka_NewTopic_new(
        spec.name.c_str(), spec.partitions, spec.replication_factor, reason, sizeof reason));
    if (!topic) return make_error(Errc::bad_request, std::string("topic ") + spec.name + ": " + reason);
    for (const auto& [key, value] : spec.config) {
      if (rd_kafka_NewTopic_set_config(topic.get(), key.c_str(), value.c_str()) !=
          RD_KAFKA_RESP_ERR_NO_ERROR) {
        return make_error(Errc::bad_request, "topic setting " + key + "=" + value + " is not valid");
      }
    }
    auto options = admin_options(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS, timeout);
    std::unique_ptr<rd_kafka_queue_t, QueueDeleter> queue(rd_kafka_queue_new(rk));
    rd_kafka_NewTopic_t* topics[] = {topic.get()};
    rd_kafka_CreateTopics(rk, topics, 1, options.get(), queue.get());
    auto event = await_answer(queue.get(), timeout, "create topic " + spec.name);
    if (!event) return event.error();
    size_t count = 0;
    const auto** results =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event->get()), &count);
    TopicChange change;
    if (count == 1) {
      const auto code = rd_kafka_topic_result_error(results[0]);
      if (code == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        change.outcome = TopicOutcome::already_existed;
      } else if (code != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return kafka_error(code, "cannot create topic " + spec.name,
                           rd_kafka_topic_result_error_string(results[0]));
      }
    }
    if (change.outcome == TopicOutcome::already_existed) {
      // Another creator's topic may not be in the metadata yet.
      auto has = read_partitions(rk, spec.name, deadline);
      while (has && *has < 0 && Clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        has = read_partitions(rk, spec.name, deadline);
      }
      if (!has) return has.error();
      if (*has < 0)
        return make_error(Errc::unavailable, "topic " + spec.name + " exists but has no metadata yet");
      if (*has < spec.partitions && if_fewer == IfFewer::refuse) {
        return make_error(Errc::config,
                          "topic " + spec.name + " has " + std::to_string(*has) + " partitions, not " +
                              std::to_string(spec.partitions) +
                              ": to add regions, run kafka-demo-admin grow-topic --partitions " +
                              std::to_string(spec.partitions) +
                              " (Kafka can add partitions, never remove them)");
      }
      auto grown = grow_existing(rk, spec.name, *has, spec.partitions, deadline);
      if (!grown) return grown.error();
      change = *grown;
    }
    if (auto status = await_leaders(rk, spec.name, spec.partitions, deadline); !status) return status.error();
    return change;
  }());
}

Result<TopicChange> grow_topic(const std::string& brokers, const std::string& topic, int partitions,
                               const Properties& extra, std::chrono::milliseconds timeout) {
  auto handle = connect(brokers, extra);
  if (!handle) return handle.error();
  return handle->explain([&]() -> Result<TopicChange> {
    rd_kafka_t* rk = handle->get();
    const auto deadline = Clock::now() + timeout;
    auto has = read_partitions(rk, topic, deadline);
    if (!has) return has.error();
    if (*has < 0) {
      return make_error(Errc::config,
                        "topic " + topic + " does not exist: create it with kafka-demo-admin create-topic");
    }
    auto change = grow_existing(rk, topic, *has, partitions, deadline);
    if (!change) return change.error();
    if (auto status = await_leaders(rk, topic, partitions, deadline); !status) return status.error();
    return change;
  }());
}

Result<int> partition_count(const std::string& brokers, const std::string& topic, const Properties& extra,
                            std::chrono::milliseconds timeout) {
  auto handle = connect(brokers, extra);
  if (!handle) return handle.error();
  return handle->explain([&]() -> Result<int> {
    auto state = topic_state(handle->get(), topic, timeout);
    if (!state) return state.error();
    if (state->partitions < 0) return make_error(Errc::unavailable, "topic " + topic + " does not exist");
    return state->partitions;
  }());
}

Result<TopicDurability> describe_durability(rd_kafka_t* rk, const std::string& topic,
                                            std::chrono::milliseconds timeout) {
  TopicDurability found;
  found.topic = topic;
  {
    std::unique_ptr<rd_kafka_topic_t, TopicDeleter> topic_handle(
        rd_kafka_topic_new(rk, topic.c_str(), nullptr));
    const rd_kafka_metadata_t* raw = nullptr;
    const auto code = rd_kafka_metadata(rk, 0, topic_handle.get(), &raw, static_cast<int>(timeout.count()));
    if (code != RD_KAFKA_RESP_ERR_NO_ERROR)
      return kafka_error(code, "cannot read metadata of topic " + topic);
    std::unique_ptr<const rd_kafka_metadata_t, MetadataDeleter> metadata(raw);
    for (int t = 0; t < metadata->topic_cnt; ++t) {
      const auto& entry = metadata->topics[t];
      if (topic != entry.topic || entry.err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) continue;
      found.replicas.assign(static_cast<std::size_t>(entry.partition_cnt), 0);
      for (int p = 0; p < entry.partition_cnt; ++p) {
        const auto& partition = entry.partitions[p];
        if (partition.id >= 0 && partition.id < entry.partition_cnt)
          found.replicas[static_cast<std::size_t>(partition.id)] = partition.replica_cnt;
      }
    }
  }
  if (found.replicas.empty()) return make_error(Errc::config, "topic " + topic + " does not exist");

  std::unique_ptr<rd_kafka_ConfigResource_t, ConfigResourceDeleter> resource(
      rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str()));
  auto options = admin_options(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, timeout);
  std::unique_ptr<rd_kafka_queue_t, QueueDeleter> queue(rd_kafka_queue_new(rk));
  rd_kafka_ConfigResource_t* resources[] = {resource.get()};
  rd_kafka_DescribeConfigs(rk, resources, 1, options.get(), queue.get());
  const std::string what = "describe the settings of topic " + topic;
  auto event = await_answer(queue.get(), timeout, what);
  if (!event) return event.error();
  size_t count = 0;
  const auto** described =
      rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(event->get()), &count);
  if (count != 1) return make_error(Errc::unavailable, "Kafka gave no answer to the request to " + what);
  if (const auto code = rd_kafka_ConfigResource_error(described[0]); code != RD_KAFKA_RESP_ERR_NO_ERROR) {
    // No right to describe the topic's settings is not mended by asking again: say so, and what is missing.
    const bool refused = code == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
                         code == RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED;
    auto error = kafka_error(code, "cannot " + what, rd_kafka_ConfigResource_error_string(described[0]));
    if (refused) error.code = Errc::bad_request;
    return error;
  }
  size_t entries = 0;
  const auto** configs = rd_kafka_ConfigResource_configs(described[0], &entries);
  bool seen = false;
  for (size_t i = 0; i < entries; ++i) {
    if (std::string_view(rd_kafka_ConfigEntry_name(configs[i])) != "min.insync.replicas") continue;
    const char* value = rd_kafka_ConfigEntry_value(configs[i]);
    try {
      found.min_insync_replicas = value ? std::stoi(value) : 1;
    } catch (const std::exception&) {
      return make_error(Errc::unavailable, "topic " + topic + " has min.insync.replicas '" + value + "'");
    }
    found.min_insync_from_topic =
        rd_kafka_ConfigEntry_source(configs[i]) == RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG;
    seen = true;
  }
  // Kafka lists every topic setting; its absence would be a broker we do not understand.
  if (!seen)
    return make_error(Errc::unavailable, "Kafka did not report min.insync.replicas of topic " + topic);
  return found;
}

Result<TopicDurability> describe_durability(const std::string& brokers, const std::string& topic,
                                            const Properties& extra, std::chrono::milliseconds timeout) {
  auto handle = connect(brokers, extra);
  if (!handle) return handle.error();
  const auto deadline = Clock::now() + timeout;
  return handle->explain([&]() -> Result<TopicDurability> {
    // A fresh handle has no metadata yet, and a broker may not know a topic created a moment ago: ask again
    // while the cluster does not answer or does not show the topic.
    while (true) {
      auto found = describe_durability(handle->get(), topic, left_until(deadline));
      const bool again =
          !found && (found.error().code == Errc::unavailable || found.error().code == Errc::config);
      if (!again || Clock::now() >= deadline) return found;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }());
}

Status delete_topic(const std::string& brokers, const std::string& topic, const Properties& extra,
                    std::chrono::milliseconds timeout) {
  auto handle = connect(brokers, extra);
  if (!handle) return handle.error();
  return handle->explain([&]() -> Status {
    rd_kafka_t* rk = handle->get();
    std::unique_ptr<rd_kafka_DeleteTopic_t, DeleteTopicDeleter> doomed(
        rd_kafka_DeleteTopic_new(topic.c_str()));
    auto options = admin_options(rk, RD_KAFKA_ADMIN_OP_DELETETOPICS, timeout);
    std::unique_ptr<rd_kafka_queue_t, QueueDeleter> queue(rd_kafka_queue_new(rk));
    rd_kafka_DeleteTopic_t* topics[] = {doomed.get()};
    rd_kafka_DeleteTopics(rk, topics, 1, options.get(), queue.get());
    if (auto event = await_answer(queue.get(), timeout, "delete topic " + topic); !event)
      return event.error();
    return Ok{};
  }());
}

Status set_topic_config(const std::string& brokers, const std::string& topic, const std::string& key,
                        const std::string& value, const Properties& extra,
                        std::chrono::milliseconds timeout) {
  auto handle = connect(brokers, extra);
  if (!handle) return handle.error();
  return handle->explain([&]() -> Status {
    rd_kafka_t* rk = handle->get();
    std::unique_ptr<rd_kafka_ConfigResource_t, ConfigResourceDeleter> resource(
        rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str()));
    rd_kafka_ConfigResource_set_config(resource.get(), key.c_str(), value.c_str());
    auto options = admin_options(rk, RD_KAFKA_ADMIN_OP_ALTERCONFIGS, timeout);
    std::unique_ptr<rd_kafka_queue_t, QueueDeleter> queue(rd_kafka_queue_new(rk));
    rd_kafka_ConfigResource_t* resources[] = {resource.get()};
    rd_kafka_AlterConfigs(rk, resources, 1, options.get(), queue.get());
    const std::string what = "set " + key + " of topic " + topic;
    auto event = await_answer(queue.get(), timeout, what);
    if (!event) return event.error();
    size_t count = 0;
    const auto** altered =
        rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(event->get()), &count);
    if (count == 1 && rd_kafka_ConfigResource_error(altered[0]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return kafka_error(rd_kafka_ConfigResource_error(altered[0]), "cannot " + what,
                         rd_kafka_ConfigResource_error_string(altered[0]));
    }
    return Ok{};
  }());
}

Status delete_records_before(const std::string& brokers, const std::string& topic, int partition,
                             std::int64_t offset, const Properties& extra,
                             std::chrono::milliseconds timeout) {
  auto handle = connect(brokers, extra);
  if (!handle) return handle.error();
  return handle->explain([&]() -> Status {
    rd_kafka_t* rk = handle->get();
    rd_kafka_topic_partition_list_t* where = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(where, topic.c_str(), partition)->offset = offset;
    rd_kafka_DeleteRecords_t* doomed = rd_kafka_DeleteRecords_new(where);
    rd_kafka_topic_partition_list_destroy(where);  // DeleteRecords_new copied it
    auto options = admin_options(rk, RD_KAFKA_ADMIN_OP_DELETERECORDS, timeout);
    std::unique_ptr<rd_kafka_queue_t, QueueDeleter> queue(rd_kafka_queue_new(rk));
    rd_kafka_DeleteRecords(rk, &doomed, 1, options.get(), queue.get());
    rd_kafka_DeleteRecords_destroy(doomed);
    const std::string what = "delete records of " + topic + "/" + std::to_string(partition);
    auto event = await_answer(queue.get(), timeout, what);
    if (!event) return event.error();
    const auto* result = rd_kafka_event_DeleteRecords_result(event->get());
    const auto* offsets = result ? rd_kafka_DeleteRecords_result_offsets(result) : nullptr;
    if (offsets != nullptr && offsets->cnt == 1 && offsets->elems[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return kafka_error(offsets->elems[0].err, "cannot " + what, rd_kafka_err2str(offsets->elems[0].err));
    }
    return Ok{};
  }());
}

}  // namespace kd::kafka
