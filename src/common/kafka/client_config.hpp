// Building librdkafka configuration objects, with errors as values.
#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "common/result.hpp"

namespace kd::kafka {

// Settings any librdkafka client may take, as key=value pairs (security.protocol, sasl.*, …), applied
// after ours so an operator can override anything.
using Properties = std::map<std::string, std::string>;

// The producer's defaults, shared by its options (producer.hpp) and its flags (settings.hpp).
// Linger 1, from alternating A/B runs (bench/README.md, "What bounds the figures" 6): half the median at
// 200 and 500 orders/s of 5 ms, the same closed-loop maximum; 0 sends each order alone and halves the
// maximum.
inline constexpr int kDefaultLingerMs = 1;
// Whether every batch waits the linger (always: librdkafka's linger.ms) or only writes begun while the shop
// is busy (busy: a write begun with nothing in flight and none begun for 5 ms goes by a second handle that
// does not linger; producer.hpp). By turns (bench/README.md item 10): busy halves the median at 200 and
// 500 orders/s (1.4 against 2.6-3.1 ms at 200/s) and the end-to-end time; at 64 connections it took
// 4,964 against 5,212 orders/s (medians of two pairs) and 3,975 against 4,550 in a drifting four-pair run.
enum class LingerWhen { always, busy };
inline constexpr LingerWhen kDefaultLingerWhen = LingerWhen::busy;
// Its name in flags, environment and reports.
constexpr const char* to_string(LingerWhen when) { return when == LingerWhen::busy ? "busy" : "always"; }
inline constexpr std::chrono::milliseconds kDefaultDeliveryTimeout{5'000};

// Sets every property, stopping at the first one librdkafka rejects.
Status set_properties(RdKafka::Conf& conf, const Properties& properties);

// Parses "key=value".
Result<std::pair<std::string, std::string>> parse_property(const std::string& text);

}  // namespace kd::kafka
