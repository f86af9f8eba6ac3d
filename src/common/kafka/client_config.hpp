// Building librdkafka configuration objects, with errors as values.
#pragma once

#include <librdkafka/rdkafkacpp.h>

#include <map>
#include <memory>
#include <string>

#include "common/result.hpp"

namespace kd::kafka {

// Settings any librdkafka client may take, as key=value pairs (security.protocol, sasl.*, …), applied
// after ours so an operator can override anything.
using Properties = std::map<std::string, std::string>;

// Sets every property, stopping at the first one librdkafka rejects.
Status set_properties(RdKafka::Conf& conf, const Properties& properties);

// Parses "key=value".
Result<std::pair<std::string, std::string>> parse_property(const std::string& text);

}  // namespace kd::kafka
